import Sodium

/// Checks the stored tiles against the tree recomputed from the events (`mydata admin verify`).
public enum LogAudit {
    /// The first tile that differs from the tree of the events' hashes, or nil when every tile
    /// the ledger's tree has is stored as it should be; with `brokerKey`, also the first stored
    /// checkpoint note that is not the broker's signature, under `origin` (by default the one
    /// derived from the key), on the tree of its size.
    public static func check(
        store: any EventStore & LogTileStore, brokerKey: VerifyingKey? = nil, origin: String? = nil
    ) async throws -> VerificationFailure? {
        var size: UInt64 = 0
        var rightmost: [Int: LogTiles.Tile] = [:]
        func compare(_ tile: LogTiles.Tile) async throws -> VerificationFailure? {
            let stored = try await store.logTile(level: tile.level, index: tile.index)
            // A stored partial tile may hold more than a smaller tree needs only if it is the same
            // tile grown further; here the tree is the whole ledger, so it must match exactly.
            guard stored != tile else { return nil }
            let first = tile.index * (UInt64(1) << UInt64(LogTiles.height * (tile.level + 1))) + 1
            return VerificationFailure(
                sequence: first, kind: .logTilesDiffer,
                detail: stored == nil
                    ? "tile \(tile.level)/\(tile.index) is missing; run `mydata admin rebuild` to rebuild the tiles from the events"
                    : "tile \(tile.level)/\(tile.index) is not the tree of the events' hashes; the tiles or the events were changed")
        }
        while true {
            let events = try await store.events(from: size + 1, limit: Limits.readPageEventsMax)
            guard !events.isEmpty else { break }
            let base = size, known = rightmost
            let changed = try LogTiles.extend(size: base, with: events.map { MerkleTree.leafHash($0.hash) }) { level in known[level]! }
            for tile in changed {
                if tile.count == LogTiles.width {
                    if let failure = try await compare(tile) { return failure }
                    rightmost[tile.level] = nil
                } else {
                    rightmost[tile.level] = tile
                }
            }
            size += UInt64(events.count)
        }
        for tile in rightmost.values.sorted(by: { $0.level < $1.level }) {
            if let failure = try await compare(tile) { return failure }
        }
        let stored = try await store.logSize()
        guard stored == size else {
            return VerificationFailure(
                sequence: min(stored, size) + 1, kind: .logTilesDiffer,
                detail: "the tiles say they cover \(stored) events; the ledger holds \(size)")
        }
        if let brokerKey {
            return try await checkNotes(store: store, size: size, brokerKey: brokerKey, origin: origin ?? LogOrigin.derived(from: brokerKey))
        }
        return nil
    }

    /// Every stored checkpoint note must be the broker's signature on the root of the tree of its
    /// size, as the (just checked) tiles give it, within the ledger.
    static func checkNotes(
        store: any EventStore & LogTileStore, size: UInt64, brokerKey: VerifyingKey, origin: String
    ) async throws -> VerificationFailure? {
        let verifier = NoteVerifier(name: origin, key: brokerKey)
        let nodes = store.cachedNodeReader()
        for (treeSize, text) in try await store.logCheckpoints() {
            func bad(_ detail: String) -> VerificationFailure {
                VerificationFailure(sequence: treeSize, kind: .badCheckpoint, detail: "the log checkpoint of size \(treeSize) " + detail)
            }
            guard let note = SignedNote.parse(Array(text.utf8)), note.isSigned(by: verifier) else {
                return bad("is not signed by the broker's key under its origin \(verifier.name)")
            }
            guard let checkpoint = LogCheckpoint(text: note.text), checkpoint.origin == verifier.name, checkpoint.size == treeSize else {
                return bad("does not name this log and this size")
            }
            guard treeSize <= size else {
                return VerificationFailure(
                    sequence: size + 1, kind: .tailTruncated,
                    detail: "the broker signed a log checkpoint of size \(treeSize), but the ledger ends at event \(size)")
            }
            guard try await MerkleTree.root(size: treeSize, node: nodes) == checkpoint.root else {
                return bad("has another root than the tree of the events: the events before it were rewritten")
            }
        }
        return nil
    }

    /// A log checkpoint kept outside the database (a witness's, one from a receipt's proof) must
    /// be the broker's signature, under `verifier`, on the tree the ledger has at its size.
    public static func checkTrusted(
        _ note: SignedNote, store: any EventStore & LogTileStore, verifier: NoteVerifier
    ) async throws -> VerificationFailure? {
        guard let checkpoint = LogCheckpoint(text: note.text), checkpoint.origin == verifier.name, note.isSigned(by: verifier) else {
            return VerificationFailure(
                sequence: 0, kind: .badCheckpoint, detail: "the log checkpoint given is not signed by the broker's log key \(verifier.vkey)")
        }
        let size = try await store.logSize()
        guard checkpoint.size <= size else {
            return VerificationFailure(
                sequence: size + 1, kind: .tailTruncated,
                detail: "the log checkpoint given covers \(checkpoint.size) events, but the ledger ends at event \(size): events were cut")
        }
        guard try await MerkleTree.root(size: checkpoint.size, node: store.cachedNodeReader()) == checkpoint.root else {
            return VerificationFailure(
                sequence: checkpoint.size, kind: .badCheckpoint,
                detail: "the ledger's first \(checkpoint.size) events are not the tree the log checkpoint given signs: they were rewritten")
        }
        return nil
    }
}
