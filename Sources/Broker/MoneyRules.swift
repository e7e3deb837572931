import Accounting
import Consent
import Ledger

/// What money a consent's life moves, by the active policy's accounting rules
/// (`Policies/accounting.yaml`). Pure: the caller commits the result with the event it belongs to.
public enum MoneyRules {
    /// The accounts to open and the transfers to apply.
    public struct Movement: Sendable, Equatable {
        public var accounts: [Account] = []
        public var transfers: [Transfer] = []
        public var isEmpty: Bool { transfers.isEmpty }

        public init(accounts: [Account] = [], transfers: [Transfer] = []) {
            self.accounts = accounts
            self.transfers = transfers
        }

        static func + (a: Movement, b: Movement) -> Movement {
            Movement(accounts: a.accounts + b.accounts, transfers: a.transfers + b.transfers)
        }
    }

    /// The id of the transfer that reserves (or pays) a consent's reward.
    public static func rewardID(_ consentID: String) -> String { "reward:\(consentID)" }
    /// The id of the transfer with which a consent's first delivery pays its reserved reward.
    static func rewardPostID(_ consentID: String) -> String { "\(rewardID(consentID)):post" }

    /// A grant reserves the person's reward from the programme fund until the consent expires
    /// (or pays it at once when the policy says `rewardPostedOn: grant`).
    public static func grant(_ e: ConsentGranted, policy: AccountingPolicy?) -> Movement {
        guard let policy else { return Movement() }
        let amount = policy.reward(category: e.terms.category, durationDays: e.terms.durationDays, onceOff: e.terms.onceOff)
        guard amount > 0 else { return Movement() }
        let pending = policy.rewardPostedOn == .firstDelivery
        return Movement(
            accounts: [AccountNames.fundAccount(policy.fund), AccountNames.rewardsAccount(e.subject)],
            transfers: [
                Transfer(
                    id: rewardID(e.consentID), debitAccountID: AccountNames.fund(policy.fund),
                    creditAccountID: AccountNames.rewards(e.subject), amount: amount,
                    flags: pending ? .pending : [], code: .reward, reference: "consent:\(e.consentID)",
                    timeoutAt: pending ? e.expiresAt.milliseconds : nil)
            ])
    }

    /// A revocation voids a reward still reserved, and takes back a paid one when the consent is
    /// revoked within the clawback window (as much as the person still holds).
    public static func revocation(of consent: Consent, at now: Timestamp, policy: AccountingPolicy?, book: Book) -> Movement {
        let id = rewardID(consent.id)
        guard let reward = book.transfer(id: id) else { return Movement() }
        switch book.pendingStatus(of: id, at: now.milliseconds) {
        case .pending?, .expired?:
            return Movement(transfers: [
                Transfer(
                    id: "\(id):void", debitAccountID: reward.debitAccountID, creditAccountID: reward.creditAccountID,
                    amount: 0, pendingID: id, flags: .voidPending, code: .reward, reference: "consent:\(consent.id)")
            ])
        case .voided?:
            return Movement()
        case .posted?, nil:
            guard let policy, policy.clawbackWithinDays > 0, now < consent.grantedAt.adding(days: Int64(policy.clawbackWithinDays)) else {
                return Movement()
            }
            // Paid at the grant (a posted reward), or by the first delivery's post of the reservation.
            let paid = reward.flags.contains(.pending) ? book.transfer(id: rewardPostID(consent.id))?.amount ?? 0 : reward.amount
            let held = book.accounts[reward.creditAccountID]?.available ?? 0
            let amount = min(paid, held)
            guard amount > 0 else { return Movement() }
            return Movement(transfers: [
                Transfer(
                    id: "\(id):clawback", debitAccountID: reward.creditAccountID, creditAccountID: reward.debitAccountID,
                    amount: amount, code: .rewardClawback, reference: "consent:\(consent.id)")
            ])
        }
    }

    /// A delivery pays the reserved reward (at the consent's first delivery) and charges the
    /// recipient `price` (the consent's agreed price, `BrokerService.price(of:active:)`):
    /// vouchers first, then cash, split between the manufacturers of the records (by their
    /// share of the records), the person and the broker.
    ///
    /// - Throws: `ConsentError.paymentRequired` when vouchers and cash cannot cover the price.
    public static func delivery(
        deliveryID: String, consent: Consent, records byManufacturer: [String: Int], at now: Timestamp,
        price rule: PriceRule?, book: Book
    ) throws -> Movement {
        var movement = Movement()
        let rewardID = rewardID(consent.id)
        if book.pendingStatus(of: rewardID, at: now.milliseconds) == .pending, let reward = book.transfer(id: rewardID) {
            movement.transfers.append(
                Transfer(
                    id: rewardPostID(consent.id), debitAccountID: reward.debitAccountID, creditAccountID: reward.creditAccountID,
                    amount: 0, pendingID: rewardID, flags: .postPending, code: .reward,
                    reference: "delivery:\(deliveryID)"))
        }
        let records = byManufacturer.values.reduce(0, +)
        guard let rule, records > 0 else { return movement }
        let price = rule.price(records: records)
        guard price > 0 else { return movement }
        let person = price * rule.personPercent / 100
        movement =
            movement
            + (try charge(
                "delivery", id: deliveryID, price: price, rule: rule, recipient: consent.recipient, records: byManufacturer,
                persons: ChargePlan.Share(
                    suffix: "person", accountID: AccountNames.rewards(consent.subject), amount: person, code: .chargeSplitPerson),
                at: now, book: book))
        movement.accounts.append(AccountNames.rewardsAccount(consent.subject))
        return movement
    }

    /// The linked charge of `price` to `recipient` for a delivery or an analysis (`what`, `id`):
    /// vouchers first, then cash, into the clearing account, and out of it the manufacturers'
    /// share (by their records, the rounding to the largest supplier; none without records), the persons' share
    /// (`persons`) and the broker's fee, which takes what is left.
    ///
    /// - Throws: `ConsentError.paymentRequired` when vouchers and cash cannot cover the price.
    static func charge(
        _ what: String, id: String, price: Int64, rule: PriceRule, recipient: String, records byManufacturer: [String: Int],
        persons: ChargePlan.Share, at now: Timestamp, book: Book
    ) throws -> Movement {
        let manufacturers = price * rule.manufacturerPercent / 100
        let records = byManufacturer.values.reduce(0, +)
        let cash = book.accounts[AccountNames.cash(recipient)] ?? AccountNames.cashAccount(recipient)
        let vouchers = book.accounts(of: Owner(.recipient, recipient)).filter { $0.kind == .voucher }
        let suppliers = byManufacturer.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        var makers = suppliers.map { records > 0 ? manufacturers * Int64($0.value) / Int64(records) : 0 }
        if !makers.isEmpty { makers[0] += manufacturers - makers.reduce(0, +) }
        var shares = zip(suppliers, makers).map { supplier, amount in
            ChargePlan.Share(
                suffix: "manufacturer:\(supplier.key)", accountID: AccountNames.revenue(supplier.key), amount: amount, code: .chargeSplitManufacturer)
        }
        shares.append(persons)
        // With no supplier (an analysis that read no record), the manufacturers' share is the fee's.
        shares.append(
            ChargePlan.Share(suffix: "fee", accountID: AccountNames.fees, amount: price - makers.reduce(0, +) - persons.amount, code: .brokerFee))
        let plan: ChargePlan
        do {
            plan = try ChargePlan.make(
                chargeID: "charge:\(id)", reference: "\(what):\(id)", price: price, shares: shares,
                vouchers: vouchers, cash: cash, clearingAccountID: AccountNames.clearing, at: now.milliseconds)
        } catch let refusal {
            if refusal.code == .insufficientFunds {
                throw ConsentError(
                    .paymentRequired,
                    "this \(what) costs \(price) won and \(recipient)'s vouchers and cash are \(refusal.shortfall) won short; top up cash or ask for a voucher"
                )
            }
            throw ConsentError(.transferRejected, "the charge could not be planned: \(refusal.code.rawValue)")
        }
        return Movement(
            accounts: suppliers.map { AccountNames.revenueAccount($0.key) } + [AccountNames.cashAccount(recipient)], transfers: plan.transfers)
    }
}

extension MoneyRules {
    /// An analysis pays each included person's reserved reward (at their consent's first use, as
    /// a delivery would) and charges the recipient the category's analysis price: vouchers first,
    /// then cash, split between the manufacturers (by their share of the records read), the
    /// persons included (equal shares, through `broker:payouts` so that the linked charge stays
    /// short) and the broker, whose fee takes the rounding.
    ///
    /// - Parameter included: the person and consent of everyone the analysis included.
    /// - Throws: `ConsentError.paymentRequired` when vouchers and cash cannot cover the price.
    public static func analysis(
        analysisID: String, recipient: String, included: [(subject: String, consentID: String)],
        records byManufacturer: [String: Int], at now: Timestamp, price rule: PriceRule?, book: Book
    ) throws -> Movement {
        var movement = Movement()
        for c in included {
            let rewardID = rewardID(c.consentID)
            guard book.pendingStatus(of: rewardID, at: now.milliseconds) == .pending, let reward = book.transfer(id: rewardID) else { continue }
            movement.transfers.append(
                Transfer(
                    id: rewardPostID(c.consentID), debitAccountID: reward.debitAccountID, creditAccountID: reward.creditAccountID,
                    amount: 0, pendingID: rewardID, flags: .postPending, code: .reward, reference: "analysis:\(analysisID)"))
        }
        // Charged whatever the records: a price that followed them would tell what the query found.
        guard let rule, !included.isEmpty else { return movement }
        let price = rule.analysisPrice(persons: included.count)
        guard price > 0 else { return movement }
        // The persons' share in equal parts, the won left over one each to the first persons by id,
        // so the whole share is paid out and no one's part depends on their data.
        let share = price * rule.personPercent / 100
        let each = share / Int64(included.count)
        let remainder = Int(share - each * Int64(included.count))
        let chargeID = "charge:\(analysisID)"
        movement =
            movement
            + (try charge(
                "analysis", id: analysisID, price: price, rule: rule, recipient: recipient, records: byManufacturer,
                persons: ChargePlan.Share(suffix: "persons", accountID: AccountNames.payouts, amount: share, code: .chargeSplitPerson),
                at: now, book: book))
        movement.accounts.append(AccountNames.payoutsAccount)
        for (i, c) in included.sorted(by: { $0.subject < $1.subject }).enumerated() {
            let amount = each + (i < remainder ? 1 : 0)
            guard amount > 0 else { continue }
            movement.accounts.append(AccountNames.rewardsAccount(c.subject))
            movement.transfers.append(
                Transfer(
                    id: "\(chargeID):person:\(c.subject)", debitAccountID: AccountNames.payouts,
                    creditAccountID: AccountNames.rewards(c.subject), amount: amount, code: .chargeSplitPerson,
                    reference: "analysis:\(analysisID)"))
        }
        return movement
    }
}
