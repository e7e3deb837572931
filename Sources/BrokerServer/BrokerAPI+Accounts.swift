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
}
