import GRDB
import Ledger
import Ports

extension SQLiteStore: CallbackStore {
    private static let columns = "id, consent_id, recipient, url, event_seq, status, attempts, next_attempt_ms, delivered_ms, last_error"

    private static func callback(_ r: Row) throws -> RevocationCallback {
        try RevocationCallback(
            id: r[0], consentID: r[1], recipient: r[2], url: r[3], eventSequence: UInt64(r[4] as Int64), status: .init(stored: r[5]),
            attempts: r[6], nextAttempt: Timestamp(milliseconds: r[7]),
            deliveredAt: (r[8] as Int64?).map(Timestamp.init(milliseconds:)), lastError: r[9])
    }

    public func claimDueCallbacks(now: Timestamp, leaseUntil: Timestamp, limit: Int) async throws -> [RevocationCallback] {
        try await write { db in
            try Row.fetchAll(
                db,
                sql: """
                    UPDATE callbacks SET next_attempt_ms = ?
                    WHERE id IN (SELECT id FROM callbacks WHERE status = 'pending' AND next_attempt_ms <= ? ORDER BY id LIMIT ?)
                    RETURNING \(Self.columns)
                    """, arguments: [leaseUntil.milliseconds, now.milliseconds, limit]
            ).map(Self.callback).sorted { $0.id < $1.id }
        }
    }

    public func markCallbackDelivered(id: Int64, at: Timestamp) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE callbacks SET status = 'delivered', delivered_ms = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
                arguments: [at.milliseconds, id])
        }
    }

    public func markCallbackFailed(id: Int64, attempts: Int, nextAttempt: Timestamp, error: String) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE callbacks SET attempts = ?, next_attempt_ms = ?, last_error = ? WHERE id = ?",
                arguments: [attempts, nextAttempt.milliseconds, String(error.prefix(500)), id])
        }
    }

    public func callbacks(recipient: String, limit: Int) async throws -> [RevocationCallback] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM callbacks WHERE recipient = ? ORDER BY id DESC LIMIT ?",
                arguments: [recipient, limit]
            ).map(Self.callback)
        }
    }
}
