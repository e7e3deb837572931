/// An account in the double-entry book: whose it is, what it is for, its limits, and four balance
/// counters in whole won that only `Book.apply` moves.
///
/// Accounts are created with zero counters and never edited. Most accounts are credit-normal (the
/// broker owes their owner): read them with `balance`. The broker's bank mirror is debit-normal.
public struct Account: Sendable, Codable, Equatable, Hashable {
    public let id: String
    public let owner: Owner
    public let kind: AccountKind
    public let flags: AccountFlags
    /// For vouchers only: from this instant (ms since the epoch) the account takes no new money and
    /// gives money only back to a fund, with `TransferCode.voucherExpiry`.
    public let expiresAt: Int64?
    /// Reserved by pending transfers that debit this account.
    public internal(set) var debitsPending: Int64
    public internal(set) var debitsPosted: Int64
    /// Reserved by pending transfers that credit this account.
    public internal(set) var creditsPending: Int64
    public internal(set) var creditsPosted: Int64

    /// A new account, with zero counters.
    public init(id: String, owner: Owner, kind: AccountKind, flags: AccountFlags = [], expiresAt: Int64? = nil) {
        self.id = id
        self.owner = owner
        self.kind = kind
        self.flags = flags
        self.expiresAt = expiresAt
        (debitsPending, debitsPosted, creditsPending, creditsPosted) = (0, 0, 0, 0)
    }

    /// An account with the counters a store kept for it (a projection row or an event's
    /// balances). Only `Book.apply` decides counters; this only carries them.
    public init(
        restoring id: String, owner: Owner, kind: AccountKind, flags: AccountFlags, expiresAt: Int64?,
        debitsPending: Int64, debitsPosted: Int64, creditsPending: Int64, creditsPosted: Int64
    ) {
        self.id = id
        self.owner = owner
        self.kind = kind
        self.flags = flags
        self.expiresAt = expiresAt
        (self.debitsPending, self.debitsPosted, self.creditsPending, self.creditsPosted) = (
            debitsPending, debitsPosted, creditsPending, creditsPosted
        )
    }

    /// Posted credits minus posted debits: what a credit-normal account holds.
    public var balance: Int64 { creditsPosted - debitsPosted }

    /// What a new debit may take without breaking `debitsMustNotExceedCredits`: the balance less
    /// the pending debits.
    public var available: Int64 { creditsPosted - debitsPosted - debitsPending }

    /// Whether the account has expired at `now` (ms since the epoch).
    public func isExpired(at now: Int64) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }

    /// The same account with zero counters, as it was created.
    public var asCreated: Account {
        Account(id: id, owner: owner, kind: kind, flags: flags, expiresAt: expiresAt)
    }

    /// Whether the counters break the account's flags or are impossible (negative).
    public var isViolatingLimits: Bool {
        if debitsPending < 0 || debitsPosted < 0 || creditsPending < 0 || creditsPosted < 0 { return true }
        if flags.contains(.debitsMustNotExceedCredits), debitsPending + debitsPosted > creditsPosted { return true }
        if flags.contains(.creditsMustNotExceedDebits), creditsPending + creditsPosted > debitsPosted { return true }
        return false
    }

    private enum CodingKeys: String, CodingKey {
        case id, owner, kind, flags, expiresAt, debitsPending, debitsPosted, creditsPending, creditsPosted
    }

    /// Decodes an account; missing flags mean none and missing counters mean zero. Counters must be
    /// non-negative with sums that fit `Int64`, so `balance` and `available` never overflow.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        owner = try c.decode(Owner.self, forKey: .owner)
        kind = try c.decode(AccountKind.self, forKey: .kind)
        flags = try c.decodeIfPresent(AccountFlags.self, forKey: .flags) ?? []
        expiresAt = try c.decodeIfPresent(Int64.self, forKey: .expiresAt)
        debitsPending = try c.decodeIfPresent(Int64.self, forKey: .debitsPending) ?? 0
        debitsPosted = try c.decodeIfPresent(Int64.self, forKey: .debitsPosted) ?? 0
        creditsPending = try c.decodeIfPresent(Int64.self, forKey: .creditsPending) ?? 0
        creditsPosted = try c.decodeIfPresent(Int64.self, forKey: .creditsPosted) ?? 0
        let counters = [debitsPending, debitsPosted, creditsPending, creditsPosted]
        guard counters.allSatisfy({ $0 >= 0 }),
            !debitsPending.addingReportingOverflow(debitsPosted).overflow,
            !creditsPending.addingReportingOverflow(creditsPosted).overflow
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .debitsPending, in: c,
                debugDescription: "counters must be non-negative and their sums must fit Int64")
        }
    }
}
