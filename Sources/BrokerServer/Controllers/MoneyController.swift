import Accounting
import Broker
import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Ports
import Sodium
import Vault

/// Accounts, statements and redemptions.
struct MoneyController: BrokerController {
    let api: BrokerAPI

    func addRoutes(to group: some RouterMethods<BrokerRequestContext>) {
        group.get("accounts", use: accounts)
        group.get("accounts/:id/transfers", use: statement)
        group.post("rewards/redemptions", use: redeem)
    }

    /// GET /v1/accounts
    @Sendable func accounts(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let owner = BrokerAPI.owner(try context.requirePrincipal())
        return try BrokerAPI.json(["accounts": try await service.accounts(of: owner)])
    }

    /// GET /v1/accounts/:id/transfers
    @Sendable func statement(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let owner = BrokerAPI.owner(try context.requirePrincipal())
        let after = request.uri.queryParameters.get("after", as: Int.self) ?? 0
        let lines = try await service.statement(
            account: try BrokerAPI.pathID(context), owner: owner, after: after,
            limit: BrokerAPI.limit(request))
        return try BrokerAPI.json(["transfers": lines])
    }

    /// POST /v1/rewards/redemptions
    @Sendable func redeem(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard case .subject(let subject) = try context.requirePrincipal() else {
            throw ConsentError(.notConsentSubject, "only a person redeems their rewards")
        }
        let bytes = try await request.body.collect(upTo: APILimits.requestBodyBytesMax)
        let body = try JSONDecoder().decode(BrokerAPI.RedemptionBody.self, from: Data(bytes.readableBytesView))
        let result = try await service.redeem(
            subject: subject, amount: body.amountKRW, manufacturer: body.manufacturer,
            kind: try RedemptionKind(named: body.kind), id: body.id)
        let account = try await service.accounts(of: Owner(.person, subject)).first { $0.kind == .rewards }
        return try BrokerAPI.json(
            BrokerAPI.RedemptionResult(result: result, availableKRW: account?.available ?? 0), status: result == .redeemed ? .created : .ok)
    }
}
