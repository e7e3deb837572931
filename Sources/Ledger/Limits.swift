/// Every bound on what a caller can make the ledger hold or do, in one place; units last.
public enum Limits {
    /// Events in one atomic append.
    public static let appendBatchEventsMax = 1_000
    /// Bytes of one event payload.
    public static let eventPayloadBytesMax = 256 * 1024
    /// Bytes of a stream id, type or author id.
    public static let identifierBytesMax = 200
    /// Events read from the store in one call.
    public static let readPageEventsMax = 10_000
    /// Bytes of a signed note (a checkpoint with its signatures and cosignatures) read from outside.
    public static let noteBytesMax = 16 * 1024
    /// Signature lines in a signed note (c2sp.org/signed-note asks for at least 16).
    public static let noteSignaturesMax = 64
    /// Checkpoint at least after this many events…
    public static let checkpointEveryEvents: UInt64 = 1_000
    /// …or after this many seconds with unsigned events.
    public static let checkpointEverySeconds: Int64 = 10
}
