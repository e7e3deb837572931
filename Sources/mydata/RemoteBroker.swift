import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
import MyDataWire
import Ledger

/// A broker over HTTP: every request signed with the person's key (RFC 9421).
struct RemoteBroker: PersonalBroker {
    let client: BrokerHTTPClient
    var signer: Identity? { client.identity }

    func now() -> Timestamp { .now() }

    /// Sends a signed request; a broker that cannot be reached is a store problem (exit 6).
    private func send(_ method: String, _ path: String, body: Data? = nil) async throws -> BrokerHTTPClient.Reply {
        do {
            return try await client.send(method, path, body: body)
        } catch {
            throw CLIError(
                message: "cannot reach the broker at \(client.baseURL.absoluteString): \(error.localizedDescription)",
                exitCode: ExitCodes.storeProblem)
        }
    }

    private func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        let reply = try await send("GET", path)
        try Self.check(reply)
        return try reply.decode(type)
    }

    /// Turns a problem+json answer into the error the local broker would have thrown.
    static func check(_ reply: BrokerHTTPClient.Reply) throws {
        guard reply.status >= 300 else { return }
        struct Problem: Decodable { var code: String; var detail: String; var status: Int }
        guard let problem = try? reply.decode(Problem.self) else {
            throw CLIError(message: "the broker answered \(reply.status)", exitCode: ExitCodes.failure)
        }
        switch problem.status {
        case 401:
            throw CLIError(message: "the broker refused the request's signature (\(problem.code)): \(problem.detail)", exitCode: ExitCodes.keyProblem)
        case 500...: throw CLIError(message: "the broker failed (\(problem.code)): \(problem.detail)", exitCode: ExitCodes.storeProblem)
        default: throw CLIError(message: "refused (\(problem.code)): \(problem.detail)", exitCode: ExitCodes.refused)
        }
    }

    func requests(for subject: String, limit: Int) async throws -> [ConsentRequest] {
        struct List: Decodable { struct Item: Decodable { var request: ConsentRequest }; var requests: [Item] }
        return try await get("/v1/consent-requests?limit=\(limit)", as: List.self).requests.map(\.request)
    }

    func request(_ id: String) async throws -> ConsentRequest? {
        struct Item: Decodable { var request: ConsentRequest }
        let reply = try await send("GET", "/v1/consent-requests/\(id)")
        if reply.status == 404 { return nil }
        try Self.check(reply)
        return try reply.decode(Item.self).request
    }

    func activePolicy() async throws -> ActivePolicy { try await policy(at: "/v1/policy") }

    func policy(hash: String) async throws -> ActivePolicy { try await policy(at: "/v1/policies/\(hash)") }

    private func policy(at path: String) async throws -> ActivePolicy {
        struct View: Decodable { var version: String; var hash: String; var policy: PolicySet }
        let v = try await get(path, as: View.self)
        return ActivePolicy(version: v.version, hash: v.hash, policy: v.policy, activatedAt: Timestamp(milliseconds: 0))
    }

    func partyName(_ id: String) async throws -> String? { nil }

    func accounts(subject: String) async throws -> [AccountView] {
        struct List: Decodable { var accounts: [AccountView] }
        return try await get("/v1/accounts", as: List.self).accounts
    }

    func statement(account: String, subject: String, after: Int, limit: Int) async throws -> [StatementLine] {
        struct List: Decodable { var transfers: [StatementLine] }
        return try await get("/v1/accounts/\(account)/transfers?after=\(after)&limit=\(limit)", as: List.self).transfers
    }

    func redeem(subject: String, amount: Int64, manufacturer: String, kind: RedemptionKind, id: String) async throws -> RedemptionOutcome {
        struct Body: Encodable { var id: String; var amountKRW: Int64; var manufacturer: String; var kind: RedemptionKind }
        struct Result: Decodable { var result: RedemptionOutcome }
        let reply = try await send(
            "POST", "/v1/rewards/redemptions",
            body: try JSONEncoder().encode(Body(id: id, amountKRW: amount, manufacturer: manufacturer, kind: kind)))
        try Self.check(reply)
        return try reply.decode(Result.self).result
    }

    func consents(subject: String, limit: Int) async throws -> [Consent] {
        struct List: Decodable { struct Item: Decodable { var consent: Consent }; var consents: [Item] }
        return try await get("/v1/consents?limit=\(limit)", as: List.self).consents.map(\.consent)
    }

    func accessLog(subject: String, limit: Int) async throws -> [AccessLogEntry] {
        struct List: Decodable { var entries: [AccessLogEntry] }
        return try await get("/v1/access-log?limit=\(limit)", as: List.self).entries
    }

    func analysisInclusions(subject: String, limit: Int) async throws -> [AnalysisInclusion] {
        struct List: Decodable { var analyses: [AnalysisInclusion] }
        return try await get("/v1/access-log/analyses?limit=\(limit)", as: List.self).analyses
    }

    func deliveryProof(sequence: UInt64, subject: String) async throws -> String {
        let reply = try await send("GET", "/v1/access-log/\(sequence)/proof")
        try Self.check(reply)
        return String(decoding: reply.body, as: UTF8.self)
    }

    func deviceBindings(subject: String) async throws -> [DeviceBinding] {
        struct List: Decodable { var devices: [DeviceBinding] }
        return try await get("/v1/devices", as: List.self).devices
    }

    func receipt(consentID: String, subject: String) async throws -> SignedReceipt {
        try await get("/v1/consents/\(consentID)/receipt", as: SignedReceipt.self)
    }

    func isRegistered(_ subject: String) async throws -> Bool {
        struct Me: Decodable { var registered: Bool }
        return try await get("/v1/me", as: Me.self).registered
    }

    func submit(_ events: [NewEvent], as submission: Submission) async throws -> [UInt64] {
        let path =
            switch submission {
            case .grant: "/v1/consents"
            case .revoke(let id): "/v1/consents/\(id)/revoke"
            case .deviceConfirmation: "/v1/devices"
            case .registration: "/v1/subjects"
            case .erasure: "/v1/erasure"
            }
        struct Result: Decodable { var events: [UInt64] }
        let reply = try await send("POST", path, body: try JSONEncoder().encode(SubmitBody(events: events.map(WireEvent.init))))
        try Self.check(reply)
        return try reply.decode(Result.self).events
    }

    func close() async {}
}
