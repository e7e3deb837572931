import Consent
import Foundation
import GRDB
import Ledger
import Logging
import Ports

/// The embedded store: one SQLite file in WAL mode holding the ledger, its checkpoints and the
/// projections, which are updated in the same transaction as the events they come from.
///
/// Commits are durable (`synchronous = FULL` on the writing connection, set after GRDB's switch to
/// WAL and checked: see `DurableSQLite`); concurrent appends share commits through a
/// `GroupCommitter`. Several processes may open the same file: each transaction reads the chain
/// head under SQLite's write lock.
public final class SQLiteStore: BrokerStore, Sendable {
    private let pool: DatabasePool

    func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }

    func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await pool.write(body)
    }

    /// Copies the WAL into the database file and truncates it.
    func checkpointWAL() async throws {
        try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }
    private let committer: GroupCommitter<PendingAppend, [RecordedEvent]>
    /// Request nonces, group-committed like appends: one fsync for every claim that waited.
    let nonceCommitter: GroupCommitter<NonceClaim, Bool>
    private let logger: Logger
    /// The database file.
    public let path: String
    public let appliedMigrations: [String]
    public var locationDescription: String { path }

    /// Opens (creating if needed) the store at `path` and runs pending migrations.
    ///
    /// - Parameter logTree: false only for the benchmark's baseline (`mydata-bench log`): appends
    ///   then skip the Merkle tree's tiles, so no checkpoint or proof can be made until the store
    ///   is opened again with the tree (which catches up).
    /// - Throws: `LedgerError.storeUnavailable` with the reason.
    public init(path: String, logger: Logger = Logger(label: "mydata.storage"), logTree: Bool = true) throws {
        var config = Configuration()
        config.busyMode = .timeout(StorageLimits.sqliteBusySecondsMax)
        config.prepareDatabase { db in
            // Freed space is overwritten with zeros, so a destroyed data key does not linger in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        do {
            pool = try DurableSQLite.pool(path: path, configuration: config)
            let migrator = Migrations.migrator()
            let before = Set(try pool.read { db in try migrator.appliedMigrations(db) })
            try migrator.migrate(pool)
            appliedMigrations = try pool.read { db in try migrator.appliedMigrations(db) }.filter { !before.contains($0) }
            // A ledger from before the tiles (or one whose tiles were dropped) gets them now.
            if logTree { try pool.write { db in try LogTileSQL.catchUp(to: try Self.head(db).sequence, db: db) } }
        } catch {
            throw LedgerError(.storeUnavailable, "cannot open the ledger database at \(path)", underlying: error)
        }
        self.path = path
        self.logger = logger
        // Owner-only: the ledger holds consent evidence.
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
        let pool = self.pool
        nonceCommitter = GroupCommitter(groupWeightMax: StorageLimits.nonceGroupClaimsMax, weight: { _ in 1 }) { claims in
            await Self.claim(claims, pool: pool)
        }
        let rightmost = RightmostTiles()
        committer = GroupCommitter(groupWeightMax: StorageLimits.appendGroupEventsMax, weight: { $0.batch.events.count }) { batches in
            await Self.commit(batches, pool: pool, logTree: logTree ? rightmost : nil)
        }
    }

    // MARK: EventStore

    public func append(_ batch: AppendBatch) async throws -> [RecordedEvent] {
        try await committer.append(batch)
    }

    public func append(batches: [AppendBatch]) async -> [Result<[RecordedEvent], any Error>] {
        await committer.append(batches: batches)
    }

    public func events(from sequence: UInt64, limit: Int) async throws -> [RecordedEvent] {
        let limit = min(max(limit, 1), Limits.readPageEventsMax)
        return try await pool.read { db in
            try DirectBinding.events(db.cachedStatement(sql: Self.eventsPageSQL), from: Int64(clamping: sequence), limit: limit)
        }
    }

    /// A page of events from a sequence number, in the column order `DirectBinding.events` reads.
    static let eventsPageSQL = """
        SELECT seq, time_ms, stream_id, type, schema_version, author_id, signature, payload, prev_hash, hash
        FROM events WHERE seq >= ? ORDER BY seq LIMIT ?
        """

    public func head() async throws -> ChainHead {
        try await pool.read { db in try Self.head(db) }
    }

    public func streamVersion(_ streamID: String) async throws -> Int {
        try await pool.read { db in try ProjectionSQL.streamVersion(streamID, db: db) }
    }

    public func appendCheckpoint(_ checkpoint: Checkpoint) async throws {
        try await pool.write { db in try Self.insert(checkpoint, db: db) }
    }

    private static func insert(_ checkpoint: Checkpoint, db: Database) throws {
        // A second checkpoint at the same sequence adds nothing.
        try db.execute(
            sql: "INSERT OR IGNORE INTO checkpoints (seq, head_hash, time_ms, signature) VALUES (?, ?, ?, ?)",
            arguments: [Int64(checkpoint.sequence), Data(checkpoint.headHash), checkpoint.time.milliseconds, Data(checkpoint.signature)])
    }

    public func checkpoints() async throws -> [Checkpoint] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM checkpoints ORDER BY seq").map { row in
                Checkpoint(
                    sequence: UInt64(row["seq"] as Int64), headHash: [UInt8](row["head_hash"] as Data),
                    time: Timestamp(milliseconds: row["time_ms"]), signature: [UInt8](row["signature"] as Data))
            }
        }
    }

    /// Closes the database connections (GRDB would close them when the store goes away).
    public func close() {
        try? pool.close()
    }

    /// The `synchronous` level of the connection that writes (2 is FULL): what durability this
    /// store actually has, not what it asked for.
    public func writerSynchronous() async throws -> Int {
        try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Durable commits made by this process and the append batches they carried.
    public func commitStatistics() async -> (commits: Int, batches: Int) {
        (await committer.commits, await committer.batches)
    }

    // MARK: Commit

    /// - Parameter logTree: the rightmost tiles this process keeps, or nil when the store keeps no
    ///   tree (the benchmark's baseline).
    private static func commit(
        _ batches: [PendingAppend], pool: DatabasePool, logTree: RightmostTiles?
    ) async -> [Result<[RecordedEvent], any Error>] {
        do {
            return try await pool.writeWithoutTransaction { db in
                var results: [Result<[RecordedEvent], any Error>] = []
                var snapshot: RightmostTiles.Snapshot?
                try db.inTransaction(.immediate) {
                    (results, snapshot) = try appendGroup(batches, db: db, logTree: logTree)
                    return .commit
                }
                if let snapshot { logTree?.keep(snapshot) }
                return results
            }
        } catch let refused as RowsRefused {
            // A statement refused a batch's rows and nothing was committed: one bad batch must not
            // sink the others, so each is committed on its own; a batch alone gets its refusal.
            guard batches.count > 1 else { return [.failure(refused.underlying)] }
            var results: [Result<[RecordedEvent], any Error>] = []
            for batch in batches { results += await commit([batch], pool: pool, logTree: logTree) }
            return results
        } catch {
            let failure = LedgerError(.storeUnavailable, "the ledger database could not commit; nothing was appended", underlying: error)
            return batches.map { _ in .failure(failure) }
        }
    }

    /// The database itself failed (busy past the timeout, I/O, full, read-only, corrupt), as
    /// opposed to a statement refusing one batch's rows: retrying batch by batch would not help.
    private static func isStoreFailure(_ error: DatabaseError) -> Bool {
        [
            .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_CORRUPT, .SQLITE_NOTADB,
            .SQLITE_NOMEM, .SQLITE_PROTOCOL,
        ].contains(error.resultCode.primaryResultCode)
    }

    /// Appends every batch whose conditions hold (`AppendPlan`), inside the caller's transaction.
    private static func appendGroup(
        _ batches: [PendingAppend], db: Database, logTree: RightmostTiles?
    ) throws -> ([Result<[RecordedEvent], any Error>], RightmostTiles.Snapshot?) {
        let before = try head(db)
        var plan = AppendPlan(head: before, versions: try ProjectionSQL.streamVersions(AppendPlan.watchedStreams(batches), db: db))
        let results = batches.map { plan.add($0) }
        guard !plan.accepted.isEmpty else { return (results, nil) }
        do {
            return (results, try write(plan, db: db, logTree: logTree, before: before))
        } catch let error as DatabaseError where isStoreFailure(error) {
            throw error
        } catch {
            throw RowsRefused(underlying: error)
        }
    }

    /// Writes what `plan` accepted: the events, the stream versions, the projections.
    /// - Returns: the log's rightmost tiles after, to keep once the transaction commits.
    private static func write(_ plan: AppendPlan, db: Database, logTree: RightmostTiles?, before: ChainHead) throws -> RightmostTiles.Snapshot? {
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO events (seq, time_ms, stream_id, type, schema_version, author_id, signature, payload, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for (record, _) in plan.accepted {
            let event = record.event
            try DirectBinding.execute(insert) { b in
                b.int(Int64(record.sequence)); b.int(event.time.milliseconds); b.text(event.streamID); b.text(event.type)
                b.int(Int64(event.schemaVersion)); b.text(event.authorID); b.blob(event.signature); b.blob(event.payload)
                b.blob(record.previousHash); b.blob(record.hash)
            }
        }
        var snapshot: RightmostTiles.Snapshot?
        if let logTree, let first = plan.accepted.first?.record.sequence {
            let tiles = try LogTileSQL.extend(
                with: plan.accepted.map(\.record.hash), firstSequence: first, known: logTree.tiles(size: before.sequence, head: before.hash), db: db)
            snapshot = RightmostTiles.Snapshot(size: plan.head.sequence, head: plan.head.hash, tiles: tiles)
        }
        for (stream, events) in plan.increments { try ProjectionSQL.bumpStream(stream, by: events, db: db) }
        for (record, changes) in plan.accepted { try ProjectionSQL.apply(changes, sequence: record.sequence, db: db) }
        try ProjectionSQL.setProjectedSequence(plan.head.sequence, db: db)
        return snapshot
    }

    /// A statement refused the rows of a group (a constraint, a malformed value), not the
    /// database itself: the batches are tried one by one.
    private struct RowsRefused: Error {
        let underlying: any Error
    }

    private static func head(_ db: Database) throws -> ChainHead {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")) else {
            return .genesis
        }
        return ChainHead(sequence: UInt64(row["seq"] as Int64), hash: [UInt8](row["hash"] as Data))
    }

    // MARK: Log tiles

    public func logSize() async throws -> UInt64 {
        try await pool.read { db in try LogTileSQL.size(db) }
    }

    public func logTile(level: Int, index: UInt64) async throws -> LogTiles.Tile? {
        try await pool.read { db in try LogTileSQL.tile(level: level, index: index, db: db) }
    }

    public func appendCheckpoint(_ checkpoint: Checkpoint, logNote: String) async throws {
        try await pool.write { db in
            try Self.insert(checkpoint, db: db)
            try db.execute(sql: "INSERT OR IGNORE INTO log_checkpoints (size, note) VALUES (?, ?)", arguments: [Int64(checkpoint.sequence), logNote])
        }
    }

    public func latestLogCheckpoint() async throws -> (size: UInt64, note: String)? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")).map {
                (UInt64($0["size"] as Int64), $0["note"] as String)
            }
        }
    }

    public func logCheckpoints() async throws -> [(size: UInt64, note: String)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT size, note FROM log_checkpoints ORDER BY size").map {
                (UInt64($0["size"] as Int64), $0["note"] as String)
            }
        }
    }

    public func logCheckpoint(size: UInt64) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT note FROM log_checkpoints WHERE size = ?"), arguments: [Int64(size)])
        }
    }

    public func addLogCosignatures(size: UInt64, _ cosignatures: [NoteSignature]) async throws -> Bool {
        try await pool.write { db in
            guard let text = try String.fetchOne(db, sql: "SELECT note FROM log_checkpoints WHERE size = ?", arguments: [Int64(size)]),
                let note = SignedNote.parse(Array(text.utf8))
            else { return false }
            try db.execute(
                sql: "UPDATE log_checkpoints SET note = ? WHERE size = ?", arguments: [note.adding(cosignatures).encoded, Int64(size)])
            return true
        }
    }

    public func rebuildLogTiles() async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM log_tiles; UPDATE log_state SET size = 0 WHERE id = 1")
            try LogTileSQL.catchUp(to: try Self.head(db).sequence, db: db)
        }
    }

    // MARK: Projections

    public func projectedSequence() async throws -> UInt64 {
        try await pool.read { db in UInt64(try Int64.fetchOne(db, sql: "SELECT last_seq FROM projection_state") ?? 0) }
    }

    public func rebuildProjections() async throws {
        try await pool.write { db in
            for table in Migrations.projectionTables { try db.execute(sql: "DELETE FROM \(table)") }
            try db.execute(sql: "UPDATE projection_state SET last_seq = 0")
            // Indexes are built faster once, sorted, than row by row: drop them for the replay and
            // recreate them from their own stored definitions.
            let tables = Migrations.projectionTables.map { "'\($0)'" }.joined(separator: ",")
            let indexes = try Row.fetchAll(
                db,
                sql: """
                    SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (\(tables))
                    """
            ).map { (name: $0["name"] as String, sql: $0["sql"] as String) }
            for index in indexes { try db.execute(sql: "DROP INDEX \(index.name)") }
            let page = try db.cachedStatement(sql: Self.eventsPageSQL)
            var versions: [String: Int] = [:]
            var last: UInt64 = 0
            // Decoding is most of a rebuild's work and needs no order: the next page decodes on
            // another thread while this one applies the current page's changes.
            var events = try DirectBinding.events(page, from: 1, limit: Limits.readPageEventsMax)
            var changes = try ParallelMap.map(events) { try Projection.changes(for: $0.event) }
            while !events.isEmpty {
                last = events.last!.sequence
                let nextEvents = try DirectBinding.events(page, from: Int64(clamping: last + 1), limit: Limits.readPageEventsMax)
                let nextChanges = Background { try nextEvents.map { try Projection.changes(for: $0.event) } }
                for (record, change) in zip(events, changes) {
                    versions[record.event.streamID, default: 0] += 1
                    try ProjectionSQL.apply(change, sequence: record.sequence, db: db)
                }
                changes = try nextChanges.value()
                events = nextEvents
            }
            // Stream versions are counts: written once each instead of bumped per event.
            for (stream, version) in versions { try ProjectionSQL.setStreamVersion(stream, version, db: db) }
            try ProjectionSQL.setProjectedSequence(last, db: db)
            for index in indexes { try db.execute(sql: index.sql) }
        }
    }

    /// Every projection row as text, table by table in key order: equal dumps mean equal projections.
    public func dumpProjections() async throws -> String {
        try await pool.read { db in
            var out = ""
            for table in Migrations.projectionTables + ["projection_state"] {
                out += "## \(table)\n"
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2") {
                    out += row.description + "\n"
                }
            }
            return out
        }
    }
}
