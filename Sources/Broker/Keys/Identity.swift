import Consent
import Ledger
import Sodium

/// Someone who signs ledger events: a person, a party or the broker. Holds an Ed25519 signing
/// key and an X25519 key for sealed deliveries; both are zeroed when released.
public struct Identity: Sendable {
    /// `sub_…` for a person, the party id, or `broker`.
    public let id: String
    public let signingKey: SigningKey
    public let boxKey: BoxSecretKey

    public init(id: String, signingKey: SigningKey, boxKey: BoxSecretKey) {
        self.id = id
        self.signingKey = signingKey
        self.boxKey = boxKey
    }

    /// A new party or broker identity with fresh keys.
    public static func generate(id: String) throws -> Identity {
        Identity(id: id, signingKey: try SigningKey(), boxKey: try BoxSecretKey())
    }

    /// A new person: the id derives from the fresh public key.
    public static func generateSubject() throws -> Identity {
        let key = try SigningKey()
        return Identity(id: Identifiers.subjectID(signingKey: key.verifyingKey), signingKey: key, boxKey: try BoxSecretKey())
    }

    /// The public half, base64, as it appears in registrations and key files.
    public var publicKeys: PublicKeys {
        PublicKeys(id: id, signingKey: Base64.encode(signingKey.verifyingKey.bytes), boxKey: Base64.encode(boxKey.publicKey.bytes))
    }

    /// `event` as a ledger event authored and signed by this identity at `time`.
    public func sign(_ event: DomainEvent, at time: Timestamp) throws -> NewEvent {
        var new = try event.newEvent(authorID: id, time: time)
        new.signature = signingKey.sign(new.signingInput).bytes
        return new
    }
}

/// The public keys of an identity, as stored in `Keys/` and `keys/*.pub`.
public struct PublicKeys: Codable, Sendable, Equatable {
    public var id: String
    /// Ed25519, base64.
    public var signingKey: String
    /// X25519, base64.
    public var boxKey: String
    /// `manufacturer`, `recipient`, `broker` or `subject`, when known.
    public var role: String?
    /// The party's name as people see it; used when a trust-store file registers a new party.
    public var name: String?

    public init(id: String, signingKey: String, boxKey: String, role: String? = nil, name: String? = nil) {
        self.id = id; self.signingKey = signingKey; self.boxKey = boxKey; self.role = role; self.name = name
    }

    /// The Ed25519 key.
    ///
    /// - Throws: `SodiumError` when the text is not a 32-byte base64 key.
    public func verifyingKey() throws -> VerifyingKey {
        guard let bytes = Base64.decode(signingKey) else { throw SodiumError(.invalidInput, "the signing key of '\(id)' is not base64") }
        return try VerifyingKey(bytes: bytes)
    }
}
