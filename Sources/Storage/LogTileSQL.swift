import Foundation
import GRDB
import Ledger

/// The Merkle tree's tiles in SQLite (`log_tiles`, `log_state`), written in the transactions that
/// append the events they cover. Level 0 is not stored: its hashes are the leaf hashes of the
/// events' own `hash` column, read from there (storing them would rewrite a partial tile of up to
/// 8 KiB at every commit); the levels above change once per 256 events.
enum LogTileSQL {
    static func size(_ db: Database) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db.cachedStatement(sql: "SELECT size FROM log_state WHERE id = 1")) ?? 0)
    }

    static func tile(level: Int, index: UInt64, db: Database) throws -> LogTiles.Tile? {
        if level == 0 { return try leafTile(index: index, size: try size(db), db: db) }
        return try Data.fetchOne(
            db.cachedStatement(sql: "SELECT hashes FROM log_tiles WHERE level = ? AND idx = ?"), arguments: [level, Int64(index)]
        ).map { LogTiles.Tile(level: level, index: index, hashes: [UInt8]($0)) }
    }

    /// The level-0 tile `index` of the tree of `size` leaves, from the events' hashes; nil when
    /// the tree has none of its leaves. It holds the hashes of the events there are: a ledger cut
    /// below `size` gives a shorter tile, which the audit reports and an append refuses.
    static func leafTile(index: UInt64, size: UInt64, db: Database) throws -> LogTiles.Tile? {
        let first = index * UInt64(LogTiles.width)
        guard first < size else { return nil }
        let last = min(first + UInt64(LogTiles.width), size)
        var hashes: [UInt8] = []
        hashes.reserveCapacity(Int(last - first) * MerkleTree.hashBytes)
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT hash FROM events WHERE seq > ? AND seq <= ? ORDER BY seq"), arguments: [Int64(first), Int64(last)])
        while let row = try rows.next() { hashes += MerkleTree.leafHash([UInt8](row[0] as Data)) }
        return hashes.isEmpty ? nil : LogTiles.Tile(level: 0, index: index, hashes: hashes)
    }

    /// Extends the tiles with the events from `firstSequence` on (their hashes, in order),
    /// first covering any events the tiles lag behind (a ledger from before the tiles).
    ///
    /// - Parameter known: the rightmost tiles of the tree before, when the caller kept them
    ///   (`RightmostTiles`, checked against the head it read in this transaction).
    /// - Returns: the rightmost tiles after.
    @discardableResult
    static func extend(
        with eventHashes: [[UInt8]], firstSequence: UInt64, known: [Int: LogTiles.Tile]? = nil, db: Database
    ) throws -> [Int: LogTiles.Tile] {
        var size = try size(db)
        if size + 1 < firstSequence {
            try catchUp(to: firstSequence - 1, db: db)
            size = firstSequence - 1
        }
        guard size + 1 == firstSequence else {
            throw LedgerError(.corruptRecord, "the log's tiles cover \(size) events, but the next event appended is \(firstSequence)")
        }
        let base = size
        var before = known ?? [:]
        let changed = try LogTiles.extend(size: base, with: eventHashes.map(MerkleTree.leafHash)) { level in
            if let tile = known?[level] { before[level] = tile; return tile }
            let (index, _) = LogTiles.rightmost(level: level, size: base)
            guard let tile = try tile(level: level, index: index, db: db) else {
                throw LedgerError(.corruptRecord, "the log's tile \(level)/\(index) is missing")
            }
            before[level] = tile
            return tile
        }
        let upsert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO log_tiles (level, idx, hashes) VALUES (?, ?, ?)")
        for tile in changed where tile.level > 0 { try upsert.execute(arguments: [tile.level, Int64(tile.index), Data(tile.hashes)]) }
        try db.cachedStatement(sql: "UPDATE log_state SET size = ? WHERE id = 1").execute(arguments: [Int64(base) + Int64(eventHashes.count)])
        return RightmostTiles.after(before, changed: changed, size: base + UInt64(eventHashes.count))
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
