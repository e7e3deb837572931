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
        group.get("policies/{hash}", use: pastPolicy)
        group.get("catalog", use: catalog)
        group.get("quality", use: quality)
        group.get("quality/certificates", use: certificates)
        group.get("quality/certificates/{id}", use: certificate)
        group.get("openapi.yaml", use: openAPIDocument)
    }

    /// GET /v1/policy
    @Sendable func policy(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard let policy = try await store.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        return try BrokerAPI.json(PolicyView(version: policy.version, hash: policy.hash, policy: policy.policy))
    }

    /// GET /v1/policies/{hash}: a policy activated now or before, as consents granted under it
    /// agreed to it (their contract's text renders from it, and its prices are theirs).
    @Sendable func pastPolicy(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let hash = try context.parameters.require("hash")
        guard hash.utf8.count == 64, hash.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
            let policy = try await store.policy(hash: hash)
        else {
            throw ConsentError(.policyNotFound, "no policy with hash \(hash) was activated; a consent names its policy's hash (policyHash)")
        }
        return try BrokerAPI.json(PolicyView(version: policy.version, hash: policy.hash, policy: policy.policy))
    }

    /// GET /v1/catalog[?category=…&purpose=…]
    @Sendable func catalog(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let category = request.uri.queryParameters.get("category").map { String($0) }
        let purpose = request.uri.queryParameters.get("purpose").map { String($0) }
        guard category != nil || purpose != nil else {
            // The common request: the cached bytes as they are.
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try await api.catalogue.json())))
        }
        let catalogue = try await api.catalogue.catalogue()
        if let category, !catalogue.categories.contains(where: { $0.id == category }) {
            throw ConsentError(
                .unknownCategory, "no category '\(category)'; the catalogue has \(catalogue.categories.map(\.id).joined(separator: ", "))")
        }
        if let purpose, !catalogue.purposes.contains(where: { $0.id == purpose }) {
            throw ConsentError(.unknownPurpose, "no purpose '\(purpose)'; the catalogue has \(catalogue.purposes.map(\.id).joined(separator: ", "))")
        }
        return try BrokerAPI.json(catalogue.filtered(category: category, purpose: purpose))
    }

    /// GET /v1/quality[?manufacturer=…&item=…&period=…]: measured figures and grades.
    @Sendable func quality(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let text = request.uri.queryParameters.get("period").map { String($0) } ?? "30d"
        guard text.utf8.count <= 32, let period = QualityPeriod.parse(text, now: api.service.clock.now()) else {
            throw ConsentError(
                .invalidPeriod,
                "period is `today`, a number of days up to today such as `30d`, a day `2026-11-30` or days `2026-11-01..2026-11-30` (at most \(QualityPeriod.periodDaysMax))"
            )
        }
        struct Reports: Encodable { var period: QualityPeriod; var days: String; var reports: [QualityService.Report] }
        let reports = try await QualityService(broker: api.service).reports(
            period: period, manufacturer: request.uri.queryParameters.get("manufacturer").map { String($0) },
            item: request.uri.queryParameters.get("item").map { String($0) })
        return try BrokerAPI.json(Reports(period: period, days: period.description, reports: reports))
    }

    /// GET /v1/quality/certificates[?manufacturer=…&item=…&limit=…], newest first.
    @Sendable func certificates(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        struct Page: Encodable { var certificates: [QualityService.Summary] }
        return try BrokerAPI.json(
            Page(
                certificates: try await QualityService(broker: api.service).certificates(
                    manufacturer: request.uri.queryParameters.get("manufacturer").map { String($0) },
                    item: request.uri.queryParameters.get("item").map { String($0) }, limit: BrokerAPI.limit(request))))
    }

    /// GET /v1/quality/certificates/{id}: the signed certificate, to check offline.
    @Sendable func certificate(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        try BrokerAPI.json(try await QualityService(broker: api.service).certificate(try BrokerAPI.pathID(context)))
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
