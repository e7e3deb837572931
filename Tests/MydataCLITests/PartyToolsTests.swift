import Foundation
import Ports
import MyDataClient
import TestSupport
import Testing

/// `mydata party` as a manufacturer and a startup use it, against `mydata serve`: a large push
/// killed halfway and run again, pulls around a new push, reconcile, a revocation with its
/// notice. Every record is stored, delivered, charged and logged exactly once.
@Suite(.serialized)
struct PartyToolsTests {
    /// A person (the CLI over HTTP), the broker, and the demo parties' key files.
    struct World {
        let broker: RunningBroker
        let work: TemporaryDirectory
        let person: MydataCLI
        let subject: String

        init() throws {
            broker = try RunningBroker()
            work = TemporaryDirectory("mydata-party")
            person = MydataCLI(dataDir: work.file("none").path, configDir: work.file("person").path)
            let remote = ["MYDATA_BROKER": broker.baseURL.absoluteString]
            #expect(try person.run(["key", "init"], environment: remote).status == 0)
            let registered = try person.run(["key", "register"], environment: remote)
            #expect(registered.status == 0, "\(registered.stderr)")
            let shown = try #require(try person.run(["key", "show", "--json"]).json() as? [String: Any])
            subject = try #require(shown["subject"] as? String)
        }

        var remote: [String: String] { ["MYDATA_BROKER": broker.baseURL.absoluteString] }

        /// `mydata party …` signed by a demo party's key.
        func party(_ id: String, _ args: [String]) throws -> MydataCLI.Output {
            try person.run(
                ["party"] + args,
                environment: remote.merging([
                    "MYDATA_PARTY_KEY": broker.dir.file("data/keys/\(id).key").path,
                    "MYDATA_BROKER_KEY": broker.dir.file("data/keys/broker.pub").path,
                    "MYDATA_PARTY_STATE": work.file("\(id)-state.json").path,
                ]) { $1 })
        }

        /// `count` records of car-1 as NDJSON, numbered from `first` (the distance is the number).
        func records(_ first: Int, _ count: Int) -> String {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            return (first..<first + count).map { n in
                #"{"device":"car-1","item":"vehicle.driving","time":\#(now - Int64(n) * 1000),"values":{"average_speed":40,"distance":\#(n),"duration":60}}"#
            }.joined(separator: "\n") + "\n"
        }

        /// The record numbers in a pulled NDJSON file.
        func numbers(_ file: URL) throws -> [Int] {
            try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map { line in
                let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return try #require((record["values"] as? [String: Any])?["distance"] as? Int)
            }
        }
    }

    @Test(
        "party request create makes the request under the contract its terms file names (or the default), and refuses parameters the template does not allow, appending nothing"
    )
    func requestUnderContract() throws {
        let w = try World()
        let terms = """
            category: vehicle
            items: [vehicle.driving]
            purpose: usage-based-insurance
            dataFromDaysAgo: 30
            durationDays: 90
            retentionDays: 30
            subject: \(w.subject)

            """
        func create(_ name: String, _ contract: String) throws -> MydataCLI.Output {
            let file = w.work.file(name)
            try (terms + contract).write(to: file, atomically: true, encoding: .utf8)
            return try w.party("safedrive-insurance", ["request", "create", file.path, "--json"])
        }
        let processing = try create(
            "processing.yaml", "contract:\n  template: processing\n  parameters:\n    processor: Cloud Analytics Ltd\n    deletionDays: 3\n")
        #expect(processing.status == 0, "\(processing.stderr)")
        let plain = try create("plain.yaml", "")
        #expect(plain.status == 0, "\(plain.stderr)")
        let refused = try create("refused.yaml", "contract:\n  template: processing\n  parameters:\n    deletionDays: 3\n")
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("needs parameter 'processor'"), "\(refused.stderr)")

        let listed = try #require(try w.person.run(["requests", "--json"], environment: w.remote).json() as? [[String: Any]])
        let contracts = listed.map(EndToEndTests.request).filter { $0["recipient"] as? String == "safedrive-insurance" && $0["subject"] != nil }
            .compactMap { ($0["terms"] as? [String: Any])?["contract"] as? [String: Any] }
        #expect(contracts.count == 2, "the refused request was not appended")
        let named = try #require(contracts.first { $0["template"] as? String == "processing" })
        #expect(named["parameters"] as? [String: String] == ["processor": "Cloud Analytics Ltd", "deletionDays": "3", "liabilityKRW": "10000000"])
        #expect(contracts.contains { $0["template"] as? String == "provision" }, "the default for vehicle delivery")
    }

    @Test(
        "a manufacturer's 50,000-record push killed halfway and run again stores each record once; a startup pulls each once, charged and logged once"
    )
    func pushPullReconcileRevoke() async throws {
        let w = try World()
        #expect(try w.party("hanbit-motors", ["devices", "attest", "--device", "car-1", "--subject", w.subject]).status == 0)
        #expect(try w.person.run(["devices", "confirm", "hanbit-motors", "car-1"], environment: w.remote).status == 0)

        // The push, killed once some batches are in, then run again to the end.
        let file = w.work.file("driving.ndjson")
        try w.records(0, 50_000).write(to: file, atomically: true, encoding: .utf8)
        let headBefore = try await w.broker.ledgerHead()
        let killed = Process()
        killed.executableURL = MydataCLI.executable
        killed.arguments = ["party", "push", file.path, "--concurrency", "1"]
        killed.environment = ProcessInfo.processInfo.environment.merging(w.remote) { $1 }.merging([
            "MYDATA_PARTY_KEY": w.broker.dir.file("data/keys/hanbit-motors.key").path
        ]) { $1 }
        killed.standardOutput = FileHandle.nullDevice
        killed.standardError = FileHandle.nullDevice
        try ChildProcesses.start(killed)
        while killed.isRunning, try await w.broker.ledgerHead() < headBefore + 10 { try await Task.sleep(nanoseconds: 10_000_000) }
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        ChildProcesses.forget(killed)
        let pushed = try w.party("hanbit-motors", ["push", file.path, "--json"])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let summary = try #require(try pushed.json() as? [String: Any])
        #expect(summary["accepted"] as? Int == 50_000 && summary["rejected"] as? Int == 0, "\(summary)")
        #expect((summary["replayedBatches"] as? Int ?? 0) >= 1, "the batches the killed run stored were answered from the ledger: \(summary)")

        // A JSON array of records from a device nobody attested: read whole, each rejected with its reason.
        let stranger = #"[{"device":"car-9","item":"vehicle.driving","time":1,"values":{"average_speed":1,"distance":1,"duration":1}}]"#
        try stranger.write(to: w.work.file("stranger.json"), atomically: true, encoding: .utf8)
        let rejected = try w.party("hanbit-motors", ["push", w.work.file("stranger.json").path])
        #expect(rejected.status == 3 && rejected.stdout.contains("deviceNotFound: 1"), "\(rejected.stdout)\(rejected.stderr)")

        // A person grants; the startup pulls everything, a new push arrives, it pulls again.
        let requests = try #require(try w.person.run(["requests", "--json"], environment: w.remote).json() as? [[String: Any]])
        let request = try #require(
            requests.map(EndToEndTests.request).first { $0["recipient"] as? String == "safedrive-insurance" }?["id"] as? String)
        #expect(try w.person.run(["grant", request, "--yes"], environment: w.remote).status == 0)
        let consents = try #require(try w.person.run(["consents", "--json"], environment: w.remote).json() as? [[String: Any]])
        let consent = try #require(consents.first.map(EndToEndTests.consent)?["id"] as? String)
        let out = w.work.file("received.ndjson")
        let first = try w.party("safedrive-insurance", ["pull", consent, "--out", out.path])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try w.numbers(out).count == 50_000)
        let again = try w.party("safedrive-insurance", ["pull", consent, "--out", out.path])
        #expect(again.status == 0 && again.stderr.contains("Pulled 0 records"), "nothing new, nothing twice: \(again.stderr)")
        try w.records(50_000, 300).write(to: w.work.file("more.ndjson"), atomically: true, encoding: .utf8)
        #expect(try w.party("hanbit-motors", ["push", w.work.file("more.ndjson").path]).status == 0)
        #expect(try w.party("safedrive-insurance", ["pull", consent, "--out", out.path]).status == 0)
        let held = try w.numbers(out)
        #expect(held.count == 50_300 && Set(held) == Set(0..<50_300), "every record exactly once")

        // The person's access log and the startup's charges match what it received.
        let log = try #require(try w.person.run(["access-log", "--json", "--limit", "500"], environment: w.remote).json() as? [[String: Any]])
        #expect(log.reduce(0) { $0 + ($1["records"] as? Int ?? 0) } == 50_300, "each record logged once")
        #expect(log.allSatisfy { $0["deliveryID"] is String && $0["after"] is String && $0["through"] is String })
        // One offline proof per delivery, from the broker over HTTP; each names who received what and
        // verifies with the broker's keys alone; a changed one does not.
        let proofs = w.work.file("proofs")
        let listed = try w.person.run(["access-log", "--limit", "3", "--proofs", proofs.path], environment: w.remote)
        #expect(listed.status == 0 && listed.stdout.contains("Wrote 3 proofs"), "\(listed.stdout)\(listed.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: proofs.path).sorted().map { proofs.appendingPathComponent($0).path }
        #expect(files.count == 3 && files.allSatisfy { $0.hasSuffix(".tlog-proof") })
        let keys = [
            "--broker-key", w.broker.dir.file("data/keys/broker.pub").path, "--log-vkey", w.broker.dir.file("data/keys/broker.vkey").path,
        ]
        let checked = try w.person.run(["access-log", "verify", "--json"] + files + keys)
        #expect(checked.status == 0, "\(checked.stderr)")
        let proven = try #require(try checked.json() as? [[String: Any]])
        #expect(proven.map { $0["deliveryID"] as? String } == files.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent })
        #expect(proven.allSatisfy { $0["recipient"] as? String == "safedrive-insurance" && $0["subject"] as? String == w.subject })
        let proof = try String(contentsOfFile: files[0], encoding: .utf8)
        let index = try #require(proof.split(separator: "\n").first { $0.hasPrefix("index ") })
        try proof.replacingOccurrences(of: index + "\n", with: "index 0\n").write(toFile: files[0], atomically: true, encoding: .utf8)
        let moved = try w.person.run(["access-log", "verify", files[0]] + keys)
        #expect(moved.status == 4 && moved.stderr.contains("does not verify"), "\(moved.stderr)")
        let accounts = try #require(try w.party("safedrive-insurance", ["accounts", "--json"]).json() as? [String: Any])
        let balances = try #require(accounts["accounts"] as? [[String: Any]]).reduce(0) { $0 + ($1["balance"] as? Int ?? 0) }
        // The demo gives each recipient 50,000 won cash and a 100,000 won voucher; a vehicle page
        // costs 10 won plus 2 per record (Policies/accounting.yaml).
        #expect(150_000 - balances == log.count * 10 + 50_300 * 2, "charged once per delivery and record")
        let reconciled = try w.party("safedrive-insurance", ["reconcile", consent, "--json"])
        #expect(reconciled.status == 0, "\(reconciled.stdout)")
        #expect((try reconciled.json() as? [String: Any])?["complete"] as? Bool == true)
        // Asked again from the start, every delivery comes back as a repeat and none is written twice;
        // another consent may not write into this consent's file.
        let fromStart = try w.party("safedrive-insurance", ["pull", consent, "--out", out.path, "--after", "0"])
        #expect(fromStart.status == 0 && fromStart.stderr.contains("Pulled 0 records"), "\(fromStart.stderr)")
        #expect(try w.numbers(out).count == 50_300)
        let intruder = try w.party("safedrive-insurance", ["pull", "con_00000000000000000000000000000000", "--out", out.path])
        #expect(intruder.status == 1 && intruder.stderr.contains("another consent's records"), "\(intruder.stderr)")

        // A revocation: the notice reaches the listener, and the next pull stops clearly.
        let listener = Process()
        listener.executableURL = MydataCLI.executable
        listener.arguments = [
            "party", "callbacks", "listen", "--port", "0", "--recipient", "safedrive-insurance", "--broker-key",
            w.broker.dir.file("data/keys/broker.pub").path,
        ]
        let notices = Pipe(), said = Pipe()
        listener.standardOutput = notices
        listener.standardError = said
        try ChildProcesses.start(listener)
        defer { ChildProcesses.stop(listener) }
        var banner = ""
        while !banner.contains("Listening") || !banner.hasSuffix("\n") {
            let chunk = said.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            banner += String(decoding: chunk, as: UTF8.self)
        }
        let listening = banner.split(separator: "\n").first { $0.contains("Listening") } ?? ""
        let url = try #require(listening.split(separator: " ").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }, "\(banner)")
        let registered = try w.broker.cli.run(["admin", "party", "callback", "safedrive-insurance", "--url", url])
        #expect(registered.status == 0, "\(registered.stderr)")
        #expect(try w.person.run(["revoke", consent], environment: w.remote).status == 0)
        // As CallbackTests does: the broker marks the notice delivered once the listener answered
        // 2xx, which it does after printing the notice.
        let recipient = BrokerHTTPClient(baseURL: w.broker.baseURL, identity: try w.broker.party("safedrive-insurance"))
        var status: RevocationCallback.Status?
        for _ in 0..<60 where status != .delivered {
            try await Task.sleep(nanoseconds: 250_000_000)
            status = try await recipient.send("GET", "/v1/callbacks").decode(CallbackTests.Callbacks.self).callbacks.first?.status
        }
        try #require(status == .delivered, "the listener acknowledged the notice")
        let line = String(decoding: notices.fileHandleForReading.availableData, as: UTF8.self)
        let notice = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        #expect(notice["consentID"] as? String == consent && notice["type"] as? String == "consent.revoked")
        let stopped = try w.party("safedrive-insurance", ["pull", consent, "--out", out.path])
        #expect(stopped.status == 3 && stopped.stderr.contains("consentRevoked"), "\(stopped.stderr)")
        #expect(try w.numbers(out).count == 50_300, "nothing more arrived")
    }
}
