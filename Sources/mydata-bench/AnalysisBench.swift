import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger
import Sodium
import Storage
import Vault

/// The analysis zone: one analysis over a million records of ten thousand people (read, decrypt,
/// filter, bound, aggregate, noise, and the append that records it and pays everyone), against
/// opening the same number of sealed records with raw XChaCha20-Poly1305 in the same run.
struct AnalysisBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analysis", abstract: "Records/s of one analysis over a million records, against raw XChaCha20-Poly1305 opens.")

    @Option(help: "People with an analysis consent.") var people = 10_000
    @Option(help: "Records per person.") var records = 100
    @Option(help: "Analyses timed (the best is reported).") var rounds = 3
    @Option(help: "The policy directory.") var policies = "Policies"

    func run() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mydata-analysisbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let total = people * records

        log("setting up \(people) people with \(records) records each…")
        let store = try SQLiteStore(path: work.appendingPathComponent("ledger.sqlite").path)
        let broker = BrokerService(store: store, identity: try Identity.generate(id: "broker"))
        try await broker.initialise()
        try await broker.activatePolicy(try PolicyLoader.load(directory: URL(fileURLWithPath: policies, isDirectory: true)))
        let maker = try Identity.generate(id: "gridwise-energy"), startup = try Identity.generate(id: "ecowatt")
        try await broker.registerParty(id: maker.id, role: .manufacturer, name: "Gridwise", keys: maker.publicKeys)
        try await broker.registerParty(id: startup.id, role: .recipient, name: "EcoWatt", keys: startup.publicKeys)
        _ = try await broker.deposit(1_000_000_000, to: AccountNames.cashAccount(startup.id), id: "bench")
        let vault = Vault(kek: try SymmetricKey(), store: store)
        let transfer = TransferService(broker: broker, vault: vault)
        let now = broker.clock.now()
        let policy = try await store.activePolicy()!
        let request = ConsentRequested(
            requestID: "req-bench", recipient: startup.id, subject: nil,
            terms: try StandardContract.attach(
                template: nil, parameters: [:],
                to: ConsentTerms(
                    category: "energy", items: ["energy.household"], purpose: "energy-saving", dataFrom: now.adding(days: -60),
                    dataTo: now.adding(days: 30), durationDays: 90, onceOff: false, retentionDays: 0, incentiveKRW: 0, access: .analysis),
                recipient: startup.id, policy: policy.policy),
            offerExpiresAt: now.adding(days: 30), policyVersion: policy.version)
        try await broker.submit(startup.sign(.consentRequested(request), at: now))
        let stored = try await store.request(request.requestID)!
        // People, their meters and grants, appended in batches (the events are the ones the API takes, signed).
        var batch: [(DomainEvent, NewEvent)] = []
        for i in 0..<people {
            let person = try Identity.generateSubject()
            let meter = "meter-\(i)"
            let events: [(DomainEvent, Identity)] = [
                (ConsentDrafts.registration(of: person), person),
                (.deviceAttested(DeviceAttested(deviceID: meter, manufacturer: maker.id, subject: person.id)), maker),
                (.deviceConfirmed(DeviceConfirmed(deviceID: meter, manufacturer: maker.id, subject: person.id)), person),
                (ConsentDrafts.grant(of: stored, by: person.id, policy: policy, now: now, sensitiveConfirmed: false), person),
            ]
            for (event, author) in events { batch.append((event, try author.sign(event, at: now))) }
            if batch.count >= 996 || i == people - 1 {
                _ = try await store.append(AppendBatch(typed: batch))
                batch = []
            }
        }
        // Their readings, pushed as a manufacturer pushes them (1,000 records a batch).
        var pending: [TelemetryRecord] = []
        for i in 0..<people {
            for r in 0..<records {
                pending.append(
                    TelemetryRecord(
                        device: "meter-\(i)", item: "energy.household", time: now.adding(seconds: -Int64(r + 1) * 900),
                        values: ["consumption": .number(Double((i + r) % 40) / 10), "interval": .integer(900)]))
            }
            if pending.count >= 1_000 || i == people - 1 {
                _ = try await transfer.push(pending, manufacturer: maker.id, idempotencyKey: nil, digest: "bench")
                pending = []
            }
        }

        // Baseline: opening as many sealed records with the raw AEAD, on every core.
        log("baseline: raw XChaCha20-Poly1305 opens…")
        let key = try SymmetricKey()
        let sample = (0..<1_000).map { i in
            XChaCha20Poly1305.seal(Array(#"{"consumption":\#(Double(i % 40) / 10),"interval":900}"#.utf8), key: key, associatedData: Array("ad".utf8))
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let rawSeconds = try await measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for c in 0..<cores {
                    group.addTask {
                        for n in stride(from: c, to: total, by: cores) {
                            _ = try XChaCha20Poly1305.open(sample[n % sample.count], key: key, associatedData: Array("ad".utf8))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let rawRate = Double(total) / rawSeconds

        // What reading the sealed rows alone costs (the vault store's query per person, 4 at a time).
        log("the sealed records read alone…")
        let subjects = try await store.activeConsents(requestID: request.requestID, at: now, limit: people).map(\.subject)
        let readSeconds = try await measure {
            _ = try await withThrowingTaskGroup(of: Int.self) { group in
                for lane in 0..<4 {
                    group.addTask {
                        var n = 0
                        for i in stride(from: lane, to: subjects.count, by: 4) {
                            n += try await store.records(
                                RecordQuery(
                                    subject: subjects[i], items: ["energy.household"], from: now.adding(days: -30), to: now, after: .start,
                                    through: .end, limit: 10_000)
                            ).count
                        }
                        return n
                    }
                }
                return try await group.reduce(0, +)
            }
        }
        let readRate = Double(total) / readSeconds

        let analyses = AnalysisService(broker: broker, vault: vault)
        let query = AnalysisQuery(
            requestID: request.requestID, items: ["energy.household"], from: now.adding(days: -30), to: now,
            filters: [AnalysisFilter(field: "interval", equals: .integer(900))],
            groupBy: [AnalysisGroupBy(field: "consumption", bins: [0, 1, 2, 3, 4])],
            measures: [
                AnalysisMeasure(kind: .persons), AnalysisMeasure(kind: .records),
                AnalysisMeasure(kind: .mean, field: "consumption", lower: 0, upper: 4),
            ], epsilon: 1)
        var best = 0.0
        var last: SignedAnalysis?
        for round in 0..<rounds {
            log("analysis \(round + 1)/\(rounds) over \(total) records…")
            let seconds = try await measure { last = try await analyses.run(query, recipient: startup.id) }
            best = max(best, Double(total) / seconds)
        }
        let a = last!.analysis
        log("last: \(a.persons) persons, \(a.released) cells released, price \(a.priceKRW) won")
        printFigures([
            Figure(name: "raw XChaCha20-Poly1305 open, \(cores) cores", value: rawRate, unit: "records/s"),
            Figure(name: "the same records' sealed rows read from SQLite alone, per person", value: readRate, unit: "records/s"),
            Figure(
                name: "analysis over \(total) records of \(people) people (read, decrypt, filter, bound, aggregate, noise, record, pay)",
                value: best, unit: "records/s", goal: "≥ 500,000/s", ratio: best / rawRate, baseline: "raw XChaCha20-Poly1305 open",
                met: best >= 500_000, durability: "synchronous=FULL"),
        ])
    }

    private func log(_ text: String) { FileHandle.standardError.write(Data("\(text)\n".utf8)) }
}
