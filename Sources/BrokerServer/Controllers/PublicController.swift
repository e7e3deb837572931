import Broker
import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Ports
import Sodium
import Vault

/// `/healthz` and `/readyz`, outside `/v1`: for load balancers, no signature and no deadline.
struct HealthController: BrokerController {
    let api: BrokerAPI

    func addRoutes(to group: some RouterMethods<BrokerRequestContext>) {
        group.get("/healthz", use: health)
        group.get("/readyz", use: readiness)
    }

    /// GET /healthz
    @Sendable func health(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        try BrokerAPI.json(["status": "ok"])
    }

    /// GET /readyz
    @Sendable func readiness(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        // Bounded: a load balancer must hear "not ready" at once, not after the pool gives up.
        let store = self.store
        do {
            let head = try await withDeadline(seconds: APILimits.readinessSecondsMax) { try await store.head() }
            struct Ready: Encodable { var status = "ready"; var ledgerHead: UInt64 }
            return try BrokerAPI.json(Ready(ledgerHead: head.sequence))
        } catch {
            return try BrokerAPI.json(
                ["status": "unavailable", "detail": "the store did not answer within \(Int(APILimits.readinessSecondsMax)) s"],
                status: .serviceUnavailable)
        }
    }
}

/// What anyone may read under `/v1` without a signature: the active policy, the catalogue and
/// the OpenAPI document.
struct PublicController: BrokerController {
    let api: BrokerAPI

    func addRoutes(to group: some RouterMethods<BrokerRequestContext>) {
        group.get("policy", use: policy)
        group.get("catalog", use: catalog)
        group.get("openapi.yaml", use: openAPIDocument)
    }

    /// GET /v1/policy
    @Sendable func policy(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard let policy = try await store.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        return try BrokerAPI.json(PolicyView(version: policy.version, hash: policy.hash, policy: policy.policy))
    }

    /// GET /v1/catalog
    @Sendable func catalog(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard let policy = try await store.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        let manufacturers = try await store.parties().filter { $0.role == .manufacturer && $0.status == .active }.map(\.id)
        return try BrokerAPI.json(
            CatalogView(
                policyVersion: policy.version, policyHash: policy.hash,
                categories: policy.policy.categories, purposes: policy.policy.purposes,
                manufacturers: manufacturers))
    }

    /// GET /v1/openapi.yaml
    @Sendable func openAPIDocument(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let data = FileManager.default.contents(atPath: url.path)
        else {
            throw HTTPError(.notFound, message: "the OpenAPI document is not installed next to the binary")
        }
        return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
