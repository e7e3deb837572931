import Consent
import Foundation
import GRDB
import Ledger

/// The analysis zone's projections on SQLite.
extension SQLiteStore: AnalysisReadModel {
    public func analysis(_ id: String) async throws -> AnalysisRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM analyses WHERE analysis_id = ?", arguments: [id]).map(Self.analysisRecord(from:))
        }
    }

    public func analyses(requestID: String, limit: Int, before: UInt64?) async throws -> [AnalysisRecord] {
        let limit = Self.page(limit), before = Int64(clamping: before ?? UInt64(Int64.max))
        return try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM analyses WHERE request_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?", arguments: [requestID, before, limit]
            ).map(Self.analysisRecord(from:))
        }
    }

    static func analysisRecord(from row: Row) -> AnalysisRecord {
        AnalysisRecord(
            analysisID: row["analysis_id"], requestID: row["request_id"], recipient: row["recipient"],
            sequence: UInt64(row["seq"] as Int64), time: Timestamp(milliseconds: row["time_ms"]),
            epsilonMilli: row["epsilon_milli"], periodStart: Timestamp(milliseconds: row["period_start_ms"]),
            payload: [UInt8](row["payload"] as Data))
    }

    public func analysisSpent(requestID: String, periodStart: Timestamp) async throws -> Int64 {
        try await read { db in
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT COALESCE(SUM(epsilon_milli), 0) FROM analyses WHERE request_id = ? AND period_start_ms = ?"),
                arguments: [requestID, periodStart.milliseconds]) ?? 0
        }
    }

    public func analysisInclusions(subject: String, limit: Int, before: UInt64?) async throws -> [AnalysisInclusion] {
        let limit = Self.page(limit), before = Int64(clamping: before ?? UInt64(Int64.max))
        return try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM analysis_inclusions WHERE subject = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                arguments: [subject, before, limit]
            ).map { row in
                AnalysisInclusion(
                    sequence: UInt64(row["seq"] as Int64), time: Timestamp(milliseconds: row["time_ms"]), analysisID: row["analysis_id"],
                    consentID: row["consent_id"], subject: row["subject"], recipient: row["recipient"], purpose: row["purpose"])
            }
        }
    }

    public func activeConsents(requestID: String, at now: Timestamp, limit: Int) async throws -> [Consent] {
        // A negative LIMIT means no limit at all in SQLite (and is an error in PostgreSQL).
        let limit = max(limit, 0)
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM consents WHERE request_id = ? AND revoked_ms IS NULL AND expires_ms > ?
                    ORDER BY grant_seq LIMIT ?
                    """, arguments: [requestID, now.milliseconds, limit]
            ).map(Self.consent(from:))
        }
    }
}
