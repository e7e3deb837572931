import Foundation
import GRDB
import Ledger
import Sodium
import Storage
import TestSupport
import Testing

/// The ledger's Merkle tree as both stores keep it: tiles extended with every append, in the
/// same transaction, giving the root computed from the events' hashes.
struct LogTileStoreTests {
    /// The tiles a tree of these events has, computed in memory.
    static func expectedTiles(_ events: [RecordedEvent]) throws -> [String: LogTiles.Tile] {
        var tiles: [String: LogTiles.Tile] = [:]
        var size: UInt64 = 0
        for event in events {
            let current = tiles, base = size
            for tile in try LogTiles.extend(
                size: base, with: [MerkleTree.leafHash(event.hash)],
                rightmost: { level in
                    current["\(level)/\(LogTiles.rightmost(level: level, size: base).index)"]!
                })
            {
                tiles["\(tile.level)/\(tile.index)"] = tile
            }
            size += 1
        }
        return tiles
    }

    static func expectStored(_ store: any EventStore & LogTileStore) async throws {
        let events = try await store.events(from: 1, limit: 10_000)
        #expect(try await store.logSize() == UInt64(events.count))
        let expected = try Self.expectedTiles(events)
        for (_, tile) in expected {
            #expect(try await store.logTile(level: tile.level, index: tile.index) == tile, "tile \(tile.level)/\(tile.index)")
        }
        let leaves = events.map { MerkleTree.leafHash($0.hash) }
        let root = try await MerkleTree.root(size: UInt64(events.count), node: store.cachedNodeReader())
        var level = leaves
        while level.count > 1 {
            // The RFC's tree from the leaves, bottom up: pairs, an odd last node carried up.
            level = stride(from: 0, to: level.count, by: 2).map { $0 + 1 < level.count ? MerkleTree.nodeHash(level[$0], level[$0 + 1]) : level[$0] }
        }
        #expect(root == (level.first ?? MerkleTree.emptyRoot))
    }

    @Test("the log's tiles grow with every append, also concurrent ones, and give the root of the events' hashes", arguments: Backend.available)
    func tilesFollowAppends(_ backend: Backend) async throws {
        let directory = TemporaryDirectory()
        let store = try await backend.open(directory)
        #expect(try await store.logSize() == 0)
        var next = 1
        for size in [1, 2, 253, 1, 300] {
            _ = try await store.append(AppendBatch(events: try (next..<next + size).map { try delivery($0) }))
            next += size
            #expect(try await store.logSize() == UInt64(next - 1))
        }
        // Several writers at once: group commits extend the tiles once per group.
        let start = next
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<6 {
                group.addTask {
                    for i in 0..<20 { _ = try await store.append(AppendBatch(events: [try delivery(start + w * 100 + i)])) }
                }
            }
            try await group.waitForAll()
        }
        try await Self.expectStored(store)
        withExtendedLifetime(directory) {}
    }

    @Test("each checkpoint is stored with a signed C2SP note of the tree of its size", arguments: Backend.available)
    func checkpointsCarryASignedNote(_ backend: Backend) async throws {
        let directory = TemporaryDirectory()
        let store = try await backend.open(directory)
        let key = try SigningKey()
        let checkpointer = Checkpointer(store: store, key: key, clock: SystemClock())
        _ = try await store.append(AppendBatch(events: try (1...300).map { try delivery($0) }))
        try await checkpointer.flush()
        let latest = try #require(try await store.latestLogCheckpoint())
        #expect(latest.size == 300)
        let note = try #require(SignedNote.parse(Array(latest.note.utf8)))
        let origin = LogOrigin.derived(from: key.verifyingKey)
        #expect(note.isSigned(by: NoteVerifier(name: origin, key: key.verifyingKey)))
        let checkpoint = try #require(LogCheckpoint(text: note.text))
        #expect(checkpoint.origin == origin)
        #expect(checkpoint.size == 300)
        #expect(checkpoint.root == (try await MerkleTree.root(size: 300, node: store.cachedNodeReader())))
        #expect(try await store.checkpoints().last?.sequence == 300, "the chain's checkpoint, in the same commit")
        withExtendedLifetime(directory) {}
    }

    @Test("a rebuild makes the same tiles again from the events", arguments: Backend.available)
    func rebuildMakesTheSameTiles(_ backend: Backend) async throws {
        let directory = TemporaryDirectory()
        let store = try await backend.open(directory)
        _ = try await store.append(AppendBatch(events: try (1...600).map { try delivery($0) }))
        try await store.rebuildLogTiles()
        try await Self.expectStored(store)
        #expect(try await LogAudit.check(store: store) == nil)
        withExtendedLifetime(directory) {}
    }

    @Test("the audit finds a tile that was changed or removed, and passes the tiles as the store keeps them")
    func theAuditFindsChangedTiles() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("ledger.sqlite").path
        let store = try SQLiteStore(path: path)
        _ = try await store.append(AppendBatch(events: try (1...600).map { try delivery($0) }))
        #expect(try await LogAudit.check(store: store) == nil)
        let queue = try DatabaseQueue(path: path)
        // Level 0 is the events' own hashes, never stored; level 1 is: its tile 0 holds the roots of
        // the two full level-0 tiles. One of them changed:
        #expect(try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM log_tiles WHERE level = 0") } == 0)
        try await queue.write { db in
            try db.execute(sql: "UPDATE log_tiles SET hashes = CAST(zeroblob(32) || substr(hashes, 33) AS BLOB) WHERE level = 1 AND idx = 0")
        }
        let changed = try #require(try await LogAudit.check(store: store))
        #expect(changed.kind == .logTilesDiffer)
        #expect(changed.sequence == 1)
        try await store.rebuildLogTiles()
        #expect(try await LogAudit.check(store: store) == nil)
        // The level-1 tile, gone.
        try await queue.write { db in try db.execute(sql: "DELETE FROM log_tiles WHERE level = 1 AND idx = 0") }
        let missing = try #require(try await LogAudit.check(store: store))
        #expect(missing.detail.contains("missing"))
        try queue.close()
    }

    @Test("the audit checks every stored log checkpoint: the broker's signature, and the root of the tree of its size")
    func theAuditChecksLogCheckpoints() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("ledger.sqlite").path
        let store = try SQLiteStore(path: path)
        let key = try SigningKey()
        let checkpointer = Checkpointer(store: store, key: key, clock: SystemClock())
        for round in 0..<3 {
            _ = try await store.append(AppendBatch(events: try (1...100).map { try delivery(round * 100 + $0) }))
            try await checkpointer.flush()
        }
        #expect(try await store.logCheckpoints().map(\.size) == [100, 200, 300])
        #expect(try await LogAudit.check(store: store, brokerKey: key.verifyingKey) == nil)
        // Another key did not sign them.
        #expect(try await LogAudit.check(store: store, brokerKey: try SigningKey().verifyingKey)?.kind == .badCheckpoint)
        // A note whose root was replaced (and so whose signature no longer holds) is found.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql: "UPDATE log_checkpoints SET note = replace(note, substr(note, instr(note, char(10)) + 5, 4), 'AAAA') WHERE size = 200")
        }
        let failure = try #require(try await LogAudit.check(store: store, brokerKey: key.verifyingKey))
        #expect(failure.kind == .badCheckpoint)
        #expect(failure.sequence == 200)
        try queue.close()
    }

    @Test("two stores on one SQLite file appending in turn keep one tree: neither extends tiles the other changed")
    func twoWritersKeepOneTree() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("ledger.sqlite").path
        let first = try SQLiteStore(path: path), second = try SQLiteStore(path: path)
        var next = 1
        for (round, size) in [1, 3, 255, 2, 260, 1, 300].enumerated() {
            let store = round % 2 == 0 ? first : second
            _ = try await store.append(AppendBatch(events: try (next..<next + size).map { try delivery($0) }))
            next += size
        }
        try await Self.expectStored(first)
        #expect(try await LogAudit.check(store: second) == nil)
    }

    @Test("proofs from the node cache equal proofs read from the tiles, at every size the log had", arguments: Backend.available)
    func nodeCacheGivesTheSameProofs(_ backend: Backend) async throws {
        let directory = TemporaryDirectory()
        let store = try await backend.open(directory)
        let cache = LogNodeCache(store: store, tilesMax: 3)  // small: it empties and refills on the way
        var next = 1
        for size in [1, 7, 250, 30, 300, 260] {
            _ = try await store.append(AppendBatch(events: try (next..<next + size).map { try delivery($0) }))
            next += size
            let n = UInt64(next - 1)
            for index in [0, n / 3, n / 2, n - 1] {
                let cached = try await MerkleTree.inclusionProof(index: index, size: n, node: cache.reader(size: n))
                #expect(cached == (try await MerkleTree.inclusionProof(index: index, size: n, node: store.cachedNodeReader())))
            }
            for old in [1, n / 2, n - 1] where old > 0 && old < n {
                let cached = try await MerkleTree.consistencyProof(from: old, to: n, node: cache.reader(size: n))
                #expect(cached == (try await MerkleTree.consistencyProof(from: old, to: n, node: store.cachedNodeReader())))
            }
            #expect(
                try await MerkleTree.root(size: n, node: cache.reader(size: n))
                    == (try await MerkleTree.root(size: n, node: store.cachedNodeReader())))
        }
        withExtendedLifetime(directory) {}
    }

    @Test("witnesses' cosignatures are added to a stored checkpoint note, one per witness key", arguments: Backend.available)
    func cosignaturesAreKeptOnTheNote(_ backend: Backend) async throws {
        let directory = TemporaryDirectory()
        let store = try await backend.open(directory)
        let key = try SigningKey()
        _ = try await store.append(AppendBatch(events: try (1...10).map { try delivery($0) }))
        try await Checkpointer(store: store, key: key, clock: SystemClock()).flush()
        let text = try #require(try await store.logCheckpoint(size: 10))
        #expect(try await store.logCheckpoint(size: 9) == nil)
        let note = try #require(SignedNote.parse(Array(text.utf8)))
        let w1 = try SigningKey(), w2 = try SigningKey()
        let first = note.cosignature(name: "w1.example", key: w1, time: 100)
        #expect(try await store.addLogCosignatures(size: 10, [first]))
        #expect(try await store.addLogCosignatures(size: 10, [note.cosignature(name: "w2.example", key: w2, time: 101)]))
        // A newer cosignature by the same witness replaces its older one.
        #expect(try await store.addLogCosignatures(size: 10, [note.cosignature(name: "w1.example", key: w1, time: 102)]))
        #expect(try await store.addLogCosignatures(size: 11, [first]) == false, "no note of that size")
        let latest = try #require(try await store.latestLogCheckpoint())
        let stored = try #require(SignedNote.parse(Array(latest.note.utf8)))
        #expect(stored.signatures.map(\.name) == [note.signatures[0].name, "w1.example", "w2.example"])
        #expect(stored.isSigned(by: NoteVerifier(name: "w1.example", key: w1.verifyingKey, kind: .cosignature)))
        #expect(stored.isSigned(by: NoteVerifier(name: "w2.example", key: w2.verifyingKey, kind: .cosignature)))
        #expect(stored.signatures[1].signature.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } == 102, "the newer timestamp")
        #expect(stored.text == note.text)
    }

    @Test("a SQLite ledger from before the tiles gets them when it is opened")
    func anOldLedgerGetsItsTilesAtOpen() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("ledger.sqlite").path
        do {
            let store = try SQLiteStore(path: path)
            _ = try await store.append(AppendBatch(events: try (1...700).map { try delivery($0) }))
            store.close()
        }
        // As a ledger written before migration v8 would be: events, and no tiles.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: "DELETE FROM log_tiles; UPDATE log_state SET size = 0") }
        try queue.close()
        let reopened = try SQLiteStore(path: path)
        try await Self.expectStored(reopened)
    }
}
