import Broker
import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Sodium
import Vault

extension BrokerAPI {
    static let idempotencyKeyField = HTTPField.Name("Idempotency-Key")!
    /// The broker's Ed25519 signature (base64) over the sealed response body.
    public static let brokerSignatureField = HTTPField.Name("MyData-Broker-Signature")!
    public static let nextCursorField = HTTPField.Name("MyData-Next-Cursor")!

    /// A pushed entry: a record, or why it is not one (so one bad entry rejects only itself).
    struct Entry: Decodable {
        let item: TransferService.PushItem
        init(from decoder: Decoder) throws {
            do { item = .record(try TelemetryRecord(from: decoder)) } catch let e as DecodingError {
                item = .malformed("not a record: " + ErrorTable.describe(e))
            }
        }
    }

    struct TelemetryBody: Decodable { var records: [Entry] }

    /// The entries of a pushed body: NDJSON (`application/x-ndjson`, one record per line) or
    /// `{"records": […]}`. An entry that is not a record rejects only itself.
    ///
    /// - Throws: `DecodingError` when a JSON body is not `{"records": […]}` at all.
    public static func pushItems(body: Data, contentType: String?) throws -> [TransferService.PushItem] {
        guard contentType?.hasPrefix("application/x-ndjson") == true else {
            return try JSONDecoder().decode(TelemetryBody.self, from: body).records.map(\.item)
        }
        let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        return lines.enumerated().filter { !$0.element.allSatisfy { $0 == 32 || $0 == 13 } }.map { number, line in
            do { return .record(try JSONDecoder().decode(TelemetryRecord.self, from: Data(line))) } catch let e as DecodingError {
                return .malformed("line \(number + 1) is not a record: " + ErrorTable.describe(e))
            } catch {
                return .malformed("line \(number + 1) is not a record")
            }
        }
    }

    /// POST /v1/telemetry and GET /v1/consents/{id}/data.
    func addTransferRoutes(to router: Router<BrokerRequestContext>) {
        router.post("/v1/telemetry") { request, context in
            guard let manufacturer = try context.requirePrincipal().party(.manufacturer)?.id else {
                throw ConsentError(.wrongRole, "only manufacturers push telemetry")
            }
            let bytes = try await request.body.collect(upTo: APILimits.requestBodyBytesMax)
            let body = Data(bytes.readableBytesView)
            let items = try Self.pushItems(body: body, contentType: request.headers[.contentType])
            let result = try await transfer.push(items: items, manufacturer: manufacturer, idempotencyKey: request.headers[Self.idempotencyKeyField],
                                                 digest: Hex.encode(BLAKE2b.hash256([UInt8](body))))
            traffic?.count(records: result.replayed ? 0 : result.accepted, party: manufacturer)
            return try Self.json(result, status: result.replayed ? .ok : .created)
        }

        router.post("/v1/erasure") { request, context in
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
            return try Self.json(SubmitResult(events: recorded.map(\.sequence), ledgerHead: recorded.last!.sequence))
        }

        router.get("/v1/consents/:id/data") { request, context in
            guard let party = try context.requirePrincipal().party(.recipient) else {
                throw ConsentError(.wrongRole, "only recipients pull data")
            }
            let recipient = party.id
            let text = request.uri.queryParameters.get("after").map { String($0) } ?? "0"
            guard let after = RecordCursor(text) else {
                throw ConsentError(.invalidTerms, "after must be a cursor from MyData-Next-Cursor (<batch>.<record>), or 0")
            }
            let streamed = request.headers[.accept]?.contains(SealedStream.mediaType) == true
            let consentID = try Self.pathID(context)
            guard let boxBytes = Base64.decode(party.boxKey) else {
                throw ConsentError(.unknownParty, "recipient \(recipient) has no box key")
            }
            let recipientKey = try BoxPublicKey(bytes: boxBytes)
            if streamed {
                let delivery = try await transfer.pullCanonical(consentID: consentID, recipient: recipient, after: after,
                                                                limit: Self.limit(request, max: APILimits.streamedRecordsMax))
                traffic?.count(records: delivery.records.count, party: recipient)
                return try Self.stream(delivery, to: recipientKey, broker: service.identity.signingKey)
            }
            let delivery = try await transfer.pullCanonical(consentID: consentID, recipient: recipient, after: after, limit: Self.limit(request))
            traffic?.count(records: delivery.records.count, party: recipient)
            let sealed = try SealedBox.seal(TransferService.deliveryJSON(delivery), to: recipientKey)
            let signature = service.identity.signingKey.sign(sealed)
            var headers: HTTPFields = [.contentType: "application/octet-stream"]
            headers[Self.brokerSignatureField] = Base64.encode(signature.bytes)
            if let next = delivery.nextCursor { headers[Self.nextCursorField] = "\(next)" }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: sealed)))
        }
    }
}

extension BrokerAPI {
    /// A delivery as a sealed NDJSON stream (`SealedStream`): written and encrypted a chunk at a
    /// time. The delivery was logged before the first byte is sent.
    static func stream(_ delivery: TransferService.CanonicalDelivery, to recipient: BoxPublicKey, broker: SigningKey) throws -> Response {
        var headers: HTTPFields = [.contentType: SealedStream.mediaType]
        if let next = delivery.nextCursor { headers[Self.nextCursorField] = next }
        let body = ResponseBody(contentLength: nil) { (out: inout any ResponseBodyWriter) in
            let writer = try SealedStream.Writer(consentID: delivery.consentID, recipient: recipient, broker: broker)
            try await out.write(ByteBuffer(bytes: writer.opening))
            var start = 0
            while start < delivery.records.count {
                let end = min(start + SealedStream.recordsPerChunk, delivery.records.count)
                try await out.write(ByteBuffer(bytes: try writer.chunk(canonical: delivery.records[start..<end])))
                start = end
            }
            try await out.write(ByteBuffer(bytes: try writer.finish(SealedStream.Trailer(
                deliveryID: delivery.deliveryID, consentID: delivery.consentID, records: delivery.records.count, digest: delivery.digest,
                nextCursor: delivery.nextCursor, ledgerSequence: delivery.ledgerSequence))))
            try await out.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
