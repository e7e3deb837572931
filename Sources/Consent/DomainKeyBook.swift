import Ledger
import Sodium

/// Replays the log in order for the ledger verifier: learns parties' and persons' keys, and
/// checks that each event was written by the one author who may write it — the broker for
/// registrations, policies and deliveries; the person a grant, revocation or device
/// confirmation names; the recipient of a request; the manufacturer of an attestation.
public struct DomainKeyBook: AuthorKeyBook {
    private var keys: [String: VerifyingKey] = [:]
    private var requestRecipients: [String: String] = [:]
    private var consentSubjects: [String: String] = [:]

    public init() {}

    /// The decoded event and, for a person's registration, the key it registers (if its id
    /// derives from it): the costly parts, done in parallel.
    public struct Prepared: Sendable {
        let domain: Result<DomainEvent, LedgerError>
        let registeredKey: VerifyingKey?
    }

    public static func prepare(_ event: RecordedEvent) -> Prepared {
        let domain: Result<DomainEvent, LedgerError>
        do { domain = .success(try DomainEvent.decode(event.event)) } catch let error as LedgerError {
            domain = .failure(error)
        } catch {
            domain = .failure(LedgerError(.corruptRecord, "\(error)"))
        }
        guard case .success(.subjectRegistered(let e)) = domain, let bytes = Base64.decode(e.signingKey),
            let key = try? VerifyingKey(bytes: bytes), Identifiers.subjectID(signingKey: key) == e.subjectID
        else {
            return Prepared(domain: domain, registeredKey: nil)
        }
        return Prepared(domain: domain, registeredKey: key)
    }

    public mutating func expectedSigner(of recorded: RecordedEvent, prepared: Prepared) -> ExpectedSigner {
        let author = recorded.event.authorID
        let domain: DomainEvent
        switch prepared.domain {
        case .success(let d): domain = d
        case .failure(let error): return .malformed(error.message)
        }
        if let rule = authorRule(domain), rule != author {
            return .wrongAuthor("a '\(recorded.event.type)' event must be written by \(rule), not \(author)")
        }
        learn(domain)
        if author == AuthorID.broker { return .broker }
        if case .subjectRegistered(let e) = domain {
            // Self-signed: the key it registers must sign it, and the id must derive from it.
            guard let key = prepared.registeredKey else {
                return .malformed("the subject id does not derive from the registered key")
            }
            keys[e.subjectID] = key
            return .key(key)
        }
        guard let key = keys[author] else {
            return .unknown("author '\(author)' has no registered key at this point of the log")
        }
        return .key(key)
    }

    /// Who alone may write `event`, as far as the log so far tells.
    private func authorRule(_ event: DomainEvent) -> String? {
        switch event {
        case .brokerInitialised, .policyActivated, .partyRegistered, .partySuspended, .partyReinstated, .partyKeyRotated, .dataDelivered,
            .telemetryPushed, .partyCallbackSet, .accountsOpened, .transfersPosted, .analysisRan, .analysisIncluded, .qualityCertified:
            AuthorID.broker
        case .subjectRegistered(let e): e.subjectID
        case .subjectErased(let e): e.subjectID
        case .consentRequested(let e): e.recipient
        case .requestWithdrawn(let e): requestRecipients[e.requestID] ?? "the recipient of a request in the log"
        case .consentGranted(let e): e.subject
        case .consentRevoked(let e): consentSubjects[e.consentID] == e.subject ? e.subject : "the person who granted \(e.consentID)"
        case .deviceAttested(let e): e.manufacturer
        case .deviceConfirmed(let e): e.subject
        }
    }

    private mutating func learn(_ event: DomainEvent) {
        switch event {
        case .partyRegistered(let e): learnKey(e.partyID, e.signingKey)
        case .partyKeyRotated(let e): learnKey(e.partyID, e.signingKey)
        case .consentRequested(let e): requestRecipients[e.requestID] = e.recipient
        case .consentGranted(let e): consentSubjects[e.consentID] = e.subject
        default: break
        }
    }

    private mutating func learnKey(_ id: String, _ base64Key: String) {
        if let bytes = Base64.decode(base64Key), let key = try? VerifyingKey(bytes: bytes) { keys[id] = key }
    }
}
