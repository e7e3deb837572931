import Accounting
import Broker
import Consent
import Foundation
import Hummingbird

extension BrokerAPI {
    /// A person's redemption of rewards.
    struct RedemptionBody: Codable {
        /// The person's id for this redemption, so a retry never redeems twice.
        var id: String
        var amountKRW: Int64
        var manufacturer: String
        /// `purchase-subsidy` or `consumables`.
        var kind: String
    }

    struct RedemptionResult: Codable {
        /// `ok`, or `exists` for a retry of the same id.
        var result: RedemptionOutcome
        /// What the person may still redeem afterwards.
        var availableKRW: Int64
    }

    /// The signer as an account owner.
    static func owner(_ principal: Principal) -> Owner {
        switch principal {
        case .subject(let id): Owner(.person, id)
        case .party(let party): Owner(party.role == .manufacturer ? .manufacturer : .recipient, party.id)
        }
    }

    /// GET /v1/accounts, GET /v1/accounts/{id}/transfers, POST /v1/rewards/redemptions.
    func addAccountRoutes(to router: Router<BrokerRequestContext>) {
        router.get("/v1/accounts") { _, context in
            let owner = Self.owner(try context.requirePrincipal())
            return try Self.json(["accounts": try await service.accounts(of: owner)])
        }
        router.get("/v1/accounts/:id/transfers") { request, context in
            let owner = Self.owner(try context.requirePrincipal())
            let after = request.uri.queryParameters.get("after", as: Int.self) ?? 0
            let lines = try await service.statement(account: try Self.pathID(context), owner: owner, after: after,
                                                    limit: Self.limit(request))
            return try Self.json(["transfers": lines])
        }
        router.post("/v1/rewards/redemptions") { request, context in
            guard case .subject(let subject) = try context.requirePrincipal() else {
                throw ConsentError(.notConsentSubject, "only a person redeems their rewards")
            }
            let bytes = try await request.body.collect(upTo: APILimits.requestBodyBytesMax)
            let body = try JSONDecoder().decode(RedemptionBody.self, from: Data(bytes.readableBytesView))
            let result = try await service.redeem(subject: subject, amount: body.amountKRW, manufacturer: body.manufacturer,
                                                  kind: try RedemptionKind(named: body.kind), id: body.id)
            let account = try await service.accounts(of: Owner(.person, subject)).first { $0.kind == .rewards }
            return try Self.json(RedemptionResult(result: result, availableKRW: account?.available ?? 0), status: result == .redeemed ? .created : .ok)
        }
    }
}
