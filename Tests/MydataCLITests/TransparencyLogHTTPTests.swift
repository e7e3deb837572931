import Foundation
import GRDB
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Broker
import Consent
import Ledger
import MyDataClient
import Sodium
import TestSupport
import Testing

/// The transparency log as `mydata serve` publishes it, checked by a client written from the C2SP
/// specifications alone (`Clients/log_client.py`: PyNaCl and hashlib, none of the broker's code).
struct TransparencyLogHTTPTests {
    static let pythonReady = PythonModules.available(["nacl", "requests"])

    @Test(
        "the checkpoint and tiles served over HTTP verify with a client written from the C2SP specifications alone",
        .enabled(if: pythonReady, "needs Python with pynacl and requests (pip install them; .ci/run does)"))
    func independentLogClient() async throws {
        let broker = try RunningBroker()
        // More than a tile: 300 people register over signed HTTP, one event each, so the tree has a
        // full level-0 tile and a level-1 tile.
        let head = try await broker.ledgerHead()
        for _ in 0..<300 {
            let person = try Identity.generateSubject()
            let client = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
            let body = try HTTPAPITests.submit([try person.sign(ConsentDrafts.registration(of: person), at: .now())])
            #expect(try await client.send("POST", "/v1/subjects", body: body).status == 201)
        }
        #expect(try await broker.ledgerHead() == head + 300)
        // The broker signs a checkpoint of them on its next maintenance tick (every 10 s).
        var size: UInt64 = 0
        for _ in 0..<600 {
            let (data, response) = try await URLSession.shared.data(from: broker.baseURL.appendingPathComponent("v1/log/checkpoint"))
            if (response as? HTTPURLResponse)?.statusCode == 200 {
                size = String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst().first.flatMap { UInt64($0) } ?? 0
            }
            if size >= head + 300 { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(size >= head + 300 && size > 256, "no checkpoint of more than 256 events was served")
        // The vkey as the operator publishes it: `mydata admin log vkey`, and the file admin init wrote.
        let printed = try broker.cli.run(["admin", "log", "vkey"])
        #expect(printed.status == 0, "\(printed.stderr)")
        let vkey = printed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let key = try broker.brokerKey
        #expect(vkey == NoteVerifier(name: LogOrigin.derived(from: key), key: key).vkey)
        #expect(try String(contentsOf: broker.dir.file("data/keys/broker.vkey"), encoding: .utf8) == vkey + "\n")
        let (status, text) = try PythonClient.run("log_client.py", [broker.baseURL.absoluteString, vkey])
        #expect(status == 0, "\(text)")
        #expect(text.contains("log client: ok"), "\(text)")
        // An auditor's monitor rebuilds the tree from the served tiles and checks the root.
        let auditor = MydataCLI(dataDir: broker.dir.file("none").path, configDir: broker.dir.file("auditor").path)
        let monitored = try auditor.run(["log", "monitor", "--broker", broker.baseURL.absoluteString, "--once"])
        #expect(monitored.status == 0 && monitored.stdout.contains("entries, every tile verified"), "\(monitored.stdout)\(monitored.stderr)")
        // A level-1 tile changed behind the broker's back: the monitor names it (exit 9).
        let db = try DatabaseQueue(path: broker.dir.file("data/ledger.sqlite").path)
        try await db.write { db in
            try db.execute(sql: "UPDATE log_tiles SET hashes = CAST(zeroblob(32) || substr(hashes, 33) AS BLOB) WHERE level = 1 AND idx = 0")
        }
        try db.close()
        let tampered = try auditor.run(["log", "monitor", "--broker", broker.baseURL.absoluteString, "--once"])
        #expect(tampered.status == 9 && tampered.stderr.contains("tile 1/0"), "\(tampered.stdout)\(tampered.stderr)")
        // A path that is not a tile, and a vkey for another origin, are refused.
        let (_, bad) = try await URLSession.shared.data(from: broker.baseURL.appendingPathComponent("v1/log/tile/0/1"))
        #expect((bad as? HTTPURLResponse)?.statusCode == 404)
        broker.stop()
        #expect(try broker.cli.run(["admin", "verify"]).status == 4, "admin verify finds the changed tile too")
        #expect(try broker.cli.run(["admin", "rebuild"]).status == 0)
        #expect(try broker.cli.run(["admin", "verify"]).status == 0)
    }
}
