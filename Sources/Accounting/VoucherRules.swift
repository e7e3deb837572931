/// The rules that keep vouchers spendable only on data, checked by `Book.apply` on every new
/// (single-phase or pending) transfer that touches a voucher account; posts and voids settle a
/// reservation that already passed them.
///
/// Voucher money may leave a voucher only for the broker's clearing account (a `charge`, from
/// where it is split between maker, person and broker) or back to a fund (`voucher_expiry`,
/// `correction`). It may arrive only from a fund (`voucher_issue`, `correction`) or from clearing
/// (a `correction` refunding a charge). So no path turns a voucher into cash.
enum VoucherRules {
    static func check(code: TransferCode, debit: Account, credit: Account) -> TransferRejection? {
        if debit.kind == .voucher, !mayDebitVoucher(code: code, credit: credit) { return .voucherDebitNotAllowed }
        if credit.kind == .voucher, !mayCreditVoucher(code: code, debit: debit) { return .voucherCreditNotAllowed }
        return nil
    }

    /// The expiry rules: an expired account takes nothing and gives only `voucher_expiry`, which
    /// in turn needs an expired account.
    static func checkExpiry(code: TransferCode, debit: Account, credit: Account, at now: Int64) -> TransferRejection? {
        if debit.isExpired(at: now), code != .voucherExpiry { return .accountExpired }
        if credit.isExpired(at: now) { return .accountExpired }
        if code == .voucherExpiry, !debit.isExpired(at: now) { return .voucherNotExpired }
        return nil
    }

    private static func mayDebitVoucher(code: TransferCode, credit: Account) -> Bool {
        switch code {
        case .charge: isClearing(credit)
        case .voucherExpiry, .correction: credit.kind == .fund
        default: false
        }
    }

    private static func mayCreditVoucher(code: TransferCode, debit: Account) -> Bool {
        switch code {
        case .voucherIssue: debit.kind == .fund
        case .correction: debit.kind == .fund || isClearing(debit)
        default: false
        }
    }

    /// The broker's clearing account: revenue owned by the broker.
    static func isClearing(_ account: Account) -> Bool {
        account.kind == .revenue && account.owner.kind == .broker
    }
}
