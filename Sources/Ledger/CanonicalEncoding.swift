import Sodium

/// The byte layouts that are hashed and signed. docs/ledger-format.md specifies them byte for
/// byte; change nothing here without a new format version.
public enum CanonicalEncoding {
    /// Leads every event envelope.
    public static let envelopeMagic: [UInt8] = Array("MDLE".utf8) + [1]
    /// Leads every author's signing input (domain separation from other signed messages).
    public static let eventSignatureContext: [UInt8] = Array("mydata/event-signature/v1".utf8) + [0]
    /// Leads every checkpoint's signing input.
    public static let checkpointContext: [UInt8] = Array("mydata/checkpoint/v1".utf8) + [0]

    /// The canonical envelope of an event at `sequence`.
    public static func envelope(sequence: UInt64, event: NewEvent) -> [UInt8] {
        var w = ByteWriter(capacity: 96 + event.payload.count + event.signature.count + event.streamID.utf8.count)
        w.raw(envelopeMagic)
        w.u64(sequence)
        w.i64(event.time.milliseconds)
        w.string(event.streamID)
        w.string(event.type)
        w.u16(event.schemaVersion)
        w.string(event.authorID)
        w.lengthPrefixed(event.signature)
        w.lengthPrefixed(event.payload)
        return w.bytes
    }

    /// BLAKE2b-256(previousHash ‖ envelope).
    public static func eventHash(previousHash: [UInt8], sequence: UInt64, event: NewEvent) -> [UInt8] {
        precondition(previousHash.count == 32, "a previous hash has 32 bytes")
        return BLAKE2b.hash256(previousHash + envelope(sequence: sequence, event: event))
    }

    /// The bytes an event's author signs.
    public static func signingInput(
        streamID: String, type: String, schemaVersion: UInt16,
        authorID: String, time: Timestamp, payload: [UInt8]
    ) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + payload.count)
        w.raw(eventSignatureContext)
        w.string(streamID)
        w.string(type)
        w.u16(schemaVersion)
        w.string(authorID)
        w.i64(time.milliseconds)
        w.lengthPrefixed(payload)
        return w.bytes
    }

    /// The bytes the broker signs for a checkpoint.
    public static func checkpointSigningInput(sequence: UInt64, headHash: [UInt8], time: Timestamp) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.raw(checkpointContext)
        w.u64(sequence)
        w.raw(headHash)
        w.i64(time.milliseconds)
        return w.bytes
    }
}
