import Accounting
import Ledger

/// A registered party as the projection holds it.
public struct Party: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable { case active, suspended }
    public var id: String
    public var role: PartyRole
    public var name: String
    public var signingKey: String
    public var boxKey: String
    public var status: Status
    public var registeredAt: Timestamp
    public init(id: String, role: PartyRole, name: String, signingKey: String, boxKey: String, status: Status, registeredAt: Timestamp) {
        self.id = id; self.role = role; self.name = name; self.signingKey = signingKey
        self.boxKey = boxKey; self.status = status; self.registeredAt = registeredAt
    }
}

/// A registered person: a pseudonymous id and their public key, nothing else.
public struct Subject: Sendable, Equatable, Codable {
    public var id: String
    public var signingKey: String
    public var registeredAt: Timestamp
    public init(id: String, signingKey: String, registeredAt: Timestamp) {
        self.id = id; self.signingKey = signingKey; self.registeredAt = registeredAt
    }
}

/// The policy set in force.
public struct ActivePolicy: Sendable, Equatable {
    public var version: String
    public var hash: String
    public var policy: PolicySet
    public var activatedAt: Timestamp
    public init(version: String, hash: String, policy: PolicySet, activatedAt: Timestamp) {
        self.version = version; self.hash = hash; self.policy = policy; self.activatedAt = activatedAt
    }
}

/// A consent request with its current state.
public struct ConsentRequest: Sendable, Equatable, Codable {
    public var id: String
    public var recipient: String
    public var subject: String?
    public var terms: ConsentTerms
    public var offerExpiresAt: Timestamp
    public var policyVersion: String
    public var createdAt: Timestamp
    /// BLAKE2b-256 (hex) of the request event's payload; a grant must name it.
    public var requestHash: String
    public var withdrawnAt: Timestamp?

    public init(
        id: String, recipient: String, subject: String?, terms: ConsentTerms, offerExpiresAt: Timestamp,
        policyVersion: String, createdAt: Timestamp, requestHash: String, withdrawnAt: Timestamp?
    ) {
        self.id = id; self.recipient = recipient; self.subject = subject; self.terms = terms
        self.offerExpiresAt = offerExpiresAt; self.policyVersion = policyVersion; self.createdAt = createdAt
        self.requestHash = requestHash; self.withdrawnAt = withdrawnAt
    }

    /// `open`, `withdrawn` or `expired` at `now`.
    public func status(at now: Timestamp) -> RequestStatus {
        if withdrawnAt != nil { return .withdrawn }
        if now >= offerExpiresAt { return .expired }
        return .open
    }
}

/// A granted consent with its current state.
public struct Consent: Sendable, Equatable, Codable {
    public var id: String
    public var requestID: String
    public var requestHash: String
    public var subject: String
    public var recipient: String
    public var terms: ConsentTerms
    public var grantedAt: Timestamp
    public var expiresAt: Timestamp
    public var policyVersion: String
    public var policyHash: String
    public var sensitiveConfirmed: Bool
    public var revokedAt: Timestamp?
    /// Where the signed grant sits in the ledger.
    public var grantSequence: UInt64
    /// Where the revocation sits in the ledger, once there is one.
    public var revokeSequence: UInt64?

    public init(
        id: String, requestID: String, requestHash: String, subject: String, recipient: String,
        terms: ConsentTerms, grantedAt: Timestamp, expiresAt: Timestamp, policyVersion: String,
        policyHash: String, sensitiveConfirmed: Bool, revokedAt: Timestamp?, grantSequence: UInt64,
        revokeSequence: UInt64? = nil
    ) {
        self.id = id; self.requestID = requestID; self.requestHash = requestHash; self.subject = subject
        self.recipient = recipient; self.terms = terms; self.grantedAt = grantedAt; self.expiresAt = expiresAt
        self.policyVersion = policyVersion; self.policyHash = policyHash
        self.sensitiveConfirmed = sensitiveConfirmed; self.revokedAt = revokedAt; self.grantSequence = grantSequence
        self.revokeSequence = revokeSequence
    }

    /// `active`, `revoked` or `expired` at `now`.
    public func status(at now: Timestamp) -> ConsentStatus {
        if revokedAt != nil { return .revoked }
        if now >= expiresAt { return .expired }
        return .active
    }
}

/// Where a consent request stands: open to answer, withdrawn by its recipient, or past its offer.
public enum RequestStatus: String, Sendable, Codable { case open, withdrawn, expired }

/// Where a consent stands.
public enum ConsentStatus: String, Sendable, Codable { case active, revoked, expired }

/// A device attested to belong to a person, and whether the person confirmed it.
public struct DeviceBinding: Sendable, Equatable, Codable {
    public var deviceID: String
    public var manufacturer: String
    public var subject: String
    public var attestedAt: Timestamp
    public var confirmedAt: Timestamp?
    public init(deviceID: String, manufacturer: String, subject: String, attestedAt: Timestamp, confirmedAt: Timestamp?) {
        self.deviceID = deviceID; self.manufacturer = manufacturer; self.subject = subject
        self.attestedAt = attestedAt; self.confirmedAt = confirmedAt
    }
}

/// One delivery of a person's data, as the person sees it.
public struct AccessLogEntry: Sendable, Equatable, Codable {
    public var sequence: UInt64
    public var time: Timestamp
    public var deliveryID: String
    public var consentID: String
    public var subject: String
    public var recipient: String
    public var items: [String]
    public var records: Int
    public var digest: String
    /// The record positions the delivery covers, `(after, through]` (nil for deliveries made
    /// before ranges were recorded).
    public var after: RecordCursor?
    public var through: RecordCursor?
    public init(
        sequence: UInt64, time: Timestamp, deliveryID: String, consentID: String, subject: String,
        recipient: String, items: [String], records: Int, digest: String, after: RecordCursor? = nil, through: RecordCursor? = nil
    ) {
        self.sequence = sequence; self.time = time; self.deliveryID = deliveryID; self.consentID = consentID
        self.subject = subject; self.recipient = recipient; self.items = items; self.records = records; self.digest = digest
        self.after = after; self.through = through
    }
}

/// Queries over the projections. Stores implement it; services read through it.
public protocol ConsentReadModel: Sendable {
    func activePolicy() async throws -> ActivePolicy?
    /// The policy set whose hash is `hash`, active now or before (every activation is kept):
    /// what a consent granted under it agreed to.
    func policy(hash: String) async throws -> ActivePolicy?
    func party(_ id: String) async throws -> Party?
    func parties() async throws -> [Party]
    func subject(_ id: String) async throws -> Subject?
    func request(_ id: String) async throws -> ConsentRequest?
    /// Requests addressed to `subject` or open to anyone, newest first, that `subject` has not
    /// answered yet; `nil` lists all requests.
    func requests(for subject: String?, limit: Int, before: RequestCursor?) async throws -> [ConsentRequest]
    /// The requests `recipient` made, newest first.
    func requests(recipient: String, limit: Int, before: RequestCursor?) async throws -> [ConsentRequest]
    func consent(_ id: String) async throws -> Consent?
    /// Newest first; `before` is a grant sequence from the previous page.
    func consents(subject: String, limit: Int, before: UInt64?) async throws -> [Consent]
    func consents(recipient: String, limit: Int, before: UInt64?) async throws -> [Consent]
    func deviceBindings(subject: String) async throws -> [DeviceBinding]
    func deviceBinding(manufacturer: String, deviceID: String) async throws -> DeviceBinding?
    /// Newest first; `before` is an entry's ledger sequence from the previous page.
    func accessLog(subject: String, limit: Int, before: UInt64?) async throws -> [AccessLogEntry]
    /// The deliveries made under a consent, oldest first; `after` is an entry's ledger sequence
    /// from the previous page.
    func deliveries(consentID: String, limit: Int, after: UInt64?) async throws -> [AccessLogEntry]
    /// Around a record position of a consent's deliveries (those with a range): the one whose
    /// range starts at or before `cursor` (the latest such), and the first that starts after it.
    func deliveries(consentID: String, around cursor: RecordCursor) async throws -> (atOrBefore: AccessLogEntry?, next: AccessLogEntry?)
    /// The stored telemetry batch a manufacturer sent with `idempotencyKey`.
    func telemetryBatch(manufacturer: String, idempotencyKey: String) async throws -> TelemetryBatch?
    /// Sequence of the last event the projections reflect.
    func projectedSequence() async throws -> UInt64
    /// Drops every projection and replays the log from the first event.
    func rebuildProjections() async throws
    /// Every projection row as text in a fixed order: equal dumps mean equal projections
    /// (for `mydata admin rebuild` and tests).
    func dumpProjections() async throws -> String
}

/// The double-entry book as the projections hold it.
public struct AccountingSnapshot: Sendable, Equatable {
    public var accounts: [Account]
    /// Every applied transfer, in the order applied.
    public var transfers: [Transfer]
    /// How many events the `accounting` stream held when this was read.
    public var version: Int
    public init(accounts: [Account], transfers: [Transfer], version: Int) {
        self.accounts = accounts; self.transfers = transfers; self.version = version
    }
}

/// Reads of the accounting projections (accounts with their counters, transfers).
public protocol AccountingReadModel: Sendable {
    /// Every account and transfer, and the `accounting` stream's version, read in one snapshot.
    func accountingSnapshot() async throws -> AccountingSnapshot
    /// Accounts, by id; of one owner when `owner` is given.
    func accounts(owner: Owner?) async throws -> [Account]
    func account(_ id: String) async throws -> Account?
    /// Transfers that debit or credit `account`, oldest first, after `after` of them.
    func transfers(account: String, after: Int, limit: Int) async throws -> [Transfer]
}

/// The first page of each listing.
extension ConsentReadModel {
    public func requests(for subject: String?, limit: Int) async throws -> [ConsentRequest] {
        try await requests(for: subject, limit: limit, before: nil)
    }
    public func consents(subject: String, limit: Int) async throws -> [Consent] {
        try await consents(subject: subject, limit: limit, before: nil)
    }
    public func consents(recipient: String, limit: Int) async throws -> [Consent] {
        try await consents(recipient: recipient, limit: limit, before: nil)
    }
    public func accessLog(subject: String, limit: Int) async throws -> [AccessLogEntry] {
        try await accessLog(subject: subject, limit: limit, before: nil)
    }
}

/// Where a page of requests ends: `<created ms>.<request id>` (requests list newest first, then by id).
public struct RequestCursor: Sendable, Equatable, CustomStringConvertible {
    public var createdAt: Int64
    public var id: String

    public init(createdAt: Int64, id: String) { self.createdAt = createdAt; self.id = id }

    /// Parses `<created ms>.<request id>`; nil for anything else.
    public init?(_ text: String) {
        guard let dot = text.firstIndex(of: "."), let ms = Int64(text[..<dot]), ms >= 0 else { return nil }
        let id = String(text[text.index(after: dot)...])
        guard Identifiers.isValidReference(id) else { return nil }
        self.init(createdAt: ms, id: id)
    }

    public init(after request: ConsentRequest) { self.init(createdAt: request.createdAt.milliseconds, id: request.id) }

    public var description: String { "\(createdAt).\(id)" }
}
