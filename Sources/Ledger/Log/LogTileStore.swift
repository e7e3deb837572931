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
}

extension LogTileStore {
    /// A tree node read from the stored tiles.
    public func logNode(height: Int, index: UInt64) async throws -> MerkleTree.Hash {
        let level = height / LogTiles.height
        let tileIndex = (index << UInt64(height % LogTiles.height)) / UInt64(LogTiles.width)
        guard let tile = try await logTile(level: level, index: tileIndex) else {
            throw LedgerError(.corruptRecord, "the log's tile \(level)/\(tileIndex) is missing")
        }
        return try LogTiles.node(height: height, index: index) { _, _ in tile }
    }
}
