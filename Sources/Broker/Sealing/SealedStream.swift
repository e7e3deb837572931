import Consent
import Foundation
import Ledger
import Sodium

/// The sealed NDJSON stream a pull answers with when the recipient asks for
/// `application/x-ndjson`: records arrive a chunk at a time, each chunk readable (and checked)
/// as soon as it arrives, only by the recipient.
///
/// Lines, each one JSON object:
/// 1. the opening: `{"format":"mydata-sealed-stream-v1","consentID","sealedKey","header","signature"}`:
///    a fresh stream key sealed to the recipient's X25519 key, the `crypto_secretstream`
///    header, and the broker's Ed25519 signature over
///    `"mydata/sealed-stream/v1\0" ‖ consentID ‖ 0x00 ‖ sealedKey ‖ header`;
/// 2. `{"chunk"}` lines: `crypto_secretstream_xchacha20poly1305` messages whose plaintext is
///    NDJSON, one record per line (at most `recordsPerChunk`);
/// 3. the last `{"chunk"}`, tagged final: the `Trailer` as JSON.
///
/// Only the broker can have signed the opening, only the recipient can open the key, and the
/// secretstream detects a chunk changed, dropped, reordered or cut off before the final one.
public enum SealedStream {
    public static let format = "mydata-sealed-stream-v1"
    public static let mediaType = "application/x-ndjson"
    /// Records per encrypted chunk.
    public static let recordsPerChunk = 256
    static let signingContext = Array("mydata/sealed-stream/v1\0".utf8)

    public struct Opening: Codable, Sendable {
        public var format: String
        public var consentID: String
        public var sealedKey: String
        public var header: String
        public var signature: String
    }

    struct ChunkLine: Codable { var chunk: String }

    /// What closes the stream: the delivery as the ledger logged it.
    public struct Trailer: Codable, Sendable, Equatable {
        public var deliveryID: String?
        public var consentID: String
        public var records: Int
        /// BLAKE2b-256 (hex) of the records as canonical JSON, as in the person's access log.
        public var digest: String?
        /// As in a sealed page's `Delivery`: the cursor pulled after, each record's position, the
        /// cursor to continue from (always), whether more follow now, whether this repeated an
        /// earlier delivery.
        public var after: String
        public var positions: [String]
        public var nextCursor: String
        public var hasMore: Bool
        public var replayed: Bool
        public var ledgerSequence: UInt64?

        public init(
            deliveryID: String?, consentID: String, records: Int, digest: String?, after: String, positions: [String], nextCursor: String,
            hasMore: Bool, replayed: Bool, ledgerSequence: UInt64?
        ) {
            self.deliveryID = deliveryID; self.consentID = consentID; self.records = records; self.digest = digest
            self.after = after; self.positions = positions; self.nextCursor = nextCursor; self.hasMore = hasMore
            self.replayed = replayed; self.ledgerSequence = ledgerSequence
        }

        public init(_ delivery: TransferService.CanonicalDelivery) {
            deliveryID = delivery.deliveryID; consentID = delivery.consentID; records = delivery.records.count
            digest = delivery.digest; after = delivery.after.description; positions = delivery.positions.map(\.description)
            nextCursor = delivery.nextCursor.description; hasMore = delivery.hasMore; replayed = delivery.replayed
            ledgerSequence = delivery.ledgerSequence
        }
    }

    static func signedBytes(consentID: String, sealedKey: [UInt8], header: [UInt8]) -> [UInt8] {
        signingContext + Array(consentID.utf8) + [0] + sealedKey + header
    }

    /// Encrypts a delivery line by line.
    public final class Writer {
        private let stream: SecretStream.Writer
        private let encoder = JSONEncoder()
        /// The first line.
        public let opening: Data

        public init(consentID: String, recipient: BoxPublicKey, broker: SigningKey) throws {
            let key = try SecretStream.generateKey()
            stream = try SecretStream.Writer(key: key)
            var raw = key.copyBytes()
            defer { Sodium.zero(&raw) }
            let sealedKey = try SealedBox.seal(raw, to: recipient)
            let signature = broker.sign(SealedStream.signedBytes(consentID: consentID, sealedKey: sealedKey, header: stream.header))
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            opening =
                try encoder.encode(
                    Opening(
                        format: SealedStream.format, consentID: consentID, sealedKey: Base64.encode(sealedKey),
                        header: Base64.encode(stream.header), signature: Base64.encode(signature.bytes))) + Data([10])
        }

        /// A chunk line carrying `records`.
        public func chunk(_ records: some Collection<TelemetryRecord>) throws -> Data {
            try chunk(canonical: records.map { try CanonicalJSON.encode($0) })
        }

        /// A chunk line carrying records given as their canonical JSON.
        public func chunk(canonical records: some Collection<[UInt8]>) throws -> Data {
            var plain: [UInt8] = []
            plain.reserveCapacity(records.reduce(0) { $0 + $1.count + 1 })
            for record in records {
                plain += record
                plain.append(10)
            }
            return try line(stream.seal(plain))
        }

        /// The final line.
        public func finish(_ trailer: Trailer) throws -> Data {
            try line(stream.seal(Array(try encoder.encode(trailer)), final: true))
        }

        private func line(_ sealed: [UInt8]) throws -> Data {
            try encoder.encode(ChunkLine(chunk: Base64.encode(sealed))) + Data([10])
        }
    }

    /// Reads a stream line by line, checking each as it comes.
    public final class Reader {
        private let recipient: BoxSecretKey
        private let broker: VerifyingKey
        private var stream: SecretStream.Reader?
        /// The consent the opening names.
        public private(set) var consentID: String?
        /// Set when the final chunk was read.
        public private(set) var trailer: Trailer?

        public init(recipient: BoxSecretKey, broker: VerifyingKey) {
            self.recipient = recipient
            self.broker = broker
        }

        /// The records of one line (none for the opening and the final line).
        ///
        /// - Throws: `SealedStreamError` when the line is not what comes next, or was not
        ///   written by the broker for this recipient.
        public func read(_ line: some DataProtocol) throws -> [TelemetryRecord] {
            let decoder = JSONDecoder()
            return try readCanonical(line).map { try decoder.decode(TelemetryRecord.self, from: Data($0)) }
        }

        /// The records of one line as the JSON bytes sent (canonical JSON), undecoded.
        public func readCanonical(_ line: some DataProtocol) throws -> [[UInt8]] {
            guard trailer == nil else { throw SealedStreamError("a line follows the final chunk") }
            guard let stream else {
                guard let opening = try? JSONDecoder().decode(Opening.self, from: Data(line)), opening.format == SealedStream.format,
                    let sealedKey = Base64.decode(opening.sealedKey), let header = Base64.decode(opening.header),
                    let signatureBytes = Base64.decode(opening.signature), let signature = try? Signature(bytes: signatureBytes)
                else {
                    throw SealedStreamError("the first line is not a \(SealedStream.format) opening")
                }
                guard
                    broker.isValidSignature(
                        signature, for: SealedStream.signedBytes(consentID: opening.consentID, sealedKey: sealedKey, header: header))
                else {
                    throw SealedStreamError("the opening is not signed by the broker")
                }
                var raw = try SealedBox.open(sealedKey, with: recipient)
                self.stream = try SecretStream.Reader(key: try SymmetricKey(consuming: &raw), header: header)
                consentID = opening.consentID
                return []
            }
            guard let chunk = try? JSONDecoder().decode(ChunkLine.self, from: Data(line)), let sealed = Base64.decode(chunk.chunk) else {
                throw SealedStreamError("a line is not a chunk")
            }
            let (plain, final) = try stream.open(sealed)
            if final {
                trailer = try JSONDecoder().decode(Trailer.self, from: Data(plain))
                return []
            }
            return plain.split(separator: 10).map(Array.init)
        }

        /// Reads a whole body and checks that it ended, and that the count and digest match the records.
        public static func open(_ body: Data, recipient: BoxSecretKey, broker: VerifyingKey) throws -> (records: [TelemetryRecord], trailer: Trailer)
        {
            let (canonical, trailer) = try openCanonical(body, recipient: recipient, broker: broker)
            let decoder = JSONDecoder()
            return (try canonical.map { try decoder.decode(TelemetryRecord.self, from: Data($0)) }, trailer)
        }

        /// `open`, leaving each record as the canonical JSON bytes sent (for clients that store
        /// or forward them as they are). The digest is checked over exactly these bytes.
        public static func openCanonical(_ body: Data, recipient: BoxSecretKey, broker: VerifyingKey) throws -> (records: [[UInt8]], trailer: Trailer)
        {
            let reader = Reader(recipient: recipient, broker: broker)
            var records: [[UInt8]] = []
            for line in body.split(separator: 10) where !line.isEmpty { records += try reader.readCanonical(line) }
            guard let trailer = reader.trailer else { throw SealedStreamError("the stream was cut off before its final chunk") }
            guard trailer.records == records.count, trailer.consentID == reader.consentID else {
                throw SealedStreamError("the trailer counts \(trailer.records) records for \(trailer.consentID), the stream held \(records.count)")
            }
            if let digest = trailer.digest, digest != TransferService.digest(ofCanonical: records) {
                throw SealedStreamError("the records do not match the digest the ledger logged")
            }
            return (records, trailer)
        }
    }
}

public struct SealedStreamError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
