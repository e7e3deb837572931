import ArgumentParser
import Dispatch
import Broker
import Consent
import Foundation
import Ledger
import Sodium
import Storage

struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Durable signed appends, broker events with checkpoints, full verify and projection rebuild, against raw baselines.")

    @Option(help: "Person-signed events appended by the concurrent writers.") var signedEvents = 50_000
    @Option(help: "Concurrent writers.") var writers = 64
    @Option(help: "Broker events appended in batches.") var brokerEvents = 200_000
    @Option(help: "Events in the ledger whose projections are rebuilt.") var rebuildEvents = 1_000_000
    @Option(help: "Directory for the benchmark databases (default: a fresh temporary directory).") var directory: String?
    @Option(help: "Also write the JSON report to this file.") var json: String?
    @Flag(help: "Only time the per-event steps (encode, decode, projection, hash) and exit.") var micro = false

    private func microBench() throws {
        let n = 200_000
        let event = try DomainEvent.dataDelivered(
            DataDelivered(
                deliveryID: "dlv_1", consentID: "con_1", subject: "sub_1", recipient: "safedrive",
                items: ["vehicle.driving"], records: 5, digest: "0123456789abcdef")
        )
        .newEvent(authorID: AuthorID.broker, time: .now())
        let recorded = RecordedEvent.chained(event, after: .genesis)
        var t = DispatchTime.now()
        for _ in 0..<n { _ = try DomainEvent.decode(event) }
        log("decode: \(Double(n) / (Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e9)) /s")
        t = DispatchTime.now()
        for _ in 0..<n { _ = try Projection.changes(for: recorded.event) }
        log("projection changes: \(Double(n) / (Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e9)) /s")
        let domain = try DomainEvent.decode(event)
        t = DispatchTime.now()
        for _ in 0..<n { _ = try domain.payload() }
        log("encode: \(Double(n) / (Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e9)) /s")
        t = DispatchTime.now()
        for _ in 0..<n { _ = RecordedEvent.chained(event, after: .genesis) }
        log("chain hash: \(Double(n) / (Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e9)) /s")
    }

    func run() async throws {
        let base =
            directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("mydata-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(at: base) } }
        let cores = ProcessInfoCores.count
        if micro { try microBench(); return }
        log("mydata-bench ledger: \(cores) cores, libsodium \(Sodium.versionString), data in \(base.path)")

        // Baselines, measured now on this machine.
        log("baselines…")
        let sign1 = try Baselines.signRate()
        let verify1 = try Baselines.verifyRate(workers: 1)
        let verifyAll = try Baselines.verifyRate(workers: cores)
        let hash = Baselines.hashRate()
        let (insert, rawSynchronous) = try Baselines.sqliteInsertRate(directory: base)
        let rawSignedAppend = 1 / (1 / verifyAll + 1 / hash + 1 / insert)
        var figures = [
            Figure(name: "raw Ed25519 sign, 1 core", value: sign1, unit: "ops/s"),
            Figure(name: "raw Ed25519 verify, 1 core", value: verify1, unit: "ops/s"),
            Figure(name: "raw Ed25519 verify, \(cores) cores", value: verifyAll, unit: "ops/s"),
            Figure(name: "raw BLAKE2b-256 of 332 B", value: hash, unit: "ops/s"),
            Figure(
                name: "raw SQLite insert, 1,000 rows per durable commit", value: insert, unit: "rows/s", durability: synchronousName(rawSynchronous)),
            Figure(name: "raw limit: verify (all cores) + hash + insert", value: rawSignedAppend, unit: "events/s"),
        ]

        let broker = try Identity.generate(id: "broker")

        // A. Person-signed events: verify the signature, then a durable append, from many writers.
        log("signed appends with \(writers) writers…")
        let signedStore = try SQLiteStore(path: base.appendingPathComponent("signed.sqlite").path)
        let initEvent = try DomainEvent.brokerInitialised(
            BrokerInitialised(brokerID: "broker", signingKey: broker.publicKeys.signingKey, boxKey: broker.publicKeys.boxKey)
        )
        .newEvent(authorID: AuthorID.broker, time: .now())
        _ = try await signedStore.append(AppendBatch(events: [initEvent]))
        let registrations = try makeRegistrations(signedEvents)
        let signedSeconds = try await measure {
            try await concurrently(registrations, writers: writers) { item in
                guard item.key.isValidSignature(try Signature(bytes: item.event.signature), for: item.event.signingInput) else {
                    throw SodiumError(.invalidSignature, "bench event signature")
                }
                _ = try await signedStore.append(
                    AppendBatch(
                        events: [item.event],
                        conditions: [StreamCondition(streamID: item.event.streamID, expectedVersion: 0)]))
            }
        }
        let checkpointer = Checkpointer(store: signedStore, key: broker.signingKey, clock: SystemClock())
        try await checkpointer.flush()
        let signedRate = Double(signedEvents) / signedSeconds
        let stats = await signedStore.commitStatistics()
        log(
            "  \(stats.batches) appends in \(stats.commits) durable commits (\(String(format: "%.1f", Double(stats.batches) / Double(max(stats.commits, 1)))) per commit)"
        )
        figures.append(
            Figure(
                name: "durable person-signed appends, \(writers) writers", value: signedRate, unit: "events/s",
                goal: "≥ 15,000/s and ≥ 50% of raw limit", ratio: signedRate / rawSignedAppend,
                baseline: "raw limit: verify (all cores) + hash + insert",
                met: signedRate >= 15_000 && signedRate / rawSignedAppend >= 0.5,
                durability: synchronousName(try await signedStore.writerSynchronous())))

        // A'. The same through the broker service: authenticate, decide, append.
        log("broker submit with \(writers) writers…")
        let serviceStore = try SQLiteStore(path: base.appendingPathComponent("service.sqlite").path)
        let service = BrokerService(store: serviceStore, identity: broker)
        try await service.initialise()
        let serviceItems = try makeRegistrations(max(1, signedEvents / 2))
        let serviceSeconds = try await measure {
            try await concurrently(serviceItems, writers: writers) { item in _ = try await service.submit(item.event) }
        }
        try await service.close()
        let serviceRate = Double(serviceItems.count) / serviceSeconds
        figures.append(
            Figure(
                name: "broker submit (authenticate, decide, append), \(writers) writers", value: serviceRate, unit: "events/s",
                ratio: serviceRate / rawSignedAppend, baseline: "raw limit: verify (all cores) + hash + insert",
                durability: synchronousName(try await serviceStore.writerSynchronous())))

        // B. Broker events in batches, covered by checkpoints.
        log("broker events with checkpoints…")
        let brokerStore = try SQLiteStore(path: base.appendingPathComponent("broker.sqlite").path)
        _ = try await brokerStore.append(AppendBatch(events: [initEvent]))
        let brokerCheckpointer = Checkpointer(store: brokerStore, key: broker.signingKey, clock: SystemClock())
        let brokerSeconds = try await measure {
            try await appendDeliveries(brokerEvents, to: brokerStore, checkpointer: brokerCheckpointer, from: 0)
            try await brokerCheckpointer.flush()
        }
        let brokerRate = Double(brokerEvents) / brokerSeconds
        figures.append(
            Figure(
                name: "broker events covered by checkpoints", value: brokerRate, unit: "events/s", goal: "≥ 100,000/s",
                ratio: brokerRate / insert, baseline: "raw SQLite insert", met: brokerRate >= 100_000,
                durability: synchronousName(try await brokerStore.writerSynchronous())))

        // C. Full verify of the signed ledger, on every core.
        log("full verify…")
        let verifyEvents = try await signedStore.head().sequence
        var verifyResult: Result<VerificationReport, VerificationFailure>?
        let verifySeconds = try await measure {
            verifyResult = try await LedgerAudit.verify(store: signedStore, brokerKey: broker.signingKey.verifyingKey)
        }
        guard case .success(let report)? = verifyResult else {
            throw ValidationError("the benchmark ledger did not verify: \(String(describing: verifyResult))")
        }
        let verifyRate = Double(verifyEvents) / verifySeconds
        figures.append(
            Figure(
                name: "full verify (\(report.signatures) signatures, \(cores) cores)", value: verifyRate, unit: "events/s",
                goal: "≥ 1.6 × raw verify on 1 core", ratio: verifyRate / verify1, baseline: "raw Ed25519 verify, 1 core",
                met: verifyRate / verify1 >= 1.6))

        // D. Projection rebuild of a ledger of `rebuildEvents` events.
        log("growing a ledger to \(rebuildEvents) events for the rebuild…")
        let have = Int(try await brokerStore.head().sequence)
        if rebuildEvents > have {
            try await appendDeliveries(rebuildEvents - have, to: brokerStore, checkpointer: brokerCheckpointer, from: brokerEvents)
        }
        let rebuildCount = try await brokerStore.head().sequence
        log("rebuilding projections of \(rebuildCount) events…")
        let rebuildSeconds = try await measure { try await brokerStore.rebuildProjections() }
        figures.append(
            Figure(
                name: "projection rebuild of \(rebuildCount) events", value: rebuildSeconds, unit: "s", goal: "≤ 10 s",
                ratio: Double(rebuildCount) / rebuildSeconds / insert, baseline: "raw SQLite insert (events/s ÷ rows/s)",
                met: rebuildSeconds <= 10))

        printFigures(figures)
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(figures).write(to: URL(fileURLWithPath: json))
        }
    }

    struct SignedItem: Sendable {
        let event: NewEvent
        let key: VerifyingKey
    }

    /// Self-signed registrations of fresh people: what clients sign before the measured part.
    private func makeRegistrations(_ count: Int) throws -> [SignedItem] {
        let now = Timestamp.now()
        return try (0..<count).map { _ in
            let person = try Identity.generateSubject()
            return SignedItem(event: try person.sign(ConsentDrafts.registration(of: person), at: now), key: person.signingKey.verifyingKey)
        }
    }

    /// Runs `body` over `items` with `writers` concurrent tasks.
    private func concurrently(_ items: [SignedItem], writers: Int, _ body: @escaping @Sendable (SignedItem) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    var i = w
                    while i < items.count { try await body(items[i]); i += writers }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Broker-authored deliveries in batches of 1,000 from 8 concurrent appenders, so that some
    /// encode their next batch while others wait for a commit; each batch is checkpointed when due.
    private func appendDeliveries(_ count: Int, to store: SQLiteStore, checkpointer: Checkpointer, from offset: Int) async throws {
        try await LogBench.appendBatches(count, to: store, from: offset) { last in try await checkpointer.appended(last.head) }
    }

    private func log(_ text: String) { FileHandle.standardError.write(Data("\(text)\n".utf8)) }
}
