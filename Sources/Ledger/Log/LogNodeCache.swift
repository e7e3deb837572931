import Synchronization

/// Every node of the tiles a process has read, computed once: a tile (full, or partial at a given
/// width) never changes, so the subtree hashes inside it can be kept and a proof becomes a few
/// lookups instead of hundreds of hashes (`GET /v1/log/proof/…`, receipts). Bounded: past
/// `tilesMax` tiles it starts again empty.
public final class LogNodeCache: Sendable {
    private let store: any LogTileStore
    private let tilesMax: Int
    private let tiles = Mutex<[TileKey: TileNodes]>([:])
    private let sizeSeen = Mutex<UInt64>(0)

    struct TileKey: Hashable {
        var level: Int
        var index: UInt64
        var width: Int
    }

    /// A tile's nodes: `levels[k]` holds the hashes of its perfect subtrees of height k (level 0
    /// is the tile's own hashes).
    struct TileNodes: Sendable {
        var levels: [[UInt8]]

        init(_ tile: LogTiles.Tile) {
            var levels = [tile.hashes]
            while levels.last!.count >= 2 * MerkleTree.hashBytes {
                let below = levels.last!
                var above: [UInt8] = []
                above.reserveCapacity(below.count / 2)
                for i in stride(from: 0, to: below.count / MerkleTree.hashBytes - 1, by: 2) {
                    above += MerkleTree.nodeHash(
                        Array(below[i * MerkleTree.hashBytes..<(i + 1) * MerkleTree.hashBytes]),
                        Array(below[(i + 1) * MerkleTree.hashBytes..<(i + 2) * MerkleTree.hashBytes]))
                }
                levels.append(above)
            }
            self.levels = levels
        }

        func node(height: Int, position: Int) -> MerkleTree.Hash? {
            guard height < levels.count, (position + 1) * MerkleTree.hashBytes <= levels[height].count else { return nil }
            return Array(levels[height][position * MerkleTree.hashBytes..<(position + 1) * MerkleTree.hashBytes])
        }
    }

    /// - Parameter tilesMax: tiles kept (a full tile's nodes take 16 KiB).
    public init(store: any LogTileStore, tilesMax: Int = 4_096) {
        self.store = store
        self.tilesMax = tilesMax
    }

    /// Whether the log has at least `size` leaves: the log only grows, so once the store said it
    /// has a size, every smaller tree is answered without asking it again.
    public func hasTree(size: UInt64) async throws -> (has: Bool, logSize: UInt64) {
        let seen = sizeSeen.withLock { $0 }
        if size <= seen { return (true, seen) }
        let logSize = try await store.logSize()
        sizeSeen.withLock { $0 = max($0, logSize) }
        return (size <= logSize, logSize)
    }

    /// A node reader for the tree of `size` leaves.
    public func reader(size: UInt64) -> MerkleTree.NodeReader {
        { height, index in try await self.node(height: height, index: index, size: size) }
    }

    func node(height: Int, index: UInt64, size: UInt64) async throws -> MerkleTree.Hash {
        let level = height / LogTiles.height, rest = height % LogTiles.height
        let first = index << UInt64(rest)
        let tileIndex = first / UInt64(LogTiles.width)
        // The tile's width in the tree of `size`: full, or the rightmost partial one.
        let count = LogTiles.count(level: level, size: size)
        let width = Int(min(UInt64(LogTiles.width), count - min(count, tileIndex * UInt64(LogTiles.width))))
        let key = TileKey(level: level, index: tileIndex, width: width)
        let position = Int(first % UInt64(LogTiles.width)) >> rest
        if let nodes = tiles.withLock({ $0[key] }), let hash = nodes.node(height: rest, position: position) { return hash }
        guard width > 0, let stored = try await store.logTile(level: level, index: tileIndex), stored.count >= width else {
            throw LedgerError(.corruptRecord, "the log's tile \(level)/\(tileIndex) is missing or shorter than \(width) hashes")
        }
        let nodes = TileNodes(LogTiles.Tile(level: level, index: tileIndex, hashes: Array(stored.hashes.prefix(width * MerkleTree.hashBytes))))
        tiles.withLock {
            if $0.count >= tilesMax { $0.removeAll(keepingCapacity: true) }
            $0[key] = nodes
        }
        guard let hash = nodes.node(height: rest, position: position) else {
            throw LedgerError(.corruptRecord, "node \(height)/\(index) is not inside tile \(level)/\(tileIndex) of width \(width)")
        }
        return hash
    }
}
