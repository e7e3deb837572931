/// Why money moved. Stable snake_case names; never rename, only append.
public enum TransferCode: String, Sendable, Codable, Equatable, Hashable, CaseIterable {
    /// A reward to a person for consenting.
    case reward
    /// Taking a reward back (a consent found invalid).
    case rewardClawback = "reward_clawback"
    /// A recipient pays for a delivery, from a voucher or cash into the broker's clearing account.
    case charge
    /// The manufacturer's share of a charge, out of clearing.
    case chargeSplitManufacturer = "charge_split_manufacturer"
    /// The person's share of a charge, out of clearing.
    case chargeSplitPerson = "charge_split_person"
    /// The broker's fee, out of clearing.
    case brokerFee = "broker_fee"
    /// A programme fund issues a voucher.
    case voucherIssue = "voucher_issue"
    /// What is left on an expired voucher returns to its fund.
    case voucherExpiry = "voucher_expiry"
    /// Money arrives from outside, e.g. a recipient tops up cash or a fund receives its budget.
    case cashDeposit = "cash_deposit"
    /// A person or party takes money out, e.g. rewards paid out.
    case redemption
    /// An operator's correcting transfer: mistakes are corrected by new transfers, never edits.
    case correction
}
