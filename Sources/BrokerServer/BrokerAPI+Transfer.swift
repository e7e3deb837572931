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

    /// POST /v1/telemetry and GET /v1/consents/{id}/data.
    func addTransferRoutes(to router: Router<BrokerRequestContext>) {
        router.post("/v1/telemetry") { request, context in
            guard case .party(let manufacturer, "manufacturer") = try context.requirePrincipal() else {
                throw ConsentError(.wrongRole, "only manufacturers push telemetry")
            }
            let bytes = try await request.body.collect(upTo: APILimits.requestBodyBytesMax)
            let body = Data(bytes.readableBytesView)
            let items: [TransferService.PushItem]
            if request.headers[.contentType]?.hasPrefix("application/x-ndjson") == true {
                let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                items = lines.enumerated().filter { !$0.element.allSatisfy { $0 == 32 || $0 == 13 } }.map { number, line in
                    do { return .record(try JSONDecoder().decode(TelemetryRecord.self, from: Data(line))) } catch let e as DecodingError {
                        return .malformed("line \(number + 1) is not a record: " + ErrorTable.describe(e))
                    } catch {
                        return .malformed("line \(number + 1) is not a record")
                    }
                }
            } else {
                items = try JSONDecoder().decode(TelemetryBody.self, from: body).records.map(\.item)
            }
            let result = try await transfer.push(items: items, manufacturer: manufacturer, idempotencyKey: request.headers[Self.idempotencyKeyField],
                                                 digest: Hex.encode(BLAKE2b.hash256([UInt8](body))))
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
            guard case .party(let recipient, "recipient") = try context.requirePrincipal() else {
                throw ConsentError(.wrongRole, "only recipients pull data")
            }
            let text = request.uri.queryParameters.get("after").map { String($0) } ?? "0"
            guard let after = RecordCursor(text) else {
                throw ConsentError(.invalidTerms, "after must be a cursor from MyData-Next-Cursor (<batch>.<record>), or 0")
            }
            let delivery = try await transfer.pull(consentID: try context.parameters.require("id"), recipient: recipient,
                                                   after: after, limit: Self.limit(request))
            guard let party = try await store.party(recipient), let boxBytes = Base64.decode(party.boxKey) else {
                throw ConsentError(.unknownParty, "recipient \(recipient) has no box key")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let sealed = try SealedBox.seal([UInt8](try encoder.encode(delivery)), to: try BoxPublicKey(bytes: boxBytes))
            let signature = service.identity.signingKey.sign(sealed)
            var headers: HTTPFields = [.contentType: "application/octet-stream"]
            headers[Self.brokerSignatureField] = Base64.encode(signature.bytes)
            if let next = delivery.nextCursor { headers[Self.nextCursorField] = "\(next)" }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: sealed)))
        }
    }
}
