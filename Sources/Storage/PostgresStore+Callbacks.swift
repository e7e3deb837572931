import Ledger
import Ports
import PostgresNIO

extension PostgresStore: CallbackStore {
    private typealias CallbackRow = (Int64, String, String, String, Int64, String, Int64, Int64, Int64?, String?)

    private func callbacks(_ query: PostgresQuery) async throws -> [RevocationCallback] {
        var out: [RevocationCallback] = []
        for try await r in try await client.query(query, logger: logger).decode(CallbackRow.self) {
            out.append(
                RevocationCallback(
                    id: r.0, consentID: r.1, recipient: r.2, url: r.3, eventSequence: UInt64(r.4), status: try .init(stored: r.5),
                    attempts: Int(r.6), nextAttempt: Timestamp(milliseconds: r.7),
                    deliveredAt: r.8.map(Timestamp.init(milliseconds:)), lastError: r.9))
        }
        return out
    }

    public func claimDueCallbacks(now: Timestamp, leaseUntil: Timestamp, limit: Int) async throws -> [RevocationCallback] {
        try await callbacks(
            """
            UPDATE callbacks SET next_attempt_ms = \(leaseUntil.milliseconds)
            WHERE id IN (SELECT id FROM callbacks WHERE status = 'pending' AND next_attempt_ms <= \(now.milliseconds)
                         ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING id, consent_id, recipient, url, event_seq, status, attempts, next_attempt_ms, delivered_ms, last_error
            """
        ).sorted { $0.id < $1.id }
    }

    public func markCallbackDelivered(id: Int64, at: Timestamp) async throws {
        try await client.query(
            """
            UPDATE callbacks SET status = 'delivered', delivered_ms = \(at.milliseconds), attempts = attempts + 1, last_error = NULL WHERE id = \(id)
            """, logger: logger)
    }

    public func markCallbackFailed(id: Int64, attempts: Int, nextAttempt: Timestamp, error: String) async throws {
        try await client.query(
            """
            UPDATE callbacks SET attempts = \(Int64(attempts)), next_attempt_ms = \(nextAttempt.milliseconds), last_error = \(String(error.prefix(500)))
            WHERE id = \(id)
            """, logger: logger)
    }

    public func callbacks(recipient: String, limit: Int) async throws -> [RevocationCallback] {
        try await callbacks(
            """
            SELECT id, consent_id, recipient, url, event_seq, status, attempts, next_attempt_ms, delivered_ms, last_error FROM callbacks
            WHERE recipient = \(recipient) ORDER BY id DESC LIMIT \(limit)
            """)
    }
}
