import Foundation
import GRDB
import TestSupport
import Testing

/// A lost ledger is never taken for an empty one: every command refuses a ledger that is missing,
/// emptied or another broker's, with exit code 8, and changes nothing.
struct LedgerIdentityTests {
    static let ledgerIdentityExit: Int32 = 8

    let dir = TemporaryDirectory("mydata-identity")
    var cli: MydataCLI { MydataCLI(dataDir: dir.file("data").path, configDir: dir.file("config").path) }
    var ledger: URL { dir.file("data/ledger.sqlite") }

    func initialised() throws -> MydataCLI {
        let run = try cli.run(["admin", "init"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.file("data/ledger.id").path), "admin init records the ledger's identity")
        #expect(try cli.run(["key", "init"]).status == 0)
        return cli
    }

    /// Every way the operator or a person meets the ledger: each must stop with exit 8.
    static let commands: [[String]] = [
        ["admin", "verify"], ["admin", "party", "add", "--id", "late-startup", "--role", "recipient", "--name", "Late"],
        ["requests"], ["admin", "accounts"], ["serve", "--port", "0", "--trust-store", "none"], ["admin", "rebuild"],
    ]

    private func expectRefused(_ cli: MydataCLI, mentioning words: String) throws {
        for command in Self.commands {
            let run = try cli.run(command)
            #expect(run.status == Self.ledgerIdentityExit, "\(command): \(run.status) \(run.stdout) \(run.stderr)")
            #expect(run.stderr.contains(words), "\(command): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")
        }
    }

    @Test("a removed ledger file is refused by every command, and none of them creates a new one")
    func removedLedger() throws {
        let cli = try initialised()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger.path + suffix) }
        try expectRefused(cli, mentioning: "is missing")
        #expect(!FileManager.default.fileExists(atPath: ledger.path), "no command created a ledger")
    }

    @Test("admin migrate says an initialised store is up to date, and refuses a lost ledger instead of creating one")
    func migrate() throws {
        let cli = try initialised()
        let upToDate = try cli.run(["admin", "migrate"])
        #expect(upToDate.status == 0, "\(upToDate.stderr)")
        #expect(upToDate.stdout == "SQLite store at \(ledger.path) was up to date.\n", "\(upToDate.stdout)")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger.path + suffix) }
        let lost = try cli.run(["admin", "migrate"])
        #expect(lost.status == Self.ledgerIdentityExit, "\(lost.stdout) \(lost.stderr)")
        #expect(lost.stderr.contains("is missing"), "\(lost.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ledger.path), "migrate created no ledger")
    }

    @Test("a ledger truncated to nothing is refused, and stays as it was")
    func truncatedLedger() throws {
        let cli = try initialised()
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger.path + suffix) }
        try Data().write(to: ledger)
        try expectRefused(cli, mentioning: "is empty (0 bytes)")
        #expect(try Data(contentsOf: ledger).isEmpty, "nothing was written into it")
    }

    @Test("a ledger whose events were all deleted is refused as lost, not served as empty")
    func emptiedLedger() throws {
        let cli = try initialised()
        #expect(try cli.run(["admin", "rebuild"]).status == 0)
        try DatabaseQueue(path: ledger.path).write { db in try db.execute(sql: "DELETE FROM events") }
        try expectRefused(cli, mentioning: "holds no events")
    }

    @Test("another broker's ledger copied into the directory is refused")
    func anotherLedger() throws {
        let cli = try initialised()
        let other = TemporaryDirectory("mydata-other")
        let otherCLI = MydataCLI(dataDir: other.file("data").path, configDir: other.file("config").path)
        #expect(try otherCLI.run(["admin", "init"]).status == 0)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger.path + suffix) }
        try FileManager.default.copyItem(atPath: other.file("data/ledger.sqlite").path, toPath: ledger.path)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: other.file("data/ledger.sqlite").path + suffix) {
            try FileManager.default.copyItem(atPath: other.file("data/ledger.sqlite").path + suffix, toPath: ledger.path + suffix)
        }
        try expectRefused(cli, mentioning: "is not this data directory's")
    }

    @Test("admin init does not start a new ledger where the directory remembers a lost one")
    func initRefusesToReplaceALostLedger() throws {
        let cli = try initialised()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger.path + suffix) }
        let run = try cli.run(["admin", "init"])
        #expect(run.status == Self.ledgerIdentityExit, "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ledger.path))
    }

    @Test("verify of a lost ledger names the head a trusted checkpoint expects")
    func verifyNamesTheExpectedHead() throws {
        let cli = try initialised()
        let checkpoint = dir.file("cp.json").path
        #expect(try cli.run(["admin", "checkpoint", "-o", checkpoint]).status == 0)
        let head = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: checkpoint))) as? [String: Any])
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger.path + suffix) }
        let run = try cli.run(["admin", "verify", "--trusted-checkpoint", checkpoint])
        #expect(run.status == Self.ledgerIdentityExit)
        #expect(run.stderr.contains("at least \(head["sequence"].map { "\($0)" } ?? "?") events"), "\(run.stderr)")
    }

    @Test("a data directory made before ledger.id existed learns it from its own ledger")
    func olderDirectoryAdoptsItsLedger() throws {
        let cli = try initialised()
        try FileManager.default.removeItem(at: dir.file("data/ledger.id"))
        #expect(try cli.run(["admin", "accounts"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.file("data/ledger.id").path))
        #expect(try cli.run(["admin", "verify"]).status == 0)
    }
}
