import Foundation
import GRDB
import Ledger

/// The Merkle tree's tiles in SQLite (`log_tiles`, `log_state`), written in the transactions that
/// append the events they cover.
enum LogTileSQL {
    static func size(_ db: Database) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db.cachedStatement(sql: "SELECT size FROM log_state WHERE id = 1")) ?? 0)
    }

    static func tile(level: Int, index: UInt64, db: Database) throws -> LogTiles.Tile? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT hashes FROM log_tiles WHERE level = ? AND idx = ?"), arguments: [level, Int64(index)])
            .map { LogTiles.Tile(level: level, index: index, hashes: [UInt8]($0)) }
    }

    /// Extends the tiles with the events from `firstSequence` on (their hashes, in order),
    /// first covering any events the tiles lag behind (a ledger from before the tiles).
    static func extend(with eventHashes: [[UInt8]], firstSequence: UInt64, db: Database) throws {
        var size = try size(db)
        if size + 1 < firstSequence {
            try catchUp(to: firstSequence - 1, db: db)
            size = firstSequence - 1
        }
        guard size + 1 == firstSequence else {
            throw LedgerError(.corruptRecord, "the log's tiles cover \(size) events, but the next event appended is \(firstSequence)")
        }
        let base = size
        let changed = try LogTiles.extend(size: base, with: eventHashes.map(MerkleTree.leafHash)) { level in
            let (index, _) = LogTiles.rightmost(level: level, size: base)
            guard let tile = try tile(level: level, index: index, db: db) else {
                throw LedgerError(.corruptRecord, "the log's tile \(level)/\(index) is missing")
            }
            return tile
        }
        let upsert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO log_tiles (level, idx, hashes) VALUES (?, ?, ?)")
        for tile in changed { try upsert.execute(arguments: [tile.level, Int64(tile.index), Data(tile.hashes)]) }
        try db.cachedStatement(sql: "UPDATE log_state SET size = ? WHERE id = 1").execute(arguments: [Int64(base) + Int64(eventHashes.count)])
    }

    /// Covers every event up to `sequence` (in pages, from where the tiles stop).
    static func catchUp(to sequence: UInt64, db: Database) throws {
        var size = try size(db)
        while size < sequence {
            let hashes = try Data.fetchAll(
                db.cachedStatement(sql: "SELECT hash FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"),
                arguments: [Int64(size), Int64(sequence), Limits.readPageEventsMax]
            ).map { [UInt8]($0) }
            guard !hashes.isEmpty else { throw LedgerError(.corruptRecord, "the ledger has no event \(size + 1) for the log to cover") }
            try extend(with: hashes, firstSequence: size + 1, db: db)
            size += UInt64(hashes.count)
        }
    }
}
