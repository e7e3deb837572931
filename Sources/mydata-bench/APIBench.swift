import ArgumentParser
import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
import MyDataWire
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Ledger
import Prometheus
import Sodium
import Storage
import Vault

/// The HTTP API over loopback: signed pushes of 1,000-record batches, pulls, pull latency at a
/// fixed request rate, revocation latency. The server runs in this process on an SQLite store;
/// the client signs every request (RFC 9421) as a real client does.
struct APIBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Push, pull and revoke over signed HTTP on loopback.")

    @Option(help: "1,000-record batches pushed.") var batches = 200
    @Option(help: "Concurrent pushers.") var pushers = 4
    @Option(help: "Requests for the latency scenario.") var latencyRequests = 2_000
    @Option(help: "Rate of the latency scenario, requests per second.") var rate = 500
    @Option(help: "Revocations timed.") var revocations = 200
    @Option(help: "The policy directory.") var policies = "Policies"

    func run() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mydata-apibench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let store = try SQLiteStore(path: work.appendingPathComponent("ledger.sqlite").path)
        let durability = synchronousName(try await store.writerSynchronous())
        let service = BrokerService(store: store, identity: try Identity.generate(id: "broker"))
        try await service.initialise()
        try await service.activatePolicy(try PolicyLoader.load(directory: URL(fileURLWithPath: policies, isDirectory: true)))
        let maker = try Identity.generate(id: "bench-motors"), recipient = try Identity.generate(id: "bench-insurance")
        try await service.registerParty(id: maker.id, role: .manufacturer, name: "Bench Motors", keys: maker.publicKeys)
        try await service.registerParty(id: recipient.id, role: .recipient, name: "Bench Insurance", keys: recipient.publicKeys)
        let person = try Identity.generateSubject()
        let now = Timestamp.now()
        try await service.submit(person.sign(ConsentDrafts.registration(of: person), at: now))
        try await service.submit(maker.sign(.deviceAttested(DeviceAttested(deviceID: "car", manufacturer: maker.id, subject: person.id)), at: now))
        try await service.submit(person.sign(.deviceConfirmed(DeviceConfirmed(deviceID: "car", manufacturer: maker.id, subject: person.id)), at: now))
        let consent = try await grant(service: service, person: person, recipient: recipient, now: now)
        // Pulls are charged by Policies/accounting.yaml: the recipient pays from cash.
        try await service.deposit(1_000_000_000_000, to: AccountNames.cashAccount(recipient.id), id: "bench")

        let transfer = TransferService(broker: service, vault: Vault(kek: try SymmetricKey(), store: store))
        let port = PortBox()
        let app = BrokerApplication.make(
            service: service, transfer: transfer, nonces: store, metrics: PrometheusCollectorRegistry(),
            host: "127.0.0.1", port: 0, logger: .init(label: "bench")
        ) { await port.set($0) }
        let server = Task { try await app.run() }
        defer { server.cancel() }
        let base = URL(string: "http://127.0.0.1:\(try await port.wait())")!
        let makerClient = BrokerHTTPClient(baseURL: base, identity: maker)
        let recipientClient = BrokerHTTPClient(baseURL: base, identity: recipient)
        var figures: [Figure] = []

        // Push.
        log("push: \(batches) signed batches of 1,000 records, \(pushers) pushers…")
        let bodies = try (0..<batches).map { b in
            try JSONEncoder().encode([
                "records": (0..<1_000).map { i in
                    TelemetryRecord(
                        device: "car", item: "vehicle.driving", time: now.adding(seconds: Int64(-(b * 1_000 + i))),
                        values: ["distance": .number(Double(i) / 10), "duration": .integer(600), "average_speed": .number(40)])
                }
            ])
        }
        // Signed now, sent by the load generator's process: the figure is the broker's.
        let pushRequests = try bodies.map { try rawRequest(makerClient, "POST", "/v1/telemetry", body: $0) }
        let push = try generateLoad(pushRequests, port: try await port.wait(), connections: pushers, rate: 0)
        guard push.statuses.allSatisfy({ $0 == 201 }) else { throw ValidationError("push answered \(Set(push.statuses).sorted())") }
        var pushed = batches * 1_000
        figures.append(
            Figure(
                name: "push over HTTP, signed 1,000-record batches (load generator process)", value: Double(pushed) / push.seconds,
                unit: "records/s", goal: "≥ 100,000/s", met: Double(pushed) / push.seconds >= 100_000, durability: durability))

        // The same records as NDJSON, through the raw client and through MyDataClient, side by side.
        log("push: the same batches as NDJSON, raw client and MyDataClient…")
        let ndjson = try (0..<batches).map { b in
            try Batches.ndjson(
                (0..<1_000).map { i in
                    TelemetryRecord(
                        device: "car", item: "vehicle.driving", time: now.adding(seconds: Int64(-(b * 1_000 + i))),
                        values: ["distance": .number(Double(i) / 10), "duration": .integer(600), "average_speed": .number(40)])
                })
        }
        // Both read the answer, as a manufacturer must to learn which records were rejected. In
        // alternating rounds of ten batches, so that neither pays more for a fuller database.
        let library = MyDataClient(baseURL: base, identity: maker)
        var rawNDJSONSeconds = 0.0, librarySeconds = 0.0
        for round in stride(from: 0, to: batches, by: 10) {
            let slice = Array(round..<min(round + 10, batches))
            let raw = {
                try await self.pushAll(count: slice.count, pushers: pushers) { i in
                    let reply = try await makerClient.send(
                        "POST", "/v1/telemetry", body: Data(ndjson[slice[i]]), extraFields: ["Content-Type": "application/x-ndjson"])
                    guard reply.status == 201, try reply.decode(TransferService.PushResult.self).accepted == 1_000 else {
                        throw ValidationError("push answered \(reply.status)")
                    }
                }
            }
            let typed = {
                try await self.pushAll(count: slice.count, pushers: pushers) { i in
                    let result = try await library.push(ndjson: ndjson[slice[i]])
                    guard result.accepted == 1_000 else { throw ValidationError("the library's push accepted \(result.accepted)") }
                }
            }
            if (round / 10) % 2 == 0 {
                rawNDJSONSeconds += try await raw()
                librarySeconds += try await typed()
            } else {
                librarySeconds += try await typed()
                rawNDJSONSeconds += try await raw()
            }
        }
        pushed += 2 * batches * 1_000
        let rawRate = Double(batches * 1_000) / rawNDJSONSeconds, libraryRate = Double(batches * 1_000) / librarySeconds
        figures.append(
            Figure(
                name: "push over HTTP, raw client, NDJSON 1,000-record batches", value: rawRate, unit: "records/s",
                durability: durability))
        figures.append(
            Figure(
                name: "push over HTTP, MyDataClient, NDJSON 1,000-record batches", value: libraryRate, unit: "records/s",
                goal: "≥ 0.9× the raw client", ratio: libraryRate / rawRate, baseline: "raw client, NDJSON",
                met: libraryRate / rawRate >= 0.9, durability: durability))

        // Pull everything, page by page.
        log("pull: every record under one consent, 500 per page…")
        var pulled = 0
        var positions: [String] = []
        let pullSeconds = try await measure {
            var cursor = "0"
            while true {
                let reply = try await recipientClient.send("GET", "/v1/consents/\(consent)/data?limit=500&after=\(cursor)")
                guard reply.status == 200 else { throw ValidationError("pull answered \(reply.status)") }
                let opened = try SealedBox.open([UInt8](reply.body), with: recipient.boxKey)
                let delivery = try JSONDecoder().decode(TransferService.Delivery.self, from: Data(opened))
                pulled += delivery.records.count
                positions += delivery.positions
                cursor = delivery.nextCursor
                guard delivery.hasMore else { break }
            }
        }
        guard pulled == pushed else { throw ValidationError("pulled \(pulled) of \(pushed) records") }
        let rawPullRate = Double(pulled) / pullSeconds
        figures.append(
            Figure(
                name: "pull over HTTP, sealed 500-record pages", value: rawPullRate, unit: "records/s",
                goal: "≥ 100,000/s", met: rawPullRate >= 100_000, durability: durability))

        // The same through MyDataClient, under another consent: it also checks the broker's
        // signature and the page's digest, which the raw path above does not.
        log("pull: every record under another consent, 500 per page, through MyDataClient…")
        let libraryConsent = try await grant(service: service, person: person, recipient: recipient, now: now)
        let libraryRecipient = MyDataClient(baseURL: base, identity: recipient, brokerKey: service.identity.signingKey.verifyingKey)
        var libraryPulled = 0
        let libraryPullSeconds = try await measure {
            var cursor = "0"
            while true {
                let page = try await libraryRecipient.pull(consentID: libraryConsent, after: cursor, limit: 500)
                libraryPulled += page.records.count
                cursor = page.nextCursor
                guard page.hasMore else { break }
            }
        }
        guard libraryPulled == pushed else { throw ValidationError("the library pulled \(libraryPulled) of \(pushed) records") }
        let libraryPullRate = Double(libraryPulled) / libraryPullSeconds
        figures.append(
            Figure(
                name: "pull over HTTP, sealed 500-record pages, MyDataClient (checked)", value: libraryPullRate, unit: "records/s",
                goal: "≥ 0.9× the raw client", ratio: libraryPullRate / rawPullRate, baseline: "raw client",
                met: libraryPullRate / rawPullRate >= 0.9, durability: durability))

        // Pull everything again as sealed NDJSON streams of large pages, under a second consent
        // (under the first, a pull from 0 would get its first delivery again).
        log("pull: every record under another consent, sealed NDJSON streams of 10,000…")
        let streamConsent = try await grant(service: service, person: person, recipient: recipient, now: now)
        var streamed = 0
        let brokerKey = service.identity.signingKey.verifyingKey
        let streamSeconds = try await measure {
            var cursor = "0"
            while true {
                let reply = try await recipientClient.send(
                    "GET", "/v1/consents/\(streamConsent)/data?limit=10000&after=\(cursor)",
                    extraFields: ["Accept": SealedStream.mediaType])
                guard reply.status == 200 else { throw ValidationError("streamed pull answered \(reply.status)") }
                let page = try SealedStream.Reader.openCanonical(reply.body, recipient: recipient.boxKey, broker: brokerKey)
                streamed += page.records.count
                cursor = page.trailer.nextCursor
                guard page.trailer.hasMore else { break }
            }
        }
        guard streamed == pushed else { throw ValidationError("streamed \(streamed) of \(pushed) records") }
        figures.append(
            Figure(
                name: "pull over HTTP, sealed NDJSON streams of 10,000", value: Double(streamed) / streamSeconds, unit: "records/s",
                goal: "≥ 100,000/s", met: Double(streamed) / streamSeconds >= 100_000, durability: durability))

        // Latency at a fixed rate: every request a new 10-record delivery (logged and charged),
        // spread over consents as many recipients' pulls would be (pulls under one consent are
        // serialised by its deliveries stream).
        var granted: [String] = []
        for _ in 0..<50 { granted.append(try await grant(service: service, person: person, recipient: recipient, now: now)) }
        let latencyConsents = granted
        let starts = stride(from: 0, to: positions.count, by: 10).map { positions[$0] }
        guard latencyRequests <= latencyConsents.count * starts.count else {
            throw ValidationError("--latency-requests at most \(latencyConsents.count * starts.count) with \(batches) batches")
        }
        log("pull latency at \(rate) requests/s…")
        let pullRequests = try (0..<latencyRequests).map { i in
            let consent = latencyConsents[i % latencyConsents.count], after = starts[i / latencyConsents.count]
            return try rawRequest(recipientClient, "GET", "/v1/consents/\(consent)/data?limit=10&after=\(after)")
        }
        let paced = try generateLoad(pullRequests, port: try await port.wait(), connections: 32, rate: rate)
        guard paced.statuses.allSatisfy({ $0 == 200 }) else { throw ValidationError("pull answered \(Set(paced.statuses).sorted())") }
        let latencies = paced.latencies
        figures.append(
            Figure(
                name: "pull latency p50 at \(rate) req/s (10-record pages)", value: percentile(latencies, 0.50) * 1000, unit: "ms",
                durability: durability))
        figures.append(
            Figure(
                name: "pull latency p99 at \(rate) req/s (10-record pages)", value: percentile(latencies, 0.99) * 1000, unit: "ms",
                goal: "≤ 10 ms", met: percentile(latencies, 0.99) <= 0.010, durability: durability))

        // Revocation latency.
        log("revocations…")
        var revokeLatencies: [Double] = []
        let personClient = BrokerHTTPClient(baseURL: base, identity: person)
        for _ in 0..<revocations {
            let id = try await grant(service: service, person: person, recipient: recipient, now: .now())
            let body = try JSONEncoder().encode(
                SubmitBody(events: [WireEvent(try person.sign(.consentRevoked(ConsentRevoked(consentID: id, subject: person.id)), at: .now()))]))
            let seconds = try await measure {
                let reply = try await personClient.send("POST", "/v1/consents/\(id)/revoke", body: body)
                guard reply.status == 200 else { throw ValidationError("revoke answered \(reply.status)") }
            }
            revokeLatencies.append(seconds)
        }
        figures.append(Figure(name: "revoke latency p50", value: percentile(revokeLatencies, 0.50) * 1000, unit: "ms", durability: durability))
        figures.append(
            Figure(
                name: "revoke latency p99", value: percentile(revokeLatencies, 0.99) * 1000, unit: "ms",
                goal: "≤ 20 ms", met: percentile(revokeLatencies, 0.99) <= 0.020, durability: durability))

        // The catalogue, unsigned, at a fixed rate: it is made at most every 10 s and served from memory.
        log("catalogue latency at \(rate) requests/s…")
        let catalogueRequest = Array("GET /v1/catalog HTTP/1.1\r\nHost: 127.0.0.1:\(try await port.wait())\r\nContent-Length: 0\r\n\r\n".utf8)
        let catalogue = try generateLoad(
            Array(repeating: catalogueRequest, count: latencyRequests), port: try await port.wait(), connections: 32, rate: rate)
        guard catalogue.statuses.allSatisfy({ $0 == 200 }) else { throw ValidationError("catalog answered \(Set(catalogue.statuses).sorted())") }
        figures.append(
            Figure(
                name: "catalogue latency p50 at \(rate) req/s", value: percentile(catalogue.latencies, 0.50) * 1000, unit: "ms",
                durability: durability))
        figures.append(
            Figure(
                name: "catalogue latency p99 at \(rate) req/s", value: percentile(catalogue.latencies, 0.99) * 1000, unit: "ms",
                goal: "≤ 5 ms", met: percentile(catalogue.latencies, 0.99) <= 0.005, durability: durability))

        figures.append(try await qualityCost(now: now, durability: durability))
        printFigures(figures)
    }

    /// Push throughput with quality measurement on against off: two fresh brokers alike but for
    /// it, the same signed batches sent to each in turn, three rounds, by the load generator.
    private func qualityCost(now: Timestamp, durability: String) async throws -> Figure {
        struct Broker {
            let app: Task<Void, any Error>
            let port: Int
            let maker: Identity
            let directory: URL
        }
        func start(measuresQuality: Bool) async throws -> Broker {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mydata-apibench-q-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let store = try SQLiteStore(path: directory.appendingPathComponent("ledger.sqlite").path)
            let service = BrokerService(store: store, identity: try Identity.generate(id: "broker"))
            try await service.initialise()
            try await service.activatePolicy(try PolicyLoader.load(directory: URL(fileURLWithPath: policies, isDirectory: true)))
            let maker = try Identity.generate(id: "bench-motors")
            try await service.registerParty(id: maker.id, role: .manufacturer, name: "Bench Motors", keys: maker.publicKeys)
            let person = try Identity.generateSubject()
            try await service.submit(person.sign(ConsentDrafts.registration(of: person), at: now))
            try await service.submit(
                maker.sign(.deviceAttested(DeviceAttested(deviceID: "car", manufacturer: maker.id, subject: person.id)), at: now))
            try await service.submit(
                person.sign(.deviceConfirmed(DeviceConfirmed(deviceID: "car", manufacturer: maker.id, subject: person.id)), at: now))
            let transfer = TransferService(broker: service, vault: Vault(kek: try SymmetricKey(), store: store), measuresQuality: measuresQuality)
            let port = PortBox()
            let app = BrokerApplication.make(
                service: service, transfer: transfer, nonces: store, metrics: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0,
                logger: .init(label: "bench")
            ) { await port.set($0) }
            return Broker(app: Task { try await app.run() }, port: try await port.wait(), maker: maker, directory: directory)
        }
        log("push: quality measurement on against off, \(batches) batches each in 3 rounds…")
        let on = try await start(measuresQuality: true), off = try await start(measuresQuality: false)
        defer {
            for b in [on, off] {
                b.app.cancel()
                try? FileManager.default.removeItem(at: b.directory)
            }
        }
        var seconds = (on: 0.0, off: 0.0)
        let perRound = max(batches / 3, 1)
        for round in 0..<3 {
            let bodies = try (0..<perRound).map { b in
                try JSONEncoder().encode([
                    "records": (0..<1_000).map { i in
                        TelemetryRecord(
                            device: "car", item: "vehicle.driving", time: now.adding(seconds: Int64(-((round * perRound + b) * 1_000 + i))),
                            values: ["distance": .number(Double(i) / 10), "duration": .integer(600), "average_speed": .number(40)])
                    }
                ])
            }
            // Off first in one round, on first in the next: neither always gets the warmer machine.
            for measured in round % 2 == 0 ? [off, on] : [on, off] {
                let client = BrokerHTTPClient(baseURL: URL(string: "http://127.0.0.1:\(measured.port)")!, identity: measured.maker)
                let requests = try bodies.map { try rawRequest(client, "POST", "/v1/telemetry", body: $0) }
                let result = try generateLoad(requests, port: measured.port, connections: pushers, rate: 0)
                guard result.statuses.allSatisfy({ $0 == 201 }) else { throw ValidationError("push answered \(Set(result.statuses).sorted())") }
                if measured.port == on.port { seconds.on += result.seconds } else { seconds.off += result.seconds }
            }
        }
        let records = Double(3 * perRound * 1_000)
        let ratio = (records / seconds.on) / (records / seconds.off)
        return Figure(
            name: "push with quality measurement on (signed 1,000-record batches)", value: records / seconds.on, unit: "records/s",
            goal: "≥ 0.95× measurement off", ratio: ratio, baseline: "measurement off (\(Int(records / seconds.off)) records/s)",
            met: ratio >= 0.95, durability: durability)
    }

    private func grant(service: BrokerService, person: Identity, recipient: Identity, now: Timestamp) async throws -> String {
        let policy = try await service.store.activePolicy()!
        let terms = try StandardContract.attach(
            template: nil, parameters: [:],
            to: ConsentTerms(
                category: "vehicle", items: ["vehicle.driving"], purpose: "usage-based-insurance",
                dataFrom: now.adding(days: -365), dataTo: now.adding(days: 1), durationDays: 365, onceOff: false,
                retentionDays: 30, incentiveKRW: 0),
            recipient: recipient.id, policy: policy.policy)
        let request = ConsentRequested(
            requestID: Identifiers.random(prefix: "req"), recipient: recipient.id, subject: person.id,
            terms: terms, offerExpiresAt: now.adding(days: 1), policyVersion: policy.version)
        try await service.submit(recipient.sign(.consentRequested(request), at: now))
        let stored = try await service.store.request(request.requestID)!
        try await service.submit(
            person.sign(ConsentDrafts.grant(of: stored, by: person.id, policy: policy, now: now, sensitiveConfirmed: false), at: now))
        return Identifiers.consentID(requestID: request.requestID, subject: person.id)
    }

    /// Seconds to send `count` batches with `pushers` concurrent senders.
    private func pushAll(count: Int, pushers: Int, _ send: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
        let counter = BatchCounter(total: count)
        return try await measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<pushers {
                    group.addTask { while let b = await counter.take() { try await send(b) } }
                }
                try await group.waitForAll()
            }
        }
    }

    /// A request as raw HTTP/1.1 bytes, signed by `client` as it would sign it when sending.
    private func rawRequest(_ client: BrokerHTTPClient, _ method: String, _ pathAndQuery: String, body: Data? = nil) throws -> [UInt8] {
        let request = try client.signedRequest(method, pathAndQuery, body: body)
        guard let url = request.url, let host = url.host, let port = url.port else { throw ValidationError("no host in \(client.baseURL)") }
        var head = "\(method) \(pathAndQuery) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        for (name, value) in (request.allHTTPHeaderFields ?? [:]).sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body?.count ?? 0)\r\n\r\n"
        return Array(head.utf8) + (body.map { [UInt8]($0) } ?? [])
    }

    private func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    private func log(_ text: String) { FileHandle.standardError.write(Data("\(text)\n".utf8)) }
}

actor PortBox {
    private var port: Int?
    func set(_ p: Int) { port = p }
    func wait() async throws -> Int {
        for _ in 0..<500 {
            if let port { return port }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        throw ValidationError("the server did not start")
    }
}

actor BatchCounter {
    private var next = 0
    let total: Int
    init(total: Int) { self.total = total }
    func take() -> Int? {
        guard next < total else { return nil }
        defer { next += 1 }
        return next
    }
}

/// Sends `requests` from a `mydata-bench load` process (closed loop over `connections`, or
/// open loop at `rate` per second) and returns the elapsed seconds and each request's status
/// and latency in seconds.
func generateLoad(
    _ requests: [[UInt8]], port: Int, connections: Int, rate: Int = 0
) throws -> (
    seconds: Double, statuses: [Int], latencies: [Double]
) {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("mydata-load-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: file) }
    var bytes: [UInt8] = []
    for request in requests {
        bytes += (0..<8).map { UInt8(truncatingIfNeeded: request.count >> (8 * $0)) }
        bytes += request
    }
    try Data(bytes).write(to: file)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    process.arguments = ["load", "--port", "\(port)", "--requests", file.path, "--connections", "\(connections)", "--rate", "\(rate)"]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let lines = text.split(separator: "\n").map { $0.split(separator: " ") }
    guard process.terminationStatus == 0, lines.count == requests.count + 1, lines[0].count == 2, let elapsed = Double(lines[0][1]) else {
        throw ValidationError("the load generator failed (status \(process.terminationStatus)): \(text.prefix(300))")
    }
    let results = lines.dropFirst().map { (Int($0[1]) ?? 0, (Double($0[2]) ?? .infinity) / 1e9) }
    return (elapsed / 1e9, results.map(\.0), results.map(\.1))
}
