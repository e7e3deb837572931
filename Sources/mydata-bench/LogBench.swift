import ArgumentParser
import Broker
import BrokerServer
import Consent
import Foundation
import Hummingbird
import Ledger
import Prometheus
import Sodium
import Storage
import Vault

/// The transparency log: what keeping the Merkle tree costs durable appends (the same run
/// without it is the baseline), inclusion proofs served over HTTP, and the person's CLI checking
/// consistency against a log of a million events.
struct LogBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Appends with and without the Merkle tree, inclusion proofs over HTTP, the CLI's consistency check.")

    @Option(help: "Broker events per tree-cost run (appended in batches of 1,000).") var events = 200_000
    @Option(help: "Single-event durable appends per tree-cost run, from 16 writers.") var singles = 20_000
    @Option(help: "Rounds of the tree-cost runs (the best of each is kept).") var rounds = 3
    @Option(help: "Events in the log the proofs and the CLI check run against.") var logEvents = 1_000_000
    @Option(help: "Inclusion proof requests sent.") var proofs = 100_000
    @Option(help: "Keep-alive connections of the proof load.") var connections = 8
    @Option(help: "CLI consistency checks timed (the median is reported).") var checks = 21

    func run() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mydata-logbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var figures: [Figure] = []

        // A. The tree's cost: the same appends into a store that keeps the tree and one that does not.
        var best: [Bool: (batched: Double, single: Double)] = [:]
        for round in 0..<rounds {
            for tree in [false, true] {
                log("round \(round + 1)/\(rounds): appends \(tree ? "with" : "without") the tree…")
                let store = try SQLiteStore(path: work.appendingPathComponent("cost-\(round)-\(tree).sqlite").path, logTree: tree)
                let batched = Double(events) / (try await measure { try await Self.appendBatches(events, to: store, from: 0) })
                let single = Double(singles) / (try await measure { try await Self.appendSingles(singles, to: store, from: events) })
                let previous = best[tree] ?? (0, 0)
                best[tree] = (max(previous.batched, batched), max(previous.single, single))
                store.close()
            }
        }
        let without = best[false]!, with = best[true]!
        figures += [
            Figure(name: "durable appends, 1,000-event batches, without the tree", value: without.batched, unit: "events/s"),
            Figure(
                name: "durable appends, 1,000-event batches, with the tree", value: with.batched, unit: "events/s", goal: "≥ 0.9 × without",
                ratio: with.batched / without.batched, baseline: "the same without the tree", met: with.batched / without.batched >= 0.9,
                durability: "synchronous=FULL"),
            Figure(name: "durable single-event appends, 16 writers, without the tree", value: without.single, unit: "events/s"),
            Figure(
                name: "durable single-event appends, 16 writers, with the tree", value: with.single, unit: "events/s", goal: "≥ 0.9 × without",
                ratio: with.single / without.single, baseline: "the same without the tree", met: with.single / without.single >= 0.9,
                durability: "synchronous=FULL"),
        ]

        // B. A log of a million events, served.
        log("growing a log of \(logEvents) events…")
        let store = try SQLiteStore(path: work.appendingPathComponent("log.sqlite").path)
        let broker = try Identity.generate(id: "broker")
        let service = BrokerService(store: store, identity: broker)
        try await service.initialise()
        try await Self.appendBatches(logEvents - 1_001, to: store, from: 1_000_000_000)
        try await service.signCheckpoint()
        let port = PortBox()
        let app = BrokerApplication.make(
            service: service, transfer: TransferService(broker: service, vault: Vault(kek: try SymmetricKey(), store: store)), nonces: store,
            metrics: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0, logger: .init(label: "bench")
        ) { await port.set($0) }
        let server = Task { try await app.run() }
        defer { server.cancel() }
        let serverPort = try await port.wait()
        let size = try await store.logSize()

        // Library baseline: the proofs computed in this process from the store's tiles.
        log("inclusion proofs in process…")
        var generator = SystemRandomNumberGenerator()
        let sequences = (0..<proofs).map { _ in UInt64.random(in: 1...size, using: &generator) }
        let librarySample = Array(sequences.prefix(20_000))
        // Warm: every tile's nodes computed once, as a serving broker has them.
        for s in stride(from: UInt64(1), through: size, by: LogTiles.width) {
            _ = try await MerkleTree.inclusionProof(index: s - 1, size: size, node: service.logNodes.reader(size: size))
        }
        let librarySeconds = try await measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for t in 0..<8 {
                    group.addTask {
                        for s in stride(from: t, to: librarySample.count, by: 8) {
                            _ = try await MerkleTree.inclusionProof(
                                index: librarySample[s] - 1, size: size, node: service.logNodes.reader(size: size))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let libraryRate = Double(librarySample.count) / librarySeconds
        log("inclusion proofs over HTTP, \(connections) connections…")
        let requests = sequences.map {
            Array("GET /v1/log/proof/inclusion?sequence=\($0)&size=\(size) HTTP/1.1\r\nHost: 127.0.0.1:\(serverPort)\r\n\r\n".utf8)
        }
        let served = try generateLoad(requests, port: serverPort, connections: connections)
        guard served.statuses.allSatisfy({ $0 == 200 }) else { throw ValidationError("proofs answered \(Set(served.statuses).sorted())") }
        let servedRate = Double(requests.count) / served.seconds
        // The server's bare request rate on the same connections: what any answer costs.
        log("GET /healthz over HTTP, \(connections) connections…")
        let bare = Array(repeating: Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:\(serverPort)\r\n\r\n".utf8), count: requests.count)
        let bareRun = try generateLoad(bare, port: serverPort, connections: connections)
        let bareRate = Double(bare.count) / bareRun.seconds
        figures += [
            Figure(name: "inclusion proofs computed in process, log of \(size)", value: libraryRate, unit: "proofs/s"),
            Figure(name: "GET /healthz served over HTTP (the server's bare rate)", value: bareRate, unit: "requests/s"),
            Figure(
                name: "inclusion proofs served over HTTP, log of \(size)", value: servedRate, unit: "proofs/s", goal: "≥ 50,000/s",
                ratio: servedRate / bareRate, baseline: "GET /healthz served over HTTP", met: servedRate >= 50_000),
        ]

        // C. The person's CLI: `mydata log check` against the log, remembering a checkpoint 1,000 events back.
        let cli = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("mydata")
        if FileManager.default.isExecutableFile(atPath: cli.path) {
            log("the CLI's consistency check, \(checks) times…")
            let config = work.appendingPathComponent("config")
            try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
            var times: [Double] = []
            for _ in 0..<checks {
                // Remember the tree as it is, then grow it by 1,000 events and a checkpoint: each
                // timed check verifies a consistency proof from the remembered size.
                _ = try runCLI(cli, ["log", "check", "--broker", "http://127.0.0.1:\(serverPort)"], config: config)
                try await Self.appendBatches(1_000, to: store, from: 2_000_000_000 + times.count * 1_000)
                try await service.signCheckpoint()
                times.append(try runCLI(cli, ["log", "check", "--broker", "http://127.0.0.1:\(serverPort)"], config: config))
            }
            let median = times.sorted()[times.count / 2]
            let startup = (0..<5).map { _ in (try? runCLI(cli, ["--help"], config: config)) ?? 0 }.sorted()[2]
            figures += [
                Figure(name: "mydata --help (process start alone)", value: startup * 1000, unit: "ms"),
                Figure(
                    name: "mydata log check, consistency of a log of \(try await store.logSize()) (whole process, median)", value: median * 1000,
                    unit: "ms", goal: "≤ 100 ms", met: median <= 0.1),
            ]
        } else {
            log("no release mydata next to the benchmark (\(cli.path)): build it with `swift build -c release --product mydata` to time the CLI")
        }
        printFigures(figures)
    }

    /// `mydata args…` with its own config directory; returns the wall time in seconds.
    private func runCLI(_ executable: URL, _ args: [String], config: URL) throws -> Double {
        let process = Process()
        process.executableURL = executable
        process.arguments = args
        process.environment = ["MYDATA_CONFIG_DIR": config.path, "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        process.standardError = err
        let clock = ContinuousClock()
        let start = clock.now
        try process.run()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let d = clock.now - start
        guard process.terminationStatus == 0 else {
            throw ValidationError("mydata \(args.joined(separator: " ")) failed: \(String(decoding: errors, as: UTF8.self))")
        }
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Broker events (deliveries) in batches of 1,000 from 8 tasks: typed events encoded once, as
    /// the broker records deliveries; `appended` sees each batch's last event.
    static func appendBatches(
        _ count: Int, to store: SQLiteStore, from offset: Int, appended: @escaping @Sendable (RecordedEvent) async throws -> Void = { _ in }
    ) async throws {
        let batch = 1_000, tasks = 8
        let batches = (count + batch - 1) / batch
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<tasks {
                group.addTask {
                    var b = t
                    while b < batches {
                        let start = offset + b * batch
                        let events = try (start..<min(start + batch, offset + count)).map { i in
                            let delivery = DomainEvent.dataDelivered(
                                DataDelivered(
                                    deliveryID: "dlv_\(i)", consentID: "con_\(i % 5_000)", subject: "sub_\(i % 10_000)", recipient: "safedrive",
                                    items: ["vehicle.driving"], records: 1 + i % 100, digest: "0123456789abcdef0123456789abcdef"))
                            return (delivery, try delivery.newEvent(authorID: AuthorID.broker, time: .now()))
                        }
                        if let last = try await store.append(AppendBatch(typed: events)).last { try await appended(last) }
                        b += tasks
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// One broker event per append, from 16 writers: group commit gathers them.
    static func appendSingles(_ count: Int, to store: SQLiteStore, from offset: Int) async throws {
        let next = BatchCounter(total: count)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    while let i = await next.take() {
                        let delivery = DomainEvent.dataDelivered(
                            DataDelivered(
                                deliveryID: "dlv_\(offset + i)", consentID: "con_\(i % 5_000)", subject: "sub_\(i % 10_000)",
                                recipient: "safedrive", items: ["vehicle.driving"], records: 1, digest: "0123456789abcdef0123456789abcdef"))
                        _ = try await store.append(AppendBatch(typed: [(delivery, try delivery.newEvent(authorID: AuthorID.broker, time: .now()))]))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func log(_ text: String) { FileHandle.standardError.write(Data("\(text)\n".utf8)) }
}
