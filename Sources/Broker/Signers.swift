import Consent
import Ledger
import Sodium

/// Who signed a request or an event: a person, by the pseudonymous id their key derives, or a
/// registered party as the read model knows it (with its role), resolved once.
public enum Principal: Sendable, Equatable {
    case subject(String)
    case party(Party)

    /// The key id the request was signed with (the event's author id).
    public var id: String {
        switch self {
        case .subject(let id): id
        case .party(let party): party.id
        }
    }

    public var isSubject: Bool { if case .subject = self { true } else { false } }

    /// The party, when the signer is one in `role`.
    public func party(_ role: PartyRole) -> Party? {
        if case .party(let party) = self, party.role == role { party } else { nil }
    }
}

/// Why no key signs for an id. Each caller words it for its own answer (a request signature, an
/// event signature).
public enum SignerRefusal: Error, Sendable, Equatable {
    /// A person's id with no key on record and none offered.
    case unknownSubject(String)
    /// The key on record, or offered, for a person's id does not derive that id.
    case keyDoesNotDeriveID(String)
    case unknownParty(String)
    case suspendedParty(String)
    /// The party's key on record does not decode as an Ed25519 key.
    case unusableKey(String)
}

/// The one answer to "which key signs for this id": used by the HTTP signature middleware for a
/// request's `keyid` and by `BrokerService` for an event's author.
public struct Signers: Sendable {
    let readModel: any ConsentReadModel

    public init(readModel: any ConsentReadModel) { self.readModel = readModel }

    /// The signer `id` names and its verifying key: a registered person's key (or, when none is on
    /// record, `offered`, a key the signer brings: announced with the request, or registered in
    /// the same submission), checked to derive the id; or an active party's key.
    public func resolve(_ id: String, offered: VerifyingKey? = nil) async throws -> (Principal, VerifyingKey) {
        if Identifiers.isSubjectID(id) {
            let key: VerifyingKey
            if let subject = try await readModel.subject(id) {
                guard let bytes = Base64.decode(subject.signingKey), let k = try? VerifyingKey(bytes: bytes) else {
                    throw SignerRefusal.keyDoesNotDeriveID(id)
                }
                key = k
            } else if let offered {
                key = offered
            } else {
                throw SignerRefusal.unknownSubject(id)
            }
            // A person's id derives from their key, so a swapped key cannot sign for them.
            guard Identifiers.subjectID(signingKey: key) == id else { throw SignerRefusal.keyDoesNotDeriveID(id) }
            return (.subject(id), key)
        }
        guard let party = try await readModel.party(id) else { throw SignerRefusal.unknownParty(id) }
        guard party.status == .active else { throw SignerRefusal.suspendedParty(id) }
        guard let bytes = Base64.decode(party.signingKey), let key = try? VerifyingKey(bytes: bytes) else {
            throw SignerRefusal.unusableKey(id)
        }
        return (.party(party), key)
    }
}
