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

    /// GET /v1/callbacks
    @Sendable func callbacks(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard let recipient = try context.requirePrincipal().party(.recipient)?.id else {
            throw ConsentError(.wrongRole, "revocation callbacks are listed for recipients")
        }
        return try BrokerAPI.json(["callbacks": try await store.callbacks(recipient: recipient, limit: BrokerAPI.limit(request))])
    }
}
