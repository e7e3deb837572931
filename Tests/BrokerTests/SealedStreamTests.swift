import Broker
import Consent
import Foundation
import Ledger
import Sodium
import Testing

/// The sealed NDJSON stream of large pulls: only the broker writes it, only the recipient reads
/// it, and no line can be changed, dropped, swapped or cut off unnoticed.
struct SealedStreamTests {
    let recipient: BoxSecretKey
    let broker: SigningKey
    let records: [TelemetryRecord]

    init() throws {
        recipient = try BoxSecretKey()
        broker = try SigningKey()
        records = (0..<600).map { i in
            TelemetryRecord(
                device: "car-\(i % 3)", item: "vehicle.driving", time: Timestamp(milliseconds: 1_700_000_000_000 + Int64(i)),
                values: ["distance": .number(Double(i) / 4), "duration": .integer(Int64(i))])
        }
    }

    /// A whole stream's lines for `records`.
    func lines(_ records: [TelemetryRecord], consentID: String = "cns_1", digest: String? = nil) throws -> [Data] {
        let writer = try SealedStream.Writer(consentID: consentID, recipient: recipient.publicKey, broker: broker)
        var lines = [writer.opening]
        for start in stride(from: 0, to: records.count, by: SealedStream.recordsPerChunk) {
            lines.append(try writer.chunk(records[start..<min(start + SealedStream.recordsPerChunk, records.count)]))
        }
        let digest = try digest ?? Hex.encode(BLAKE2b.hash256(CanonicalJSON.encode(records)))
        lines.append(
            try writer.finish(
                SealedStream.Trailer(
                    deliveryID: "dlv_1", consentID: consentID, records: records.count, digest: digest, after: "7.1",
                    positions: records.indices.map { "7.\($0 + 2)" }, nextCursor: "7.\(records.count + 1)", hasMore: false, replayed: false,
                    ledgerSequence: 9)))
        return lines
    }

    func open(_ lines: [Data], recipient: BoxSecretKey? = nil, broker: VerifyingKey? = nil) throws -> [TelemetryRecord] {
        try SealedStream.Reader.open(lines.reduce(Data(), +), recipient: recipient ?? self.recipient, broker: broker ?? self.broker.verifyingKey)
            .records
    }

    @Test("the recipient reads every record back, chunk by chunk, with the trailer the ledger logged")
    func roundTrip() throws {
        let lines = try lines(records)
        #expect(lines.count == 1 + 3 + 1, "600 records in chunks of 256")
        let (opened, trailer) = try SealedStream.Reader.open(lines.reduce(Data(), +), recipient: recipient, broker: broker.verifyingKey)
        #expect(opened == records)
        #expect(trailer.records == 600)
        #expect(trailer.nextCursor == "7.601")
        #expect(try self.open(try self.lines([])).isEmpty, "an empty page is an opening and a trailer")
    }

    @Test("a dropped, swapped, changed or cut-off line, another recipient, or another broker's opening is refused")
    func tampering() throws {
        let lines = try lines(records)
        #expect(throws: (any Error).self) { try open(lines.enumerated().filter { $0.offset != 2 }.map(\.element)) }
        #expect(throws: (any Error).self) { try open([lines[0], lines[2], lines[1], lines[3], lines[4]]) }
        #expect(throws: (any Error).self) { try open(Array(lines.dropLast())) }
        var changed = lines
        changed[1] = try self.lines(records)[1]
        #expect(throws: (any Error).self) { try open(changed) }
        #expect(throws: (any Error).self) { try open(lines, recipient: try BoxSecretKey()) }
        #expect(throws: (any Error).self) { try open(lines, broker: try SigningKey().verifyingKey) }
        #expect(throws: (any Error).self) { try open(try self.lines(records, digest: String(repeating: "0", count: 64))) }
    }
}

import Vault

/// Pulls send each record as the canonical JSON built around its decrypted values; the digest
/// in the ledger is over those bytes, so they must be exactly what `CanonicalJSON` writes.
struct CanonicalRecordTests {
    final class NoStore: VaultStore, @unchecked Sendable {
        func dataKey(subject: String, orCreate wrapped: [UInt8]) async throws -> [UInt8]? { wrapped }
        func destroyDataKey(subject: String) async throws {}
        func storeRecords(_ records: [SealedRecord]) async throws {}
        func deleteRecords(batchID: String) async throws {}
        func records(_ query: RecordQuery) async throws -> [SealedRecord] { [] }
        func wrappedDataKeys(subjects: [String]) async throws -> [String: [UInt8]?] { [:] }
        func recordKeys(manufacturer: String, spans: [(device: String, from: Timestamp, through: Timestamp)]) async throws -> Set<RecordKey> { [] }
    }

    @Test("a record opened as canonical JSON is byte for byte CanonicalJSON of the record, and the page digest matches")
    func canonicalBytes() throws {
        let vault = Vault(kek: try SymmetricKey(), store: NoStore())
        let key = try SymmetricKey()
        let awkward: [[String: FieldValue]] = [
            ["distance": .number(0.1), "duration": .integer(-9_007_199_254_740_991), "note": .string("say \"hi\"\\/ 차 🚗\n\t\u{1}")],
            ["big": .number(1e21), "small": .number(-2.5e-7), "whole": .number(3), "yes": .boolean(true), "no": .boolean(false)],
            [:],
        ]
        var canonical: [[UInt8]] = []
        var records: [TelemetryRecord] = []
        for (i, values) in awkward.enumerated() {
            let record = TelemetryRecord(
                device: "car-\(i):A_b.c", item: "vehicle.driving", time: Timestamp(milliseconds: 1_700_000_000_123 + Int64(i)), values: values)
            let sealed = try vault.seal(record, manufacturer: "hanbit-motors", subject: "sub_x", batchID: "bat_1", key: key)
            let bytes = try vault.openCanonical(sealed, key: key)
            #expect(bytes == (try CanonicalJSON.encode(try vault.open(sealed, key: key))), "\(String(decoding: bytes, as: UTF8.self))")
            canonical.append(bytes)
            records.append(try vault.open(sealed, key: key))
        }
        #expect(TransferService.digest(ofCanonical: canonical) == Hex.encode(BLAKE2b.hash256(try CanonicalJSON.encode(records))))

        // The sealed JSON page is written around the same bytes; it must be what encoding gives.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let full = TransferService.CanonicalDelivery(
            deliveryID: "dlv_1", consentID: "con_2", after: RecordCursor(batchSequence: 12, recordID: 3), records: canonical,
            positions: canonical.indices.map { RecordCursor(batchSequence: 12, recordID: Int64(4 + $0)) },
            nextCursor: RecordCursor(batchSequence: 12, recordID: 34), hasMore: true, replayed: false,
            digest: TransferService.digest(ofCanonical: canonical), ledgerSequence: 99)
        let empty = TransferService.CanonicalDelivery(
            deliveryID: nil, consentID: "con_2", after: RecordCursor(batchSequence: 12, recordID: 34), records: [], positions: [],
            nextCursor: RecordCursor(batchSequence: 12, recordID: 34), hasMore: false, replayed: true, digest: nil, ledgerSequence: nil)
        for (page, decoded) in [(full, records), (empty, [])] {
            let expected = try encoder.encode(
                TransferService.Delivery(
                    deliveryID: page.deliveryID, consentID: page.consentID, after: page.after.description, records: decoded,
                    positions: page.positions.map(\.description), nextCursor: page.nextCursor.description, hasMore: page.hasMore,
                    replayed: page.replayed, digest: page.digest, ledgerSequence: page.ledgerSequence))
            #expect(TransferService.deliveryJSON(page) == Array(expected), "\(String(decoding: TransferService.deliveryJSON(page), as: UTF8.self))")
        }
    }
}
