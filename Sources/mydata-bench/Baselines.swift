import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import Storage
import Sodium

/// Raw limits of this machine, measured in the run: what the ledger is compared with.
enum Baselines {
    /// Ed25519 signatures per second on one core.
    static func signRate(seconds: Double = 1) throws -> Double {
        let key = try SigningKey()
        let message = [UInt8](repeating: 7, count: 300)
        var n = 0
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(Int(seconds * 1000))
        while clock.now < end { for _ in 0..<100 { _ = key.sign(message) }; n += 100 }
        return Double(n) / seconds
    }

    /// Ed25519 verifications per second, on one core or on `workers` threads.
    static func verifyRate(workers: Int, count: Int = 40_000) throws -> Double {
        let key = try SigningKey()
        let messages = (0..<256).map { [UInt8](repeating: UInt8($0), count: 300) }
        let signatures = messages.map { key.sign($0) }
        let verifying = key.verifyingKey
        let start = DispatchTime.now()
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < count {
                precondition(verifying.isValidSignature(signatures[i % 256], for: messages[i % 256]))
                i += workers
            }
        }
        return Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
    }

    /// BLAKE2b-256 hashes per second of a 300-byte envelope.
    static func hashRate(count: Int = 500_000) -> Double {
        let message = [UInt8](repeating: 3, count: 332)
        let start = DispatchTime.now()
        var x: UInt8 = 0
        for _ in 0..<count { x ^= BLAKE2b.hash256(message)[0] }
        precondition(x < 255 || x == 255)
        return Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
    }

    /// Rows per second inserted into an events-shaped SQLite table, 1,000 rows per durable commit,
    /// with the ledger's own settings (WAL, synchronous FULL) on the same disk.
    static func sqliteInsertRate(directory: URL, rows: Int = 200_000) throws -> (rate: Double, synchronous: Int) {
        let pool = try DurableSQLite.pool(path: directory.appendingPathComponent("raw.sqlite").path, configuration: Configuration())
        let synchronous = try DurableSQLite.writerSynchronous(pool)
        try pool.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, stream_id TEXT NOT NULL, type TEXT NOT NULL,
                      schema_version INTEGER NOT NULL, author_id TEXT NOT NULL, signature BLOB NOT NULL, payload BLOB NOT NULL,
                      prev_hash BLOB NOT NULL, hash BLOB NOT NULL UNIQUE);
                    CREATE INDEX events_stream ON events(stream_id, seq);
                    """)
        }
        let payload = [UInt8](repeating: 65, count: 120), signature = [UInt8](repeating: 1, count: 64)
        let start = DispatchTime.now()
        var seq = 0
        while seq < rows {
            try pool.write { db in
                let statement = try db.cachedStatement(sql: "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                let handle = statement.sqliteStatement
                let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
                for _ in 0..<1_000 {
                    seq += 1
                    var hash = [UInt8](repeating: 0, count: 32)
                    withUnsafeBytes(of: seq) { hash.replaceSubrange(0..<8, with: $0) }
                    let stream = "subject:sub_\(seq)", author = "sub_\(seq)"
                    sqlite3_reset(handle)
                    sqlite3_bind_int64(handle, 1, Int64(seq))
                    sqlite3_bind_int64(handle, 2, Int64(1_796_169_600_000 + seq))
                    sqlite3_bind_text(handle, 3, stream, -1, transient)
                    sqlite3_bind_text(handle, 4, "subject.registered", -1, transient)
                    sqlite3_bind_int64(handle, 5, 1)
                    sqlite3_bind_text(handle, 6, author, -1, transient)
                    sqlite3_bind_blob(handle, 7, signature, 64, transient)
                    sqlite3_bind_blob(handle, 8, payload, 120, transient)
                    sqlite3_bind_blob(handle, 9, hash, 32, transient)
                    sqlite3_bind_blob(handle, 10, hash, 32, transient)
                    guard sqlite3_step(handle) == SQLITE_DONE else { throw DatabaseError(message: "raw insert failed") }
                }
                sqlite3_reset(handle)
            }
        }
        return (Double(rows) / (Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9), synchronous)
    }
}
