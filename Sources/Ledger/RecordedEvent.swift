/// An event as stored: its content plus its place in the hash chain.
public struct RecordedEvent: Sendable, Equatable {
    /// Position in the log, starting at 1, without gaps.
    public let sequence: UInt64
    /// The event content.
    public let event: NewEvent
    /// The hash of the event before it (32 zero bytes for the first).
    public let previousHash: [UInt8]
    /// BLAKE2b-256 over `previousHash` and the canonical envelope.
    public let hash: [UInt8]

    public init(sequence: UInt64, event: NewEvent, previousHash: [UInt8], hash: [UInt8]) {
        self.sequence = sequence
        self.event = event
        self.previousHash = previousHash
        self.hash = hash
    }

    /// Chains `event` after `head`, computing its sequence and hash.
    public static func chained(_ event: NewEvent, after head: ChainHead) -> RecordedEvent {
        let sequence = head.sequence + 1
        let hash = CanonicalEncoding.eventHash(previousHash: head.hash, sequence: sequence, event: event)
        return RecordedEvent(sequence: sequence, event: event, previousHash: head.hash, hash: hash)
    }

    /// Recomputes the hash from the stored fields (never trusts `hash`).
    public func recomputedHash() -> [UInt8] {
        CanonicalEncoding.eventHash(previousHash: previousHash, sequence: sequence, event: event)
    }

    /// The chain head just after this event.
    public var head: ChainHead { ChainHead(sequence: sequence, hash: hash) }
}

/// The last sequence number and hash of the chain.
public struct ChainHead: Sendable, Equatable, Hashable {
    public let sequence: UInt64
    public let hash: [UInt8]

    public init(sequence: UInt64, hash: [UInt8]) {
        precondition(hash.count == 32, "a chain hash has 32 bytes")
        self.sequence = sequence
        self.hash = hash
    }

    /// The head of an empty ledger: sequence 0 and 32 zero bytes.
    public static let genesis = ChainHead(sequence: 0, hash: [UInt8](repeating: 0, count: 32))
}
