import Accounting
import Ledger

/// Every fact the broker records, decoded from (or encoded to) a ledger event.
public enum DomainEvent: Sendable, Equatable {
    case brokerInitialised(BrokerInitialised)
    case policyActivated(PolicyActivated)
    case partyRegistered(PartyRegistered)
    case partySuspended(PartySuspended)
    case partyReinstated(PartyReinstated)
    case partyKeyRotated(PartyKeyRotated)
    case subjectRegistered(SubjectRegistered)
    case consentRequested(ConsentRequested)
    case requestWithdrawn(RequestWithdrawn)
    case consentGranted(ConsentGranted)
    case consentRevoked(ConsentRevoked)
    case deviceAttested(DeviceAttested)
    case deviceConfirmed(DeviceConfirmed)
    case dataDelivered(DataDelivered)
    case telemetryPushed(TelemetryPushed)
    case subjectErased(SubjectErased)
    case partyCallbackSet(PartyCallbackSet)
    case accountsOpened(AccountsOpened)
    case transfersPosted(TransfersPosted)
    case analysisRan(AnalysisRan)
    case analysisIncluded(AnalysisIncluded)
    case qualityCertified(QualityCertified)

    /// Event type names as stored; never change one, add a new type instead.
    public enum TypeName {
        public static let brokerInitialised = "broker.initialised"
        public static let policyActivated = "policy.activated"
        public static let partyRegistered = "party.registered"
        public static let partySuspended = "party.suspended"
        public static let partyReinstated = "party.reinstated"
        public static let partyKeyRotated = "party.key-rotated"
        public static let subjectRegistered = "subject.registered"
        public static let consentRequested = "consent.requested"
        public static let requestWithdrawn = "consent.request-withdrawn"
        public static let consentGranted = "consent.granted"
        public static let consentRevoked = "consent.revoked"
        public static let deviceAttested = "device.attested"
        public static let deviceConfirmed = "device.confirmed"
        public static let dataDelivered = "data.delivered"
        public static let telemetryPushed = "telemetry.pushed"
        public static let subjectErased = "subject.erased"
        public static let partyCallbackSet = "party.callback-set"
        public static let accountsOpened = "accounts.opened"
        public static let transfersPosted = "transfers.posted"
        public static let analysisRan = "analysis.ran"
        public static let analysisIncluded = "analysis.included"
        public static let qualityCertified = "quality.certified"
    }

    /// Shipped schema versions and the upcasters from older ones. Every version listed here
    /// has a golden fixture under Tests/ConsentTests/Fixtures.
    public static let upcasters = UpcasterChain(
        currentVersions: [
            TypeName.brokerInitialised: 1, TypeName.policyActivated: 1, TypeName.partyRegistered: 1,
            TypeName.partySuspended: 1, TypeName.partyReinstated: 1, TypeName.partyKeyRotated: 1,
            TypeName.subjectRegistered: 1, TypeName.consentRequested: 1, TypeName.requestWithdrawn: 1,
            TypeName.consentGranted: 1, TypeName.consentRevoked: 1, TypeName.deviceAttested: 1,
            TypeName.deviceConfirmed: 1, TypeName.dataDelivered: 1, TypeName.telemetryPushed: 2, TypeName.subjectErased: 1,
            TypeName.partyCallbackSet: 1, TypeName.accountsOpened: 1, TypeName.transfersPosted: 1,
            TypeName.analysisRan: 1, TypeName.analysisIncluded: 1, TypeName.qualityCertified: 1,
        ],
        upcasters: [
            // Version 2 adds what the batch showed of its records' quality (`quality`, optional). A
            // version 1 batch was not measured: it reads as version 2 without figures, unchanged.
            Upcaster(type: TypeName.telemetryPushed, fromVersion: 1) { $0 }
        ])

    /// The stored type name.
    public var typeName: String {
        switch self {
        case .brokerInitialised: TypeName.brokerInitialised
        case .policyActivated: TypeName.policyActivated
        case .partyRegistered: TypeName.partyRegistered
        case .partySuspended: TypeName.partySuspended
        case .partyReinstated: TypeName.partyReinstated
        case .partyKeyRotated: TypeName.partyKeyRotated
        case .subjectRegistered: TypeName.subjectRegistered
        case .consentRequested: TypeName.consentRequested
        case .requestWithdrawn: TypeName.requestWithdrawn
        case .consentGranted: TypeName.consentGranted
        case .consentRevoked: TypeName.consentRevoked
        case .deviceAttested: TypeName.deviceAttested
        case .deviceConfirmed: TypeName.deviceConfirmed
        case .dataDelivered: TypeName.dataDelivered
        case .telemetryPushed: TypeName.telemetryPushed
        case .subjectErased: TypeName.subjectErased
        case .partyCallbackSet: TypeName.partyCallbackSet
        case .accountsOpened: TypeName.accountsOpened
        case .transfersPosted: TypeName.transfersPosted
        case .analysisRan: TypeName.analysisRan
        case .analysisIncluded: TypeName.analysisIncluded
        case .qualityCertified: TypeName.qualityCertified
        }
    }

    /// The stream the event belongs to.
    public var streamID: String {
        switch self {
        case .brokerInitialised: StreamName.broker
        case .policyActivated: StreamName.policy
        case .partyRegistered(let e): StreamName.party(e.partyID)
        case .partySuspended(let e): StreamName.party(e.partyID)
        case .partyReinstated(let e): StreamName.party(e.partyID)
        case .partyKeyRotated(let e): StreamName.party(e.partyID)
        case .subjectRegistered(let e): StreamName.subject(e.subjectID)
        case .consentRequested(let e): StreamName.request(e.requestID)
        case .requestWithdrawn(let e): StreamName.request(e.requestID)
        case .consentGranted(let e): StreamName.consent(e.consentID)
        case .consentRevoked(let e): StreamName.consent(e.consentID)
        case .deviceAttested(let e): StreamName.device(manufacturer: e.manufacturer, deviceID: e.deviceID)
        case .deviceConfirmed(let e): StreamName.device(manufacturer: e.manufacturer, deviceID: e.deviceID)
        // Not the consent's own stream: deliveries must never make a revocation retry.
        case .dataDelivered(let e): StreamName.deliveries(e.consentID)
        case .telemetryPushed(let e): StreamName.batch(manufacturer: e.manufacturer, key: e.idempotencyKey ?? e.batchID)
        case .subjectErased(let e): StreamName.subject(e.subjectID)
        case .partyCallbackSet(let e): StreamName.party(e.partyID)
        // One stream for all money: each commit is decided on the whole book as it was.
        case .accountsOpened, .transfersPosted: StreamName.accounting
        // One stream per request: its version is what a decision on the budget read.
        case .analysisRan(let e): StreamName.analyses(e.requestID)
        case .analysisIncluded(let e): StreamName.analysis(e.analysisID)
        // One stream per manufacturer × item: its version is what a certification read.
        case .qualityCertified(let e): StreamName.quality(manufacturer: e.manufacturer, item: e.item)
        }
    }

    /// The canonical payload bytes.
    public func payload() throws -> [UInt8] {
        switch self {
        case .brokerInitialised(let e): try CanonicalJSON.encode(e)
        case .policyActivated(let e): try CanonicalJSON.encode(e)
        case .partyRegistered(let e): try CanonicalJSON.encode(e)
        case .partySuspended(let e): try CanonicalJSON.encode(e)
        case .partyReinstated(let e): try CanonicalJSON.encode(e)
        case .partyKeyRotated(let e): try CanonicalJSON.encode(e)
        case .subjectRegistered(let e): try CanonicalJSON.encode(e)
        case .consentRequested(let e): try CanonicalJSON.encode(e)
        case .requestWithdrawn(let e): try CanonicalJSON.encode(e)
        case .consentGranted(let e): try CanonicalJSON.encode(e)
        case .consentRevoked(let e): try CanonicalJSON.encode(e)
        case .deviceAttested(let e): try CanonicalJSON.encode(e)
        case .deviceConfirmed(let e): try CanonicalJSON.encode(e)
        case .dataDelivered(let e): try CanonicalJSON.encode(e)
        case .telemetryPushed(let e): try CanonicalJSON.encode(e)
        case .subjectErased(let e): try CanonicalJSON.encode(e)
        case .partyCallbackSet(let e): try CanonicalJSON.encode(e)
        case .accountsOpened(let e): try CanonicalJSON.encode(e)
        case .transfersPosted(let e): try CanonicalJSON.encode(e)
        case .analysisRan(let e): try CanonicalJSON.encode(e)
        case .analysisIncluded(let e): try CanonicalJSON.encode(e)
        case .qualityCertified(let e): try CanonicalJSON.encode(e)
        }
    }

    /// An unsigned ledger event for this fact, by `authorID` at `time`; the author signs it after.
    public func newEvent(authorID: String, time: Timestamp) throws -> NewEvent {
        NewEvent(
            streamID: streamID, type: typeName, schemaVersion: Self.upcasters.currentVersion(of: typeName) ?? 1,
            time: time, authorID: authorID, payload: try payload())
    }

    /// Decodes a stored event, upcasting old schema versions.
    ///
    /// - Throws: `LedgerError.unknownSchemaVersion` for unknown types or versions,
    ///   `LedgerError.corruptRecord` when the payload does not decode.
    public static func decode(_ event: NewEvent) throws -> DomainEvent {
        let bytes = try upcasters.upcast(type: event.type, version: event.schemaVersion, payload: event.payload)
        do {
            switch event.type {
            case TypeName.brokerInitialised: return .brokerInitialised(try CanonicalJSON.decode(BrokerInitialised.self, from: bytes))
            case TypeName.policyActivated: return .policyActivated(try CanonicalJSON.decode(PolicyActivated.self, from: bytes))
            case TypeName.partyRegistered: return .partyRegistered(try CanonicalJSON.decode(PartyRegistered.self, from: bytes))
            case TypeName.partySuspended: return .partySuspended(try CanonicalJSON.decode(PartySuspended.self, from: bytes))
            case TypeName.partyReinstated: return .partyReinstated(try CanonicalJSON.decode(PartyReinstated.self, from: bytes))
            case TypeName.partyKeyRotated: return .partyKeyRotated(try CanonicalJSON.decode(PartyKeyRotated.self, from: bytes))
            case TypeName.subjectRegistered: return .subjectRegistered(try CanonicalJSON.decode(SubjectRegistered.self, from: bytes))
            case TypeName.consentRequested: return .consentRequested(try CanonicalJSON.decode(ConsentRequested.self, from: bytes))
            case TypeName.requestWithdrawn: return .requestWithdrawn(try CanonicalJSON.decode(RequestWithdrawn.self, from: bytes))
            case TypeName.consentGranted: return .consentGranted(try CanonicalJSON.decode(ConsentGranted.self, from: bytes))
            case TypeName.consentRevoked: return .consentRevoked(try CanonicalJSON.decode(ConsentRevoked.self, from: bytes))
            case TypeName.deviceAttested: return .deviceAttested(try CanonicalJSON.decode(DeviceAttested.self, from: bytes))
            case TypeName.deviceConfirmed: return .deviceConfirmed(try CanonicalJSON.decode(DeviceConfirmed.self, from: bytes))
            case TypeName.dataDelivered: return .dataDelivered(try CanonicalJSON.decode(DataDelivered.self, from: bytes))
            case TypeName.telemetryPushed: return .telemetryPushed(try CanonicalJSON.decode(TelemetryPushed.self, from: bytes))
            case TypeName.subjectErased: return .subjectErased(try CanonicalJSON.decode(SubjectErased.self, from: bytes))
            case TypeName.partyCallbackSet: return .partyCallbackSet(try CanonicalJSON.decode(PartyCallbackSet.self, from: bytes))
            case TypeName.accountsOpened: return .accountsOpened(try CanonicalJSON.decode(AccountsOpened.self, from: bytes))
            case TypeName.transfersPosted: return .transfersPosted(try CanonicalJSON.decode(TransfersPosted.self, from: bytes))
            case TypeName.analysisRan: return .analysisRan(try CanonicalJSON.decode(AnalysisRan.self, from: bytes))
            case TypeName.analysisIncluded: return .analysisIncluded(try CanonicalJSON.decode(AnalysisIncluded.self, from: bytes))
            case TypeName.qualityCertified: return .qualityCertified(try CanonicalJSON.decode(QualityCertified.self, from: bytes))
            default: throw LedgerError(.unknownSchemaVersion, "event type '\(event.type)' is unknown")
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.corruptRecord, "the payload of a '\(event.type)' event does not decode: \(error)")
        }
    }
}

/// Stream ids, one format per kind of thing.
public enum StreamName {
    public static func party(_ id: String) -> String { "party:\(id)" }
    public static func subject(_ id: String) -> String { "subject:\(id)" }
    public static func request(_ id: String) -> String { "request:\(id)" }
    public static func consent(_ id: String) -> String { "consent:\(id)" }
    /// The deliveries made under a consent.
    public static func deliveries(_ consentID: String) -> String { "deliveries:\(consentID)" }
    public static func device(manufacturer: String, deviceID: String) -> String { "device:\(manufacturer)/\(deviceID)" }
    /// A telemetry batch, by the manufacturer's idempotency key (or the batch id without one).
    public static func batch(manufacturer: String, key: String) -> String { "batch:\(manufacturer)/\(key)" }
    /// The analyses run under a consent request: the budget's stream.
    public static func analyses(_ requestID: String) -> String { "analyses:\(requestID)" }
    /// One analysis's list of the persons it included.
    public static func analysis(_ analysisID: String) -> String { "analysis:\(analysisID)" }
    /// The quality certificates of one manufacturer's records of one item.
    public static func quality(manufacturer: String, item: String) -> String { "quality:\(manufacturer)/\(item)" }
    /// Every account opening and transfer.
    public static let accounting = "accounting"
    /// The broker's own start (`broker.initialised`, once).
    public static let broker = "broker"
    /// Every policy activation: its version is what a decision under the active policy read.
    public static let policy = "policy"
}
