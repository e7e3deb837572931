import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRDB
import Ledger
import MyDataWire
import Sodium
import TestSupport
import Testing

/// `mydata witness serve` in its own directory, on a free loopback port; stopped when released.
final class RunningWitness: @unchecked Sendable {
    let dir = TemporaryDirectory("mydata-witness")
    let name: String
    /// Its cosignature verifier key, as `witness init` printed it.
    let vkey: String
    private let logs: [String]
    private(set) var process = Process()
    private(set) var baseURL: URL = URL(fileURLWithPath: "/")

    /// - Parameter logs: the logs to witness, as vkeys or vkey files.
    init(name: String = "witness.example/w1", logs: [String]) throws {
        self.name = name
        self.logs = logs
        let cli = MydataCLI(dataDir: dir.file("unused").path, configDir: dir.file("config").path)
        let created = try cli.run(["witness", "init", "--data-dir", dir.file("w").path, "--name", name])
        guard created.status == 0 else { throw TestFailure("witness init failed: \(created.stderr)") }
        vkey = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try start()
    }

    func start() throws {
        process = Process()
        process.executableURL = MydataCLI.executable
        process.arguments = ["witness", "serve", "--data-dir", dir.file("w").path, "--port", "0"] + logs.flatMap { ["--log", $0] }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try ChildProcesses.start(process)
        baseURL = try ServeOutput.listening(out).url
    }

    func stop() { ChildProcesses.stop(process) }

    deinit { stop() }

    /// `POST /add-checkpoint`: the status and the body.
    func add(_ body: String) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: baseURL.appendingPathComponent("add-checkpoint"))
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The checkpoint it last cosigned for `origin` (`GET /<origin hash>/checkpoint`), or nil.
    func checkpoint(origin: String) async throws -> String? {
        let hash = SHA2.sha256(Array(origin.utf8)).map { String(format: "%02x", $0) }.joined()
        let (data, response) = try await URLSession.shared.data(from: baseURL.appendingPathComponent("\(hash)/checkpoint"))
        return (response as? HTTPURLResponse)?.statusCode == 200 ? String(decoding: data, as: UTF8.self) : nil
    }
}

/// Witnesses (c2sp.org/tlog-witness) with real processes: the witness's refusals, a broker that
/// submits to one, receipts that carry its cosignature, and a broker that rewrites its history
/// after handing out a receipt, caught by everyone who looks.
struct WitnessTests {
    /// A log of `size` entries signed by `key` under `origin`, in memory (a stand-in log the test controls).
    struct TestLog {
        let origin = "test.example/log"
        let key: SigningKey
        var leaves: [MerkleTree.Hash]

        init(size: Int, key: SigningKey, salt: String = "") {
            self.key = key
            leaves = (0..<size).map { MerkleTree.leafHash(SHA2.sha256(Array("\(salt)\($0)".utf8))) }
        }

        var reader: MerkleTree.NodeReader {
            let leaves = self.leaves
            return { height, index in
                func node(_ h: Int, _ i: UInt64) -> MerkleTree.Hash {
                    h == 0 ? leaves[Int(i)] : MerkleTree.nodeHash(node(h - 1, 2 * i), node(h - 1, 2 * i + 1))
                }
                return node(height, index)
            }
        }

        func note(size: Int) async throws -> String {
            let root = try await MerkleTree.root(size: UInt64(size), node: reader)
            return SignedNote.sign(text: LogCheckpoint(origin: origin, size: UInt64(size), root: root).text, name: origin, key: key).encoded
        }

        /// An add-checkpoint body from `old` to `size`.
        func body(old: Int, size: Int) async throws -> String {
            let proof = try await MerkleTree.consistencyProof(from: UInt64(old), to: UInt64(size), node: reader)
            return "old \(old)\n" + proof.map { Data($0).base64EncodedString() + "\n" }.joined() + "\n" + (try await note(size: size))
        }

        var vkey: String { NoteVerifier(name: origin, key: key.verifyingKey).vkey }
    }

    @Test("the log's clients read at most their limit of an answer: a larger one is cut off, not held")
    func boundedFetchStopsAtItsLimit() async throws {
        let broker = try RunningBroker()
        let request = URLRequest(url: broker.baseURL.appendingPathComponent("v1/openapi.yaml"))
        let (status, whole) = try await BoundedFetch.send(request, bytesMax: 10_000_000)
        #expect(status == 200 && whole.count > 20_000)
        await #expect(throws: BoundedFetch.TooLarge.self) { _ = try await BoundedFetch.send(request, bytesMax: whole.count - 1) }
        let (_, exact) = try await BoundedFetch.send(request, bytesMax: whole.count)
        #expect(exact == whole)
    }

    @Test("a witness cosigns only consistent growth, refuses a fork, a rollback and a stranger, and keeps its word across a restart")
    func witnessRefusesInconsistentCheckpoints() async throws {
        let key = try SigningKey()
        var log = TestLog(size: 300, key: key)
        let witness = try RunningWitness(logs: [log.vkey])
        let verifier = try #require(NoteVerifier(vkey: witness.vkey))
        #expect(verifier.kind == .cosignature && verifier.name == "witness.example/w1")

        let first = try await witness.add(try await log.body(old: 0, size: 100))
        #expect(first.status == 200, "\(first.body)")
        let cosigned = try #require(SignedNote.parse(Array((try await log.note(size: 100) + first.body).utf8)))
        #expect(cosigned.isSigned(by: verifier), "the answer is a cosignature of the checkpoint: \(first.body)")
        // Growth from 100 to 300 with a consistency proof: cosigned.
        #expect(try await witness.add(try await log.body(old: 100, size: 300)).status == 200)
        // A stale old size is answered with the size the witness holds.
        let stale = try await witness.add(try await log.body(old: 100, size: 300))
        #expect(stale.status == 409 && stale.body == "300\n", "\(stale)")

        // A fork: the same first 300 entries' place taken by others, grown to 320.
        var forked = TestLog(size: 320, key: key, salt: "fork")
        #expect(try await witness.add(try await forked.body(old: 300, size: 320)).status == 422)
        #expect(try await witness.add(try await forked.body(old: 300, size: 300)).status == 422, "same size, another root")
        // A smaller tree after a larger one: the old size it names is not the witness's.
        #expect(try await witness.add(try await log.body(old: 0, size: 200)).status == 409)
        // A log it does not witness, a checkpoint signed by another key, a malformed body.
        let stranger = TestLog(size: 10, key: try SigningKey())
        var unknown = try await stranger.body(old: 0, size: 10)
        unknown = unknown.replacingOccurrences(of: "test.example/log", with: "other.example/log")
        #expect(try await witness.add(unknown).status == 404)
        let foreignKey = TestLog(size: 310, key: try SigningKey())
        #expect(try await witness.add(try await foreignKey.body(old: 300, size: 310)).status == 403)
        #expect(try await witness.add("old 01\n\n" + (try await log.note(size: 300))).status == 400)
        #expect(try await witness.add("old 300\n\n" + (try await log.note(size: 200))).status == 400, "old larger than the checkpoint")

        // Restarted, it remembers 300 and still refuses the fork; it accepts real growth.
        witness.stop()
        try witness.start()
        #expect(try await witness.add(try await forked.body(old: 300, size: 320)).status == 422)
        log.leaves += (300..<310).map { MerkleTree.leafHash(SHA2.sha256(Array("new\($0)".utf8))) }
        #expect(try await witness.add(try await log.body(old: 300, size: 310)).status == 200)
        let held = try #require(try await witness.checkpoint(origin: log.origin))
        #expect(held.hasPrefix("test.example/log\n310\n") && held.contains("— witness.example/w1 ") && held.contains("— test.example/log "))
        forked.leaves = []
    }

    /// A person of a remote broker: their own config directory, registered.
    struct Person {
        let cli: MydataCLI
        let broker: RunningBroker
        /// The broker's URL now (a restart moves it to another port).
        var remote: [String: String] { ["MYDATA_BROKER": broker.baseURL.absoluteString] }

        init(_ broker: RunningBroker, work: TemporaryDirectory, name: String) throws {
            cli = MydataCLI(dataDir: work.file("none").path, configDir: work.file(name).path)
            self.broker = broker
            #expect(try cli.run(["key", "init"], environment: remote).status == 0)
            let registered = try cli.run(["key", "register"], environment: remote)
            #expect(registered.status == 0, "\(registered.stderr)")
        }

        func run(_ args: [String]) throws -> MydataCLI.Output { try cli.run(args, environment: remote) }

        /// Grants the open request of `recipient` and returns the consent id.
        func grant(_ recipient: String) throws -> String {
            let requests = try #require(try run(["requests", "--json"]).json() as? [[String: Any]])
            let request = try #require(requests.map(EndToEndTests.request).first { $0["recipient"] as? String == recipient }?["id"] as? String)
            let granted = try run(["grant", request, "--yes"])
            #expect(granted.status == 0, "\(granted.stderr)")
            let consents = try #require(try run(["consents", "--json"]).json() as? [[String: Any]])
            return try #require(
                consents.map(EndToEndTests.consent).first { $0["recipient"] as? String == recipient && $0["revokedAt"] == nil }?["id"] as? String)
        }
    }

    /// A broker whose checkpoints a witness cosigns.
    static func witnessedBroker() throws -> (RunningBroker, RunningWitness) {
        var started: RunningWitness?
        let broker = try RunningBroker { dataDir in
            let witness = try RunningWitness(logs: [dataDir + "/keys/broker.vkey"])
            started = witness
            return ["--witness", "\(witness.baseURL.absoluteString)=\(witness.vkey)"]
        }
        return (broker, try #require(started))
    }

    func metrics(_ broker: RunningBroker) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: broker.baseURL.appendingPathComponent("metrics"))
        return String(decoding: data, as: UTF8.self)
    }

    @Test("a receipt from a witnessed broker verifies offline with the vkey and the witness's cosignature; a witness that is down delays nothing")
    func receiptCarriesTheWitnessCosignature() async throws {
        let (broker, witness) = try Self.witnessedBroker()
        let work = TemporaryDirectory("mydata-witnessed")
        let person = try Person(broker, work: work, name: "person")
        let consent = try person.grant("safedrive-insurance")
        let receipt = work.file("receipt.json").path
        #expect(try person.run(["receipt", consent, "-o", receipt]).status == 0)
        try Data((witness.vkey + "\n").utf8).write(to: work.file("witness.vkey"))
        let keys = [
            "--broker-key", broker.dir.file("data/keys/broker.pub").path, "--log-vkey", broker.dir.file("data/keys/broker.vkey").path,
        ]
        let verified = try person.cli.run(["receipt", "verify", receipt, "--witness", work.file("witness.vkey").path] + keys)
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("cosigned by witness.example/w1"), "\(verified.stdout)")
        // Online too: the broker's log today still extends the receipt's checkpoint.
        let online = try person.run(["receipt", "verify", receipt, "--witness", witness.vkey] + keys)
        #expect(online.status == 0 && online.stdout.contains("is a consistent extension of it"), "\(online.stdout)\(online.stderr)")
        // Served with the cosignature; the person's CLI checks the log on demand and remembers it.
        let (served, _) = try await URLSession.shared.data(from: broker.baseURL.appendingPathComponent("v1/log/checkpoint"))
        #expect(String(decoding: served, as: UTF8.self).contains("— witness.example/w1 "))
        let check = try person.run(["log", "check", "--witness", witness.vkey])
        #expect(check.status == 0 && check.stdout.contains("cosigned by witness.example/w1"), "\(check.stdout)\(check.stderr)")
        #expect(try await metrics(broker).contains(#"mydata_witness_submissions_total{witness="witness.example/w1",result="cosigned"}"#))

        // The witness goes down: grants and receipts go on; only its cosignature is missing.
        witness.stop()
        let second = try person.grant("fixit-ai")
        let unwitnessed = work.file("unwitnessed.json").path
        #expect(try person.run(["receipt", second, "-o", unwitnessed]).status == 0)
        #expect(try person.cli.run(["receipt", "verify", unwitnessed] + keys).status == 0)
        let quorum = try person.cli.run(["receipt", "verify", unwitnessed, "--witness", witness.vkey] + keys)
        #expect(quorum.status == 4 && quorum.stderr.contains("fewer than the quorum of 1"), "\(quorum.stderr)")
        var failed = false
        for _ in 0..<400 where !failed {
            failed = try await metrics(broker).contains(#"mydata_witness_submissions_total{witness="witness.example/w1",result="failed"}"#)
            if !failed { try await Task.sleep(nanoseconds: 25_000_000) }
        }
        #expect(failed, "the failed submissions are counted in /metrics")
    }

    @Test(
        "a broker that rewrites its history after handing out a receipt is caught by the person's CLI, receipt verify, the witness and admin verify"
    )
    func rewrittenHistoryIsCaught() async throws {
        let (broker, witness) = try Self.witnessedBroker()
        let work = TemporaryDirectory("mydata-rewrite")
        let person = try Person(broker, work: work, name: "person")
        let consent = try person.grant("safedrive-insurance")
        let receiptFile = work.file("receipt.json").path
        #expect(try person.run(["receipt", consent, "-o", receiptFile]).status == 0)
        let receipt = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: work.file("receipt.json"))) as? [String: Any])
        let grantSequence = try #require(((receipt["receipt"] as? [String: Any])?["evidence"] as? [String: Any])?["ledgerSequence"] as? Int)
        #expect(try person.run(["log", "check"]).status == 0)
        let vkey = try String(contentsOf: broker.dir.file("data/keys/broker.vkey"), encoding: .utf8)
        let origin = String(vkey.prefix { $0 != "+" })
        let witnessed = try #require(try await witness.checkpoint(origin: origin), "the witness cosigned the log before the rewrite")
        try Data(witnessed.utf8).write(to: work.file("witnessed.checkpoint"))

        // The operator, holding the broker's key, cuts the ledger back to before the grant and
        // lets it grow again with other events: a history in which the grant never happened.
        broker.stop()
        let db = try DatabaseQueue(path: broker.dir.file("data/ledger.sqlite").path)
        try await db.write { db in
            try db.execute(sql: "DELETE FROM events WHERE seq >= ?", arguments: [grantSequence])
            try db.execute(sql: "DELETE FROM checkpoints WHERE seq >= ?", arguments: [grantSequence])
            try db.execute(sql: "DELETE FROM log_checkpoints WHERE size >= ?", arguments: [grantSequence])
        }
        try db.close()
        #expect(try broker.cli.run(["admin", "rebuild"]).status == 0)
        #expect(
            try broker.cli.run(["admin", "verify"]).status == 0, "the cut ledger is consistent with itself: only outside evidence shows the rewrite")
        try broker.restart()
        let newcomer = try Person(broker, work: work, name: "newcomer")
        _ = try newcomer.grant("safedrive-insurance")
        _ = try newcomer.grant("fixit-ai")

        // The person's CLI: any command stops with exit 9 and both checkpoints.
        let consents = try person.run(["consents"])
        #expect(consents.status == 9, "\(consents.stdout)\(consents.stderr)")
        #expect(consents.stderr.contains("inconsistent") && consents.stderr.contains("The checkpoint you verified before:"), "\(consents.stderr)")
        // The receipt still verifies offline, but not against the broker's log today.
        let keys = ["--broker-key", broker.dir.file("data/keys/broker.pub").path]
        #expect(try person.cli.run(["receipt", "verify", receiptFile] + keys).status == 0)
        let online = try person.run(["receipt", "verify", receiptFile] + keys)
        #expect(online.status == 9, "\(online.stdout)\(online.stderr)")
        // The witness refuses to cosign the new history: its checkpoint stays the one before.
        var refused = false
        for _ in 0..<600 where !refused {
            refused = broker.log.contains("a witness did not cosign") && broker.log.contains("422")
            if !refused { try await Task.sleep(nanoseconds: 25_000_000) }
        }
        #expect(refused, "the broker's log names the witness's refusal: \(broker.log)")
        #expect(try await witness.checkpoint(origin: origin) == witnessed)
        // An auditor with the witness's checkpoint: admin verify names the rewrite.
        broker.stop()
        let audit = try broker.cli.run(["admin", "verify", "--log-checkpoint", work.file("witnessed.checkpoint").path])
        #expect(audit.status == 4, "\(audit.stdout)\(audit.stderr)")
        #expect(audit.stdout.contains("rewritten") || audit.stdout.contains("were cut"), "\(audit.stdout)")
        // The receipt's own proof is outside evidence too.
        let proofAudit = work.file("grant.tlog-proof")
        let proof = try #require(((receipt["receipt"] as? [String: Any])?["evidence"] as? [String: Any])?["logProof"] as? String)
        try Data(proof.utf8).write(to: proofAudit)
        #expect(try broker.cli.run(["admin", "verify", "--log-checkpoint", proofAudit.path]).status == 4)
    }
}
