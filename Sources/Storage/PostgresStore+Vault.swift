import Consent
import Foundation
import Ledger
import NIOCore
import PostgresNIO
import Vault

extension PostgresStore: VaultStore {
    public func dataKey(subject: String, orCreate wrapped: [UInt8]) async throws -> [UInt8]? {
        try await client.query(
            """
            INSERT INTO data_keys (subject, wrapped, created_ms) VALUES (\(subject), \(ByteBuffer(bytes: wrapped)), \(Timestamp.now().milliseconds))
            ON CONFLICT (subject) DO NOTHING
            """, logger: logger)
        for try await wrapped in try await client.query("SELECT wrapped FROM data_keys WHERE subject = \(subject)", logger: logger)
            .decode(ByteBuffer?.self)
        {
            return wrapped.map { Array($0.readableBytesView) }
        }
        return nil
    }

    public func wrappedDataKeys(subjects: [String]) async throws -> [String: [UInt8]?] {
        var out: [String: [UInt8]?] = [:]
        let rows = try await client.query("SELECT subject, wrapped FROM data_keys WHERE subject = ANY(\(subjects))", logger: logger)
        for try await (subject, wrapped) in rows.decode((String, ByteBuffer?).self) { out[subject] = wrapped.map { Array($0.readableBytesView) } }
        return out
    }

    /// One query for every device: the spans travel as arrays joined to the index
    /// (manufacturer, device_id, time_ms).
    public func recordKeys(manufacturer: String, spans: [(device: String, from: Timestamp, through: Timestamp)]) async throws -> Set<RecordKey> {
        guard !spans.isEmpty else { return [] }
        let rows = try await client.query(
            """
            SELECT r.device_id, r.item, r.time_ms
            FROM UNNEST(\(spans.map(\.device))::text[], \(spans.map(\.from.milliseconds))::bigint[], \(spans.map(\.through.milliseconds))::bigint[])
                AS s(device_id, from_ms, through_ms)
            JOIN records r ON r.manufacturer = \(manufacturer) AND r.device_id = s.device_id AND r.time_ms BETWEEN s.from_ms AND s.through_ms
            """, logger: logger)
        var out = Set<RecordKey>()
        for try await (device, item, time) in rows.decode((String, String, Int64).self) {
            out.insert(RecordKey(device: device, item: item, time: Timestamp(milliseconds: time)))
        }
        return out
    }

    public func destroyDataKey(subject: String) async throws {
        let now = Timestamp.now().milliseconds
        try await client.query(
            """
            INSERT INTO data_keys (subject, wrapped, created_ms, destroyed_ms) VALUES (\(subject), NULL, \(now), \(now))
            ON CONFLICT (subject) DO UPDATE SET wrapped = NULL, destroyed_ms = EXCLUDED.destroyed_ms
            """, logger: logger)
    }

    public func storeRecords(_ records: [SealedRecord]) async throws {
        guard !records.isEmpty else { return }
        try await client.query(
            """
            INSERT INTO records (batch_id, manufacturer, device_id, subject, item, time_ms, sealed)
            SELECT * FROM UNNEST(\(records.map(\.batchID))::text[], \(records.map(\.manufacturer))::text[], \(records.map(\.deviceID))::text[],
                                 \(records.map(\.subject))::text[], \(records.map(\.item))::text[], \(records.map(\.time.milliseconds))::bigint[],
                                 \(records.map { ByteBuffer(bytes: $0.sealed) })::bytea[])
            """, logger: logger)
    }

    public func deleteRecords(batchID: String) async throws {
        try await client.query("DELETE FROM records WHERE batch_id = \(batchID)", logger: logger)
    }

    /// The cursor is compared as a row value, so the index (subject, batch_seq, id) starts the
    /// scan at the cursor (see `SQLiteStore.records`).
    public func records(_ q: RecordQuery) async throws -> [SealedRecord] {
        guard !q.items.isEmpty else { return [] }
        let rows = try await client.query(
            """
            SELECT r.id, r.batch_id, r.manufacturer, r.device_id, r.subject, r.item, r.time_ms, r.sealed, r.batch_seq
            FROM records r
            JOIN device_bindings d ON d.manufacturer = r.manufacturer AND d.device_id = r.device_id
                 AND d.subject = r.subject AND d.confirmed_ms IS NOT NULL
            WHERE r.subject = \(q.subject) AND r.item = ANY(\(q.items)) AND r.time_ms >= \(q.from.milliseconds)
              AND r.time_ms < \(q.to.milliseconds)
              AND r.batch_seq IS NOT NULL
              AND (r.batch_seq, r.id) > (\(q.after.batchSequence), \(q.after.recordID))
              AND (r.batch_seq, r.id) <= (\(q.through.batchSequence), \(q.through.recordID))
            ORDER BY r.batch_seq, r.id LIMIT \(q.limit)
            """, logger: logger)
        var out: [SealedRecord] = []
        for try await r in rows.decode((Int64, String, String, String, String, String, Int64, ByteBuffer, Int64).self) {
            var record = SealedRecord(
                id: r.0, batchID: r.1, manufacturer: r.2, deviceID: r.3, subject: r.4, item: r.5,
                time: Timestamp(milliseconds: r.6), sealed: Array(r.7.readableBytesView))
            record.batchSequence = r.8
            out.append(record)
        }
        return out
    }
}
