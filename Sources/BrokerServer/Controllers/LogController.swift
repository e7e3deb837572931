import Broker
import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Ports
import Sodium
import Vault

/// What a person or recipient reads about past access: the person's access log and a
/// recipient's revocation callbacks.
struct LogController: BrokerController {
    let api: BrokerAPI

    func addRoutes(to group: some RouterMethods<BrokerRequestContext>) {
        group.get("access-log", use: accessLog)
        group.get("access-log/:sequence/proof", use: deliveryProof)
        group.get("callbacks", use: callbacks)
    }

    /// GET /v1/access-log
    @Sendable func accessLog(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard case .subject(let subject) = try context.requirePrincipal() else {
            throw ConsentError(.notConsentSubject, "the access log is the person's own")
        }
        let limit = BrokerAPI.limit(request)
        let entries = try await store.accessLog(subject: subject, limit: limit, before: try BrokerAPI.cursor(request) { UInt64($0) })
        return try BrokerAPI.page(AccessPage(entries: entries, nextCursor: entries.count == limit ? entries.last.map { "\($0.sequence)" } : nil))
    }

    /// GET /v1/access-log/:sequence/proof: a tlog-proof of one delivery of the person's data.
    @Sendable func deliveryProof(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard case .subject(let subject) = try context.requirePrincipal() else {
            throw ConsentError(.notConsentSubject, "delivery proofs are for the person whose data was delivered")
        }
        guard let sequence = UInt64(try context.parameters.require("sequence")) else {
            throw ConsentError(.consentNotFound, "a delivery is named by its ledger sequence, the `sequence` of an access log entry")
        }
        let proof = try await service.deliveryProof(sequence: sequence, subject: subject)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: proof.encoded)))
    }

    /// GET /v1/callbacks
    @Sendable func callbacks(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard let recipient = try context.requirePrincipal().party(.recipient)?.id else {
            throw ConsentError(.wrongRole, "revocation callbacks are listed for recipients")
        }
        return try BrokerAPI.json(["callbacks": try await store.callbacks(recipient: recipient, limit: BrokerAPI.limit(request))])
    }
}
