/// Why `Book.apply` refused a transfer. A refused transfer changes nothing.
///
/// Raw values are stable snake_case names (TigerBeetle's, where it has the same check); never
/// rename, only append. When a transfer has several faults, the first check that fails names it.
/// The checks run in the order of the cases below, which follows TigerBeetle's `create_transfer`:
///
/// 1. Chains: `linked_event_failed` (another member of the chain failed) and
///    `linked_event_chain_open` (the batch ends inside a chain) replace any other result.
/// 2. The transfer alone: id, flags, account ids, pending id, timeout, amount, reference.
/// 3. Lookups: the two accounts, then for a post or void the pending transfer and whether this
///    transfer repeats its accounts and code and fits its amount.
/// 4. Idempotency: a transfer with the same id exists. Identical fields give `.exists`; else the
///    first differing field, in the order flags (`linked` included), debit, credit, amount,
///    pending id, timeout, code, reference. So a retry is recognised even when the state has
///    moved on since: after the cash was spent, the voucher expired or the reservation posted.
/// 5. The state now: whether the pending transfer is still open; the voucher rules
///    (`VoucherRules`) and expiry, checked for new transfers only, since a post or void settles a
///    reservation that passed them; the timeout; overflow of any counter; the account limits
///    (pending amounts included), for new transfers only, as settling never adds to them.
public enum TransferRejection: String, Sendable, Codable, Equatable, Hashable, CaseIterable, Error {
    case linkedEventFailed = "linked_event_failed"
    case linkedEventChainOpen = "linked_event_chain_open"

    case idInvalid = "id_invalid"
    /// More than one of `pending`, `postPending`, `voidPending`.
    case flagsAreMutuallyExclusive = "flags_are_mutually_exclusive"
    case debitAccountIDInvalid = "debit_account_id_invalid"
    case creditAccountIDInvalid = "credit_account_id_invalid"
    case accountsMustBeDifferent = "accounts_must_be_different"
    /// A `pendingID` on a transfer that neither posts nor voids.
    case pendingIDMustBeEmpty = "pending_id_must_be_empty"
    case pendingIDRequired = "pending_id_required"
    case pendingIDInvalid = "pending_id_invalid"
    case pendingIDMustBeDifferent = "pending_id_must_be_different"
    /// A `timeoutAt` on a transfer without the `pending` flag.
    case timeoutReservedForPendingTransfer = "timeout_reserved_for_pending_transfer"
    case amountMustNotBeNegative = "amount_must_not_be_negative"
    /// Only a post or void may name 0 (meaning the whole pending amount).
    case amountMustNotBeZero = "amount_must_not_be_zero"
    case referenceInvalid = "reference_invalid"

    case debitAccountNotFound = "debit_account_not_found"
    case creditAccountNotFound = "credit_account_not_found"
    case pendingTransferNotFound = "pending_transfer_not_found"
    case pendingTransferNotPending = "pending_transfer_not_pending"
    case pendingTransferHasDifferentDebitAccountID = "pending_transfer_has_different_debit_account_id"
    case pendingTransferHasDifferentCreditAccountID = "pending_transfer_has_different_credit_account_id"
    case pendingTransferHasDifferentCode = "pending_transfer_has_different_code"
    /// A post of more than the pending amount.
    case exceedsPendingTransferAmount = "exceeds_pending_transfer_amount"
    /// A void of part of the pending amount (to release part, post the rest).
    case pendingTransferHasDifferentAmount = "pending_transfer_has_different_amount"

    case existsWithDifferentFlags = "exists_with_different_flags"
    case existsWithDifferentDebitAccountID = "exists_with_different_debit_account_id"
    case existsWithDifferentCreditAccountID = "exists_with_different_credit_account_id"
    case existsWithDifferentAmount = "exists_with_different_amount"
    case existsWithDifferentPendingID = "exists_with_different_pending_id"
    case existsWithDifferentTimeout = "exists_with_different_timeout"
    case existsWithDifferentCode = "exists_with_different_code"
    case existsWithDifferentReference = "exists_with_different_reference"

    case pendingTransferAlreadyPosted = "pending_transfer_already_posted"
    case pendingTransferAlreadyVoided = "pending_transfer_already_voided"
    /// A post at or after the pending transfer's `timeoutAt`. A void is still accepted, to release
    /// the reservation.
    case pendingTransferExpired = "pending_transfer_expired"
    /// A voucher may only be debited by a charge into the broker's clearing account, or back to a
    /// fund (expiry, correction): it can never become cash.
    case voucherDebitNotAllowed = "voucher_debit_not_allowed"
    /// A voucher may only be credited by its fund (issue, correction) or the clearing account (a
    /// corrected charge).
    case voucherCreditNotAllowed = "voucher_credit_not_allowed"
    /// An account at or past `expiresAt` takes no new money and gives only `voucher_expiry`.
    case accountExpired = "account_expired"
    /// A `voucher_expiry` from an account that has not expired.
    case voucherNotExpired = "voucher_not_expired"
    /// A pending transfer whose `timeoutAt` is not after the instant it is applied.
    case timeoutMustBeInFuture = "timeout_must_be_in_future"

    case overflowsDebitsPending = "overflows_debits_pending"
    case overflowsCreditsPending = "overflows_credits_pending"
    case overflowsDebitsPosted = "overflows_debits_posted"
    case overflowsCreditsPosted = "overflows_credits_posted"
    /// `debitsPending + debitsPosted` would overflow.
    case overflowsDebits = "overflows_debits"
    case overflowsCredits = "overflows_credits"
    /// The debit account has `debitsMustNotExceedCredits` and too little available.
    case exceedsCredits = "exceeds_credits"
    /// The credit account has `creditsMustNotExceedDebits` and too little room.
    case exceedsDebits = "exceeds_debits"
}
