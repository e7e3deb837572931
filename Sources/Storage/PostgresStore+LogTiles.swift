import Ledger
import Logging
import NIOCore
import PostgresNIO

/// The Merkle tree's tiles in PostgreSQL (`log_tiles`, `log_state`), written in the transaction
/// that appends the events they cover, under the ledger head's row lock. Level 0 is read from the
/// events' hashes, as on SQLite (`LogTileSQL`).
extension PostgresStore {
    public func logSize() async throws -> UInt64 {
        for try await size in try await client.query("SELECT size FROM log_state WHERE id = 1", logger: logger).decode(Int64.self) {
            return UInt64(size)
        }
        return 0
    }

    public func logTile(level: Int, index: UInt64) async throws -> LogTiles.Tile? {
        try await client.withConnection { conn in try await Self.logTile(level: level, index: index, on: conn, logger: self.logger) }
    }

    static func logTile(level: Int, index: UInt64, on conn: PostgresConnection, logger: Logger) async throws -> LogTiles.Tile? {
        if level == 0 {
            let size = try await logSize(on: conn, logger: logger)
            let first = index * UInt64(LogTiles.width)
            guard first < size else { return nil }
            let last = min(first + UInt64(LogTiles.width), size)
            var hashes: [UInt8] = []
            let rows = try await conn.query(
                "SELECT hash FROM events WHERE seq > \(Int64(clamping: first)) AND seq <= \(Int64(clamping: last)) ORDER BY seq", logger: logger)
            for try await hash in rows.decode(ByteBuffer.self) { hashes += MerkleTree.leafHash(Array(hash.readableBytesView)) }
            // A ledger cut below the log's size gives a shorter tile: the audit reports it, an append refuses it.
            return hashes.isEmpty ? nil : LogTiles.Tile(level: 0, index: index, hashes: hashes)
        }
        let rows = try await conn.query(
            "SELECT hashes FROM log_tiles WHERE level = \(Int32(level)) AND idx = \(Int64(clamping: index))", logger: logger)
        for try await hashes in rows.decode(ByteBuffer.self) {
            return LogTiles.Tile(level: level, index: index, hashes: Array(hashes.readableBytesView))
        }
        return nil
    }

    public func appendCheckpoint(_ checkpoint: Checkpoint, logNote: String) async throws {
        try await client.withTransaction(logger: logger) { conn in
            try await conn.query(
                """
                INSERT INTO checkpoints (seq, head_hash, time_ms, signature)
                VALUES (\(Int64(checkpoint.sequence)), \(ByteBuffer(bytes: checkpoint.headHash)), \(checkpoint.time.milliseconds),
                        \(ByteBuffer(bytes: checkpoint.signature)))
                ON CONFLICT (seq) DO NOTHING
                """, logger: self.logger)
            try await conn.query(
                "INSERT INTO log_checkpoints (size, note) VALUES (\(Int64(checkpoint.sequence)), \(logNote)) ON CONFLICT (size) DO NOTHING",
                logger: self.logger)
        }
    }

    public func latestLogCheckpoint() async throws -> (size: UInt64, note: String)? {
        let rows = try await client.query("SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1", logger: logger)
        for try await (size, note) in rows.decode((Int64, String).self) { return (UInt64(size), note) }
        return nil
    }

    public func logCheckpoints() async throws -> [(size: UInt64, note: String)] {
        var out: [(size: UInt64, note: String)] = []
        let rows = try await client.query("SELECT size, note FROM log_checkpoints ORDER BY size", logger: logger)
        for try await (size, note) in rows.decode((Int64, String).self) { out.append((UInt64(size), note)) }
        return out
    }

    public func logCheckpoint(size: UInt64) async throws -> String? {
        let rows = try await client.query("SELECT note FROM log_checkpoints WHERE size = \(Int64(size))", logger: logger)
        for try await note in rows.decode(String.self) { return note }
        return nil
    }

    public func addLogCosignatures(size: UInt64, _ cosignatures: [NoteSignature]) async throws -> Bool {
        try await client.withTransaction(logger: logger) { conn in
            let rows = try await conn.query("SELECT note FROM log_checkpoints WHERE size = \(Int64(size)) FOR UPDATE", logger: self.logger)
            var stored: String?
            for try await note in rows.decode(String.self) { stored = note }
            guard let text = stored, let note = SignedNote.parse(Array(text.utf8)) else { return false }
            try await conn.query(
                "UPDATE log_checkpoints SET note = \(note.adding(cosignatures).encoded) WHERE size = \(Int64(size))", logger: self.logger)
            return true
        }
    }

    public func rebuildLogTiles() async throws {
        try await client.withTransaction(logger: logger) { conn in
            try await conn.query("SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE", logger: self.logger)
            try await conn.query("DELETE FROM log_tiles", logger: self.logger)
            try await conn.query("UPDATE log_state SET size = 0 WHERE id = 1", logger: self.logger)
            try await Self.catchUpLog(on: conn, logger: self.logger)
        }
    }

    /// Covers every event with tiles, under the head lock (at open: a ledger from before the tiles).
    func catchUpLog() async throws {
        try await client.withTransaction(logger: logger) { conn in
            try await conn.query("SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE", logger: self.logger)
            try await Self.catchUpLog(on: conn, logger: self.logger)
        }
    }

    static func catchUpLog(on conn: PostgresConnection, logger: Logger) async throws {
        var size = try await logSize(on: conn, logger: logger)
        while true {
            var hashes: [[UInt8]] = []
            let rows = try await conn.query(
                "SELECT hash FROM events WHERE seq > \(Int64(clamping: size)) ORDER BY seq LIMIT \(Limits.readPageEventsMax)", logger: logger)
            for try await hash in rows.decode(ByteBuffer.self) { hashes.append(Array(hash.readableBytesView)) }
            guard !hashes.isEmpty else { return }
            try await extendLog(with: hashes, firstSequence: size + 1, on: conn, logger: logger)
            size += UInt64(hashes.count)
        }
    }

    static func logSize(on conn: PostgresConnection, logger: Logger) async throws -> UInt64 {
        for try await size in try await conn.query("SELECT size FROM log_state WHERE id = 1", logger: logger).decode(Int64.self) {
            return UInt64(size)
        }
        throw LedgerError(.corruptRecord, "the log_state row is missing: the database was changed by hand; restore it from a backup")
    }

    /// Extends the tiles with the events from `firstSequence` on (their hashes, in order); the
    /// caller holds the head lock. `known`: the rightmost tiles before, when this process kept
    /// them (`RightmostTiles`, checked against the head read under the lock).
    ///
    /// - Returns: the rightmost tiles after.
    @discardableResult
    static func extendLog(
        with eventHashes: [[UInt8]], firstSequence: UInt64, known: [Int: LogTiles.Tile]? = nil, on conn: PostgresConnection, logger: Logger
    ) async throws -> [Int: LogTiles.Tile] {
        let size = try await logSize(on: conn, logger: logger)
        guard size + 1 == firstSequence else {
            throw LedgerError(.corruptRecord, "the log's tiles cover \(size) events, but the next event appended is \(firstSequence)")
        }
        // The rightmost tile of each level the new leaves reach, read before extending.
        var rightmost = known ?? [:]
        var level = 0
        while LogTiles.count(level: level, size: size) > 0 {
            let (index, width) = LogTiles.rightmost(level: level, size: size)
            if width > 0, rightmost[level] == nil { rightmost[level] = try await logTile(level: level, index: index, on: conn, logger: logger) }
            level += 1
        }
        let changed = try LogTiles.extend(size: size, with: eventHashes.map(MerkleTree.leafHash)) { level in
            guard let tile = rightmost[level] else {
                throw LedgerError(.corruptRecord, "the log's tile \(level)/\(LogTiles.rightmost(level: level, size: size).index) is missing")
            }
            return tile
        }
        // Levels above 0 change only when a level-0 tile fills: most commits write no tile.
        let stored = changed.filter { $0.level > 0 }
        if !stored.isEmpty {
            let levels = stored.map { Int32($0.level) }, indexes = stored.map { Int64(clamping: $0.index) }
            let contents = stored.map { ByteBuffer(bytes: $0.hashes) }
            try await conn.query(
                """
                INSERT INTO log_tiles (level, idx, hashes) SELECT * FROM UNNEST(\(levels)::integer[], \(indexes)::bigint[], \(contents)::bytea[])
                ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes
                """, logger: logger)
        }
        try await conn.query("UPDATE log_state SET size = \(Int64(size) + Int64(eventHashes.count)) WHERE id = 1", logger: logger)
        return RightmostTiles.after(rightmost, changed: changed, size: size + UInt64(eventHashes.count))
    }
}
