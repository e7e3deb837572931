import Broker
import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Ports

/// What a listing returns for one request or consent: the record and its status now.
struct RequestItem: Codable { var request: ConsentRequest; var status: RequestStatus }
struct ConsentItem: Codable { var consent: Consent; var status: ConsentStatus }
struct SubmitResult: Codable { var events: [UInt64]; var ledgerHead: UInt64 }

/// A listing page; `nextCursor` (also in `MyData-Next-Cursor`) is present when the page is full:
/// pass it as `before` for the next, older page.
protocol ListingPage: Encodable { var nextCursor: String? { get } }
struct RequestPage: ListingPage { var requests: [RequestItem]; var nextCursor: String? }
struct ConsentPage: ListingPage { var consents: [ConsentItem]; var nextCursor: String? }
struct AccessPage: ListingPage { var entries: [AccessLogEntry]; var nextCursor: String? }

extension BrokerAPI {
    /// Adds every route of the API to `router`.
    public func addRoutes(to router: Router<BrokerRequestContext>) {
        addTransferRoutes(to: router)
        addAccountRoutes(to: router)
        router.get("/healthz") { _, _ in try Self.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            // Bounded: a load balancer must hear "not ready" at once, not after the pool gives up.
            let store = self.store
            do {
                let head = try await withDeadline(seconds: APILimits.readinessSecondsMax) { try await store.head() }
                return try Self.json(["status": "ready", "ledgerHead": "\(head.sequence)"])
            } catch {
                return try Self.json(["status": "unavailable", "detail": "the store did not answer within \(Int(APILimits.readinessSecondsMax)) s"],
                                     status: .serviceUnavailable)
            }
        }
        router.get("/v1/policy") { _, _ in
            guard let policy = try await store.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
            return try Self.json(PolicyView(version: policy.version, hash: policy.hash, policy: policy.policy))
        }
        router.get("/v1/catalog") { _, _ in try await catalog() }
        router.get("/v1/openapi.yaml") { _, _ in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
                  let data = FileManager.default.contents(atPath: url.path) else {
                throw HTTPError(.notFound, message: "the OpenAPI document is not installed next to the binary")
            }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }

        router.post("/v1/consent-requests") { request, context in
            let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.consentRequested])
            return try Self.json(SubmitResult(events: recorded.map(\.sequence), ledgerHead: recorded.last!.sequence), status: .created)
        }
        router.get("/v1/consent-requests") { request, context in
            let principal = try context.requirePrincipal()
            let now = service.clock.now()
            let list: [ConsentRequest]
            let limit = Self.limit(request)
            let before = try Self.cursor(request) { RequestCursor($0) }
            switch principal {
            case .subject(let id): list = try await store.requests(for: id, limit: limit, before: before)
            case .party(let party): list = try await store.requests(recipient: party.id, limit: limit, before: before)
            }
            let next = list.count == limit ? list.last.map { RequestCursor(after: $0).description } : nil
            return try Self.page(RequestPage(requests: list.map { RequestItem(request: $0, status: $0.status(at: now)) }, nextCursor: next))
        }
        router.get("/v1/consent-requests/:id") { _, context in
            let principal = try context.requirePrincipal()
            let id = try Self.pathID(context)
            guard let found = try await store.request(id) else { throw ConsentError(.requestNotFound, "request \(id) does not exist") }
            let visible: Bool
            switch principal {
            case .subject(let subject): visible = found.subject == nil || found.subject == subject
            case .party(let party): visible = found.recipient == party.id
            }
            guard visible else { throw ConsentError(.requestNotFound, "request \(id) does not exist") }
            return try Self.json(RequestItem(request: found, status: found.status(at: service.clock.now())))
        }
        router.post("/v1/consent-requests/:id/withdraw") { request, context in
            let id = try Self.pathID(context)
            let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.requestWithdrawn]) { _, domain in
                guard case .requestWithdrawn(let e) = domain, e.requestID == id else {
                    throw ConsentError(.malformedEvent, "the withdrawal names another request than \(id)")
                }
            }
            return try Self.json(SubmitResult(events: recorded.map(\.sequence), ledgerHead: recorded.last!.sequence))
        }

        router.post("/v1/consents") { request, context in
            let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.consentGranted])
            return try Self.json(SubmitResult(events: recorded.map(\.sequence), ledgerHead: recorded.last!.sequence), status: .created)
        }
        router.get("/v1/consents") { request, context in
            let principal = try context.requirePrincipal()
            let now = service.clock.now()
            let list: [Consent]
            let limit = Self.limit(request)
            let before = try Self.cursor(request) { UInt64($0) }
            switch principal {
            case .subject(let id): list = try await store.consents(subject: id, limit: limit, before: before)
            case .party(let party): list = try await store.consents(recipient: party.id, limit: limit, before: before)
            }
            let next = list.count == limit ? list.last.map { "\($0.grantSequence)" } : nil
            return try Self.page(ConsentPage(consents: list.map { ConsentItem(consent: $0, status: $0.status(at: now)) }, nextCursor: next))
        }
        router.post("/v1/consents/:id/revoke") { request, context in
            let id = try Self.pathID(context)
            let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.consentRevoked]) { _, domain in
                guard case .consentRevoked(let e) = domain, e.consentID == id else {
                    throw ConsentError(.malformedEvent, "the revocation names another consent than \(id)")
                }
            }
            return try Self.json(SubmitResult(events: recorded.map(\.sequence), ledgerHead: recorded.last!.sequence))
        }
        router.get("/v1/consents/:id/receipt") { _, context in
            guard case .subject(let subject) = try context.requirePrincipal() else {
                throw ConsentError(.notConsentSubject, "receipts are for the person who gave the consent")
            }
            let receipt = try await service.receipt(consentID: try Self.pathID(context), subject: subject)
            return try Self.json(receipt)
        }
        router.get("/v1/access-log") { request, context in
            guard case .subject(let subject) = try context.requirePrincipal() else {
                throw ConsentError(.notConsentSubject, "the access log is the person's own")
            }
            let limit = Self.limit(request)
            let entries = try await store.accessLog(subject: subject, limit: limit, before: try Self.cursor(request) { UInt64($0) })
            return try Self.page(AccessPage(entries: entries, nextCursor: entries.count == limit ? entries.last.map { "\($0.sequence)" } : nil))
        }

        router.get("/v1/callbacks") { request, context in
            guard let recipient = try context.requirePrincipal().party(.recipient)?.id else {
                throw ConsentError(.wrongRole, "revocation callbacks are listed for recipients")
            }
            return try Self.json(["callbacks": try await store.callbacks(recipient: recipient, limit: Self.limit(request))])
        }
        router.get("/v1/me") { _, context in
            let principal = try context.requirePrincipal()
            let registered: Bool
            switch principal {
            case .subject(let id): registered = try await store.subject(id) != nil
            case .party: registered = true
            }
            return try Self.json(MeView(id: principal.id, registered: registered))
        }
        router.post("/v1/parties/me/keys") { request, context in
            guard case .party(let party) = try context.requirePrincipal() else {
                throw ConsentError(.wrongRole, "only a registered party rotates its keys here")
            }
            let id = party.id
            struct Rotation: Decodable { var signingKey: String; var boxKey: String; var proof: String }
            let bytes = try await request.body.collect(upTo: APILimits.requestBodyBytesMax)
            let body = try JSONDecoder().decode(Rotation.self, from: Data(bytes.readableBytesView))
            guard let proof = Base64.decode(body.proof) else { throw ConsentError(.badSignature, "proof is not base64") }
            try await service.rotateOwnKeys(party: id, keys: PublicKeys(id: id, signingKey: body.signingKey, boxKey: body.boxKey), proof: proof)
            let head = try await store.head().sequence
            return try Self.json(["party": id, "ledgerHead": "\(head)"])
        }
        router.post("/v1/subjects") { request, context in
            guard case .subject = try context.requirePrincipal() else {
                throw ConsentError(.wrongRole, "only a person registers their own key here")
            }
            let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.subjectRegistered])
            return try Self.json(SubmitResult(events: recorded.map(\.sequence), ledgerHead: recorded.last!.sequence), status: .created)
        }
        router.post("/v1/devices") { request, context in
            let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.deviceAttested, DomainEvent.TypeName.deviceConfirmed])
            return try Self.json(SubmitResult(events: recorded.map(\.sequence), ledgerHead: recorded.last!.sequence), status: .created)
        }
        router.get("/v1/devices") { _, context in
            guard case .subject(let subject) = try context.requirePrincipal() else {
                throw ConsentError(.notConsentSubject, "device bindings are listed for the person")
            }
            return try Self.json(["devices": try await store.deviceBindings(subject: subject)])
        }
    }

    func catalog() async throws -> Response {
        guard let policy = try await store.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        let manufacturers = try await store.parties().filter { $0.role == .manufacturer && $0.status == .active }.map(\.id)
        return try Self.json(CatalogView(policyVersion: policy.version, policyHash: policy.hash,
                                         categories: policy.policy.categories, purposes: policy.policy.purposes,
                                         manufacturers: manufacturers))
    }
}

struct PolicyView: Codable { var version: String; var hash: String; var policy: PolicySet }
struct MeView: Codable { var id: String; var registered: Bool }

/// The metadata catalogue: what data exists, its record schemas, update cycles, purposes, and
/// who supplies it.
struct CatalogView: Codable {
    var policyVersion: String
    var policyHash: String
    var categories: [DataCategory]
    var purposes: [Purpose]
    var manufacturers: [String]
}
