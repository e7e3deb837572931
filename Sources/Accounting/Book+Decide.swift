/// The checks of one transfer, in the order `TransferRejection` documents. Deciding reads the
/// book and never changes it; only `Book.execute` commits what was decided.
extension Book {
    enum Decision {
        case rejected(TransferRejection)
        case exists
        case apply(Effect)
    }

    /// A decided transfer: its applied form, the two accounts' new values, and the pending
    /// transfer it settles.
    struct Effect {
        var transfer: Transfer
        var debit: Account
        var credit: Account
        var settles: (id: String, status: PendingStatus)?
    }

    func decide(_ transfer: Transfer, at now: Int64) -> Decision {
        if let rejection = Self.validate(transfer) { return .rejected(rejection) }
        guard let debit = accounts[transfer.debitAccountID] else { return .rejected(.debitAccountNotFound) }
        guard let credit = accounts[transfer.creditAccountID] else { return .rejected(.creditAccountNotFound) }
        if transfer.settlesPending {
            return decideSettlement(transfer, debit: debit, credit: credit, at: now)
        }
        return decideNew(transfer, debit: debit, credit: credit, at: now)
    }

    /// The checks that need nothing but the transfer.
    private static func validate(_ t: Transfer) -> TransferRejection? {
        guard AccountingLimits.isValidID(t.id) else { return .idInvalid }
        if t.flags.intersection([.pending, .postPending, .voidPending]).rawValue.nonzeroBitCount > 1 {
            return .flagsAreMutuallyExclusive
        }
        guard AccountingLimits.isValidID(t.debitAccountID) else { return .debitAccountIDInvalid }
        guard AccountingLimits.isValidID(t.creditAccountID) else { return .creditAccountIDInvalid }
        if t.debitAccountID == t.creditAccountID { return .accountsMustBeDifferent }
        if t.settlesPending {
            guard let pendingID = t.pendingID else { return .pendingIDRequired }
            guard AccountingLimits.isValidID(pendingID) else { return .pendingIDInvalid }
            if pendingID == t.id { return .pendingIDMustBeDifferent }
        } else if t.pendingID != nil {
            return .pendingIDMustBeEmpty
        }
        if t.timeoutAt != nil, !t.flags.contains(.pending) { return .timeoutReservedForPendingTransfer }
        if t.amount < 0 { return .amountMustNotBeNegative }
        if t.amount == 0, !t.settlesPending { return .amountMustNotBeZero }
        guard AccountingLimits.isValidReference(t.reference) else { return .referenceInvalid }
        return nil
    }

    /// A single-phase or pending transfer.
    private func decideNew(_ t: Transfer, debit: Account, credit: Account, at now: Int64) -> Decision {
        if let existing = transfer(id: t.id) { return Self.compare(t, existing, amount: t.amount) }
        if let rejection = VoucherRules.check(code: t.code, debit: debit, credit: credit) { return .rejected(rejection) }
        if let rejection = VoucherRules.checkExpiry(code: t.code, debit: debit, credit: credit, at: now) {
            return .rejected(rejection)
        }
        if let timeoutAt = t.timeoutAt, timeoutAt <= now { return .rejected(.timeoutMustBeInFuture) }
        let pending = t.flags.contains(.pending)
        if let rejection = Self.overflow(t.amount, pending: pending, debit: debit, credit: credit) { return .rejected(rejection) }
        // No overflow here: the checks above bound both sums.
        if debit.flags.contains(.debitsMustNotExceedCredits),
            debit.debitsPending + debit.debitsPosted + t.amount > debit.creditsPosted
        {
            return .rejected(.exceedsCredits)
        }
        if credit.flags.contains(.creditsMustNotExceedDebits),
            credit.creditsPending + credit.creditsPosted + t.amount > credit.debitsPosted
        {
            return .rejected(.exceedsDebits)
        }
        var (newDebit, newCredit) = (debit, credit)
        if pending {
            newDebit.debitsPending += t.amount
            newCredit.creditsPending += t.amount
        } else {
            newDebit.debitsPosted += t.amount
            newCredit.creditsPosted += t.amount
        }
        var applied = t
        applied.timestamp = now
        return .apply(Effect(transfer: applied, debit: newDebit, credit: newCredit, settles: nil))
    }

    /// A post or void of a pending transfer.
    private func decideSettlement(_ t: Transfer, debit: Account, credit: Account, at now: Int64) -> Decision {
        guard let pendingID = t.pendingID else { preconditionFailure("validate requires a pending id to settle") }
        guard let pending = transfer(id: pendingID) else { return .rejected(.pendingTransferNotFound) }
        guard pending.flags.contains(.pending) else { return .rejected(.pendingTransferNotPending) }
        if t.debitAccountID != pending.debitAccountID { return .rejected(.pendingTransferHasDifferentDebitAccountID) }
        if t.creditAccountID != pending.creditAccountID { return .rejected(.pendingTransferHasDifferentCreditAccountID) }
        if t.code != pending.code { return .rejected(.pendingTransferHasDifferentCode) }
        let amount = t.amount == 0 ? pending.amount : t.amount
        if amount > pending.amount { return .rejected(.exceedsPendingTransferAmount) }
        let posts = t.flags.contains(.postPending)
        if !posts, amount < pending.amount { return .rejected(.pendingTransferHasDifferentAmount) }

        if let existing = transfer(id: t.id) { return Self.compare(t, existing, amount: amount) }

        switch settled[pendingID] {
        case .posted: return .rejected(.pendingTransferAlreadyPosted)
        case .voided: return .rejected(.pendingTransferAlreadyVoided)
        default: break
        }
        if posts, let timeoutAt = pending.timeoutAt, now >= timeoutAt { return .rejected(.pendingTransferExpired) }

        precondition(debit.debitsPending >= pending.amount, "the debit account must still hold the reservation")
        precondition(credit.creditsPending >= pending.amount, "the credit account must still hold the reservation")
        var (newDebit, newCredit) = (debit, credit)
        newDebit.debitsPending -= pending.amount
        newCredit.creditsPending -= pending.amount
        if posts {
            newDebit.debitsPosted += amount
            newCredit.creditsPosted += amount
        }
        var applied = t
        applied.amount = amount
        applied.timestamp = now
        return .apply(
            Effect(
                transfer: applied, debit: newDebit, credit: newCredit,
                settles: (pendingID, posts ? .posted : .voided)))
    }

    /// Compares a transfer with the applied one of the same id; `amount` is what the new one
    /// would move (a post of 0 means the pending amount).
    private static func compare(_ t: Transfer, _ existing: Transfer, amount: Int64) -> Decision {
        if t.flags != existing.flags { return .rejected(.existsWithDifferentFlags) }
        if t.debitAccountID != existing.debitAccountID { return .rejected(.existsWithDifferentDebitAccountID) }
        if t.creditAccountID != existing.creditAccountID { return .rejected(.existsWithDifferentCreditAccountID) }
        if amount != existing.amount { return .rejected(.existsWithDifferentAmount) }
        if t.pendingID != existing.pendingID { return .rejected(.existsWithDifferentPendingID) }
        if t.timeoutAt != existing.timeoutAt { return .rejected(.existsWithDifferentTimeout) }
        if t.code != existing.code { return .rejected(.existsWithDifferentCode) }
        if t.reference != existing.reference { return .rejected(.existsWithDifferentReference) }
        return .exists
    }

    /// Whether adding `amount` would overflow a counter. Posted counters are checked for pending
    /// transfers too, since a post moves the amount there.
    private static func overflow(_ amount: Int64, pending: Bool, debit: Account, credit: Account) -> TransferRejection? {
        let room = Int64.max - amount
        if pending, debit.debitsPending > room { return .overflowsDebitsPending }
        if pending, credit.creditsPending > room { return .overflowsCreditsPending }
        if debit.debitsPosted > room { return .overflowsDebitsPosted }
        if credit.creditsPosted > room { return .overflowsCreditsPosted }
        // The Book keeps each pair's sum within Int64, so these sums cannot overflow.
        if debit.debitsPending + debit.debitsPosted > room { return .overflowsDebits }
        if credit.creditsPending + credit.creditsPosted > room { return .overflowsCredits }
        return nil
    }
}
