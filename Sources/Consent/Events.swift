import Accounting
import Ledger

/// The ledger was created; names the broker's public keys (base64).
public struct BrokerInitialised: Codable, Sendable, Equatable {
    public var brokerID: String
    public var signingKey: String
    public var boxKey: String
    /// The transparency log's origin (c2sp.org/tlog-checkpoint), set once at `admin init`; absent
    /// in ledgers started before it could be set, whose origin is derived from `signingKey`.
    public var logOrigin: String?
    public init(brokerID: String, signingKey: String, boxKey: String, logOrigin: String? = nil) {
        self.brokerID = brokerID; self.signingKey = signingKey; self.boxKey = boxKey; self.logOrigin = logOrigin
    }
}

/// A policy set became the active one. `hash` is BLAKE2b-256 (hex) over the policy files.
public struct PolicyActivated: Codable, Sendable, Equatable {
    public var version: String
    public var hash: String
    public var policy: PolicySet
    public init(version: String, hash: String, policy: PolicySet) {
        self.version = version; self.hash = hash; self.policy = policy
    }
}

/// The role a registered party plays.
public enum PartyRole: String, Codable, Sendable, CaseIterable {
    /// A data holder: pushes telemetry, attests device bindings.
    case manufacturer
    /// A data recipient: asks for consent, pulls data.
    case recipient
}

/// The operator registered a party with its Ed25519 signing key and X25519 box key (base64).
public struct PartyRegistered: Codable, Sendable, Equatable {
    public var partyID: String
    public var role: PartyRole
    public var name: String
    public var signingKey: String
    public var boxKey: String
    public init(partyID: String, role: PartyRole, name: String, signingKey: String, boxKey: String) {
        self.partyID = partyID; self.role = role; self.name = name; self.signingKey = signingKey; self.boxKey = boxKey
    }
}

/// The operator suspended a party: it can no longer act or receive data.
public struct PartySuspended: Codable, Sendable, Equatable {
    public var partyID: String
    public init(partyID: String) { self.partyID = partyID }
}

/// The operator lifted a suspension.
public struct PartyReinstated: Codable, Sendable, Equatable {
    public var partyID: String
    public init(partyID: String) { self.partyID = partyID }
}

/// A party's keys were replaced; events after this one must be signed with the new key.
public struct PartyKeyRotated: Codable, Sendable, Equatable {
    public var partyID: String
    public var signingKey: String
    public var boxKey: String
    public init(partyID: String, signingKey: String, boxKey: String) {
        self.partyID = partyID; self.signingKey = signingKey; self.boxKey = boxKey
    }
}

/// A person registered their public key; self-signed with it. The id is derived from the key.
public struct SubjectRegistered: Codable, Sendable, Equatable {
    public var subjectID: String
    public var signingKey: String
    public init(subjectID: String, signingKey: String) { self.subjectID = subjectID; self.signingKey = signingKey }
}

/// The terms a recipient asks a person to agree to.
public struct ConsentTerms: Codable, Sendable, Equatable {
    public var category: String
    public var items: [String]
    public var purpose: String
    /// The data time window: only records with `dataFrom ≤ time < dataTo` are covered.
    public var dataFrom: Timestamp
    public var dataTo: Timestamp
    /// How long the consent lasts after the grant.
    public var durationDays: Int
    /// Once-off: a single delivery within at most 24 hours, rather than periodic.
    public var onceOff: Bool
    /// How long the recipient may keep delivered data.
    public var retentionDays: Int
    /// The incentive offered to the person, in whole won.
    public var incentiveKRW: Int64
    /// What the recipient may do with the data: receive the records (`delivery`, also when
    /// absent, as in every consent made before analyses existed) or have them included in
    /// aggregate analyses run inside the broker, never receiving a record (`analysis`).
    public var access: ConsentAccess?
    /// The lowest quality grade the recipient accepts (A, B or C): only records of manufacturers
    /// × items whose current quality certificate meets it are delivered. Absent: any.
    public var minQuality: QualityGrade?
    /// The standard contract the request is made under (`Policies/contracts/`): the template,
    /// its parameters and the hash of its canonical text, signed by the person with the rest.
    public var contract: ContractReference?

    public init(
        category: String, items: [String], purpose: String, dataFrom: Timestamp, dataTo: Timestamp,
        durationDays: Int, onceOff: Bool, retentionDays: Int, incentiveKRW: Int64, access: ConsentAccess? = nil,
        minQuality: QualityGrade? = nil, contract: ContractReference? = nil
    ) {
        self.contract = contract
        self.category = category; self.items = items; self.purpose = purpose
        self.dataFrom = dataFrom; self.dataTo = dataTo; self.durationDays = durationDays
        self.onceOff = onceOff; self.retentionDays = retentionDays; self.incentiveKRW = incentiveKRW
        // `delivery` is written as absent, so the terms of every earlier request keep their bytes.
        self.access = access == .delivery ? nil : access
        self.minQuality = minQuality
    }

    /// The access these terms give, `delivery` when none is named.
    public var accessMode: ConsentAccess { access ?? .delivery }
}

/// What a consent lets its recipient do with the person's records.
public enum ConsentAccess: String, Codable, Sendable, CaseIterable {
    /// The records are delivered to the recipient, sealed to its key.
    case delivery
    /// The records never leave the broker: they are only counted into aggregate analyses whose
    /// results protect every person (minimum cell sizes, bounded contributions, noise).
    case analysis
}

/// A recipient asked for consent, of one person (`subject`) or as an open offer (`subject` nil).
public struct ConsentRequested: Codable, Sendable, Equatable {
    public var requestID: String
    public var recipient: String
    public var subject: String?
    public var terms: ConsentTerms
    /// After this time the request can no longer be granted.
    public var offerExpiresAt: Timestamp
    /// The policy version the request was checked against.
    public var policyVersion: String
    public init(
        requestID: String, recipient: String, subject: String?, terms: ConsentTerms,
        offerExpiresAt: Timestamp, policyVersion: String
    ) {
        self.requestID = requestID; self.recipient = recipient; self.subject = subject
        self.terms = terms; self.offerExpiresAt = offerExpiresAt; self.policyVersion = policyVersion
    }
}

/// The recipient withdrew a request; it can no longer be granted.
public struct RequestWithdrawn: Codable, Sendable, Equatable {
    public var requestID: String
    public init(requestID: String) { self.requestID = requestID }
}

/// A person granted consent, signed with their own key. It repeats the terms and binds the
/// exact request by hash, so this one event proves what was agreed.
public struct ConsentGranted: Codable, Sendable, Equatable {
    public var consentID: String
    public var requestID: String
    /// BLAKE2b-256 (hex) of the request event's payload bytes.
    public var requestHash: String
    public var subject: String
    public var recipient: String
    public var terms: ConsentTerms
    public var grantedAt: Timestamp
    public var expiresAt: Timestamp
    public var policyVersion: String
    public var policyHash: String
    /// The person explicitly confirmed sharing sensitive data.
    public var sensitiveConfirmed: Bool

    public init(
        consentID: String, requestID: String, requestHash: String, subject: String, recipient: String,
        terms: ConsentTerms, grantedAt: Timestamp, expiresAt: Timestamp, policyVersion: String,
        policyHash: String, sensitiveConfirmed: Bool
    ) {
        self.consentID = consentID; self.requestID = requestID; self.requestHash = requestHash
        self.subject = subject; self.recipient = recipient; self.terms = terms
        self.grantedAt = grantedAt; self.expiresAt = expiresAt; self.policyVersion = policyVersion
        self.policyHash = policyHash; self.sensitiveConfirmed = sensitiveConfirmed
    }
}

/// A person revoked a consent, signed with their key; effective from the event's time.
public struct ConsentRevoked: Codable, Sendable, Equatable {
    public var consentID: String
    public var subject: String
    public init(consentID: String, subject: String) { self.consentID = consentID; self.subject = subject }
}

/// A manufacturer attested that one of its devices belongs to a person.
public struct DeviceAttested: Codable, Sendable, Equatable {
    /// The manufacturer's pseudonymous device id (never a serial number or VIN).
    public var deviceID: String
    public var manufacturer: String
    public var subject: String
    public init(deviceID: String, manufacturer: String, subject: String) {
        self.deviceID = deviceID; self.manufacturer = manufacturer; self.subject = subject
    }
}

/// The person confirmed a device attestation; only then are its records deliverable.
public struct DeviceConfirmed: Codable, Sendable, Equatable {
    public var deviceID: String
    public var manufacturer: String
    public var subject: String
    public init(deviceID: String, manufacturer: String, subject: String) {
        self.deviceID = deviceID; self.manufacturer = manufacturer; self.subject = subject
    }
}

/// The broker delivered records under a consent; what the person sees in their access log.
public struct DataDelivered: Codable, Sendable, Equatable {
    public var deliveryID: String
    public var consentID: String
    public var subject: String
    public var recipient: String
    public var items: [String]
    public var records: Int
    /// BLAKE2b-256 (hex) of the bytes sent.
    public var digest: String
    /// The range of record positions the delivery covers, `(after, through]`: a pull from `after`
    /// again returns this delivery instead of a new one. Absent in deliveries made before ranges
    /// were recorded.
    public var after: RecordCursor?
    public var through: RecordCursor?
    /// Under terms with a `minQuality`, the quality certificates the delivery relied on: the
    /// current one of each manufacturer × item whose records it holds. Absent otherwise.
    public var certificates: [String]?
    public init(
        deliveryID: String, consentID: String, subject: String, recipient: String,
        items: [String], records: Int, digest: String, after: RecordCursor? = nil, through: RecordCursor? = nil,
        certificates: [String]? = nil
    ) {
        self.deliveryID = deliveryID; self.consentID = consentID; self.subject = subject
        self.recipient = recipient; self.items = items; self.records = records; self.digest = digest
        self.after = after; self.through = through; self.certificates = certificates
    }
}

/// A person asked for their data to be erased, signed with their key: their consents are
/// revoked in the same append, and their data key is destroyed (crypto-shredding).
public struct SubjectErased: Codable, Sendable, Equatable {
    public var subjectID: String
    public init(subjectID: String) { self.subjectID = subjectID }
}

/// The operator set (or cleared, with nil) the URL a party is told about revocations at.
public struct PartyCallbackSet: Codable, Sendable, Equatable {
    public var partyID: String
    public var url: String?
    public init(partyID: String, url: String?) { self.partyID = partyID; self.url = url }
}

/// Accounts were opened in the double-entry book (counters zero).
public struct AccountsOpened: Codable, Sendable, Equatable {
    public var accounts: [Account]
    public init(accounts: [Account]) { self.accounts = accounts }
}

/// Transfers were applied to the book, in order, all at `transfers[0].timestamp`; `balances` are
/// the accounts they touched, as they stand afterwards. A verifier replays the transfers and
/// checks it reaches the same balances.
public struct TransfersPosted: Codable, Sendable, Equatable {
    public var transfers: [Transfer]
    public var balances: [Account]
    public init(transfers: [Transfer], balances: [Account]) { self.transfers = transfers; self.balances = balances }
}
