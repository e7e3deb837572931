/// The limits an account enforces on every transfer, pending amounts included (as TigerBeetle).
///
/// Encoded as an array of names, e.g. `["debits_must_not_exceed_credits"]`; `rawValue` is for
/// storage that wants the bits.
public struct AccountFlags: OptionSet, Sendable, Codable, Equatable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// No overdraft: `debitsPending + debitsPosted <= creditsPosted` (credit-normal accounts).
    public static let debitsMustNotExceedCredits = AccountFlags(rawValue: 1 << 0)
    /// The mirror limit: `creditsPending + creditsPosted <= debitsPosted` (debit-normal accounts).
    public static let creditsMustNotExceedDebits = AccountFlags(rawValue: 1 << 1)

    static let names: [(AccountFlags, String)] = [
        (.debitsMustNotExceedCredits, "debits_must_not_exceed_credits"),
        (.creditsMustNotExceedDebits, "credits_must_not_exceed_debits"),
    ]

    public init(from decoder: any Decoder) throws { self = try FlagNames.decode(Self.names, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try FlagNames.encode(self, Self.names, to: encoder) }
}
