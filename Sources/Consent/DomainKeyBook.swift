import Ledger
import Sodium

/// Learns parties' and persons' keys from the log, in order, for the ledger verifier.
public struct DomainKeyBook: AuthorKeyBook {
    private var keys: [String: VerifyingKey] = [:]

    public init() {}

    public mutating func expectedSigner(of recorded: RecordedEvent) -> ExpectedSigner {
        let event = recorded.event
        if event.authorID == AuthorID.broker {
            learnFromBrokerEvent(event)
            return .broker
        }
        if event.type == DomainEvent.TypeName.subjectRegistered {
            // Self-signed: the key it registers must sign it, and the id must derive from it.
            guard case .subjectRegistered(let e)? = try? DomainEvent.decode(event),
                  let bytes = Base64.decode(e.signingKey), let key = try? VerifyingKey(bytes: bytes) else {
                return .unknown("the subject registration does not carry a valid key")
            }
            guard Identifiers.subjectID(signingKey: key) == e.subjectID, e.subjectID == event.authorID else {
                return .unknown("the subject id does not derive from the registered key")
            }
            keys[e.subjectID] = key
            return .key(key)
        }
        guard let key = keys[event.authorID] else {
            return .unknown("author '\(event.authorID)' has no registered key at this point of the log")
        }
        return .key(key)
    }

    private mutating func learnFromBrokerEvent(_ event: NewEvent) {
        switch event.type {
        case DomainEvent.TypeName.partyRegistered:
            if case .partyRegistered(let e)? = try? DomainEvent.decode(event) { learn(e.partyID, e.signingKey) }
        case DomainEvent.TypeName.partyKeyRotated:
            if case .partyKeyRotated(let e)? = try? DomainEvent.decode(event) { learn(e.partyID, e.signingKey) }
        default:
            break
        }
    }

    private mutating func learn(_ id: String, _ base64Key: String) {
        if let bytes = Base64.decode(base64Key), let key = try? VerifyingKey(bytes: bytes) { keys[id] = key }
    }
}
