import Broker
import Consent
import Ledger
import Sodium

/// Fixed identities, derived from fixed seeds, so that a seed made once (a sealed page, a
/// signed receipt) opens and verifies in every later run. Never used outside fuzzing.
public enum FuzzKeys {
    /// Signs receipts, checkpoints, sealed streams; the key a verifier trusts.
    public static let broker = identity(id: "broker", seed: 1)
    /// The recipient that sealed pages and streams are addressed to.
    public static let recipient = identity(id: "safedrive", seed: 2)
    /// A person, whose id derives from the key.
    public static let person: Identity = {
        let key = identity(id: "", seed: 3)
        return Identity(id: Identifiers.subjectID(signingKey: key.signingKey.verifyingKey), signingKey: key.signingKey, boxKey: key.boxKey)
    }()
    /// The broker's clock in every target: 2026-12-01T00:00:00Z.
    public static let now = Timestamp(milliseconds: 1_796_083_200_000)

    private static func identity(id: String, seed byte: UInt8) -> Identity {
        var seed = [UInt8](repeating: byte, count: 32)
        var box = [UInt8](repeating: byte &+ 0x80, count: 32)
        do {
            return Identity(id: id, signingKey: try SigningKey(seed: &seed), boxKey: try BoxSecretKey(consuming: &box))
        } catch {
            fatalError("libsodium refused a fixed 32-byte key: \(error)")
        }
    }
}
