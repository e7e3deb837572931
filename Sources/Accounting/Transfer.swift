/// A movement of whole won from one account to another, or one phase of a two-phase movement.
/// Immutable once applied: a mistake is corrected by a new transfer (`TransferCode.correction`).
///
/// Modes, by flags:
/// - none (or only `linked`): moves `amount` at once (posted counters).
/// - `pending`: reserves `amount` (pending counters) until posted, voided or past `timeoutAt`.
/// - `postPending`: settles `pendingID`. `amount` 0 posts the whole pending amount; less posts that
///   much and releases the rest. Debit, credit and code must repeat the pending transfer's.
/// - `voidPending`: releases `pendingID`; `amount` must be 0 or the pending amount.
///
/// The applied form, kept in `Book.log`, carries the amount actually moved (a post of 0 becomes
/// the pending amount) and `timestamp`, the instant it was applied.
public struct Transfer: Sendable, Codable, Equatable, Hashable {
    /// Chosen by the client, so that a retry is recognised (`.exists`) rather than applied twice.
    public var id: String
    public var debitAccountID: String
    public var creditAccountID: String
    /// Whole won.
    public var amount: Int64
    /// The pending transfer a post or void settles; nil otherwise.
    public var pendingID: String?
    public var flags: TransferFlags
    public var code: TransferCode
    /// What caused the transfer: a ledger reference such as `consent:con_…` or `delivery:dlv_…`.
    public var reference: String
    /// For pending transfers: from this instant (ms since the epoch) it can no longer be posted.
    public var timeoutAt: Int64?
    /// When the transfer was applied (ms since the epoch); set by `Book.apply`, ignored on input.
    public var timestamp: Int64

    public init(
        id: String, debitAccountID: String, creditAccountID: String, amount: Int64, pendingID: String? = nil,
        flags: TransferFlags = [], code: TransferCode, reference: String, timeoutAt: Int64? = nil, timestamp: Int64 = 0
    ) {
        self.id = id
        self.debitAccountID = debitAccountID
        self.creditAccountID = creditAccountID
        self.amount = amount
        self.pendingID = pendingID
        self.flags = flags
        self.code = code
        self.reference = reference
        self.timeoutAt = timeoutAt
        self.timestamp = timestamp
    }

    /// Whether this transfer posts or voids a pending one.
    public var settlesPending: Bool { !flags.isDisjoint(with: [.postPending, .voidPending]) }

    private enum CodingKeys: String, CodingKey {
        case id, debitAccountID, creditAccountID, amount, pendingID, flags, code, reference, timeoutAt, timestamp
    }

    /// Decodes a transfer; a missing `amount` is 0 (a full post or void), missing flags are none,
    /// a missing `timestamp` is 0.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        debitAccountID = try c.decode(String.self, forKey: .debitAccountID)
        creditAccountID = try c.decode(String.self, forKey: .creditAccountID)
        amount = try c.decodeIfPresent(Int64.self, forKey: .amount) ?? 0
        pendingID = try c.decodeIfPresent(String.self, forKey: .pendingID)
        flags = try c.decodeIfPresent(TransferFlags.self, forKey: .flags) ?? []
        code = try c.decode(TransferCode.self, forKey: .code)
        reference = try c.decode(String.self, forKey: .reference)
        timeoutAt = try c.decodeIfPresent(Int64.self, forKey: .timeoutAt)
        timestamp = try c.decodeIfPresent(Int64.self, forKey: .timestamp) ?? 0
    }
}
