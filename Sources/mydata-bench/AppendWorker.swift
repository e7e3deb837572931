import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger
import Storage

/// One broker process appending to a shared store: for the multi-process test and the
/// PostgreSQL benchmark. Prints `ack <delivery-id> <sequence>` for every event once its commit
/// has returned, written straight to stdout so a killed worker loses no line it printed.
struct AppendWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-worker", abstract: "Append broker events to a shared store and print each acknowledgement.")

    @Option(help: "The store: a postgres:// URL.") var store: String
    @Option(help: "The broker's key file (signs checkpoints).") var brokerKey: String
    @Option(help: "This worker's number, part of every delivery id.") var worker: Int
    @Option(help: "Stop after this many seconds.") var seconds: Double = 5
    @Option(help: "Stop after this many events.") var events = Int.max
    @Option(help: "Events per append.") var batch = 10
    @Option(help: "Concurrent appenders in this process.") var concurrency = 8
    @Flag(help: "Print only a final count, not each acknowledgement.") var quiet = false

    func run() async throws {
        let identity = try KeyFile.read(URL(fileURLWithPath: brokerKey)) { [] }
        let shared = try await PostgresStore.connect(url: store)
        defer { shared.close() }
        let checkpointer = Checkpointer(store: shared, key: identity.signingKey, clock: SystemClock())
        let deadline = Date().addingTimeInterval(seconds)
        let counter = Counter(limit: events, batch: batch)
        let start = Date()
        let appended = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var mine = 0
                    while Date() < deadline, let range = await counter.take() {
                        let typed = try range.map { i -> (DomainEvent, NewEvent) in
                            let e = DomainEvent.dataDelivered(
                                DataDelivered(
                                    deliveryID: "w\(worker)-\(i)", consentID: "con_w\(worker)", subject: "sub_w\(worker)", recipient: "bench",
                                    items: ["vehicle.driving"], records: 1, digest: "00"))
                            return (e, try e.newEvent(authorID: AuthorID.broker, time: .now()))
                        }
                        let recorded = try await shared.append(AppendBatch(typed: typed))
                        if !quiet {
                            let lines = zip(typed, recorded).map { t, r -> String in
                                guard case .dataDelivered(let d) = t.0 else { return "" }
                                return "ack \(d.deliveryID) \(r.sequence)\n"
                            }.joined()
                            FileHandle.standardOutput.write(Data(lines.utf8))
                        }
                        if let last = recorded.last { try await checkpointer.appended(last.head) }
                        mine += recorded.count
                    }
                    return mine
                }
            }
            return try await group.reduce(0, +)
        }
        try await checkpointer.flush()
        let elapsed = Date().timeIntervalSince(start)
        FileHandle.standardOutput.write(Data("done \(appended) \(String(format: "%.3f", elapsed))\n".utf8))
    }
}

/// Hands out ranges of event numbers until the limit.
actor Counter {
    private var issued = 0
    private let limit: Int
    private let batch: Int

    init(limit: Int, batch: Int) {
        self.limit = limit
        self.batch = batch
    }

    func take() -> Range<Int>? {
        guard issued < limit else { return nil }
        let end = min(issued + batch, limit)
        defer { issued = end }
        return issued..<end
    }
}
