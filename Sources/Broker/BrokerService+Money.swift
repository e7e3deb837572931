import Accounting
import Consent
import Foundation
import Ledger
import Sodium

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
        guard let rules = try await activePolicy()?.policy.accounting else {
            throw ConsentError(
                .noActivePolicy, "the active policy has no accounting rules; add Policies/accounting.yaml and run `mydata admin policy activate`")
        }
        return rules
    }

    /// Money arrives from outside (`broker:bank`) into a recipient's cash or a programme fund.
    ///
    /// - Parameter id: the caller's id for this deposit, so a retry never deposits twice.
    @discardableResult
    public func deposit(_ amount: Int64, to account: Account, id: String) async throws -> TransferResult {
        guard amount > 0 else { throw ConsentError(.transferRejected, "a deposit is at least 1 won") }
        let transfer = Transfer(
            id: "deposit:\(id)", debitAccountID: AccountNames.bank, creditAccountID: account.id, amount: amount,
            code: .cashDeposit, reference: "deposit:\(id)")
        return try await single(transfer, opening: [account])
    }

    /// Issues a voucher from the programme fund to a recipient: spendable only on deliveries,
    /// before `expiresAt`; what is left then returns to the fund (`expireVouchers`).
    public func issueVoucher(id: String, recipient: String, amount: Int64, expiresAt: Timestamp) async throws -> Voucher {
        try ConsentRules.checkParty(try await store.party(recipient), id: recipient, role: .recipient)
        // The account id `recipient:<recipient>:voucher:<id>` must fit the book's 128 characters.
        let longest = min(48, AccountingLimits.idCharactersMax - AccountNames.voucher(recipient, "").count)
        guard Identifiers.isValidReference(id), id.utf8.count <= longest else {
            throw ConsentError(.invalidIdentifier, "a voucher id for \(recipient) is 1 to \(longest) letters, digits or -_.:")
        }
        guard try await store.account(AccountNames.voucher(recipient, id)) == nil else {
            throw ConsentError(.transferRejected, "voucher \(id) of \(recipient) was already issued; choose another id")
        }
        guard amount > 0 else { throw ConsentError(.transferRejected, "a voucher holds at least 1 won") }
        guard expiresAt > clock.now() else { throw ConsentError(.transferRejected, "a voucher must expire in the future") }
        let rules = try await moneyRules()
        let account = AccountNames.voucherAccount(recipient, id, expiresAt: expiresAt)
        let transfer = Transfer(
            id: "voucher:\(recipient):\(id)", debitAccountID: AccountNames.fund(rules.fund), creditAccountID: account.id,
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
            return Voucher(
                id: String(a.id.dropFirst(prefix.count)), recipient: a.owner.id, accountID: a.id, issued: a.creditsPosted,
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
                .sorted { $0.id < $1.id }.prefix(BrokerLimits.transfersPerCommitMax)
            return MoneyRules.Movement(
                accounts: [AccountNames.fundAccount(rules.fund)],
                transfers: due.map { voucher in
                    // Back to the fund that issued it, whatever the policy names now.
                    let voucherID = String(voucher.id.dropFirst(AccountNames.voucher(voucher.owner.id, "").count))
                    let fund = book.transfer(id: "voucher:\(voucher.owner.id):\(voucherID)")?.debitAccountID ?? AccountNames.fund(rules.fund)
                    return Transfer(
                        id: Self.expiryID(voucher), debitAccountID: voucher.id, creditAccountID: fund,
                        amount: voucher.available, code: .voucherExpiry, reference: "voucher-expiry:\(voucher.id)")
                })
        }
        return outcome.results.filter { $0 == .ok }.count
    }

    /// Voids reservations past their timeout (a reward whose consent expired before any
    /// delivery), so nobody's pending amounts hold money that can no longer be paid. Returns how
    /// many were voided.
    @discardableResult
    public func voidExpiredReservations() async throws -> Int {
        let outcome = try await accounting.commit(with: [], conditions: [], allOrNothing: false) { book, now in
            let expired = book.log.filter { $0.flags.contains(.pending) && book.pendingStatus(of: $0.id, at: now.milliseconds) == .expired }
            return MoneyRules.Movement(
                transfers: expired.prefix(BrokerLimits.transfersPerCommitMax).map { pending in
                    Transfer(
                        id: "\(pending.id):void", debitAccountID: pending.debitAccountID, creditAccountID: pending.creditAccountID, amount: 0,
                        pendingID: pending.id, flags: .voidPending, code: pending.code, reference: "expired:\(pending.id)")
                })
        }
        return outcome.results.filter { $0 == .ok }.count
    }

    /// The id of the transfer that empties an expired voucher: short whatever the voucher's id,
    /// and the same for a retry (it names the voucher and what it had paid out).
    static func expiryID(_ voucher: Account) -> String {
        "expiry:" + Hex.encode(BLAKE2b.hash(Array("\(voucher.id)\u{0}\(voucher.debitsPosted)".utf8), outputBytes: 16))
    }

    /// A person redeems rewards with a manufacturer, as a purchase subsidy or consumables: the
    /// won move from their rewards to the manufacturer, who honours them.
    public func redeem(subject: String, amount: Int64, manufacturer: String, kind: RedemptionKind, id: String) async throws -> RedemptionOutcome {
        let rules = try await moneyRules()
        guard amount >= max(rules.redemptionMinimumKRW, 1) else {
            throw ConsentError(.transferRejected, "redeem at least \(max(rules.redemptionMinimumKRW, 1)) won")
        }
        guard let maker = try await store.party(manufacturer) else {
            throw ConsentError(.unknownParty, "no manufacturer '\(manufacturer)' is registered; redeem with one of the makers of your devices")
        }
        guard maker.role == .manufacturer else {
            throw ConsentError(
                .wrongRole, "\(manufacturer) is a \(maker.role.rawValue), not a manufacturer; redeem with one of the makers of your devices")
        }
        guard maker.status == .active else { throw ConsentError(.partySuspended, "\(manufacturer) is suspended and takes no redemptions") }
        guard Identifiers.isValidReference(id), id.utf8.count <= 48 else {
            throw ConsentError(.invalidIdentifier, "a redemption id is 1 to 48 letters, digits or -_.:")
        }
        let transfer = Transfer(
            id: "redeem:\(subject):\(id)", debitAccountID: AccountNames.rewards(subject),
            creditAccountID: AccountNames.revenue(manufacturer), amount: amount, code: .redemption,
            reference: "redemption:\(kind.rawValue):\(manufacturer)")
        let result = try await single(transfer, opening: [AccountNames.rewardsAccount(subject), AccountNames.revenueAccount(manufacturer)])
        return result == .exists ? .alreadyRedeemed : .redeemed
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

/// What a person redeems rewards as, with a manufacturer.
public enum RedemptionKind: String, Codable, Sendable, CaseIterable {
    case purchaseSubsidy = "purchase-subsidy"
    case consumables

    /// The kind named `text`.
    /// - Throws: `ConsentError.invalidTerms` naming the kinds there are.
    public init(named text: String) throws {
        guard let kind = RedemptionKind(rawValue: text) else {
            throw ConsentError(.invalidTerms, "a redemption is a `purchase-subsidy` or `consumables`, not `\(text)`")
        }
        self = kind
    }
}

/// What became of a redemption: made now, or made before under the same id (a retry, which
/// changes nothing). On the wire `ok` and `exists`, as the book's own results.
public enum RedemptionOutcome: String, Codable, Sendable {
    case redeemed = "ok"
    case alreadyRedeemed = "exists"
}

/// An account as its owner reads it.
public struct AccountView: Codable, Sendable, Equatable {
    public var id: String
    public var owner: Owner
    public var kind: AccountKind
    /// Posted credits minus posted debits, in won.
    public var balance: Int64
    /// What may still be spent: the balance less pending debits.
    public var available: Int64
    /// Won reserved for this account, not yet paid (a reward waiting for the first delivery).
    public var pendingIn: Int64
    /// Won reserved from this account, not yet paid.
    public var pendingOut: Int64
    public var expiresAt: Int64?

    public init(_ a: Account) {
        id = a.id; owner = a.owner; kind = a.kind; balance = a.balance; available = a.available
        pendingIn = a.creditsPending; pendingOut = a.debitsPending; expiresAt = a.expiresAt
    }
}

/// One line of an account's statement.
public struct StatementLine: Codable, Sendable, Equatable {
    public var time: Int64
    public var transfer: String
    public var code: TransferCode
    /// Whether a line credits or debits the account.
    public enum Direction: String, Codable, Sendable { case `in`, out }
    /// Where a line's transfer stands: `posted`, `pending` (a reservation), `post` or `void`
    /// (settling one).
    public enum Phase: String, Codable, Sendable { case posted, pending, post, void }
    /// `in` (credits the account) or `out` (debits it).
    public var direction: Direction
    /// The other account.
    public var counterparty: String
    public var amount: Int64
    public var phase: Phase
    public var reference: String

    public init(_ t: Transfer, account: String) {
        time = t.timestamp; transfer = t.id; code = t.code; amount = t.amount; reference = t.reference
        direction = t.creditAccountID == account ? .in : .out
        counterparty = t.creditAccountID == account ? t.debitAccountID : t.creditAccountID
        phase = t.flags.contains(.pending) ? .pending : t.flags.contains(.postPending) ? .post : t.flags.contains(.voidPending) ? .void : .posted
    }

    /// The CSV header and row, RFC 4180 (fields quoted when they hold a comma or quote).
    public static let csvHeader = "time_ms,transfer,code,direction,counterparty,amount_krw,phase,reference"
    public var csvRow: String {
        [String(time), transfer, code.rawValue, direction.rawValue, counterparty, String(amount), phase.rawValue, reference].map { field in
            field.contains(",") || field.contains("\"") ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }.joined(separator: ",")
    }
}

extension BrokerService {
    /// The accounts of `owner`.
    public func accounts(of owner: Owner) async throws -> [AccountView] {
        try await store.accounts(owner: owner).map(AccountView.init)
    }

    /// An account's statement, oldest first; only for its owner unless `owner` is nil (the operator).
    ///
    /// - Throws: `ConsentError.accountNotFound` when the account does not exist or is not the owner's.
    public func statement(account id: String, owner: Owner?, after: Int, limit: Int) async throws -> [StatementLine] {
        guard let account = try await store.account(id), owner == nil || account.owner == owner else {
            throw ConsentError(
                .accountNotFound,
                owner == nil
                    ? "no account \(id); list them with `mydata admin accounts`"
                    : "no account \(id) of yours; list yours with GET /v1/accounts")
        }
        return try await store.transfers(account: id, after: after, limit: min(limit, Self.statementPageMax)).map {
            StatementLine($0, account: account.id)
        }
    }
}
