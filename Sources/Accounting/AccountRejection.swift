/// Why `Book.createAccounts` refused an account; a refused account is not created.
///
/// Stable snake_case raw values, checked in the order of the cases: the account alone, then
/// whether an account with the same id exists (identical fields give `.exists`).
public enum AccountRejection: String, Sendable, Codable, Equatable, Hashable, CaseIterable, Error {
    case idInvalid = "id_invalid"
    /// Both `debitsMustNotExceedCredits` and `creditsMustNotExceedDebits`.
    case flagsAreMutuallyExclusive = "flags_are_mutually_exclusive"
    case ownerIDInvalid = "owner_id_invalid"
    /// Only voucher accounts expire.
    case expiresAtReservedForVoucher = "expires_at_reserved_for_voucher"
    /// A voucher must have `debitsMustNotExceedCredits`: a voucher that could go below zero would
    /// be credit, not a voucher.
    case voucherMustLimitDebits = "voucher_must_limit_debits"
    /// Balances come only from transfers.
    case debitsPendingMustBeZero = "debits_pending_must_be_zero"
    case debitsPostedMustBeZero = "debits_posted_must_be_zero"
    case creditsPendingMustBeZero = "credits_pending_must_be_zero"
    case creditsPostedMustBeZero = "credits_posted_must_be_zero"
    case existsWithDifferentFlags = "exists_with_different_flags"
    case existsWithDifferentOwner = "exists_with_different_owner"
    case existsWithDifferentKind = "exists_with_different_kind"
    case existsWithDifferentExpiresAt = "exists_with_different_expires_at"
}
