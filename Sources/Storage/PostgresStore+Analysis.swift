import Consent
import Foundation
import Ledger
import NIOCore
import PostgresNIO

/// The analysis zone's projections on PostgreSQL.
extension PostgresStore: AnalysisReadModel {
    public func analysis(_ id: String) async throws -> AnalysisRecord? {
        try await analysisRecords(
            """
            SELECT analysis_id, request_id, recipient, seq, time_ms, epsilon_milli, period_start_ms, payload FROM analyses
            WHERE analysis_id = \(id)
            """
        ).first
    }

    public func analyses(requestID: String, limit: Int, before: UInt64?) async throws -> [AnalysisRecord] {
        let before = Int64(clamping: before ?? UInt64(Int64.max))
        return try await analysisRecords(
            """
            SELECT analysis_id, request_id, recipient, seq, time_ms, epsilon_milli, period_start_ms, payload FROM analyses
            WHERE request_id = \(requestID) AND seq < \(before) ORDER BY seq DESC LIMIT \(Self.page(limit))
            """)
    }

    private func analysisRecords(_ query: PostgresQuery) async throws -> [AnalysisRecord] {
        var out: [AnalysisRecord] = []
        for try await r in try await client.query(query, logger: logger).decode((String, String, String, Int64, Int64, Int64, Int64, ByteBuffer).self)
        {
            out.append(
                AnalysisRecord(
                    analysisID: r.0, requestID: r.1, recipient: r.2, sequence: UInt64(r.3), time: Timestamp(milliseconds: r.4),
                    epsilonMilli: r.5, periodStart: Timestamp(milliseconds: r.6), payload: Array(r.7.readableBytesView)))
        }
        return out
    }

    public func analysisSpent(requestID: String, periodStart: Timestamp) async throws -> Int64 {
        // SUM of BIGINT is NUMERIC in PostgreSQL: cast back.
        let rows = try await client.query(
            """
            SELECT COALESCE(SUM(epsilon_milli), 0)::bigint FROM analyses
            WHERE request_id = \(requestID) AND period_start_ms = \(periodStart.milliseconds)
            """, logger: logger)
        for try await spent in rows.decode(Int64.self) { return spent }
        return 0
    }

    public func analysisInclusions(subject: String, limit: Int, before: UInt64?) async throws -> [AnalysisInclusion] {
        let before = Int64(clamping: before ?? UInt64(Int64.max))
        let rows = try await client.query(
            """
            SELECT seq, time_ms, analysis_id, consent_id, subject, recipient, purpose FROM analysis_inclusions
            WHERE subject = \(subject) AND seq < \(before) ORDER BY seq DESC LIMIT \(Self.page(limit))
            """, logger: logger)
        var out: [AnalysisInclusion] = []
        for try await r in rows.decode((Int64, Int64, String, String, String, String, String).self) {
            out.append(
                AnalysisInclusion(
                    sequence: UInt64(r.0), time: Timestamp(milliseconds: r.1), analysisID: r.2, consentID: r.3, subject: r.4,
                    recipient: r.5, purpose: r.6))
        }
        return out
    }

    public func activeConsents(requestID: String, at now: Timestamp, limit: Int) async throws -> [Consent] {
        try await consents(
            """
            SELECT \(unescaped: Self.consentColumns) FROM consents
            WHERE request_id = \(requestID) AND revoked_ms IS NULL AND expires_ms > \(now.milliseconds)
            ORDER BY grant_seq LIMIT \(max(limit, 0))
            """)
    }
}
