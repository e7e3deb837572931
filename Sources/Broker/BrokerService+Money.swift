import Accounting
import Consent
import Foundation
import Ledger

/// The operator's and the people's money actions: deposits, vouchers, redemptions. Each is one
/// commit of the accounting book (a `transfers.posted` event), refused whole with the book's
/// rejection code when it breaks a rule.
extension BrokerService {
    /// Transfers in one statement page.
    public static let statementPageMax = ConsentLimits.pageItemsMax

    /// A voucher as its recipient and the operator see it.
    public struct Voucher: Codable, Sendable, Equatable {
        public var id: String
        public var recipient: String
        public var accountID: String
        public var issued: Int64
        public var balance: Int64
        public var available: Int64
        public var expiresAt: Timestamp
        public var expired: Bool
    }

    /// The active policy's money rules.
    ///
    /// - Throws: `ConsentError.noActivePolicy` when no policy with `accounting.yaml` is active.
    public func moneyRules() async throws -> AccountingPolicy {
        guard let rules = try await store.activePolicy()?.policy.accounting else {
            throw ConsentError(.noActivePolicy, "the active policy has no accounting rules; add Policies/accounting.yaml and run `mydata admin policy activate`")
        }
        return rules
    }

    /// Money arrives from outside (`broker:bank`) into a recipient's cash or a programme fund.
    ///
    /// - Parameter id: the caller's id for this deposit, so a retry never deposits twice.
    @discardableResult
    public func deposit(_ amount: Int64, to account: Account, id: String) async throws -> TransferResult {
        guard amount > 0 else { throw ConsentError(.transferRejected, "a deposit is at least 1 won") }
        let transfer = Transfer(id: "deposit:\(id)", debitAccountID: AccountNames.bank, creditAccountID: account.id, amount: amount,
                                code: .cashDeposit, reference: "deposit:\(id)")
        return try await single(transfer, opening: [account])
    }

    /// Issues a voucher from the programme fund to a recipient: spendable only on deliveries,
    /// before `expiresAt`; what is left then returns to the fund (`expireVouchers`).
    public func issueVoucher(id: String, recipient: String, amount: Int64, expiresAt: Timestamp) async throws -> Voucher {
        try ConsentRules.checkParty(try await store.party(recipient), id: recipient, role: .recipient)
        guard Identifiers.isValidReference(id), id.utf8.count <= 48 else {
            throw ConsentError(.invalidIdentifier, "a voucher id is 1 to 48 letters, digits or -_.:")
        }
        guard amount > 0 else { throw ConsentError(.transferRejected, "a voucher holds at least 1 won") }
        guard expiresAt > clock.now() else { throw ConsentError(.transferRejected, "a voucher must expire in the future") }
        let rules = try await moneyRules()
        let account = AccountNames.voucherAccount(recipient, id, expiresAt: expiresAt)
        let transfer = Transfer(id: "voucher:\(recipient):\(id)", debitAccountID: AccountNames.fund(rules.fund), creditAccountID: account.id,
                                amount: amount, code: .voucherIssue, reference: "voucher:\(id)")
        let result = try await single(transfer, opening: [AccountNames.fundAccount(rules.fund), account])
        guard result == .ok else {
            throw ConsentError(.transferRejected, "voucher \(id) of \(recipient) was already issued")
        }
        return try await vouchers(recipient: recipient).first { $0.id == id }!
    }

    /// Every voucher, or one recipient's.
    public func vouchers(recipient: String? = nil) async throws -> [Voucher] {
        let now = clock.now()
        let accounts = try await store.accounts(owner: recipient.map { Owner(.recipient, $0) }).filter { $0.kind == .voucher }
        return accounts.map { a in
            let prefix = "recipient:\(a.owner.id):voucher:"
            return Voucher(id: String(a.id.dropFirst(prefix.count)), recipient: a.owner.id, accountID: a.id, issued: a.creditsPosted,
                           balance: a.balance, available: a.available, expiresAt: Timestamp(milliseconds: a.expiresAt ?? 0),
                           expired: a.isExpired(at: now.milliseconds))
        }
    }

    /// Returns what is left on every expired voucher to the programme fund. Returns how many
    /// vouchers were emptied.
    @discardableResult
    public func expireVouchers() async throws -> Int {
        let rules = try await moneyRules()
        let outcome = try await accounting.commit(with: [], conditions: [], allOrNothing: false) { book, now in
            let due = book.accounts.values.filter { $0.kind == .voucher && $0.isExpired(at: now.milliseconds) && $0.available > 0 }
                .sorted { $0.id < $1.id }.prefix(AccountingService.transfersPerCommitMax)
            return MoneyRules.Movement(accounts: [AccountNames.fundAccount(rules.fund)], transfers: due.map { voucher in
                Transfer(id: "\(voucher.id):expiry:\(voucher.debitsPosted)", debitAccountID: voucher.id, creditAccountID: AccountNames.fund(rules.fund),
                         amount: voucher.available, code: .voucherExpiry, reference: "voucher-expiry:\(voucher.id)")
            })
        }
        return outcome.results.filter { $0 == .ok }.count
    }

    /// A person redeems rewards with a manufacturer, as a purchase subsidy or consumables: the
    /// won move from their rewards to the manufacturer, who honours them.
    public func redeem(subject: String, amount: Int64, manufacturer: String, kind: String, id: String) async throws -> TransferResult {
        let rules = try await moneyRules()
        guard ["purchase-subsidy", "consumables"].contains(kind) else {
            throw ConsentError(.invalidTerms, "a redemption is a `purchase-subsidy` or `consumables`")
        }
        guard amount >= max(rules.redemptionMinimumKRW, 1) else {
            throw ConsentError(.transferRejected, "redeem at least \(max(rules.redemptionMinimumKRW, 1)) won")
        }
        try ConsentRules.checkParty(try await store.party(manufacturer), id: manufacturer, role: .manufacturer)
        guard Identifiers.isValidReference(id), id.utf8.count <= 48 else {
            throw ConsentError(.invalidIdentifier, "a redemption id is 1 to 48 letters, digits or -_.:")
        }
        let transfer = Transfer(id: "redeem:\(subject):\(id)", debitAccountID: AccountNames.rewards(subject),
                                creditAccountID: AccountNames.revenue(manufacturer), amount: amount, code: .redemption,
                                reference: "redemption:\(kind):\(manufacturer)")
        return try await single(transfer, opening: [AccountNames.rewardsAccount(subject), AccountNames.revenueAccount(manufacturer)])
    }

    /// One transfer, committed alone; refused with its rejection code.
    private func single(_ transfer: Transfer, opening accounts: [Account]) async throws -> TransferResult {
        let outcome = try await accounting.commit(opening: accounts, transfers: [transfer], allOrNothing: false)
        let result = outcome.results[0]
        if case .rejected(let rejection) = result {
            throw ConsentError(.transferRejected, "transfer \(transfer.id) was refused: \(rejection.rawValue)")
        }
        return result
    }
}
