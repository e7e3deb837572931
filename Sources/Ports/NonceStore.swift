import Ledger

/// Remembers the nonces of signed HTTP requests, so a captured request cannot be replayed
/// within its validity window. Shared by every broker process of a deployment.
public protocol NonceStore: Sendable {
    /// Records `nonce` for `keyID` until `expiresAt`; false when it was already used.
    func claimNonce(_ nonce: String, keyID: String, expiresAt: Timestamp, now: Timestamp) async throws -> Bool
}
