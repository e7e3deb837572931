import Ledger

/// The numbers of the stores, in one place, units last in the names.
public enum StorageLimits {
    // MARK: Group commit (both stores)

    /// Events one group commit carries at most (a batch is never split, so one batch of more
    /// events commits alone).
    public static let appendGroupEventsMax = 8 * Limits.appendBatchEventsMax
    /// Request nonces one group commit records at most.
    public static let nonceGroupClaimsMax = 1_000

    // MARK: SQLite

    /// Seconds a connection waits for another process's write lock before it reports busy.
    public static let sqliteBusySecondsMax = 30.0
    /// WAL pages after which the committing connection copies the log into the database file
    /// (see `DurableSQLite`).
    public static let sqliteWALAutoCheckpointPages = 10_000

    // MARK: PostgreSQL

    /// Connections one broker process opens at most.
    public static let postgresConnectionsMax = 8
    /// Seconds a transaction may sit idle holding locks, and an append may wait for the chain position.
    public static let postgresStalledTransactionSecondsMax = 10
    /// How often a commit that failed before `COMMIT` was sent is retried, with back-off.
    public static let postgresCommitRetriesMax = 5
    /// Seconds an append waits for a connection before it counts the server as unreachable.
    public static let postgresLeaseSecondsMax = 1.0
    /// Seconds an append keeps trying to reach an unreachable server before it gives up.
    public static let postgresCommitUnreachableSecondsMax: Int64 = 3
    /// Seconds the first connection at start may take (`connect` fails after it).
    public static let postgresConnectSecondsMax = 10.0
    /// Rows one bulk insert (UNNEST of arrays) carries at most: an analysis's inclusions go in
    /// chunks of this many, so one `analysis.included` event is one statement.
    public static let postgresBulkInsertRowsMax = 5_000
    /// The advisory lock key that serialises schema migrations between broker processes.
    public static let postgresMigrationLockID: Int64 = 7001
}
