import Broker
import Consent
import Foundation
import Ledger
import Storage
import TestSupport
import Testing

/// Several broker processes appending to one PostgreSQL database, one of them killed mid-run.
struct MultiProcessTests {
    static var workerExecutable: URL { MydataCLI.executable.deletingLastPathComponent().appendingPathComponent("mydata-bench") }

    @Test(
        "brokers appending at once, one killed with SIGKILL: nothing acknowledged is lost or doubled, the chain verifies, rebuild equals live",
        .enabled(if: Backend.postgresURL != nil, Comment(rawValue: Backend.postgresSkipped)))
    func concurrentBrokersWithOneKilled() async throws {
        let dir = TemporaryDirectory("mydata-multi")
        let url = try await TestDatabases.create()
        let broker = try Identity.generate(id: "broker")
        var none: [UInt8]? = nil
        let keyFile = dir.file("broker.key")
        try KeyFile.write(broker, to: keyFile, passphrase: &none)
        do {
            let store = try await PostgresStore.connect(url: url)
            let service = BrokerService(store: store, identity: broker)
            try await service.initialise()
            try await service.close()
            store.close()
        }

        let workers = 4, victim = 2
        var processes: [(Process, Pipe)] = []
        for w in 0..<workers {
            let process = Process()
            process.executableURL = Self.workerExecutable
            process.arguments = [
                "append-worker", "--store", url, "--broker-key", keyFile.path, "--worker", "\(w)",
                "--seconds", "4", "--batch", "5", "--concurrency", "4",
            ]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try ChildProcesses.start(process)
            processes.append((process, out))
        }
        try await Task.sleep(nanoseconds: 1_500_000_000)
        kill(processes[victim].0.processIdentifier, SIGKILL)

        var acknowledged: [String: UInt64] = [:]
        for (w, (process, out)) in processes.enumerated() {
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            ChildProcesses.forget(process)
            if w == victim {
                #expect(process.terminationReason == .uncaughtSignal, "the victim was killed")
            } else {
                #expect(process.terminationStatus == 0, "worker \(w) finished")
                #expect(text.contains("done "), "worker \(w) finished")
            }
            for line in text.split(separator: "\n") where line.hasPrefix("ack ") {
                let parts = line.split(separator: " ")
                acknowledged[String(parts[1])] = UInt64(parts[2])
            }
        }
        #expect(acknowledged.count > 100, "the workers appended something")
        #expect(acknowledged.keys.contains { $0.hasPrefix("w\(victim)-") }, "the victim was acknowledged before it died")

        let store = try await PostgresStore.connect(url: url)
        defer { store.close() }
        var stored: [String: UInt64] = [:]
        var expected: UInt64 = 1
        while true {
            let page = try await store.events(from: expected, limit: 5_000)
            if page.isEmpty { break }
            for event in page {
                #expect(event.sequence == expected, "sequence numbers have no gaps")
                expected = event.sequence + 1
                // Every stored event is whole: it decodes, whoever wrote it and whenever it died.
                let domain = try DomainEvent.decode(event.event)
                if case .dataDelivered(let d) = domain {
                    #expect(stored[d.deliveryID] == nil, "delivery \(d.deliveryID) is stored once")
                    stored[d.deliveryID] = event.sequence
                }
            }
        }
        for (id, sequence) in acknowledged {
            #expect(stored[id] == sequence, "acknowledged \(id) is stored at the sequence it was acknowledged with")
        }
        let result = try await LedgerAudit.verify(store: store, brokerKey: broker.signingKey.verifyingKey)
        #expect((try? result.get()) != nil, "the chain verifies: \(result)")
        let live = try await store.dumpProjections()
        try await store.rebuildProjections()
        #expect(try await store.dumpProjections() == live, "projections rebuilt from zero equal the live ones")
    }
}

/// Operator mistakes with a shared PostgreSQL ledger are stopped, not silently absorbed.
struct PostgresOperatorTests {
    @Test(
        "a broker with another key cannot join a ledger, and a command that forgets --store stops",
        .enabled(if: Backend.postgresURL != nil, Comment(rawValue: Backend.postgresSkipped)))
    func mistakesAreRefused() async throws {
        let url = try await TestDatabases.create()
        let first = TemporaryDirectory("mydata-pg-a"), second = TemporaryDirectory("mydata-pg-b")
        let a = MydataCLI(dataDir: first.file("data").path, configDir: first.file("config").path)
        let b = MydataCLI(dataDir: second.file("data").path, configDir: second.file("config").path)
        #expect(try a.run(["admin", "init", "--store", url]).status == 0)
        let intruder = try b.run(["admin", "init", "--store", url])
        #expect(intruder.status == 6)
        #expect(intruder.stderr.contains("another broker key"))
        let forgot = try a.run(["admin", "verify"])
        #expect(forgot.status == 6)
        #expect(forgot.stderr.contains("--store"))
        #expect(try a.run(["admin", "verify", "--store", url]).status == 0)
    }
}
