/// The first thing wrong with a ledger, and where.
public struct VerificationFailure: Error, Sendable, CustomStringConvertible, Equatable {
    /// What is wrong.
    public enum Kind: String, Sendable {
        /// An event's stored content no longer matches its hash: a payload or field was changed.
        case payloadChanged = "payload changed"
        /// A sequence number is missing: an event was deleted.
        case eventMissing = "event missing"
        /// An event does not link to the one before it: events were reordered or replaced.
        case orderChanged = "order changed"
        /// A checkpoint covers events that are no longer there: the tail was cut.
        case tailTruncated = "tail truncated"
        /// An author's signature does not verify.
        case badSignature = "bad signature"
        /// An event names an author whose key is not known at that point.
        case unknownAuthor = "unknown author"
        /// A checkpoint is not signed by the broker's key, or the chain no longer matches it.
        case badCheckpoint = "bad checkpoint"
        /// An event was written by someone who may not write it.
        case wrongAuthor = "wrong author"
        /// An event's payload cannot be read as its type says.
        case malformedEvent = "malformed event"
        /// The ledger does not start with the broker key the verifier trusts.
        case wrongBrokerKey = "wrong broker key"
        /// The ledger does not reach, or does not match, a checkpoint held outside the database.
        case trustedCheckpointMismatch = "trusted checkpoint mismatch"
        /// The accounting events do not replay to their recorded balances, or money is not conserved.
        case accountsDoNotAddUp = "accounts do not add up"
        /// The stored Merkle tree tiles are not the tree of the events' hashes.
        case logTilesDiffer = "log tiles differ"
    }

    /// The first bad sequence number.
    public let sequence: UInt64
    public let kind: Kind
    public let detail: String

    public init(sequence: UInt64, kind: Kind, detail: String) {
        self.sequence = sequence
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "event \(sequence): \(kind.rawValue): \(detail)" }
}

/// What a successful verification covered.
public struct VerificationReport: Sendable, Equatable {
    /// Events whose hash and link were recomputed.
    public let events: UInt64
    /// Author signatures checked.
    public let signatures: Int
    /// Broker checkpoints checked.
    public let checkpoints: Int
    /// The verified head.
    public let head: ChainHead
}
