import Accounting
import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
import Ledger
import Ports

/// Where a person's write goes on the HTTP API.
enum Submission {
    case grant
    case revoke(consentID: String)
    case deviceConfirmation
    case registration
    case erasure
}

/// What a person's commands need from a broker: the local data directory, or a broker over
/// HTTP (`--broker URL`), where every request is signed with the person's key.
protocol PersonalBroker: Sendable {
    /// The person's unlocked identity when the broker already needed it (over HTTP).
    var signer: Identity? { get }
    func now() -> Timestamp
    func requests(for subject: String, limit: Int) async throws -> [ConsentRequest]
    func request(_ id: String) async throws -> ConsentRequest?
    func activePolicy() async throws -> ActivePolicy
    /// The policy activated now or before with `hash` (what a consent granted under it agreed to).
    func policy(hash: String) async throws -> ActivePolicy
    func partyName(_ id: String) async throws -> String?
    func consents(subject: String, limit: Int) async throws -> [Consent]
    func accessLog(subject: String, limit: Int) async throws -> [AccessLogEntry]
    /// The analyses that counted the person, newest first.
    func analysisInclusions(subject: String, limit: Int) async throws -> [AnalysisInclusion]
    /// A tlog-proof (text) of the delivery at ledger `sequence` of the person's data.
    func deliveryProof(sequence: UInt64, subject: String) async throws -> String
    func deviceBindings(subject: String) async throws -> [DeviceBinding]
    func receipt(consentID: String, subject: String) async throws -> SignedReceipt
    func isRegistered(_ subject: String) async throws -> Bool
    func accounts(subject: String) async throws -> [AccountView]
    /// A page of an account's statement, oldest first, after `after` lines.
    func statement(account: String, subject: String, after: Int, limit: Int) async throws -> [StatementLine]
    /// Redeems rewards; returns `ok` or `exists` (a retry of the same id).
    func redeem(subject: String, amount: Int64, manufacturer: String, kind: RedemptionKind, id: String) async throws -> RedemptionOutcome
    /// Submits signed events; returns their ledger sequence numbers.
    func submit(_ events: [NewEvent], as submission: Submission) async throws -> [UInt64]
    /// Signs a checkpoint (local) and closes connections.
    func close() async
}

extension PersonalBroker {
    /// `events` preceded by the registration of the person's key when the broker does not know
    /// it yet: appended together, so a refused action registers nothing either.
    func withRegistration(_ identity: Identity, _ events: [NewEvent]) async throws -> [NewEvent] {
        guard try await !isRegistered(identity.id) else { return events }
        return [try identity.sign(ConsentDrafts.registration(of: identity), at: now())] + events
    }

    /// Runs `body`, then closes, also when `body` fails.
    func session<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await close()
            return result
        } catch {
            await close()
            throw error
        }
    }
}

/// Opens the person's broker: remote when `--broker` (or $MYDATA_BROKER) is given, else local.
enum Personal {
    /// The person's id, and their broker. Over HTTP the person's key is unlocked at once, since
    /// every request is signed with it.
    static func open(_ options: GlobalOptions) async throws -> (subject: String, broker: any PersonalBroker) {
        let subject = try Person.subjectID(options)
        if let url = options.resolvedBroker {
            guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https" else {
                throw CLIError(message: "--broker must be an http(s):// URL, got \(url)", exitCode: ExitCodes.failure)
            }
            let broker = RemoteBroker(client: BrokerHTTPClient(baseURL: base, identity: try Person.identity(options)))
            // Every contact checks that the broker's log still extends the one this CLI saw.
            let monitor = LogMonitor(
                baseURL: base, configDirectory: options.resolvedConfigDir,
                trust: try LogTrustOptions.trust(logVKey: nil, witnesses: [], quorum: nil, dataDir: nil))
            if let report = try await monitor.check(), report.keyFromBroker {
                FileHandle.standardError.write(
                    Data(
                        ("mydata: first contact with \(monitor.brokerName)'s transparency log: trusting its key \(report.verifier.vkey); "
                            + "compare it with the one its operator publishes (or set MYDATA_LOG_VKEY)\n").utf8))
            }
            return (subject, broker)
        }
        return (subject, LocalPersonalBroker(local: try await LocalBroker.open(options)))
    }
}

/// The local data directory.
struct LocalPersonalBroker: PersonalBroker {
    let local: LocalBroker
    var signer: Identity? { nil }
    var store: any BrokerStore { local.store }

    func now() -> Timestamp { local.service.clock.now() }
    func requests(for subject: String, limit: Int) async throws -> [ConsentRequest] { try await store.requests(for: subject, limit: limit) }
    func request(_ id: String) async throws -> ConsentRequest? { try await store.request(id) }
    func activePolicy() async throws -> ActivePolicy {
        guard let policy = try await store.activePolicy() else {
            throw ConsentError(.noActivePolicy, "the broker has no active policy; the operator must run `mydata admin policy activate`")
        }
        return policy
    }
    func policy(hash: String) async throws -> ActivePolicy {
        guard let policy = try await store.policy(hash: hash) else {
            throw ConsentError(.policyNotFound, "no policy with hash \(hash) was activated on this broker")
        }
        return policy
    }
    func partyName(_ id: String) async throws -> String? { try await store.party(id)?.name }
    func consents(subject: String, limit: Int) async throws -> [Consent] { try await store.consents(subject: subject, limit: limit) }
    func accessLog(subject: String, limit: Int) async throws -> [AccessLogEntry] { try await store.accessLog(subject: subject, limit: limit) }
    func analysisInclusions(subject: String, limit: Int) async throws -> [AnalysisInclusion] {
        try await store.analysisInclusions(subject: subject, limit: limit, before: nil)
    }
    func deliveryProof(sequence: UInt64, subject: String) async throws -> String {
        try await local.service.deliveryProof(sequence: sequence, subject: subject).encoded
    }
    func deviceBindings(subject: String) async throws -> [DeviceBinding] { try await store.deviceBindings(subject: subject) }
    func receipt(consentID: String, subject: String) async throws -> SignedReceipt {
        try await local.service.receipt(consentID: consentID, subject: subject)
    }
    func isRegistered(_ subject: String) async throws -> Bool { try await store.subject(subject) != nil }
    func accounts(subject: String) async throws -> [AccountView] { try await local.service.accounts(of: Owner(.person, subject)) }
    func statement(account: String, subject: String, after: Int, limit: Int) async throws -> [StatementLine] {
        try await local.service.statement(account: account, owner: Owner(.person, subject), after: after, limit: limit)
    }
    func redeem(subject: String, amount: Int64, manufacturer: String, kind: RedemptionKind, id: String) async throws -> RedemptionOutcome {
        try await local.service.redeem(subject: subject, amount: amount, manufacturer: manufacturer, kind: kind, id: id)
    }
    func submit(_ events: [NewEvent], as submission: Submission) async throws -> [UInt64] {
        if case .erasure = submission, let subject = events.last?.authorID {
            return try await local.transfer().erase(events, subject: subject).map(\.sequence)
        }
        return try await local.service.submit(events).map(\.sequence)
    }
    func close() async {
        try? await local.service.close()
        local.store.close()
    }
}
