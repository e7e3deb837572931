import Ledger

/// A revocation notice owed to a recipient: queued in the same transaction as the revocation,
/// posted (signed by the broker) until the recipient acknowledges it.
public struct RevocationCallback: Sendable, Equatable, Codable {
    public var id: Int64
    public var consentID: String
    public var recipient: String
    public var url: String
    /// The ledger sequence of the revocation.
    public var eventSequence: UInt64
    /// Whether the recipient acknowledged the notice yet.
    public enum Status: String, Codable, Sendable {
        case pending, delivered

        /// The status a store kept as text.
        /// - Throws: `LedgerError.corruptRecord` for any other text.
        public init(stored text: String) throws {
            guard let status = Status(rawValue: text) else {
                throw LedgerError(.corruptRecord, "a revocation callback's status is '\(text)', neither pending nor delivered")
            }
            self = status
        }
    }

    public var status: Status
    public var attempts: Int
    public var nextAttempt: Timestamp
    public var deliveredAt: Timestamp?
    public var lastError: String?

    public init(
        id: Int64, consentID: String, recipient: String, url: String, eventSequence: UInt64, status: Status,
        attempts: Int, nextAttempt: Timestamp, deliveredAt: Timestamp?, lastError: String?
    ) {
        self.id = id; self.consentID = consentID; self.recipient = recipient; self.url = url; self.eventSequence = eventSequence
        self.status = status; self.attempts = attempts; self.nextAttempt = nextAttempt; self.deliveredAt = deliveredAt; self.lastError = lastError
    }
}

/// The revocation callback outbox. Both stores implement it.
public protocol CallbackStore: Sendable {
    /// Claims pending callbacks whose next attempt is due at `now`, oldest first: each claimed row
    /// is not due again before `leaseUntil`, so several brokers never post the same notice at once.
    func claimDueCallbacks(now: Timestamp, leaseUntil: Timestamp, limit: Int) async throws -> [RevocationCallback]
    func markCallbackDelivered(id: Int64, at: Timestamp) async throws
    func markCallbackFailed(id: Int64, attempts: Int, nextAttempt: Timestamp, error: String) async throws
    /// A recipient's callbacks, newest first.
    func callbacks(recipient: String, limit: Int) async throws -> [RevocationCallback]
}
