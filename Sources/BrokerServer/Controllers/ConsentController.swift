import Broker
import Consent
import Foundation
import MyDataWire
import HTTPTypes
import Hummingbird
import Ledger
import Ports
import Sodium
import Vault

/// Requests, consents, registrations and devices: the signed events a person or party submits,
/// and what each may list.
struct ConsentController: BrokerController {
    let api: BrokerAPI

    func addRoutes(to group: some RouterMethods<BrokerRequestContext>) {
        group.post("consent-requests", use: createRequest)
        group.get("consent-requests", use: listRequests)
        group.get("consent-requests/:id", use: showRequest)
        group.post("consent-requests/:id/withdraw", use: withdrawRequest)
        group.post("consents", use: grant)
        group.get("consents", use: listConsents)
        group.post("consents/:id/revoke", use: revoke)
        group.get("consents/:id/receipt", use: receipt)
        group.get("me", use: me)
        group.post("parties/me/keys", use: rotatePartyKeys)
        group.post("subjects", use: registerSubject)
        group.post("devices", use: bindDevice)
        group.get("devices", use: listDevices)
    }

    /// POST /v1/consent-requests
    @Sendable func createRequest(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.consentRequested])
        return try await api.submitted(recorded, status: .created)
    }

    /// GET /v1/consent-requests
    @Sendable func listRequests(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let now = service.clock.now()
        let list: [ConsentRequest]
        let limit = BrokerAPI.limit(request)
        let before = try BrokerAPI.cursor(request) { RequestCursor($0) }
        switch principal {
        case .subject(let id): list = try await store.requests(for: id, limit: limit, before: before)
        case .party(let party): list = try await store.requests(recipient: party.id, limit: limit, before: before)
        }
        let next = list.count == limit ? list.last.map { RequestCursor(after: $0).description } : nil
        return try BrokerAPI.page(RequestPage(requests: list.map { RequestItem(request: $0, status: $0.status(at: now)) }, nextCursor: next))
    }

    /// GET /v1/consent-requests/:id
    @Sendable func showRequest(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try BrokerAPI.pathID(context)
        guard let found = try await store.request(id) else { throw ConsentError(.requestNotFound, "request \(id) does not exist") }
        let visible: Bool
        switch principal {
        case .subject(let subject): visible = found.subject == nil || found.subject == subject
        case .party(let party): visible = found.recipient == party.id
        }
        guard visible else { throw ConsentError(.requestNotFound, "request \(id) does not exist") }
        return try BrokerAPI.json(RequestItem(request: found, status: found.status(at: service.clock.now())))
    }

    /// POST /v1/consent-requests/:id/withdraw
    @Sendable func withdrawRequest(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let id = try BrokerAPI.pathID(context)
        let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.requestWithdrawn]) { _, domain in
            guard case .requestWithdrawn(let e) = domain, e.requestID == id else {
                throw ConsentError(.malformedEvent, "the withdrawal names another request than \(id)")
            }
        }
        return try await api.submitted(recorded)
    }

    /// POST /v1/consents
    @Sendable func grant(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.consentGranted])
        return try await api.submitted(recorded, status: .created)
    }

    /// GET /v1/consents
    @Sendable func listConsents(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let now = service.clock.now()
        let list: [Consent]
        let limit = BrokerAPI.limit(request)
        let before = try BrokerAPI.cursor(request) { UInt64($0) }
        switch principal {
        case .subject(let id): list = try await store.consents(subject: id, limit: limit, before: before)
        case .party(let party): list = try await store.consents(recipient: party.id, limit: limit, before: before)
        }
        let next = list.count == limit ? list.last.map { "\($0.grantSequence)" } : nil
        return try BrokerAPI.page(ConsentPage(consents: list.map { ConsentItem(consent: $0, status: $0.status(at: now)) }, nextCursor: next))
    }

    /// POST /v1/consents/:id/revoke
    @Sendable func revoke(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let id = try BrokerAPI.pathID(context)
        let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.consentRevoked]) { _, domain in
            guard case .consentRevoked(let e) = domain, e.consentID == id else {
                throw ConsentError(.malformedEvent, "the revocation names another consent than \(id)")
            }
        }
        return try await api.submitted(recorded)
    }

    /// GET /v1/consents/:id/receipt
    @Sendable func receipt(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard case .subject(let subject) = try context.requirePrincipal() else {
            throw ConsentError(.notConsentSubject, "receipts are for the person who gave the consent")
        }
        let receipt = try await service.receipt(consentID: try BrokerAPI.pathID(context), subject: subject)
        return try BrokerAPI.json(receipt)
    }

    /// GET /v1/me
    @Sendable func me(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let registered: Bool
        switch principal {
        case .subject(let id): registered = try await store.subject(id) != nil
        case .party: registered = true
        }
        return try BrokerAPI.json(MeView(id: principal.id, registered: registered))
    }

    /// POST /v1/parties/me/keys
    @Sendable func rotatePartyKeys(_ request: Request, context: BrokerRequestContext) async throws -> Response {
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
        struct Rotated: Encodable { var party: String; var ledgerHead: UInt64 }
        return try BrokerAPI.json(Rotated(party: id, ledgerHead: head))
    }

    /// POST /v1/subjects
    @Sendable func registerSubject(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard case .subject = try context.requirePrincipal() else {
            throw ConsentError(.wrongRole, "only a person registers their own key here")
        }
        let recorded = try await submit(request, context: context, types: [DomainEvent.TypeName.subjectRegistered])
        return try await api.submitted(recorded, status: .created)
    }

    /// POST /v1/devices
    @Sendable func bindDevice(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let recorded = try await submit(
            request, context: context, types: [DomainEvent.TypeName.deviceAttested, DomainEvent.TypeName.deviceConfirmed])
        return try await api.submitted(recorded, status: .created)
    }

    /// GET /v1/devices
    @Sendable func listDevices(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard case .subject(let subject) = try context.requirePrincipal() else {
            throw ConsentError(.notConsentSubject, "device bindings are listed for the person")
        }
        return try BrokerAPI.json(["devices": try await store.deviceBindings(subject: subject)])
    }
}
