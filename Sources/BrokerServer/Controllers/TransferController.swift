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

/// Telemetry in (manufacturers), sealed data out (recipients), and erasure (the person).
struct TransferController: BrokerController {
    let api: BrokerAPI

    func addRoutes(to group: some RouterMethods<BrokerRequestContext>) {
        group.post("telemetry", use: push)
        group.post("erasure", use: erase)
        group.get("consents/:id/data", use: pull)
        group.get("consents/:id/deliveries", use: deliveries)
    }

    /// POST /v1/telemetry
    @Sendable func push(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard let manufacturer = try context.requirePrincipal().party(.manufacturer)?.id else {
            throw ConsentError(.wrongRole, "only manufacturers push telemetry")
        }
        let bytes = try await request.body.collect(upTo: APILimits.requestBodyBytesMax)
        let body = Data(bytes.readableBytesView)
        let items = try BrokerAPI.pushItems(body: body, contentType: request.headers[.contentType])
        let result = try await transfer.push(
            items: items, manufacturer: manufacturer, idempotencyKey: request.headers[BrokerAPI.idempotencyKeyField],
            digest: Hex.encode(BLAKE2b.hash256([UInt8](body))))
        traffic?.count(records: result.replayed ? 0 : result.accepted, party: manufacturer)
        return try BrokerAPI.json(result, status: result.replayed ? .ok : .created)
    }

    /// POST /v1/erasure
    @Sendable func erase(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard case .subject(let subject) = try context.requirePrincipal() else {
            throw ConsentError(.notConsentSubject, "only a person can ask for their own erasure")
        }
        let events = try await api.events(
            request, context: context, types: [DomainEvent.TypeName.consentRevoked, DomainEvent.TypeName.subjectErased])
        let recorded = try await transfer.erase(events, subject: subject)
        return try await api.submitted(recorded)
    }

    /// GET /v1/consents/:id/deliveries: the deliveries made under a consent, oldest first, for
    /// its recipient (to reconcile what it holds) and its person.
    @Sendable func deliveries(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let consentID = try BrokerAPI.pathID(context)
        guard let consent = try await store.consent(consentID) else { throw ConsentError(.consentNotFound, "no such consent") }
        switch try context.requirePrincipal() {
        case .subject(let subject) where subject == consent.subject: break
        case .party(let party) where party.id == consent.recipient: break
        default: throw ConsentError(.consentNotFound, "no such consent of yours")
        }
        var after: UInt64?
        if let text = request.uri.queryParameters.get("after").map({ String($0) }) {
            guard text.utf8.count <= 20, let sequence = UInt64(text) else {
                throw ConsentError(.invalidTerms, "after must be the nextCursor of a previous page (a ledger sequence)")
            }
            after = sequence
        }
        let limit = BrokerAPI.limit(request)
        let entries = try await store.deliveries(consentID: consentID, limit: limit, after: after)
        return try BrokerAPI.page(DeliveryPage(deliveries: entries, nextCursor: entries.count == limit ? entries.last.map { "\($0.sequence)" } : nil))
    }

    /// GET /v1/consents/:id/data
    @Sendable func pull(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard let party = try context.requirePrincipal().party(.recipient) else {
            throw ConsentError(.wrongRole, "only recipients pull data")
        }
        let recipient = party.id
        let text = request.uri.queryParameters.get("after").map { String($0) } ?? "0"
        guard let after = RecordCursor(text) else {
            throw ConsentError(.invalidTerms, "after must be a cursor from MyData-Next-Cursor (<batch>.<record>), or 0")
        }
        let streamed = BrokerAPI.accepts(request.headers[.accept], SealedStream.mediaType)
        let consentID = try BrokerAPI.pathID(context)
        guard let boxBytes = Base64.decode(party.boxKey) else {
            throw ConsentError(.unknownParty, "recipient \(recipient) has no box key")
        }
        let recipientKey = try BoxPublicKey(bytes: boxBytes)
        if streamed {
            let delivery = try await transfer.pullCanonical(
                consentID: consentID, recipient: recipient, after: after,
                limit: BrokerAPI.limit(request, max: APILimits.streamedRecordsMax))
            traffic?.count(records: delivery.records.count, party: recipient)
            return try BrokerAPI.stream(delivery, to: recipientKey, broker: service.identity.signingKey)
        }
        let delivery = try await transfer.pullCanonical(consentID: consentID, recipient: recipient, after: after, limit: BrokerAPI.limit(request))
        traffic?.count(records: delivery.records.count, party: recipient)
        let sealed = try SealedBox.seal(TransferService.deliveryJSON(delivery), to: recipientKey)
        let signature = service.identity.signingKey.sign(sealed)
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        headers[BrokerAPI.brokerSignatureField] = Base64.encode(signature.bytes)
        headers[BrokerAPI.nextCursorField] = delivery.nextCursor.description
        headers[BrokerAPI.moreField] = delivery.hasMore ? "?1" : "?0"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: sealed)))
    }
}
