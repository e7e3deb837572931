/// The linked transfers with which a recipient pays for a delivery, planned without touching the
/// book: vouchers first (the earliest to expire first, expired ones skipped), then cash, all into
/// the broker's clearing account, and from there the split to the manufacturer, the person and
/// the broker's fees.
///
/// The clearing account (revenue owned by the broker, with `debitsMustNotExceedCredits`) is what
/// lets voucher money reach the maker and the person without ever becoming the recipient's cash:
/// `VoucherRules` allow a voucher to be charged only into it. After a charge it holds nothing.
///
/// The plan is a snapshot: apply it at once with `Book.apply(plan.transfers, at: now)`. The chain
/// is all or nothing, so if balances moved in between it fails whole and can be planned again.
/// To retry, resend the same plan: it answers `.exists` throughout. A new plan under a charge id
/// already applied has other legs and is refused, so a charge id is charged at most once.
public struct ChargePlan: Sendable, Codable, Equatable {
    /// How the price divides, in won; the shares add up to the price.
    public struct Split: Sendable, Codable, Equatable, Hashable {
        public var manufacturer: Int64
        public var person: Int64
        public var brokerFee: Int64

        public init(manufacturer: Int64, person: Int64, brokerFee: Int64) {
            self.manufacturer = manufacturer
            self.person = person
            self.brokerFee = brokerFee
        }
    }

    /// The accounts a charge pays into.
    public struct Payees: Sendable, Codable, Equatable, Hashable {
        /// The broker's clearing account (revenue owned by the broker).
        public var clearingAccountID: String
        /// The manufacturer's revenue account.
        public var manufacturerAccountID: String
        /// The person's rewards account.
        public var personAccountID: String
        /// The broker's fees account.
        public var brokerFeesAccountID: String

        public init(clearingAccountID: String, manufacturerAccountID: String, personAccountID: String, brokerFeesAccountID: String) {
            self.clearingAccountID = clearingAccountID
            self.manufacturerAccountID = manufacturerAccountID
            self.personAccountID = personAccountID
            self.brokerFeesAccountID = brokerFeesAccountID
        }
    }

    /// The chain to apply: every transfer but the last is `linked`.
    public let transfers: [Transfer]
    /// Won taken from vouchers.
    public let fromVouchers: Int64
    /// Won taken from cash.
    public let fromCash: Int64

    /// Plans a charge of `price` won.
    ///
    /// Transfer ids derive from `chargeID`: `<chargeID>:voucher:<n>`, `<chargeID>:cash`,
    /// `<chargeID>:manufacturer`, `<chargeID>:person`, `<chargeID>:fee`; shares of 0 are left out.
    ///
    /// - Parameters:
    ///   - vouchers: the recipient's voucher accounts as the book holds them now.
    ///   - cash: the recipient's cash account as the book holds it now.
    /// - Throws: `ChargeRefusal`; `insufficientFunds` carries the shortfall.
    public static func make(
        chargeID: String, reference: String, price: Int64, split: Split,
        vouchers: [Account], cash: Account, payees: Payees, at now: Int64
    ) throws(ChargeRefusal) -> ChargePlan {
        guard chargeID.utf8.count <= AccountingLimits.chargeIDCharactersMax, AccountingLimits.isValidID(chargeID) else {
            throw ChargeRefusal(.chargeIDInvalid)
        }
        guard price > 0 else { throw ChargeRefusal(.priceMustBePositive) }
        guard isValid(split, price: price) else { throw ChargeRefusal(.splitMustSumToPrice) }
        return try make(
            chargeID: chargeID, reference: reference, price: price,
            shares: [
                Share(suffix: "manufacturer", accountID: payees.manufacturerAccountID, amount: split.manufacturer, code: .chargeSplitManufacturer),
                Share(suffix: "person", accountID: payees.personAccountID, amount: split.person, code: .chargeSplitPerson),
                Share(suffix: "fee", accountID: payees.brokerFeesAccountID, amount: split.brokerFee, code: .brokerFee),
            ], vouchers: vouchers, cash: cash, clearingAccountID: payees.clearingAccountID, at: now)
    }

    /// One payee's part of a charge, paid out of clearing as `<chargeID>:<suffix>`.
    public struct Share: Sendable, Equatable {
        public var suffix: String
        public var accountID: String
        public var amount: Int64
        public var code: TransferCode
        public init(suffix: String, accountID: String, amount: Int64, code: TransferCode) {
            self.suffix = suffix; self.accountID = accountID; self.amount = amount; self.code = code
        }
    }

    /// Plans a charge paid out to any number of payees (for example several manufacturers).
    ///
    /// - Throws: `ChargeRefusal`; `splitMustSumToPrice` unless the shares are non-negative and
    ///   add up to `price`.
    public static func make(
        chargeID: String, reference: String, price: Int64, shares: [Share],
        vouchers: [Account], cash: Account, clearingAccountID: String, at now: Int64
    ) throws(ChargeRefusal) -> ChargePlan {
        guard chargeID.utf8.count <= AccountingLimits.chargeIDCharactersMax, AccountingLimits.isValidID(chargeID) else {
            throw ChargeRefusal(.chargeIDInvalid)
        }
        guard price > 0 else { throw ChargeRefusal(.priceMustBePositive) }
        var total: Int64 = 0
        for share in shares {
            guard share.amount >= 0 else { throw ChargeRefusal(.splitMustSumToPrice) }
            let (sum, overflow) = total.addingReportingOverflow(share.amount)
            guard !overflow else { throw ChargeRefusal(.splitMustSumToPrice) }
            total = sum
        }
        guard total == price else { throw ChargeRefusal(.splitMustSumToPrice) }

        var legs: [Transfer] = []
        var remaining = price
        let usable = vouchers.filter { !$0.isExpired(at: now) && $0.available > 0 }
            .sorted { ($0.expiresAt ?? .max, $0.id) < ($1.expiresAt ?? .max, $1.id) }
        for voucher in usable where remaining > 0 {
            let take = min(voucher.available, remaining)
            remaining -= take
            legs.append(leg("\(chargeID):voucher:\(legs.count + 1)", from: voucher.id, to: clearingAccountID, take, .charge, reference))
        }
        let fromVouchers = price - remaining
        let fromCash = min(max(cash.available, 0), remaining)
        remaining -= fromCash
        guard remaining == 0 else { throw ChargeRefusal(.insufficientFunds, shortfall: remaining) }
        if fromCash > 0 {
            legs.append(leg("\(chargeID):cash", from: cash.id, to: clearingAccountID, fromCash, .charge, reference))
        }
        for share in shares where share.amount > 0 {
            legs.append(leg("\(chargeID):\(share.suffix)", from: clearingAccountID, to: share.accountID, share.amount, share.code, reference))
        }
        legs[legs.count - 1].flags.remove(.linked)
        return ChargePlan(transfers: legs, fromVouchers: fromVouchers, fromCash: fromCash)
    }

    private static func isValid(_ split: Split, price: Int64) -> Bool {
        guard split.manufacturer >= 0, split.person >= 0, split.brokerFee >= 0 else { return false }
        let (partial, overflowed) = split.manufacturer.addingReportingOverflow(split.person)
        let (total, overflowedAgain) = partial.addingReportingOverflow(split.brokerFee)
        return !overflowed && !overflowedAgain && total == price
    }

    private static func leg(
        _ id: String, from debit: String, to credit: String, _ amount: Int64,
        _ code: TransferCode, _ reference: String
    ) -> Transfer {
        Transfer(
            id: id, debitAccountID: debit, creditAccountID: credit, amount: amount, flags: .linked,
            code: code, reference: reference)
    }
}
