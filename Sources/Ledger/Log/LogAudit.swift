/// Checks the stored tiles against the tree recomputed from the events (`mydata admin verify`).
public enum LogAudit {
    /// The first tile that differs from the tree of the events' hashes, or nil when every tile
    /// the ledger's tree has is stored as it should be.
    public static func check(store: any EventStore & LogTileStore) async throws -> VerificationFailure? {
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
        return nil
    }
}
