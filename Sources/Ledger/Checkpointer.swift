import Sodium

/// Signs checkpoints of the chain head: after `Limits.checkpointEveryEvents` events, when
/// `Limits.checkpointEverySeconds` have passed with unsigned events, and when the broker closes.
public actor Checkpointer {
    private let store: any EventStore
    private let key: SigningKey
    private let clock: any Clock
    private var lastSigned: UInt64 = 0
    private var lastSignedAt: Timestamp
    private var latestHead: ChainHead = .genesis
    private let originSource: @Sendable () async throws -> String
    private var origin: String?

    /// - Parameter origin: reads the log's origin (set once, in the ledger's first event); asked
    ///   once, at the first checkpoint. By default the origin derived from the key.
    public init(store: any EventStore, key: SigningKey, clock: any Clock, origin: (@Sendable () async throws -> String)? = nil) {
        self.store = store
        self.key = key
        self.clock = clock
        self.lastSignedAt = clock.now()
        let verifyingKey = key.verifyingKey
        self.originSource = origin ?? { LogOrigin.derived(from: verifyingKey) }
    }

    /// Records that the chain grew to `head`, and checkpoints if it is due.
    public func appended(_ head: ChainHead) async throws {
        if head.sequence > latestHead.sequence { latestHead = head }
        let dueByCount = latestHead.sequence - lastSigned >= Limits.checkpointEveryEvents
        let dueByTime = clock.now().milliseconds - lastSignedAt.milliseconds >= Limits.checkpointEverySeconds * 1000
        if latestHead.sequence > lastSigned, dueByCount || dueByTime {
            try await checkpoint(latestHead)
        }
    }

    /// Checkpoints the store's current head if any event is not yet covered: call at shutdown,
    /// and from a timer so a quiet broker still signs within `checkpointEverySeconds`.
    public func flush() async throws {
        let head = try await store.head()
        if head.sequence > lastSigned { try await checkpoint(head) }
    }

    private func checkpoint(_ head: ChainHead) async throws {
        let now = clock.now()
        let checkpoint = Checkpoint.sign(head: head, time: now, with: key)
        // The same head as a C2SP checkpoint of the Merkle tree, signed as a note, stored with it.
        // The tiles cover every appended event (they are written in the same transaction), so
        // the tree of this size can always be read back.
        if let tiled = store as? any LogTileStore {
            let origin = try await logOrigin()
            let root = try await MerkleTree.root(size: head.sequence, node: tiled.cachedNodeReader())
            let note = SignedNote.sign(text: LogCheckpoint(origin: origin, size: head.sequence, root: root).text, name: origin, key: key)
            try await tiled.appendCheckpoint(checkpoint, logNote: note.encoded)
        } else {
            try await store.appendCheckpoint(checkpoint)
        }
        lastSigned = head.sequence
        lastSignedAt = now
    }

    private func logOrigin() async throws -> String {
        if let origin { return origin }
        let read = try await originSource()
        origin = read
        return read
    }
}
