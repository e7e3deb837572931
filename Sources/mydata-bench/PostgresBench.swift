import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger
import Logging
import NIOCore
import PostgresNIO
import Storage

struct PostgresBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres",
        abstract: "Durable appends to PostgreSQL from 1 and 4 broker processes, against PostgreSQL's raw batched insert rate.")

    @Option(help: "A PostgreSQL server URL whose user may create databases (default: $MYDATA_TEST_POSTGRES_URL).") var store: String?
    @Option(help: "Events appended in each ledger scenario.") var events = 200_000
    @Option(help: "Events per append.") var batch = 100
    @Option(help: "Concurrent appenders in each broker process.") var concurrency = 8
    @Option(help: "Rows inserted by the raw baseline.") var rawRows = 200_000
    @Option(help: "Also write the JSON report to this file.") var json: String?

    func run() async throws {
        guard let admin = store ?? ProcessInfo.processInfo.environment["MYDATA_TEST_POSTGRES_URL"] else {
            throw ValidationError("name a PostgreSQL server with --store, or run under .ci/with-postgres")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mydata-pgbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let broker = try Identity.generate(id: "broker")
        var none: [UInt8]? = nil
        let keyFile = work.appendingPathComponent("broker.key")
        try KeyFile.write(broker, to: keyFile, passphrase: &none)

        let probe = try await PostgresStore.connect(url: admin)
        let settings = try await probe.durability()
        probe.close()
        let durability = "fsync=\(settings.fsync), synchronous_commit=\(settings.synchronousCommit)"
        log("raw batched inserts…")
        let raw1 = try await rawInsertRate(admin: admin, clients: 1)
        let raw4 = try await rawInsertRate(admin: admin, clients: 4)
        var figures = [
            Figure(name: "raw PostgreSQL insert, 1,000 rows per commit, 1 client", value: raw1, unit: "rows/s", durability: durability),
            Figure(name: "raw PostgreSQL insert, 1,000 rows per commit, 4 clients", value: raw4, unit: "rows/s", durability: durability),
        ]
        for processes in [1, 4] {
            log("ledger appends from \(processes) broker process(es)…")
            let rate = try await ledgerRate(admin: admin, processes: processes, keyFile: keyFile, broker: broker)
            let baseline = processes == 1 ? raw1 : raw4
            figures.append(
                Figure(
                    name: "durable ledger appends, \(processes) broker process\(processes == 1 ? "" : "es") (\(batch)-event appends)",
                    value: rate, unit: "events/s", goal: processes == 4 ? "≥ 20,000/s" : nil, ratio: rate / baseline,
                    baseline: "raw PostgreSQL insert, \(processes) client\(processes == 1 ? "" : "s")",
                    met: processes == 4 ? rate >= 20_000 : nil, durability: durability))
        }
        printFigures(figures)
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(figures).write(to: URL(fileURLWithPath: json))
        }
    }

    /// Rows per second into an events-shaped table, 1,000 rows per committed transaction.
    private func rawInsertRate(admin: String, clients: Int) async throws -> Double {
        let url = try await BenchDatabases.create(admin: admin)
        let location = try PostgresLocation(url: url)
        var config = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username,
            password: location.password, database: location.database, tls: .disable)
        config.options.maximumConnections = clients
        let client = PostgresClient(configuration: config)
        return try await withThrowingTaskGroup(of: Double.self) { group in
            group.addTask {
                await client.run(); return 0
            }
            try await client.query(
                """
                CREATE TABLE raw_events (seq BIGINT PRIMARY KEY, time_ms BIGINT NOT NULL, stream_id TEXT NOT NULL, type TEXT NOT NULL,
                  schema_version INTEGER NOT NULL, author_id TEXT NOT NULL, signature BYTEA NOT NULL, payload BYTEA NOT NULL,
                  prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL)
                """)
            let perClient = rawRows / clients / 1_000
            let start = Date()
            try await withThrowingTaskGroup(of: Void.self) { inserts in
                for c in 0..<clients {
                    inserts.addTask {
                        for t in 0..<perClient {
                            let base = (c * perClient + t) * 1_000
                            let seqs = (base..<base + 1_000).map { Int64($0) }
                            let payload = ByteBuffer(bytes: [UInt8](repeating: 65, count: 120)),
                                sig = ByteBuffer(bytes: [UInt8](repeating: 1, count: 64))
                            let hashes = seqs.map { s in ByteBuffer(bytes: withUnsafeBytes(of: s) { Array($0) } + [UInt8](repeating: 0, count: 24)) }
                            _ = try await client.withTransaction(logger: Logger(label: "bench")) { conn in
                                try await conn.query(
                                    """
                                    INSERT INTO raw_events SELECT * FROM UNNEST(\(seqs)::bigint[], \(seqs)::bigint[],
                                      \(seqs.map { "subject:sub_\($0)" })::text[], \(Array(repeating: "subject.registered", count: 1_000))::text[],
                                      \(Array(repeating: Int64(1), count: 1_000))::bigint[], \(seqs.map { "sub_\($0)" })::text[],
                                      \(Array(repeating: sig, count: 1_000))::bytea[], \(Array(repeating: payload, count: 1_000))::bytea[],
                                      \(hashes)::bytea[], \(hashes)::bytea[])
                                    """, logger: Logger(label: "bench"))
                            }
                        }
                    }
                }
                try await inserts.waitForAll()
            }
            let rate = Double(perClient * clients * 1_000) / Date().timeIntervalSince(start)
            group.cancelAll()
            return rate
        }
    }

    /// Events per second appended by `processes` broker processes to one fresh ledger.
    private func ledgerRate(admin: String, processes: Int, keyFile: URL, broker: Identity) async throws -> Double {
        let url = try await BenchDatabases.create(admin: admin)
        do {
            let store = try await PostgresStore.connect(url: url)
            try await BrokerService(store: store, identity: broker).initialise()
            store.close()
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var running: [(Process, Pipe)] = []
        let start = Date()
        for w in 0..<processes {
            let process = Process()
            process.executableURL = executable
            process.arguments = [
                "append-worker", "--store", url, "--broker-key", keyFile.path, "--worker", "\(w)", "--quiet",
                "--seconds", "600", "--events", "\(events / processes)", "--batch", "\(batch)", "--concurrency", "\(concurrency)",
            ]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            running.append((process, out))
        }
        var total = 0
        for (process, out) in running {
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0, let done = text.split(separator: "\n").last(where: { $0.hasPrefix("done ") }) else {
                throw ValidationError("a broker process failed: \(text.suffix(300))")
            }
            total += Int(done.split(separator: " ")[1]) ?? 0
        }
        let elapsed = Date().timeIntervalSince(start)
        let store = try await PostgresStore.connect(url: url)
        defer { store.close() }
        let result = try await LedgerAudit.verify(store: store, brokerKey: broker.signingKey.verifyingKey)
        guard case .success = result else { throw ValidationError("the benchmark ledger did not verify: \(result)") }
        return Double(total) / elapsed
    }

    private func log(_ text: String) { FileHandle.standardError.write(Data("\(text)\n".utf8)) }
}

/// A fresh database per scenario on the benchmark server.
enum BenchDatabases {
    static func create(admin: String) async throws -> String {
        try await PostgresAdmin.createDatabase(adminURL: admin, prefix: "mydata_bench_")
    }
}

/// Prints figures as a table and as one line of JSON.
func printFigures(_ figures: [Figure]) {
    var rows = [["measure", "value", "unit", "ratio", "goal", "met", "durability (read back)"]]
    for f in figures {
        rows.append([
            f.name, format(f.value), f.unit, f.ratio.map { String(format: "%.2f×", $0) } ?? "", f.goal ?? "",
            f.met.map { $0 ? "yes" : "NO" } ?? "", f.durability ?? "",
        ])
    }
    var widths = rows[0].map(\.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    for r in rows {
        print(r.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    if let data = try? encoder.encode(figures) { print(String(decoding: data, as: UTF8.self)) }
}
