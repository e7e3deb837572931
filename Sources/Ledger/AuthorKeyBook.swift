import Sodium

/// Who must have signed an event, as known at that point of the log.
public enum ExpectedSigner: Sendable {
    /// A broker event: unsigned, covered by checkpoints.
    case broker
    /// A party or person whose key must verify the event's signature.
    case key(VerifyingKey)
    /// The author is not known at this point of the log.
    case unknown(String)
}

/// Learns authors' keys from the log in order (party registrations, key rotations, subject
/// registrations) and says whose signature each event must carry. The domain implements it;
/// the ledger's verifier only asks.
public protocol AuthorKeyBook {
    /// The signer `event` must have, given every event before it; then learns from `event`.
    mutating func expectedSigner(of event: RecordedEvent) -> ExpectedSigner
}
