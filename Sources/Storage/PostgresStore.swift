import Consent
import Foundation
import Ledger
import Logging
import NIOCore
import NIOPosix
import Ports
import PostgresNIO
import _ConnectionPoolModule
import Synchronization

/// The store at scale: several broker processes share one PostgreSQL database.
///
/// Each process group-commits its appends (`GroupCommitter`, as on SQLite); each commit is one
/// transaction that locks the single `ledger_head` row, chains the group's events after it,
/// writes them and their projections with a few bulk statements, moves the head and commits.
/// The lock is held for that one short transaction, never across a client's round trip, so
/// sequence numbers stay gap-free and the chain stays single no matter how many brokers append.
public final class PostgresStore: BrokerStore, @unchecked Sendable {
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let committer: GroupCommitter<PendingAppend, [RecordedEvent]>
    let logger: Logger
    /// Where it is (without the password).
    public let location: PostgresLocation
    /// The migrations this process applied when it connected (empty when the schema was current).
    public private(set) var appliedMigrations: [String] = []

    private init(client: PostgresClient, runTask: Task<Void, Never>, location: PostgresLocation, logger: Logger) {
        self.client = client
        self.runTask = runTask
        self.location = location
        self.logger = logger
        let rightmost = RightmostTiles()
        committer = GroupCommitter(groupWeightMax: StorageLimits.appendGroupEventsMax, weight: { $0.batch.events.count }) {
            [client, logger] batches in
            await Self.commit(batches, client: client, logger: logger, rightmost: rightmost)
        }
    }

    /// Connects, checks the database answers, and applies pending migrations.
    ///
    /// - Throws: `LedgerError.storeUnavailable` with the reason when the database cannot be
    ///   reached or migrated: the broker must not start without its store.
    /// - Parameter allowAsyncCommit: accept a server whose `fsync` or `full_page_writes` is off,
    ///   with a warning; otherwise such a server is refused, because a crash of it would lose
    ///   appends that were acknowledged.
    public static func connect(
        url: String, allowAsyncCommit: Bool = false,
        logger: Logger = Logger(label: "mydata.storage.postgres")
    ) async throws -> PostgresStore {
        let location = try PostgresLocation(url: url)
        // One plain connection first: a wrong address or password fails at once with its reason,
        // where the pool would keep retrying in the background.
        do {
            var probeConfig = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.username,
                password: location.password, database: location.database,
                tls: try location.connectionTLS())
            probeConfig.options.connectTimeout = .seconds(5)
            let probe = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: probeConfig,
                id: 0, logger: logger
            ).get()
            try await probe.close()
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.storeUnavailable, "cannot reach PostgreSQL at \(location): \(Self.reason(error))")
        }
        var config = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username,
            password: location.password, database: location.database, tls: try location.clientTLS())
        config.options.maximumConnections = StorageLimits.postgresConnectionsMax
        // A broker that stops (frozen, or cut off) while it holds the chain position must not stall
        // every other broker: the server ends its transaction, and waiting for the lock gives up.
        config.options.additionalStartupParameters = [
            ("idle_in_transaction_session_timeout", "\(StorageLimits.postgresStalledTransactionSecondsMax * 1000)"),
            ("lock_timeout", "\(StorageLimits.postgresStalledTransactionSecondsMax * 1000)"),
            // Acknowledged means durable: every COMMIT waits for its WAL flush, whatever the
            // server's or the role's default says.
            ("synchronous_commit", "on"),
        ]
        config.options.connectTimeout = .seconds(5)
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        let runTask = Task { await client.run() }
        let store = PostgresStore(client: client, runTask: runTask, location: location, logger: logger)
        do {
            _ = try await withDeadline(seconds: StorageLimits.postgresConnectSecondsMax, "PostgreSQL") {
                try await client.query("SELECT 1", logger: logger)
            }
            let durability = try await store.durability()
            if let problem = durability.problem {
                guard allowAsyncCommit else {
                    throw LedgerError(
                        .storeUnavailable,
                        "PostgreSQL at \(location) would lose acknowledged appends in a crash: \(problem). "
                            + "Turn it on in postgresql.conf, or pass --allow-async-commit to accept that loss")
                }
                logger.warning(
                    "PostgreSQL would lose acknowledged appends in a crash; accepted with --allow-async-commit",
                    metadata: ["store.problem": "\(problem)"])
            }
            store.appliedMigrations = try await store.migrate()
            // A ledger from before the tiles (or one whose tiles were dropped) gets them now.
            try await store.catchUpLog()
        } catch let error as LedgerError {
            runTask.cancel()
            throw error
        } catch {
            runTask.cancel()
            throw LedgerError(.storeUnavailable, "cannot use PostgreSQL at \(location): \(Self.reason(error))")
        }
        return store
    }

    /// The durability settings in force on this store's sessions, as the server reports them.
    public struct Durability: Sendable, Equatable {
        public var fsync: String
        public var synchronousCommit: String
        public var fullPageWrites: String

        public init(fsync: String, synchronousCommit: String, fullPageWrites: String) {
            self.fsync = fsync
            self.synchronousCommit = synchronousCommit
            self.fullPageWrites = fullPageWrites
        }

        /// What would make a crash lose acknowledged commits, or nil.
        public var problem: String? {
            var off: [String] = []
            if fsync != "on" { off.append("fsync is \(fsync)") }
            if !["on", "remote_write", "remote_apply", "local"].contains(synchronousCommit) {
                off.append("synchronous_commit is \(synchronousCommit)")
            }
            if fullPageWrites != "on" { off.append("full_page_writes is \(fullPageWrites)") }
            return off.isEmpty ? nil : off.joined(separator: ", ")
        }
    }

    /// Reads `fsync`, `synchronous_commit` and `full_page_writes` on a session of the pool that
    /// appends: what is in force, not what was asked for.
    public func durability() async throws -> Durability {
        var settings: [String: String] = [:]
        let rows = try await client.query(
            "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')", logger: logger)
        for try await (name, setting) in rows.decode((String, String).self) { settings[name] = setting }
        return Durability(
            fsync: settings["fsync"] ?? "unknown", synchronousCommit: settings["synchronous_commit"] ?? "unknown",
            fullPageWrites: settings["full_page_writes"] ?? "unknown")
    }

    public var locationDescription: String { location.description }

    /// Closes the connections.
    /// Separate reads: the append's stream conditions keep them safe.
    public func pullState(consentID: String, recipient: String, around cursor: RecordCursor) async throws -> PullState {
        try await pullStateBySeparateReads(consentID: consentID, recipient: recipient, around: cursor)
    }

    public func close() {
        runTask.cancel()
    }

    deinit { runTask.cancel() }

    /// Applies pending migrations under an advisory lock; returns the versions applied now.
    @discardableResult
    public func migrate() async throws -> [String] {
        try await client.withTransaction(logger: logger) { conn in
            try await conn.query("SELECT pg_advisory_xact_lock(\(StorageLimits.postgresMigrationLockID))", logger: self.logger)
            try await conn.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_ms BIGINT NOT NULL)", logger: self.logger)
            var applied = Set<String>()
            for try await version in try await conn.query("SELECT version FROM schema_migrations", logger: self.logger).decode(String.self) {
                applied.insert(version)
            }
            var now: [String] = []
            for migration in PostgresMigrations.all where !applied.contains(migration.version) {
                for statement in Self.statements(migration.sql) {
                    try await conn.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await conn.query(
                    "INSERT INTO schema_migrations (version, applied_ms) VALUES (\(migration.version), \(Timestamp.now().milliseconds))",
                    logger: self.logger)
                now.append(migration.version)
            }
            return now
        }
    }

    static func statements(_ sql: String) -> [String] {
        sql.components(separatedBy: ";\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }
            .filter { !$0.isEmpty && !$0.split(separator: "\n").allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") } }
    }

    static func reason(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            return "\(e.code)" + (e.underlying.map { ": \($0)" } ?? "")
        }
        if let e = error as? PostgresTransactionError {
            return [e.beginError, e.closureError, e.commitError].compactMap { $0 }.map(reason).joined(separator: "; ")
        }
        return "\(error)"
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
        return try await Self.events(on: client, from: sequence, limit: limit, logger: logger)
    }

    static func events(on client: PostgresClient, from sequence: UInt64, limit: Int, logger: Logger) async throws -> [RecordedEvent] {
        let rows = try await client.query(
            """
            SELECT seq, time_ms, stream_id, type, schema_version, author_id, signature, payload, prev_hash, hash
            FROM events WHERE seq >= \(Int64(clamping: sequence)) ORDER BY seq LIMIT \(limit)
            """, logger: logger)
        var out: [RecordedEvent] = []
        for try await row in rows.decode((Int64, Int64, String, String, Int32, String, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer).self) {
            out.append(try event(row))
        }
        return out
    }

    static func event(_ r: (Int64, Int64, String, String, Int32, String, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer)) throws -> RecordedEvent {
        guard r.0 > 0, r.8.readableBytes == 32, r.9.readableBytes == 32, let version = UInt16(exactly: r.4) else {
            throw LedgerError(.corruptRecord, "event \(r.0) has a malformed sequence, hash or schema version column")
        }
        let event = NewEvent(
            streamID: r.2, type: r.3, schemaVersion: version, time: Timestamp(milliseconds: r.1), authorID: r.5,
            payload: Array(r.7.readableBytesView), signature: Array(r.6.readableBytesView))
        return RecordedEvent(sequence: UInt64(r.0), event: event, previousHash: Array(r.8.readableBytesView), hash: Array(r.9.readableBytesView))
    }

    public func head() async throws -> ChainHead {
        let rows = try await client.query("SELECT seq, hash FROM ledger_head WHERE id = 1", logger: logger)
        for try await (seq, hash) in rows.decode((Int64, ByteBuffer).self) {
            return ChainHead(sequence: UInt64(seq), hash: Array(hash.readableBytesView))
        }
        throw LedgerError(
            .corruptRecord, "the ledger_head row is missing: the database was changed by hand; restore it from a backup and run `mydata admin verify`"
        )
    }

    public func streamVersion(_ streamID: String) async throws -> Int {
        let rows = try await client.query("SELECT version FROM streams WHERE stream_id = \(streamID)", logger: logger)
        for try await version in rows.decode(Int64.self) { return Int(version) }
        return 0
    }

    public func appendCheckpoint(_ checkpoint: Checkpoint) async throws {
        try await client.query(
            """
            INSERT INTO checkpoints (seq, head_hash, time_ms, signature)
            VALUES (\(Int64(checkpoint.sequence)), \(ByteBuffer(bytes: checkpoint.headHash)), \(checkpoint.time.milliseconds), \(ByteBuffer(bytes: checkpoint.signature)))
            ON CONFLICT (seq) DO NOTHING
            """, logger: logger)
    }

    public func checkpoints() async throws -> [Checkpoint] {
        let rows = try await client.query("SELECT seq, head_hash, time_ms, signature FROM checkpoints ORDER BY seq", logger: logger)
        var out: [Checkpoint] = []
        for try await (seq, head, time, sig) in rows.decode((Int64, ByteBuffer, Int64, ByteBuffer).self) {
            out.append(
                Checkpoint(
                    sequence: UInt64(seq), headHash: Array(head.readableBytesView), time: Timestamp(milliseconds: time),
                    signature: Array(sig.readableBytesView)))
        }
        return out
    }

    /// Durable commits made by this process and the append batches they carried.
    public func commitStatistics() async -> (commits: Int, batches: Int) {
        (await committer.commits, await committer.batches)
    }

    // MARK: Commit

    private static func commit(
        _ batches: [PendingAppend], client: PostgresClient, logger: Logger, rightmost: RightmostTiles
    ) async -> [Result<[RecordedEvent], any Error>] {
        var delay: UInt64 = 50_000_000
        let started = ContinuousClock.now
        for attempt in 1...StorageLimits.postgresCommitRetriesMax {
            do {
                let (results, snapshot) = try await withLease(client, seconds: StorageLimits.postgresLeaseSecondsMax) { conn in
                    try await conn.withTransaction(logger: logger) { conn in
                        try await appendGroup(batches, on: conn, logger: logger, rightmost: rightmost)
                    }
                }
                // Committed: the next append of this process extends these tiles without reading them.
                if let snapshot { rightmost.keep(snapshot) }
                return results
            } catch let error as LedgerError where error.code == .storeUnavailable {
                // No connection could be had: nothing was sent. Try again while the time allows.
                guard attempt < StorageLimits.postgresCommitRetriesMax,
                    ContinuousClock.now - started < .seconds(StorageLimits.postgresCommitUnreachableSecondsMax)
                else { break }
                logger.warning("database unreachable; retrying the commit", metadata: ["attempt": "\(attempt)"])
                try? await Task.sleep(nanoseconds: delay)
                delay *= 2
            } catch let error as PostgresTransactionError where error.commitError != nil {
                let failure = LedgerError(
                    .storeUnavailable,
                    "the connection failed while committing; the append may or may not be stored — check before retrying",
                    underlying: ReasonError(reason(error)))
                return batches.map { _ in .failure(failure) }
            } catch let error as PostgresTransactionError where isConnectionFailure(error) {
                // Nothing was committed: the transaction never reached COMMIT. Wait and try again.
                guard attempt < StorageLimits.postgresCommitRetriesMax else { break }
                logger.warning("database unreachable; retrying the commit", metadata: ["attempt": "\(attempt)"])
                try? await Task.sleep(nanoseconds: delay)
                delay *= 2
            } catch {
                // One bad batch must not sink the others: commit them one by one.
                if batches.count > 1 {
                    var results: [Result<[RecordedEvent], any Error>] = []
                    for batch in batches { results += await commit([batch], client: client, logger: logger, rightmost: rightmost) }
                    return results
                }
                return [
                    .failure(
                        LedgerError(.storeUnavailable, "PostgreSQL refused the append; nothing was appended", underlying: ReasonError(reason(error))))
                ]
            }
        }
        let failure = LedgerError(
            .storeUnavailable, "PostgreSQL stayed unreachable through \(StorageLimits.postgresCommitRetriesMax) attempts; nothing was appended")
        return batches.map { _ in .failure(failure) }
    }

    /// Runs `body` on a leased connection, or fails with `storeUnavailable` when no connection is
    /// to be had within `seconds`: PostgresNIO's pool waits for a connection without end while the
    /// server is down, and an append must not.
    ///
    /// Exactly one of the two happens: the lease that arrives after the deadline does nothing, and
    /// a deadline that passes once the lease has begun changes nothing, so a transaction is never
    /// cut off by it.
    static func withLease<T: Sendable>(
        _ client: PostgresClient, seconds: Double,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let claim = LeaseClaim()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.withConnection { conn in
                    guard claim.take(.leased) else { throw CancellationError() }
                    return try await body(conn)
                }
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                guard claim.take(.expired) else { return nil }
                throw LedgerError(.storeUnavailable, "no connection to PostgreSQL within \(seconds) s; nothing was sent")
            }
            while let answer = try await group.next() {
                if let value = answer {
                    group.cancelAll()
                    return value
                }
            }
            preconditionFailure("the lease or the deadline answers")
        }
    }

    private static func isConnectionFailure(_ error: PostgresTransactionError) -> Bool {
        for e in [error.beginError, error.closureError].compactMap({ $0 }) {
            if let p = e as? PSQLError, [.connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed].contains(p.code) {
                return true
            }
            if e is CancellationError { return false }
        }
        return false
    }

    /// Appends every batch whose conditions hold, in one transaction holding the head lock.
    private static func appendGroup(
        _ batches: [PendingAppend], on conn: PostgresConnection, logger: Logger, rightmost: RightmostTiles
    ) async throws -> ([Result<[RecordedEvent], any Error>], RightmostTiles.Snapshot?) {
        var head = ChainHead.genesis
        for try await (seq, hash) in try await conn.query("SELECT seq, hash FROM ledger_head WHERE id = 1 FOR UPDATE", logger: logger)
            .decode((Int64, ByteBuffer).self)
        {
            head = ChainHead(sequence: UInt64(seq), hash: Array(hash.readableBytesView))
        }
        let watched = AppendPlan.watchedStreams(batches)
        var versions: [String: Int] = [:]
        if !watched.isEmpty {
            for try await (id, version) in try await conn.query(
                "SELECT stream_id, version FROM streams WHERE stream_id = ANY(\(watched))", logger: logger
            )
            .decode((String, Int64).self) {
                versions[id] = Int(version)
            }
        }
        var plan = AppendPlan(head: head, versions: versions)
        let results = batches.map { plan.add($0) }
        guard !plan.accepted.isEmpty else { return (results, nil) }
        try await insertEvents(plan.accepted.map(\.record), on: conn, logger: logger)
        var snapshot: RightmostTiles.Snapshot?
        if let first = plan.accepted.first?.record.sequence {
            let tiles = try await extendLog(
                with: plan.accepted.map(\.record.hash), firstSequence: first, known: rightmost.tiles(size: head.sequence, head: head.hash),
                on: conn, logger: logger)
            snapshot = RightmostTiles.Snapshot(size: plan.head.sequence, head: plan.head.hash, tiles: tiles)
        }
        try await PostgresProjection.bumpStreams(plan.increments, on: conn, logger: logger)
        try await PostgresProjection.apply(plan.accepted.map { ($0.record.sequence, $0.changes) }, on: conn, logger: logger)
        try await conn.query(
            "UPDATE ledger_head SET seq = \(Int64(plan.head.sequence)), hash = \(ByteBuffer(bytes: plan.head.hash)) WHERE id = 1", logger: logger)
        try await conn.query("UPDATE projection_state SET last_seq = \(Int64(plan.head.sequence)) WHERE id = 1", logger: logger)
        return (results, snapshot)
    }

    static func insertEvents(_ events: [RecordedEvent], on conn: PostgresConnection, logger: Logger) async throws {
        let seqs = events.map { Int64($0.sequence) }, times = events.map { $0.event.time.milliseconds }
        let streams = events.map(\.event.streamID), types = events.map(\.event.type), authors = events.map(\.event.authorID)
        let versions = events.map { Int64($0.event.schemaVersion) }
        let signatures = events.map { ByteBuffer(bytes: $0.event.signature) }, payloads = events.map { ByteBuffer(bytes: $0.event.payload) }
        let prevs = events.map { ByteBuffer(bytes: $0.previousHash) }, hashes = events.map { ByteBuffer(bytes: $0.hash) }
        try await conn.query(
            """
            INSERT INTO events (seq, time_ms, stream_id, type, schema_version, author_id, signature, payload, prev_hash, hash)
            SELECT * FROM UNNEST(\(seqs)::bigint[], \(times)::bigint[], \(streams)::text[], \(types)::text[], \(versions)::bigint[],
                                 \(authors)::text[], \(signatures)::bytea[], \(payloads)::bytea[], \(prevs)::bytea[], \(hashes)::bytea[])
            """, logger: logger)
    }
}

/// An underlying cause as text (PostgreSQL errors carry non-Sendable details).
struct ReasonError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension PSQLError: StoreUnavailability {
    /// A lost or refused connection, not a refused query: also the server's own word that it is
    /// going away or not ready (SQLSTATE class 08, connection exception, and 57P01–57P03:
    /// administrator shutdown, crash shutdown, cannot connect now).
    public var isStoreUnavailable: Bool {
        if [.connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed].contains(code) { return true }
        guard let state = serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
    }
}

extension PostgresTransactionError: StoreUnavailability {
    /// A transaction that failed because the database went away (at BEGIN, in its body or at
    /// COMMIT) rather than because a statement was refused.
    public var isStoreUnavailable: Bool {
        [beginError, closureError, commitError, rollbackError].contains { error in
            (error as? any StoreUnavailability)?.isStoreUnavailable == true || error is ConnectionPoolError
        }
    }
}

extension ConnectionPoolError: StoreUnavailability {
    /// The pool gave up a wait for a connection (cancelled, shut down, or its circuit breaker
    /// tripped after the server stayed unreachable): the database cannot be reached.
    public var isStoreUnavailable: Bool { true }
}

/// Who came first: the lease or the deadline (`PostgresStore.withLease`).
final class LeaseClaim: Sendable {
    enum Winner { case leased, expired }
    private let winner = Mutex<Winner?>(nil)

    /// True when `who` is first; false when the other already came.
    func take(_ who: Winner) -> Bool {
        winner.withLock { current in
            guard current == nil else { return false }
            current = who
            return true
        }
    }
}
