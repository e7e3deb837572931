import GRDB
import Ledger
import Ports

/// One request nonce to record.
struct NonceClaim: Sendable {
    let keyID: String
    let nonce: String
    let expiresAt: Timestamp
    let now: Timestamp
}

extension SQLiteStore: NonceStore {
    public func claimNonce(_ nonce: String, keyID: String, expiresAt: Timestamp, now: Timestamp) async throws -> Bool {
        try await nonceCommitter.submit(NonceClaim(keyID: keyID, nonce: nonce, expiresAt: expiresAt, now: now))
    }

    /// Records every waiting claim in one transaction; each answers whether its nonce was new.
    static func claim(_ claims: [NonceClaim], pool: DatabasePool) async -> [Result<Bool, any Error>] {
        do {
            return try await pool.write { db in
                // Expired nonces can no longer be replayed (their requests are stale): forget them.
                if let now = claims.map(\.now).max() {
                    try db.execute(sql: "DELETE FROM nonces WHERE expires_ms < ?", arguments: [now.milliseconds])
                }
                let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO nonces (key_id, nonce, expires_ms) VALUES (?, ?, ?)")
                return try claims.map { claim in
                    try insert.execute(arguments: [claim.keyID, claim.nonce, claim.expiresAt.milliseconds])
                    return .success(db.changesCount == 1)
                }
            }
        } catch {
            return claims.map { _ in .failure(LedgerError(.storeUnavailable, "the nonce store could not commit", underlying: ReasonError("\(error)")))
            }
        }
    }
}
