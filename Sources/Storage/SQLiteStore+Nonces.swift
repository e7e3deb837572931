import Broker
import GRDB
import Ledger

extension SQLiteStore: NonceStore {
    public func claimNonce(_ nonce: String, keyID: String, expiresAt: Timestamp, now: Timestamp) async throws -> Bool {
        try await write { db in
            // Expired nonces can no longer be replayed (their requests are stale): forget them.
            try db.execute(sql: "DELETE FROM nonces WHERE expires_ms < ?", arguments: [now.milliseconds])
            try db.execute(sql: "INSERT OR IGNORE INTO nonces (key_id, nonce, expires_ms) VALUES (?, ?, ?)",
                           arguments: [keyID, nonce, expiresAt.milliseconds])
            return db.changesCount == 1
        }
    }
}
