import Sodium

/// Where the ledger's Merkle tree is kept, as C2SP tiles (`LogTiles`). A store extends the tiles
/// in the same transaction as the events it appends, so the tiles always cover exactly the
/// events: no checkpoint can name a tree that cannot be read back.
public protocol LogTileStore: Sendable {
    /// The number of leaves the tiles cover (the ledger's head sequence).
    func logSize() async throws -> UInt64
    /// The stored tile (the rightmost of a level may be partial), or nil.
    func logTile(level: Int, index: UInt64) async throws -> LogTiles.Tile?
    /// Drops the tiles and builds them again from the events (`mydata admin rebuild`).
    func rebuildLogTiles() async throws
    /// Stores a checkpoint of the chain and the signed checkpoint note (c2sp.org/tlog-checkpoint)
    /// of the tree of the same size, in one transaction (one commit, one fsync).
    func appendCheckpoint(_ checkpoint: Checkpoint, logNote: String) async throws
    /// The signed checkpoint note of the largest tree, or nil before the first.
    func latestLogCheckpoint() async throws -> (size: UInt64, note: String)?
    /// Every signed checkpoint note, smallest tree first.
    func logCheckpoints() async throws -> [(size: UInt64, note: String)]
    /// The signed checkpoint note of the tree of `size`, or nil.
    func logCheckpoint(size: UInt64) async throws -> String?
    /// Adds witnesses' cosignatures to the stored note of the tree of `size` (one per witness
    /// key: a newer one replaces an older), in one transaction; false when there is no such note.
    func addLogCosignatures(size: UInt64, _ cosignatures: [NoteSignature]) async throws -> Bool
}

extension LogTileStore {
    /// A reader of tree nodes that reads each tile it needs once (a root or a proof reads a
    /// few tiles, and many nodes from each).
    public func cachedNodeReader() -> MerkleTree.NodeReader {
        let cache = TileCache(store: self)
        return { height, index in try await cache.node(height: height, index: index) }
    }
}

/// The log's origin (c2sp.org/tlog-checkpoint): the first line of every checkpoint and the key
/// name of the broker's note signatures.
public enum LogOrigin {
    /// The origin a broker's log has unless one is set at `admin init`: `mydata-broker/` and the
    /// first 8 bytes of the SHA-256 of its public key, in hex.
    public static func derived(from key: VerifyingKey) -> String {
        "mydata-broker/" + SHA2.sha256(key.bytes).prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The longest origin, in UTF-8 bytes.
    public static let bytesMax = 255

    /// Whether `origin` can name a log: a note key name (no spaces, no `+`, no control
    /// characters) of at most `bytesMax` bytes.
    public static func isValid(_ origin: String) -> Bool {
        origin.utf8.count <= bytesMax && NoteVerifier.isValidName(origin)
    }
}

/// The tiles one root or proof has read.
actor TileCache {
    let store: any LogTileStore
    private var tiles: [String: LogTiles.Tile] = [:]

    init(store: any LogTileStore) { self.store = store }

    func node(height: Int, index: UInt64) async throws -> MerkleTree.Hash {
        let level = height / LogTiles.height
        let tileIndex = (index << UInt64(height % LogTiles.height)) / UInt64(LogTiles.width)
        let key = "\(level)/\(tileIndex)"
        let tile: LogTiles.Tile
        if let cached = tiles[key] {
            tile = cached
        } else {
            guard let stored = try await store.logTile(level: level, index: tileIndex) else {
                throw LedgerError(.corruptRecord, "the log's tile \(level)/\(tileIndex) is missing")
            }
            tiles[key] = stored
            tile = stored
        }
        return try LogTiles.node(height: height, index: index) { _, _ in tile }
    }
}
