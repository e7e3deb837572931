import Foundation
import GRDB
import Ledger
import Logging
import Sodium

/// A transparency log witness (c2sp.org/tlog-witness): for each log it is configured with (an
/// origin and its vkey), it cosigns a checkpoint only when the log signed it and it is consistent
/// with the last checkpoint it cosigned for that log. Its state is a SQLite file written (and
/// synced) before any answer, so it never cosigns two inconsistent trees, or a smaller tree
/// after a larger one, even across restarts.
public final class Witness: Sendable {
    /// The witness's own key name, and the cosignature verifier key others check it with.
    public let name: String
    public let verifier: NoteVerifier
    private let key: SigningKey
    private let logs: [String: NoteVerifier]
    private let database: DatabaseQueue
    private let clock: any Clock
    private let logger: Logger

    /// The answer to an add-checkpoint request.
    public enum Answer: Sendable, Equatable {
        /// 200: the cosignature lines, `— <name> <base64>\n`.
        case cosigned(String)
        /// 409: the size of the latest checkpoint cosigned for the log.
        case conflict(UInt64)
        /// 400, 403, 404 or 422, and why.
        case refused(status: Int, reason: String)
    }

    /// Opens (or creates) the state at `databasePath`.
    ///
    /// - Parameter logs: the logs' note verifier keys; each key's name is the log's origin.
    /// - Throws: the database's error, or `WitnessError` when SQLite does not sync commits.
    public init(
        databasePath: String, name: String, key: SigningKey, logs: [NoteVerifier], clock: any Clock = SystemClock(), logger: Logger
    )
        throws
    {
        self.name = name
        self.key = key
        self.verifier = NoteVerifier(name: name, key: key.verifyingKey, kind: .cosignature)
        self.logs = Dictionary(logs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.clock = clock
        self.logger = logger
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        database = try DatabaseQueue(path: databasePath, configuration: configuration)
        // Rollback journal, FULL: a commit is on disk before the cosignature leaves (read back).
        let synchronous = try database.writeWithoutTransaction { db -> Int in
            try db.execute(sql: "PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
        guard synchronous >= 2 else {
            throw WitnessError("SQLite reports synchronous = \(synchronous) for \(databasePath); commits would not be durable")
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE logs (
                        origin TEXT PRIMARY KEY,
                        size INTEGER NOT NULL CHECK (size >= 0),
                        root BLOB NOT NULL CHECK (length(root) = 32),
                        note TEXT NOT NULL
                    );
                    CREATE TABLE refusals (
                        id INTEGER PRIMARY KEY,
                        time_ms INTEGER NOT NULL,
                        origin TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        request TEXT NOT NULL
                    );
                    """)
        }
        try migrator.migrate(database)
    }

    /// The logs this witness cosigns, by origin.
    public var origins: [String] { logs.keys.sorted() }

    /// The database's work runs here, off Swift's cooperative threads (each write is a synced
    /// commit), one request at a time.
    private let queue = DispatchQueue(label: "mydata.witness.database")

    private func onQueue<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in queue.async { continuation.resume(with: Result { try work() }) } }
    }

    /// Handles `POST /add-checkpoint` (tlog-witness): the body is an `old <size>` line, up to 63
    /// consistency proof lines, an empty line, and the signed checkpoint.
    public func addCheckpoint(_ body: [UInt8]) async throws -> Answer {
        try await onQueue { try self.addCheckpointNow(body) }
    }

    private func addCheckpointNow(_ body: [UInt8]) throws -> Answer {
        guard body.count <= WitnessLimits.requestBytesMax, let text = String(validating: body, as: UTF8.self),
            let blank = text.range(of: "\n\n")
        else { return .refused(status: 400, reason: "the body is not an old size line, proof lines, an empty line and a checkpoint") }
        var header = text[..<blank.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)[...]
        guard let oldLine = header.popFirst(), oldLine.hasPrefix("old "), let old = UInt64(oldLine.dropFirst(4)),
            String(old) == oldLine.dropFirst(4)
        else { return .refused(status: 400, reason: "the first line must be `old <size>` in decimal without leading zeros") }
        guard header.count <= 63 else { return .refused(status: 400, reason: "more than 63 consistency proof lines") }
        var proof: [MerkleTree.Hash] = []
        for line in header {
            guard let hash = Data(base64Encoded: String(line)), hash.count == MerkleTree.hashBytes else {
                return .refused(status: 400, reason: "a consistency proof line is not a base64 SHA-256 hash")
            }
            proof.append([UInt8](hash))
        }
        guard let note = SignedNote.parse(Array(text[blank.upperBound...].utf8)), let checkpoint = LogCheckpoint(text: note.text) else {
            return .refused(status: 400, reason: "the checkpoint is not a signed c2sp.org/tlog-checkpoint note")
        }
        guard let log = logs[checkpoint.origin] else {
            return .refused(status: 404, reason: "this witness does not witness the log \(checkpoint.origin)")
        }
        guard note.isSigned(by: log) else {
            return .refused(status: 403, reason: "the checkpoint is not signed by the key this witness trusts for \(checkpoint.origin)")
        }
        guard old <= checkpoint.size else {
            return .refused(status: 400, reason: "the old size \(old) is larger than the checkpoint's \(checkpoint.size)")
        }
        guard checkpoint.size <= UInt64(Int64.max) else { return .refused(status: 400, reason: "the checkpoint's size is beyond 2^63 − 1") }
        // What is stored and served: the log's signatures this witness verified, and its own
        // cosignature, computed before the state changes and committed with it.
        let time = UInt64(max(1, clock.now().milliseconds / 1000))
        let cosignature = note.cosignature(name: name, key: key, time: time)
        let verifiedNote = SignedNote(
            text: note.text, signatures: note.signatures.filter { $0.name == log.name && $0.keyID == log.keyID } + [cosignature])
        let answer = try database.write { db -> Answer in
            let row = try Row.fetchOne(db, sql: "SELECT size, root FROM logs WHERE origin = ?", arguments: [checkpoint.origin])
            let size = row.map { UInt64($0["size"] as Int64) } ?? 0
            let root = row.map { [UInt8]($0["root"] as Data) } ?? MerkleTree.emptyRoot
            func refuse(_ status: Int, _ reason: String) throws -> Answer {
                // A validly signed checkpoint that fails a check may be evidence of a log's misbehaviour.
                try db.execute(
                    sql: "INSERT INTO refusals (time_ms, origin, reason, request) VALUES (?, ?, ?, ?)",
                    arguments: [clock.now().milliseconds, checkpoint.origin, reason, text])
                try db.execute(
                    sql: "DELETE FROM refusals WHERE id <= (SELECT max(id) FROM refusals) - ?", arguments: [WitnessLimits.refusalsKept])
                return .refused(status: status, reason: reason)
            }
            guard old == size else { return .conflict(size) }
            if checkpoint.size == 0, checkpoint.root != MerkleTree.emptyRoot {
                return try refuse(422, "a checkpoint of size 0 must have the empty tree's root")
            }
            if old == 0, !proof.isEmpty { return try refuse(422, "a consistency proof from size 0 must be empty") }
            if old == checkpoint.size, root != checkpoint.root {
                return try refuse(422, "the checkpoint has the size \(old) this witness cosigned but another root: the log forked")
            }
            if old > 0, old < checkpoint.size,
                !MerkleTree.verifyConsistency(from: old, to: checkpoint.size, proof: proof, oldRoot: root, newRoot: checkpoint.root)
            {
                return try refuse(422, "the consistency proof from size \(old) does not verify: the log rewrote its history")
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO logs (origin, size, root, note) VALUES (?, ?, ?, ?)",
                arguments: [checkpoint.origin, Int64(checkpoint.size), Data(checkpoint.root), verifiedNote.encoded])
            return .cosigned(cosignature.line)
        }
        if case .refused(let status, let reason) = answer {
            logger.warning("refused a checkpoint", metadata: ["origin": "\(checkpoint.origin)", "status": "\(status)", "reason": "\(reason)"])
        }
        // A cosignature leaves only once the state it is consistent with is committed.
        return answer
    }

    /// The latest checkpoint cosigned for the log whose origin's SHA-256 is `originHash` (lowercase
    /// hex), with the log's signature and this witness's cosignature (the monitoring API).
    public func latestCheckpoint(originHash: String) async throws -> String? {
        guard let origin = logs.keys.first(where: { Self.hex(SHA2.sha256(Array($0.utf8))) == originHash }) else { return nil }
        return try await onQueue {
            try self.database.read { db in try String.fetchOne(db, sql: "SELECT note FROM logs WHERE origin = ?", arguments: [origin]) }
        }
    }

    /// The size this witness last cosigned for `origin` (0 if none).
    public func cosignedSize(origin: String) throws -> UInt64 {
        try database.read { db in
            UInt64(try Int64.fetchOne(db, sql: "SELECT size FROM logs WHERE origin = ?", arguments: [origin]) ?? 0)
        }
    }

    /// The checkpoints this witness refused although the log had signed them, newest first.
    public func refusals(limit: Int = 100) throws -> [(origin: String, reason: String)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT origin, reason FROM refusals ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
                ($0["origin"] as String, $0["reason"] as String)
            }
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}

/// The witness's bounds.
public enum WitnessLimits {
    /// An add-checkpoint body: a note and 63 proof lines fit with room to spare.
    public static let requestBytesMax = Limits.noteBytesMax + 64 * 64
    /// Refused checkpoints kept as evidence.
    public static let refusalsKept = 1000
}

/// A witness that cannot start.
public struct WitnessError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
