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
    /// Checkpoint at least after this many events…
    public static let checkpointEveryEvents: UInt64 = 1_000
    /// …or after this many seconds with unsigned events.
    public static let checkpointEverySeconds: Int64 = 10
}
