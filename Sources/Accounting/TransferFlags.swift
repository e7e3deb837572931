/// How a transfer behaves: linked to the next one, or one phase of a two-phase transfer.
///
/// Encoded as an array of names: `linked`, `pending`, `post_pending`, `void_pending`.
public struct TransferFlags: OptionSet, Sendable, Codable, Equatable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// This transfer and the next succeed or fail together; a chain ends at the first transfer
    /// without the flag.
    public static let linked = TransferFlags(rawValue: 1 << 0)
    /// Reserve the amount (pending counters) until a post or void, or until `timeoutAt`.
    public static let pending = TransferFlags(rawValue: 1 << 1)
    /// Settle the pending transfer `pendingID`, all of it or part (the rest is released).
    public static let postPending = TransferFlags(rawValue: 1 << 2)
    /// Release the pending transfer `pendingID`.
    public static let voidPending = TransferFlags(rawValue: 1 << 3)

    static let names: [(TransferFlags, String)] = [
        (.linked, "linked"), (.pending, "pending"), (.postPending, "post_pending"), (.voidPending, "void_pending"),
    ]

    public init(from decoder: any Decoder) throws { self = try FlagNames.decode(Self.names, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try FlagNames.encode(self, Self.names, to: encoder) }
}
