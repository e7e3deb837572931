import Ledger
import Sodium
import TestSupport
import Testing

/// The byte layouts of docs/ledger-format.md, checked against bytes computed independently
/// (Python's struct and hashlib), so a change to the encoding cannot pass unnoticed.
struct CanonicalEncodingTests {
    static let payload = Array(#"{"consentID":"con_1","subject":"sub_ab"}"#.utf8)
    static let first = NewEvent(
        streamID: "consent:con_1", type: "consent.revoked", schemaVersion: 1,
        time: Timestamp(milliseconds: 1_796_169_600_000), authorID: "sub_ab", payload: payload)

    @Test("the envelope is laid out byte for byte as documented")
    func envelopeBytes() {
        #expect(
            HexString.of(CanonicalEncoding.envelope(sequence: 1, event: Self.first))
                == "4d444c45010000000000000001000001a2340d0c000000000d636f6e73656e743a636f6e5f310000000f636f6e73656e742e7265766f6b65640001000000067375625f616200000000000000287b22636f6e73656e744944223a22636f6e5f31222c227375626a656374223a227375625f6162227d"
        )
    }

    @Test("an event's hash is BLAKE2b-256 over the previous hash and its envelope")
    func chainHashes() {
        let one = RecordedEvent.chained(Self.first, after: .genesis)
        #expect(one.sequence == 1)
        #expect(one.previousHash == [UInt8](repeating: 0, count: 32))
        #expect(HexString.of(one.hash) == "03339321b74351ecee9ab8f042ba0f74b920acaa2224f4bf73a0bdc501e69746")
        var second = Self.first
        second.time = Timestamp(milliseconds: 1_796_169_600_001)
        second.signature = [UInt8](repeating: 0x11, count: 64)
        let two = RecordedEvent.chained(second, after: one.head)
        #expect(two.sequence == 2)
        #expect(two.previousHash == one.hash)
        #expect(HexString.of(two.hash) == "b79885666c4651ccab8640e6714a1d7f2acf31b5f89f56964c25991b483f994a")
        #expect(two.recomputedHash() == two.hash)
    }

    @Test("the author signs everything but the chain position")
    func signingInput() {
        #expect(
            HexString.of(Self.first.signingInput)
                == "6d79646174612f6576656e742d7369676e61747572652f7631000000000d636f6e73656e743a636f6e5f310000000f636f6e73656e742e7265766f6b65640001000000067375625f6162000001a2340d0c00000000287b22636f6e73656e744944223a22636f6e5f31222c227375626a656374223a227375625f6162227d"
        )
    }

    @Test("any changed field changes the hash", arguments: ["stream", "type", "version", "time", "author", "signature", "payload"])
    func everyFieldIsHashed(_ field: String) {
        var e = Self.first
        switch field {
        case "stream": e.streamID = "consent:con_2"
        case "type": e.type = "consent.granted"
        case "version": e.schemaVersion = 2
        case "time": e.time = Timestamp(milliseconds: 1)
        case "author": e.authorID = "sub_ac"
        case "signature": e.signature = [1]
        default: e.payload[5] ^= 1
        }
        #expect(RecordedEvent.chained(e, after: .genesis).hash != RecordedEvent.chained(Self.first, after: .genesis).hash)
    }
}

struct CheckpointTests {
    @Test("a checkpoint verifies with the broker key only, and not after a change")
    func signAndVerify() throws {
        let broker = try SigningKey()
        let head = RecordedEvent.chained(CanonicalEncodingTests.first, after: .genesis).head
        let cp = Checkpoint.sign(head: head, time: Timestamp(milliseconds: 5), with: broker)
        #expect(cp.isSigned(by: broker.verifyingKey))
        #expect(!cp.isSigned(by: try SigningKey().verifyingKey))
        let moved = Checkpoint(sequence: cp.sequence + 1, headHash: cp.headHash, time: cp.time, signature: cp.signature)
        #expect(!moved.isSigned(by: broker.verifyingKey))
    }
}

struct UpcasterTests {
    static let chain = UpcasterChain(
        currentVersions: ["thing.made": 3],
        upcasters: [
            Upcaster(type: "thing.made", fromVersion: 1) { $0 + Array(",v2".utf8) },
            Upcaster(type: "thing.made", fromVersion: 2) { $0 + Array(",v3".utf8) },
        ])

    @Test("old versions are upcast step by step; the current one is left alone")
    func steps() throws {
        #expect(try Self.chain.upcast(type: "thing.made", version: 1, payload: Array("v1".utf8)) == Array("v1,v2,v3".utf8))
        #expect(try Self.chain.upcast(type: "thing.made", version: 2, payload: Array("v2".utf8)) == Array("v2,v3".utf8))
        #expect(try Self.chain.upcast(type: "thing.made", version: 3, payload: Array("v3".utf8)) == Array("v3".utf8))
    }

    @Test("unknown types, future versions and missing steps are refused")
    func refusals() {
        #expect(throws: LedgerError.self) { try Self.chain.upcast(type: "thing.unknown", version: 1, payload: []) }
        #expect(throws: LedgerError.self) { try Self.chain.upcast(type: "thing.made", version: 4, payload: []) }
        let gap = UpcasterChain(currentVersions: ["thing.made": 3], upcasters: [Upcaster(type: "thing.made", fromVersion: 2) { $0 }])
        #expect(throws: LedgerError.self) { try gap.upcast(type: "thing.made", version: 1, payload: []) }
    }
}

struct AppendBatchTests {
    @Test("oversized batches and payloads, and empty identifiers, are refused before the store")
    func limits() {
        let event = CanonicalEncodingTests.first
        #expect(throws: LedgerError.self) { try AppendBatch(events: Array(repeating: event, count: Limits.appendBatchEventsMax + 1)).validate() }
        var big = event
        big.payload = [UInt8](repeating: 32, count: Limits.eventPayloadBytesMax + 1)
        #expect(throws: LedgerError.self) { try AppendBatch(events: [big]).validate() }
        var anonymous = event
        anonymous.authorID = ""
        #expect(throws: LedgerError.self) { try AppendBatch(events: [anonymous]).validate() }
        #expect(throws: Never.self) { try AppendBatch(events: [event]).validate() }
    }
}
