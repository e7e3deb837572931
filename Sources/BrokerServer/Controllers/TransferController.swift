import Broker
import Consent
import Foundation
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
        let bytes = try await request.body.collect(upTo: APILimits.requestBodyBytesMax)
        let body = try JSONDecoder().decode(SubmitBody.self, from: Data(bytes.readableBytesView))
        guard (1...APILimits.submittedEventsMax).contains(body.events.count) else {
            throw ConsentError(.malformedEvent, "submit 1 to \(APILimits.submittedEventsMax) events")
        }
        let events = try body.events.map { try $0.event() }
        guard events.allSatisfy({ $0.authorID == subject }) else {
            throw ConsentError(.badSignature, "every event of an erasure is the person's own")
        }
        let recorded = try await transfer.erase(events, subject: subject)
        return try BrokerAPI.json(SubmitResult(recorded))
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
        let streamed = request.headers[.accept]?.contains(SealedStream.mediaType) == true
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
