/// What an account is for. Voucher accounts obey extra rules (see `VoucherRules`).
///
/// - `rewards`: what the broker owes a person (consent rewards, their share of prices).
/// - `voucher`: data-voucher money a recipient may spend only on data; may expire.
/// - `cash`: prepaid cash a recipient holds with the broker. Owned by the broker, it is the
///   mirror of the broker's bank account: debit-normal, the source of every deposit.
/// - `revenue`: a manufacturer's earnings. Owned by the broker, it is the clearing account that
///   every charge passes through before it is split.
/// - `fund`: a programme fund's budget, from which vouchers are issued.
/// - `fees`: the broker's fees.
public enum AccountKind: String, Sendable, Codable, Equatable, Hashable, CaseIterable {
    case rewards, voucher, cash, revenue, fund, fees
}
