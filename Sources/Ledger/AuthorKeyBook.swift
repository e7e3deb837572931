import Sodium

/// Who must have signed an event, as known at that point of the log.
public enum ExpectedSigner: Sendable {
    /// A broker event: unsigned, covered by checkpoints.
    case broker
    /// A party or person whose key must verify the event's signature.
    case key(VerifyingKey)
    /// The author is not known at this point of the log.
    case unknown(String)
    /// This author may not write this event (for example: a grant not written by the person it names).
    case wrongAuthor(String)
    /// The event's payload cannot be read as its type says.
    case malformed(String)
}

/// Learns authors' keys from the log in order (party registrations, key rotations, subject
/// registrations) and says whose signature each event must carry. The domain implements it;
/// the ledger's verifier only asks.
public protocol AuthorKeyBook: SendableMetatype {
    /// What the book needs from one event, computed on any thread (for example: its decoded
    /// payload), so that the in-order part stays short.
    associatedtype Prepared: Sendable

    /// Prepares `event`; called concurrently for many events.
    static func prepare(_ event: RecordedEvent) -> Prepared

    /// The signer `event` must have, given every event before it; then learns from `event`.
    mutating func expectedSigner(of event: RecordedEvent, prepared: Prepared) -> ExpectedSigner
}
