/// Where a pending transfer stands at an instant.
public enum PendingStatus: String, Sendable, Codable, Equatable, Hashable {
    /// Reserved and still postable.
    case pending
    case posted
    case voided
    /// Past its `timeoutAt` and neither posted nor voided. The amount stays reserved until a
    /// void releases it: the book never changes without a transfer.
    case expired
}
