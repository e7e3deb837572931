import GRDB
import Ledger

/// Opens SQLite databases whose commits are on disk before they return, and proves it.
///
/// GRDB's `DatabasePool` switches its writer connection to WAL mode *after* `prepareDatabase`
/// runs, and sets `synchronous = NORMAL` as it does: in WAL mode NORMAL does not sync the WAL at
/// commit, so a power cut loses commits that were already acknowledged. The setting is therefore
/// made on the writer once the pool is open, and read back from that same connection.
public enum DurableSQLite {
    /// `PRAGMA synchronous` as SQLite reports it: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    public static let synchronousFull = 2

    /// A pool in WAL mode whose writer commits with `synchronous = FULL`.
    ///
    /// - Throws: the database's error, or `LedgerError.storeUnavailable` when the writer does not
    ///   report FULL after it was set (a build of SQLite that ignores the pragma).
    public static func pool(path: String, configuration: Configuration) throws -> DatabasePool {
        let pool = try DatabasePool(path: path, configuration: configuration)
        let effective = try pool.writeWithoutTransaction { db -> Int in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // With SQLite's default of 1,000 pages the writer stopped every dozen commits to copy
            // and fsync pages the next commits changed again (an append touches pages all over the
            // projections' indexes); 10,000 (about 40 MB) copies each hot page once per ten times
            // as many commits: measured +16% durable person-signed appends (`mydata-bench ledger`),
            // and the baseline it is compared with gets the same setting.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(StorageLimits.sqliteWALAutoCheckpointPages)")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
        guard effective >= synchronousFull else {
            throw LedgerError(
                .storeUnavailable,
                "SQLite reports synchronous = \(effective) on the writing connection of \(path) after FULL was set; commits would not be durable")
        }
        return pool
    }

    /// The `synchronous` level of the connection that writes to `pool`.
    public static func writerSynchronous(_ pool: DatabasePool) throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }
}
