import Ledger
import Ports
import PostgresNIO

extension PostgresStore: NonceStore {
    public func claimNonce(_ nonce: String, keyID: String, expiresAt: Timestamp, now: Timestamp) async throws -> Bool {
        try await client.query("DELETE FROM nonces WHERE expires_ms < \(now.milliseconds)", logger: logger)
        let rows = try await client.query(
            """
            INSERT INTO nonces (key_id, nonce, expires_ms) VALUES (\(keyID), \(nonce), \(expiresAt.milliseconds))
            ON CONFLICT (key_id, nonce) DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }
}
