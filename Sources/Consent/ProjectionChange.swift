import Accounting
import Ledger
import Sodium

/// One change to the projections that an event causes. Computed purely from the event, so the
/// live path (in the append transaction) and a rebuild from zero make exactly the same changes.
public enum ProjectionChange: Sendable, Equatable {
    case activatePolicy(ActivePolicy)
    case insertParty(Party)
    case setPartyStatus(id: String, status: Party.Status)
    case setPartyKeys(id: String, signingKey: String, boxKey: String)
    case insertSubject(Subject)
    case insertRequest(ConsentRequest)
    case withdrawRequest(id: String, at: Timestamp)
    case insertConsent(Consent)
    /// `sequence` is the revocation's (0 until the store sets it, `withSequence`).
    case revokeConsent(id: String, at: Timestamp, sequence: UInt64)
    case attestDevice(DeviceBinding)
    case confirmDevice(manufacturer: String, deviceID: String, at: Timestamp)
    case appendAccess(AccessLogEntry)
    case insertBatch(TelemetryBatch)
    case setPartyCallback(id: String, url: String?)
    /// The person's data key is destroyed in the same transaction as their erasure.
    case destroyDataKey(subject: String, at: Timestamp)
    case openAccounts([Account])
    /// Stores the transfers (the store adds the event's sequence) and sets each touched
    /// account's counters to `balances`.
    case postTransfers([Transfer], balances: [Account])
    /// Stores an analysis (the store adds the event's sequence).
    case insertAnalysis(AnalysisRecord)
    /// Adds the access log entries of the persons an analysis included (the store adds the sequence).
    case includeInAnalysis([AnalysisInclusion])
    /// Adds what a push showed of its records' quality to the manufacturer's figures of the UTC
    /// day of the push (`QualityPeriod.day(of:)`).
    case measurePush(manufacturer: String, day: Int64, items: [ItemPushQuality])
    /// Stores a quality certificate (the store adds the event's sequence).
    case insertCertificate(QualityCertificateRecord)
}

/// A stored telemetry batch: its records become visible to pulls once this is projected.
public struct TelemetryBatch: Sendable, Equatable, Codable {
    public var batchID: String
    public var idempotencyKey: String?
    public var manufacturer: String
    public var accepted: Int
    public var rejected: Int
    public var digest: String
    public var time: Timestamp
    public var sequence: UInt64
    public init(
        batchID: String, idempotencyKey: String?, manufacturer: String, accepted: Int, rejected: Int, digest: String,
        time: Timestamp, sequence: UInt64
    ) {
        self.batchID = batchID; self.idempotencyKey = idempotencyKey; self.manufacturer = manufacturer; self.accepted = accepted;
        self.rejected = rejected
        self.digest = digest; self.time = time; self.sequence = sequence
    }
}

/// Maps events to projection changes.
public enum Projection {
    /// The changes `event` makes. They do not depend on its place in the log, so stores compute
    /// them before taking the write lock; fields that hold the event's sequence number (a
    /// consent's `grantSequence`, an access log entry's `sequence`) are 0 here and are set by
    /// the store when it applies the change (`withSequence`).
    ///
    /// - Throws: when the event cannot be decoded (see `DomainEvent.decode`).
    public static func changes(for event: NewEvent) throws -> [ProjectionChange] {
        changes(for: try DomainEvent.decode(event), event: event)
    }

    /// The changes of `event`, already decoded as `domain`.
    public static func changes(for domain: DomainEvent, event: NewEvent) -> [ProjectionChange] {
        let time = event.time
        switch domain {
        case .brokerInitialised:
            return []
        case .policyActivated(let e):
            return [.activatePolicy(ActivePolicy(version: e.version, hash: e.hash, policy: e.policy, activatedAt: time))]
        case .partyRegistered(let e):
            return [
                .insertParty(
                    Party(
                        id: e.partyID, role: e.role, name: e.name, signingKey: e.signingKey,
                        boxKey: e.boxKey, status: .active, registeredAt: time))
            ]
        case .partySuspended(let e):
            return [.setPartyStatus(id: e.partyID, status: .suspended)]
        case .partyReinstated(let e):
            return [.setPartyStatus(id: e.partyID, status: .active)]
        case .partyKeyRotated(let e):
            return [.setPartyKeys(id: e.partyID, signingKey: e.signingKey, boxKey: e.boxKey)]
        case .subjectRegistered(let e):
            return [.insertSubject(Subject(id: e.subjectID, signingKey: e.signingKey, registeredAt: time))]
        case .consentRequested(let e):
            return [
                .insertRequest(
                    ConsentRequest(
                        id: e.requestID, recipient: e.recipient, subject: e.subject, terms: e.terms,
                        offerExpiresAt: e.offerExpiresAt, policyVersion: e.policyVersion, createdAt: time,
                        requestHash: Hex.encode(BLAKE2b.hash256(event.payload)), withdrawnAt: nil))
            ]
        case .requestWithdrawn(let e):
            return [.withdrawRequest(id: e.requestID, at: time)]
        case .consentGranted(let e):
            return [
                .insertConsent(
                    Consent(
                        id: e.consentID, requestID: e.requestID, requestHash: e.requestHash, subject: e.subject,
                        recipient: e.recipient, terms: e.terms, grantedAt: e.grantedAt, expiresAt: e.expiresAt,
                        policyVersion: e.policyVersion, policyHash: e.policyHash, sensitiveConfirmed: e.sensitiveConfirmed,
                        revokedAt: nil, grantSequence: 0))
            ]
        case .consentRevoked(let e):
            return [.revokeConsent(id: e.consentID, at: time, sequence: 0)]
        case .deviceAttested(let e):
            return [
                .attestDevice(
                    DeviceBinding(
                        deviceID: e.deviceID, manufacturer: e.manufacturer,
                        subject: e.subject, attestedAt: time, confirmedAt: nil))
            ]
        case .deviceConfirmed(let e):
            return [.confirmDevice(manufacturer: e.manufacturer, deviceID: e.deviceID, at: time)]
        case .dataDelivered(let e):
            return [
                .appendAccess(
                    AccessLogEntry(
                        sequence: 0, time: time, deliveryID: e.deliveryID, consentID: e.consentID,
                        subject: e.subject, recipient: e.recipient, items: e.items, records: e.records, digest: e.digest,
                        after: e.after, through: e.through))
            ]
        case .partyCallbackSet(let e):
            return [.setPartyCallback(id: e.partyID, url: e.url)]
        case .subjectErased(let e):
            return [.destroyDataKey(subject: e.subjectID, at: time)]
        case .accountsOpened(let e):
            return [.openAccounts(e.accounts)]
        case .transfersPosted(let e):
            return [.postTransfers(e.transfers, balances: e.balances)]
        case .analysisRan(let e):
            return [
                .insertAnalysis(
                    AnalysisRecord(
                        analysisID: e.analysisID, requestID: e.requestID, recipient: e.recipient, sequence: 0, time: time,
                        epsilonMilli: e.epsilonMilli, periodStart: e.periodStart, payload: event.payload))
            ]
        case .analysisIncluded(let e):
            return [
                .includeInAnalysis(
                    e.subjects.map { subject in
                        AnalysisInclusion(
                            sequence: 0, time: time, analysisID: e.analysisID,
                            consentID: Identifiers.consentID(requestID: e.requestID, subject: subject), subject: subject,
                            recipient: e.recipient, purpose: e.purpose)
                    })
            ]
        case .qualityCertified(let e):
            return [
                .insertCertificate(
                    QualityCertificateRecord(
                        certificateID: e.certificateID, manufacturer: e.manufacturer, item: e.item, period: e.period, grade: e.grade,
                        sequence: 0, time: time, payload: event.payload))
            ]
        case .telemetryPushed(let e):
            let batch = ProjectionChange.insertBatch(
                TelemetryBatch(
                    batchID: e.batchID, idempotencyKey: e.idempotencyKey, manufacturer: e.manufacturer, accepted: e.accepted,
                    rejected: e.rejected, digest: e.digest, time: time, sequence: 0))
            guard let quality = e.quality, !quality.items.isEmpty else { return [batch] }
            return [batch, .measurePush(manufacturer: e.manufacturer, day: QualityPeriod.day(of: time), items: quality.items)]
        }
    }
}

extension ProjectionChange {
    /// This change for the event at `sequence`.
    public func withSequence(_ sequence: UInt64) -> ProjectionChange {
        switch self {
        case .insertConsent(var c):
            c.grantSequence = sequence
            return .insertConsent(c)
        case .revokeConsent(let id, let at, _):
            return .revokeConsent(id: id, at: at, sequence: sequence)
        case .appendAccess(var a):
            a.sequence = sequence
            return .appendAccess(a)
        case .insertBatch(var b):
            b.sequence = sequence
            return .insertBatch(b)
        case .insertAnalysis(var a):
            a.sequence = sequence
            return .insertAnalysis(a)
        case .insertCertificate(var c):
            c.sequence = sequence
            return .insertCertificate(c)
        case .includeInAnalysis(let entries):
            return .includeInAnalysis(
                entries.map {
                    var e = $0; e.sequence = sequence; return e
                })
        default:
            return self
        }
    }
}

/// Projection changes computed by whoever built an append batch from typed events.
public struct DerivedProjections: Sendable {
    public let changes: [[ProjectionChange]]
}

extension AppendBatch {
    /// A batch of events the caller holds as typed values: their projection changes travel with
    /// the batch, so the store does not decode the payloads again.
    ///
    /// - Parameter events: each typed event with the ledger event made from it.
    public init(typed events: [(DomainEvent, NewEvent)], conditions: [StreamCondition] = []) {
        self.init(
            events: events.map(\.1), conditions: conditions,
            derived: DerivedProjections(changes: events.map { Projection.changes(for: $0.0, event: $0.1) }))
    }

    /// The projection changes of each event: carried with the batch, or derived by decoding.
    ///
    /// - Throws: when an event does not decode.
    public func projectionChanges() throws -> [[ProjectionChange]] {
        if let derived = derived as? DerivedProjections, derived.changes.count == events.count { return derived.changes }
        return try events.map { try Projection.changes(for: $0) }
    }
}
