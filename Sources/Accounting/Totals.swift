/// The four counters summed over every account. Double entry means debits equal credits, pending
/// and posted alike.
///
/// Sums wrap around `Int64` (each counter fits, their sum over many accounts might not), so
/// equality is checked modulo 2^64; for any book whose true sums fit, that is plain equality.
public struct Totals: Sendable, Codable, Equatable, Hashable {
    public var debitsPending: Int64 = 0
    public var debitsPosted: Int64 = 0
    public var creditsPending: Int64 = 0
    public var creditsPosted: Int64 = 0

    public init() {}

    /// Whether debits equal credits, pending and posted.
    public var isBalanced: Bool { debitsPending == creditsPending && debitsPosted == creditsPosted }

    mutating func add(_ account: Account) {
        debitsPending &+= account.debitsPending
        debitsPosted &+= account.debitsPosted
        creditsPending &+= account.creditsPending
        creditsPosted &+= account.creditsPosted
    }
}
