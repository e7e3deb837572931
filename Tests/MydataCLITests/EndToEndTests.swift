import Foundation
import GRDB
import Ledger
import Sodium
import TestSupport
import Testing

/// The built `mydata` binary on a real data directory: what a new user types.
struct EndToEndTests {
    let dir = TemporaryDirectory("mydata-cli")
    var cli: MydataCLI { MydataCLI(dataDir: dir.file("data").path, configDir: dir.file("config").path) }

    func initialised() throws -> MydataCLI {
        let cli = self.cli
        let initRun = try cli.run(["admin", "init"])
        #expect(initRun.status == 0, "\(initRun.stderr)")
        #expect(initRun.stdout.contains("mydata requests"), "init prints what to type next")
        #expect(try cli.run(["key", "init"]).status == 0)
        return cli
    }

    /// The request of an item `requests --json` prints (the API's `RequestItem`).
    static func request(_ item: [String: Any]) -> [String: Any] { item["request"] as? [String: Any] ?? [:] }
    /// The consent of an item `consents --json` prints (the API's `ConsentItem`).
    static func consent(_ item: [String: Any]) -> [String: Any] { item["consent"] as? [String: Any] ?? [:] }

    func firstRequest(_ cli: MydataCLI, recipient: String = "safedrive-insurance") throws -> String {
        let requests = try #require(try cli.run(["requests", "--json"]).json() as? [[String: Any]])
        return try #require(requests.map(Self.request).first { $0["recipient"] as? String == recipient }?["id"] as? String)
    }

    @Test("global options work before the subcommand as after it: --json, --data-dir, --broker")
    func globalOptionsBeforeTheSubcommand() throws {
        let cli = try initialised()
        let after = try cli.run(["requests", "--json"])
        let before = try cli.run(["--json", "requests"])
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.stdout == after.stdout)
        let elsewhere = dir.file("elsewhere").path
        let verify = try cli.run(["--data-dir=\(elsewhere)", "admin", "verify"])
        #expect(verify.status != 0 && verify.stderr.contains(elsewhere), "--data-dir=… before the subcommand is the one used: \(verify.stderr)")
        // A broker that is not there: the error names the URL given before the subcommand.
        let remote = try cli.run(["--broker", "http://127.0.0.1:9", "--json", "requests"])
        #expect(remote.status != 0 && !remote.stderr.contains("Unknown option"), "\(remote.stderr)")
        #expect(try cli.run(["--no-such-option", "requests"]).stderr.contains("no-such-option"), "an unknown option is still refused")
        // Results as JSON values of their kind, as the API gives them: numbers and booleans, not strings.
        let rebuilt = try #require(try cli.run(["--json", "admin", "rebuild"]).json() as? [String: Any])
        #expect(rebuilt["identical"] as? Bool == true && rebuilt["events"] is Int, "\(rebuilt)")
    }

    @Test("a new user sees demo offers, grants one, gets a verifiable receipt, revokes, and the ledger verifies")
    func demoFlow() throws {
        let cli = try initialised()
        let requests = try #require(try cli.run(["requests", "--json"]).json() as? [[String: Any]])
        #expect(requests.count >= 4)
        #expect(try cli.run(["requests"]).stdout.contains("safedrive-insurance"))
        let requestID = try firstRequest(cli)

        let grant = try cli.run(["grant", requestID, "--yes"])
        #expect(grant.status == 0, "\(grant.stderr)")
        #expect(grant.stderr.contains("asks for your vehicle data"), "the terms are shown in plain words")
        let consents = try #require(try cli.run(["consents", "--json"]).json() as? [[String: Any]])
        #expect(consents.count == 1)
        let consentID = try #require(Self.consent(consents[0])["id"] as? String)
        #expect(consents[0]["status"] as? String == "active")

        let receiptFile = dir.file("receipt.json").path
        #expect(try cli.run(["receipt", consentID, "-o", receiptFile]).status == 0)
        let verified = try cli.run(["receipt", "verify", receiptFile, "--broker-key", dir.file("data/keys/broker.pub").path])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("Valid receipt"))
        #expect(verified.stdout.contains("The grant is in the log mydata-broker/"), "the receipt carries a log proof: \(verified.stdout)")
        let unwitnessed = try cli.run(["receipt", "verify", receiptFile, "--witness", Self.someWitnessVKey])
        #expect(unwitnessed.status == 4 && unwitnessed.stderr.contains("fewer than the quorum of 1"), "\(unwitnessed.stderr)")
        let pristine = try String(contentsOfFile: receiptFile, encoding: .utf8)

        var text = try String(contentsOfFile: receiptFile, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"retentionDays\" : 90", with: "\"retentionDays\" : 9000")
        try text.write(toFile: receiptFile, atomically: true, encoding: .utf8)
        #expect(try cli.run(["receipt", "verify", receiptFile]).status == 4, "an edited receipt fails with exit 4")

        #expect(try cli.run(["revoke", consentID]).status == 0)
        let again = try cli.run(["revoke", consentID])
        #expect(again.status == 3)
        #expect(again.stderr.contains("consentAlreadyRevoked"))
        let after = try #require(try cli.run(["consents", "--json"]).json() as? [[String: Any]])
        #expect(after[0]["status"] as? String == "revoked")
        // The receipt made now proves the revocation too; the one made before still proves the grant.
        #expect(try cli.run(["receipt", consentID, "-o", receiptFile]).status == 0)
        let revoked = try cli.run(["receipt", "verify", receiptFile])
        #expect(revoked.status == 0 && revoked.stdout.contains("The revocation is in it too"), "\(revoked.stdout)\(revoked.stderr)")
        try pristine.write(toFile: receiptFile, atomically: true, encoding: .utf8)
        #expect(try cli.run(["receipt", "verify", receiptFile]).status == 0)

        let verify = try cli.run(["admin", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("Ledger intact"))
        let rebuild = try cli.run(["admin", "rebuild"])
        #expect(rebuild.stdout.contains("identical"))
    }

    /// A witness key no test broker is cosigned by.
    static let someWitnessVKey = NoteVerifier(name: "witness.example/w1", key: try! SigningKey().verifyingKey, kind: .cosignature).vkey

    @Test("the log's origin is set once at admin init: the checkpoints and the vkey carry it, and it never changes")
    func logOriginFixedAtInit() throws {
        let cli = self.cli
        let malformed = try cli.run(["admin", "init", "--log-origin", "broker example"])
        #expect(malformed.status == 64 && malformed.stderr.contains("cannot name a log"), "\(malformed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("data/keys").path), "a refused origin writes nothing")
        #expect(try cli.run(["admin", "init", "--log-origin", "broker.example/mydata"]).status == 0)
        let vkey = try String(contentsOfFile: dir.file("data/keys/broker.vkey").path, encoding: .utf8)
        #expect(vkey.hasPrefix("broker.example/mydata+"))
        #expect(try cli.run(["admin", "log", "vkey"]).stdout == vkey)
        let other = try cli.run(["admin", "init", "--log-origin", "broker.example/other"])
        #expect(other.status == 3 && other.stderr.contains("never changes"), "\(other.stderr)")
        #expect(try cli.run(["admin", "init", "--log-origin", "broker.example/mydata"]).status == 0)
        #expect(try cli.run(["key", "init"]).status == 0)
        #expect(try cli.run(["grant", try firstRequest(cli), "--yes"]).status == 0)
        let consents = try #require(try cli.run(["consents", "--json"]).json() as? [[String: Any]])
        let consentID = try #require(Self.consent(consents[0])["id"] as? String)
        let receiptFile = dir.file("receipt.json").path
        #expect(try cli.run(["receipt", consentID, "-o", receiptFile]).status == 0)
        let verified = try cli.run(["receipt", "verify", receiptFile])
        #expect(verified.stdout.contains("The grant is in the log broker.example/mydata "), "\(verified.stdout)\(verified.stderr)")
        let verify = try cli.run(["admin", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("without --yes and without a terminal, grant asks for nothing and signs nothing")
    func grantNeedsConfirmation() throws {
        let cli = try initialised()
        let requestID = try firstRequest(cli)
        let grant = try cli.run(["grant", requestID], stdin: "yes\n")
        #expect(grant.status == 7)
        #expect(grant.stderr.contains("--yes"))
        #expect(try #require(try cli.run(["consents", "--json"]).json() as? [Any]).isEmpty)
    }

    @Test("sensitive health data needs --confirm-sensitive")
    func sensitiveNeedsConfirmation() throws {
        let cli = try initialised()
        let requestID = try firstRequest(cli, recipient: "nutrilab")
        let refused = try cli.run(["grant", requestID, "--yes"])
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("sensitiveNotConfirmed"))
        #expect(try cli.run(["grant", requestID, "--yes", "--confirm-sensitive"]).status == 0)
    }

    @Test("revoke --all revokes every active consent at once")
    func revokeAll() throws {
        let cli = try initialised()
        for recipient in ["safedrive-insurance", "fixit-ai"] {
            #expect(try cli.run(["grant", try firstRequest(cli, recipient: recipient), "--yes"]).status == 0)
        }
        #expect(try cli.run(["revoke", "--all"]).status == 0)
        let consents = try #require(try cli.run(["consents", "--json"]).json() as? [[String: Any]])
        #expect(consents.count == 2)
        #expect(consents.allSatisfy { $0["status"] as? String == "revoked" })
        #expect(try cli.run(["revoke"]).status == 64, "naming nothing is a usage error")
    }

    @Test("errors say what to do and use the documented exit codes")
    func errorsAndExitCodes() throws {
        let fresh = cli
        let noDir = try fresh.run(["admin", "verify"])
        #expect(noDir.status == 6)
        #expect(noDir.stderr.contains("mydata admin init"))
        let noKey = try fresh.run(["requests"])
        #expect(noKey.status == 5)
        #expect(noKey.stderr.contains("mydata key init"))

        let cli = try initialised()
        let unknown = try cli.run(["grant", "req_nope", "--yes"])
        #expect(unknown.status == 3)
        #expect(unknown.stderr.contains("requestNotFound"))
        var wrong = cli
        wrong.passphrase = "not the passphrase"
        let badPass = try wrong.run(["grant", try firstRequest(cli), "--yes"])
        #expect(badPass.status == 5)
        #expect(badPass.stderr.contains("wrong passphrase"))
        #expect(try #require(try cli.run(["consents", "--json"]).json() as? [Any]).isEmpty, "nothing was granted")

        let policies = dir.file("bad-policies")
        try FileManager.default.copyItem(at: Repository.policies, to: policies)
        let vehicle = policies.appendingPathComponent("categories/vehicle.yaml")
        try (try String(contentsOf: vehicle, encoding: .utf8)).replacingOccurrences(of: "maxConsentDays: 365", with: "maxConsentDays: 999")
            .write(to: vehicle, atomically: true, encoding: .utf8)
        let badPolicy = try cli.run(["admin", "policy", "activate", "--policies", policies.path])
        #expect(badPolicy.status == 1)
        #expect(badPolicy.stderr.contains("categories/vehicle.yaml:5"))
    }

    @Test("every listing prints JSON with --json, and every command has --help")
    func jsonAndHelp() throws {
        let cli = try initialised()
        for listing in [["requests"], ["consents"], ["access-log"], ["devices"], ["admin", "party", "list"]] {
            let run = try cli.run(listing + ["--json"])
            #expect(run.status == 0, "\(listing): \(run.stderr)")
            #expect((try? run.json()) != nil, "\(listing) prints JSON")
        }
        for command in [
            [], ["key", "init"], ["requests"], ["grant"], ["consents"], ["revoke"], ["receipt"], ["receipt", "verify"],
            ["access-log"], ["devices", "confirm"], ["admin", "init"], ["admin", "verify"], ["admin", "rebuild"],
            ["admin", "party", "add"], ["admin", "request", "create"], ["admin", "policy", "activate"],
        ] {
            let help = try cli.run(command + ["--help"])
            #expect(help.status == 0, "\(command) --help")
            #expect(help.stdout.contains("USAGE"), "\(command) --help")
        }
    }

    @Test("devices attested by a maker are listed, and confirmed by the person")
    func devices() throws {
        let cli = try initialised()
        let subject = try #require(try cli.run(["key", "show", "--json"]).json() as? [String: String])["subject"]!
        // The person's key is registered with their first signed action.
        #expect(try cli.run(["grant", try firstRequest(cli), "--yes"]).status == 0)
        #expect(
            try cli.run(["admin", "device", "attest", "--manufacturer", "hanbit-motors", "--device", "car-7f3a", "--subject", subject]).status == 0)
        #expect(try cli.run(["devices"]).stdout.contains("car-7f3a"))
        #expect(try cli.run(["devices", "confirm", "hanbit-motors", "car-7f3a"]).status == 0)
        let listed = try #require(try cli.run(["devices", "--json"]).json() as? [[String: Any]])
        #expect(listed.first?["confirmedAt"] is Int, "a time in milliseconds, as the API gives it: \(listed)")
        #expect(try cli.run(["devices", "confirm", "hanbit-motors", "car-7f3a"]).status == 3)
    }

    @Test("a demo request names a standard contract: grant shows its key clauses, the receipt carries its hash, contract show prints that text")
    func standardContract() throws {
        let cli = try initialised()
        let requestID = try firstRequest(cli)
        let grant = try cli.run(["grant", requestID, "--yes"])
        #expect(grant.status == 0, "\(grant.stderr)")
        #expect(grant.stderr.contains("Contract:   Data provision to a recipient (provision)"), "\(grant.stderr)")
        #expect(grant.stderr.contains("  - Deletion on revocation: "), "the key clauses in plain words: \(grant.stderr)")
        let consents = try #require(try cli.run(["consents", "--json"]).json() as? [[String: Any]])
        let consentID = try #require(Self.consent(consents[0])["id"] as? String)
        let receiptFile = dir.file("receipt.json").path
        #expect(try cli.run(["receipt", consentID, "-o", receiptFile]).status == 0)
        let receipt = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: receiptFile))) as? [String: Any])
        let contract = try #require((receipt["receipt"] as? [String: Any])?["contract"] as? [String: Any])
        let hash = try #require(contract["hash"] as? String)
        #expect(grant.stderr.contains("mydata contract show \(hash)"))

        let shown = try #require(try cli.run(["contract", "show", hash, "--json"]).json() as? [String: Any])
        let text = try #require(shown["text"] as? String)
        #expect(
            BLAKE2b.hash256(Array(text.utf8)).map { String(format: "%02x", $0) }.joined() == hash,
            "the text printed is the text whose hash the person signed")
        #expect(text.hasPrefix("MyData standard contract: Data provision to a recipient (provision)\nRecipient: safedrive-insurance\n"))
        let plain = try cli.run(["contract", "show", hash])
        #expect(plain.status == 0 && plain.stdout.hasPrefix(text), "\(plain.stderr)")
        let unknown = try cli.run(["contract", "show", String(repeating: "ab", count: 32)])
        #expect(unknown.status == 3 && unknown.stderr.contains("no consent of yours"), "\(unknown.stderr)")
    }
}

/// A checkpoint kept outside the database catches what the database's own checkpoints cannot.
struct TrustedCheckpointEndToEndTests {
    @Test("a checkpoint exported with admin checkpoint catches a cut ledger whose checkpoints were deleted")
    func exportedCheckpoint() throws {
        let (dir, cli, k) = try TamperEndToEndTests.prepared()
        let file = dir.file("kept-checkpoint.json").path
        #expect(try cli.run(["admin", "checkpoint", "-o", file]).status == 0)
        #expect(try cli.run(["admin", "verify", "--trusted-checkpoint", file]).status == 0)
        let db = try DatabaseQueue(path: dir.file("data/ledger.sqlite").path)
        // The log's signed checkpoints (transparency.md) would name the longer tree: a careful forger deletes them too…
        try db.write { try $0.execute(sql: "DELETE FROM events WHERE seq >= \(k); DELETE FROM checkpoints; DELETE FROM log_checkpoints;") }
        // …and rebuilds the projections and the log's tiles, so that they agree with the cut ledger.
        #expect(try cli.run(["admin", "rebuild"]).status == 0)
        #expect(try cli.run(["admin", "verify"]).status == 0, "without an outside checkpoint the cut cannot be seen")
        let run = try cli.run(["admin", "verify", "--trusted-checkpoint", file, "--json"])
        #expect(run.status == 4)
        let report = try #require(try run.json() as? [String: Any])
        #expect(report["problem"] as? String == "trusted checkpoint mismatch")
        let broken = dir.file("broken.json").path
        try "{}".write(toFile: broken, atomically: true, encoding: .utf8)
        let bad = try cli.run(["admin", "verify", "--trusted-checkpoint", broken])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("not a checkpoint file"))
    }
}

/// `mydata admin verify` on a data directory whose SQLite file was changed directly.
struct TamperEndToEndTests {
    static func prepared() throws -> (TemporaryDirectory, MydataCLI, UInt64) {
        let dir = TemporaryDirectory("mydata-tamper")
        let cli = MydataCLI(dataDir: dir.file("data").path, configDir: dir.file("config").path)
        _ = try cli.run(["admin", "init"])
        _ = try cli.run(["key", "init"])
        let requests = try #require(try cli.run(["requests", "--json"]).json() as? [[String: Any]])
        for r in requests.prefix(3).map(EndToEndTests.request) where r["recipient"] as? String != "nutrilab" {
            _ = try cli.run(["grant", r["id"] as! String, "--yes"])
        }
        let grant = try DatabaseQueue(path: dir.file("data/ledger.sqlite").path).read { db in
            try Int64.fetchOne(db, sql: "SELECT seq FROM events WHERE type = 'consent.granted' ORDER BY seq LIMIT 1")
        }
        return (dir, cli, UInt64(try #require(grant)))
    }

    struct Tamper: Sendable, CustomTestStringConvertible {
        let name: String
        let problem: String
        let sql: @Sendable (UInt64, UInt64) -> String
        let expectedSequence: @Sendable (UInt64, UInt64) -> UInt64
        var testDescription: String { name }
    }

    static let cases: [Tamper] = [
        Tamper(
            name: "a changed payload byte", problem: "payload changed",
            sql: { k, _ in
                #"UPDATE events SET payload = CAST(replace(CAST(payload AS TEXT), '"consentID":"con_', '"consentID":"con_0') AS BLOB) WHERE seq = \#(k)"#
            },
            expectedSequence: { k, _ in k }),
        Tamper(
            name: "a deleted row", problem: "event missing",
            sql: { k, _ in "DELETE FROM events WHERE seq = \(k)" }, expectedSequence: { k, _ in k }),
        Tamper(
            name: "two rows swapped", problem: "order changed",
            sql: { k, _ in
                "UPDATE events SET seq = -1 WHERE seq = \(k); UPDATE events SET seq = \(k) WHERE seq = \(k + 1); UPDATE events SET seq = \(k + 1) WHERE seq = -1;"
            },
            expectedSequence: { k, _ in k }),
        Tamper(
            name: "the tail cut", problem: "tail truncated",
            sql: { _, head in "DELETE FROM events WHERE seq > \(head - 2)" }, expectedSequence: { _, head in head - 1 }),
    ]

    @Test("verify exits 4 and names the first bad event", arguments: cases)
    func tamperIsNamed(_ t: Tamper) throws {
        let (dir, cli, k) = try Self.prepared()
        let db = try DatabaseQueue(path: dir.file("data/ledger.sqlite").path)
        let head = UInt64(try db.read { try Int64.fetchOne($0, sql: "SELECT max(seq) FROM events") ?? 0 })
        try db.write { try $0.execute(sql: t.sql(k, head)) }
        let run = try cli.run(["admin", "verify", "--json"])
        #expect(run.status == 4, "\(run.stdout)\(run.stderr)")
        let report = try #require(try run.json() as? [String: Any])
        #expect(report["ok"] as? Bool == false)
        #expect((report["firstBadEvent"] as? NSNumber)?.uint64Value == t.expectedSequence(k, head))
        #expect(report["problem"] as? String == t.problem)
    }
}
