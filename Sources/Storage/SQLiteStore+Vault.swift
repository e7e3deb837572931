import Consent
import Foundation
import GRDB
import Ledger
import Vault

extension SQLiteStore: VaultStore {
    public func dataKey(subject: String, orCreate wrapped: [UInt8]) async throws -> [UInt8]? {
        // Read first: a person's key is made once and read at every push and pull, and a read
        // does not wait behind the one writer (a no-op INSERT OR IGNORE would).
        let stored = try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT wrapped FROM data_keys WHERE subject = ?"), arguments: [subject]).map {
                ($0["wrapped"] as Data?).map { [UInt8]($0) }
            }
        }
        if let stored { return stored }
        return try await write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO data_keys (subject, wrapped, created_ms) VALUES (?, ?, ?)",
                arguments: [subject, Data(wrapped), Timestamp.now().milliseconds])
            return try Data.fetchOne(db, sql: "SELECT wrapped FROM data_keys WHERE subject = ?", arguments: [subject]).map { [UInt8]($0) }
        }
    }

    public func destroyDataKey(subject: String) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO data_keys (subject, wrapped, created_ms, destroyed_ms) VALUES (?, NULL, ?, ?)
                    ON CONFLICT (subject) DO UPDATE SET wrapped = NULL, destroyed_ms = excluded.destroyed_ms
                    """, arguments: [subject, Timestamp.now().milliseconds, Timestamp.now().milliseconds])
        }
        // The old wrapped key may still sit in the WAL: copy the WAL into the database (where
        // secure_delete zeroes freed space) and truncate it.
        try await checkpointWAL()
    }

    public func storeRecords(_ records: [SealedRecord]) async throws {
        try await write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO records (batch_id, manufacturer, device_id, subject, item, time_ms, sealed) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
            for r in records {
                try DirectBinding.execute(insert) { b in
                    b.text(r.batchID); b.text(r.manufacturer); b.text(r.deviceID); b.text(r.subject); b.text(r.item)
                    b.int(r.time.milliseconds); b.blob(r.sealed)
                }
            }
        }
    }

    /// One indexed range per device, (manufacturer, device_id, time_ms), in one read.
    public func recordKeys(manufacturer: String, spans: [(device: String, from: Timestamp, through: Timestamp)]) async throws -> Set<RecordKey> {
        guard !spans.isEmpty else { return [] }
        return try await read { db in
            let select = try db.cachedStatement(
                sql: "SELECT item, time_ms FROM records WHERE manufacturer = ? AND device_id = ? AND time_ms BETWEEN ? AND ?")
            var out = Set<RecordKey>()
            for span in spans {
                let rows = try Row.fetchCursor(select, arguments: [manufacturer, span.device, span.from.milliseconds, span.through.milliseconds])
                while let row = try rows.next() {
                    out.insert(RecordKey(device: span.device, item: row[0], time: Timestamp(milliseconds: row[1])))
                }
            }
            return out
        }
    }

    public func deleteRecords(batchID: String) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM records WHERE batch_id = ?", arguments: [batchID]) }
    }

    /// The cursor is compared as a row value, `(batch_seq, id) > (?, ?)`, so the index
    /// (subject, batch_seq, id) starts the scan at the cursor. The equivalent `batch_seq > ? OR
    /// (batch_seq = ? AND id > ?)` made SQLite scan the subject's records from the first for every
    /// page: paging through 300,000 records took 4.5 s instead of 0.16 s.
    public func records(_ q: RecordQuery) async throws -> [SealedRecord] {
        try await read { db in try Self.records(q, db: db) }
    }

    public func wrappedDataKeys(subjects: [String]) async throws -> [String: [UInt8]?] {
        try await read { db in
            let statement = try db.cachedStatement(sql: "SELECT wrapped FROM data_keys WHERE subject = ?")
            var out: [String: [UInt8]?] = [:]
            for subject in subjects {
                if let row = try Row.fetchOne(statement, arguments: [subject]) { out[subject] = (row["wrapped"] as Data?).map { [UInt8]($0) } }
            }
            return out
        }
    }

    /// The queries answered in one read transaction: one hop to a reader for many people.
    public func records(_ queries: [RecordQuery]) async throws -> [[SealedRecord]] {
        try await read { db in try queries.map { try Self.records($0, db: db) } }
    }

    private static func records(_ q: RecordQuery, db: Database) throws -> [SealedRecord] {
        guard !q.items.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: q.items.count).joined(separator: ", ")
        // A cached statement read through SQLite's C API: a pull and an analysis read many
        // pages, and GRDB's rows cost more than SQLite's own reading here.
        return try DirectBinding.records(
            db.cachedStatement(
                sql: """
                    SELECT r.id, r.batch_id, r.manufacturer, r.device_id, r.subject, r.item, r.time_ms, r.sealed, r.batch_seq
                    FROM records r INDEXED BY records_visible
                    JOIN device_bindings d ON d.manufacturer = r.manufacturer AND d.device_id = r.device_id
                         AND d.subject = r.subject AND d.confirmed_ms IS NOT NULL
                    WHERE r.subject = ? AND r.item IN (\(marks)) AND r.time_ms >= ? AND r.time_ms < ?
                      AND r.batch_seq IS NOT NULL AND (r.batch_seq, r.id) > (?, ?) AND (r.batch_seq, r.id) <= (?, ?)
                    ORDER BY r.batch_seq, r.id LIMIT ?
                    """)
        ) { b in
            b.text(q.subject)
            for item in q.items { b.text(item) }
            b.int(q.from.milliseconds); b.int(q.to.milliseconds)
            b.int(q.after.batchSequence); b.int(q.after.recordID); b.int(q.through.batchSequence); b.int(q.through.recordID)
            b.int(Int64(q.limit))
        }
    }
}
