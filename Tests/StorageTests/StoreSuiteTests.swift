import Broker
import Consent
import Foundation
import GRDB
import Ledger
import Ports
import Sodium
import Storage
import TestSupport
import Testing

/// The store suite every backend must pass: each test runs once per available backend
/// (`Backend.available`: SQLite, and PostgreSQL when a test server is configured).
extension Backend {
    func open(_ directory: TemporaryDirectory) async throws -> any BrokerStore {
        try await fresh(directory).open()
    }
}

struct PostgresAvailability {
    @Test("the PostgreSQL store suite runs in this test run", .enabled(if: Backend.postgresURL != nil, Comment(rawValue: Backend.postgresSkipped)))
    func postgresSuiteRuns() {
        #expect(Backend.available.contains(.postgres))
    }
}

/// A broker event that touches one projection row, for filling stores quickly.
func delivery(_ i: Int, consent: String = "con_1", time: Int64 = 1_796_169_600_000) throws -> NewEvent {
    try DomainEvent.dataDelivered(
        DataDelivered(
            deliveryID: "dlv_\(i)", consentID: consent, subject: "sub_a", recipient: "safedrive",
            items: ["vehicle.driving"], records: i, digest: "00")
    )
    .newEvent(authorID: AuthorID.broker, time: Timestamp(milliseconds: time + Int64(i)))
}

struct StoreSuiteTests {
    @Test("appends get gap-free sequence numbers, each linked to the one before", arguments: Backend.available)
    func chainIsGapFree(_ backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try await backend.open(dir)
        #expect(try await store.head() == .genesis)
        let first = try await store.append(AppendBatch(events: [try delivery(1), try delivery(2)]))
        let second = try await store.append(AppendBatch(events: [try delivery(3)]))
        #expect(first.map(\.sequence) == [1, 2])
        #expect(second.map(\.sequence) == [3])
        let all = try await store.events(from: 1, limit: 100)
        #expect(all.map(\.sequence) == [1, 2, 3])
        #expect(all[0].previousHash == ChainHead.genesis.hash)
        #expect(all[1].previousHash == all[0].hash)
        #expect(all[2].previousHash == all[1].hash)
        for e in all { #expect(e.recomputedHash() == e.hash) }
        #expect(try await store.head() == all[2].head)
        #expect(try await store.events(from: 2, limit: 1).map(\.sequence) == [2])
    }

    @Test("a failed stream condition appends nothing of its batch", arguments: Backend.available)
    func conditionsGuardBatches(_ backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try await backend.open(dir)
        _ = try await store.append(AppendBatch(events: [try delivery(1, consent: "con_x")]))
        #expect(try await store.streamVersion(StreamName.deliveries("con_x")) == 1)
        await #expect(throws: LedgerError.self) {
            _ = try await store.append(
                AppendBatch(
                    events: [try delivery(2), try delivery(3)],
                    conditions: [StreamCondition(streamID: StreamName.deliveries("con_x"), expectedVersion: 0)]))
        }
        #expect(try await store.head().sequence == 1)
        #expect(try await store.accessLog(subject: "sub_a", limit: 10).count == 1)
        let ok = try await store.append(
            AppendBatch(
                events: [try delivery(4, consent: "con_x")],
                conditions: [StreamCondition(streamID: StreamName.deliveries("con_x"), expectedVersion: 1)]))
        #expect(ok.map(\.sequence) == [2])
        #expect(try await store.streamVersion(StreamName.deliveries("con_x")) == 2)
    }

    @Test("an event whose payload does not decode is refused and appends nothing", arguments: Backend.available)
    func malformedEventsAppendNothing(_ backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try await backend.open(dir)
        var bad = try delivery(2)
        bad.payload = Array("{\"records\":\"many\"}".utf8)
        await #expect(throws: (any Error).self) { _ = try await store.append(AppendBatch(events: [try delivery(1), bad])) }
        #expect(try await store.head() == .genesis)
        #expect(try await store.accessLog(subject: "sub_a", limit: 10).isEmpty)
    }

    @Test("concurrent appenders neither lose nor duplicate events", arguments: Backend.available)
    func concurrentAppends(_ backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try await backend.open(dir)
        let writers = 64, perWriter = 20
        let acknowledged = try await withThrowingTaskGroup(of: [RecordedEvent].self) { group in
            for w in 0..<writers {
                group.addTask {
                    var mine: [RecordedEvent] = []
                    for i in 0..<perWriter { mine += try await store.append(AppendBatch(events: [try delivery(w * 1000 + i)])) }
                    return mine
                }
            }
            var all: [RecordedEvent] = []
            for try await batch in group { all += batch }
            return all
        }
        #expect(acknowledged.count == writers * perWriter)
        #expect(Set(acknowledged.map(\.sequence)) == Set(1...UInt64(writers * perWriter)))
        let stored = try await store.events(from: 1, limit: 10_000)
        #expect(stored.map(\.sequence) == Array(1...UInt64(writers * perWriter)))
        for (a, b) in zip(stored, stored.dropFirst()) { #expect(b.previousHash == a.hash) }
        let byHash = Dictionary(uniqueKeysWithValues: stored.map { ($0.hash, $0) })
        for ack in acknowledged { #expect(byHash[ack.hash] == ack, "every acknowledged event is stored exactly as acknowledged") }
    }

    @Test("checkpoints are kept in order, and a repeat at the same sequence adds nothing", arguments: Backend.available)
    func checkpoints(_ backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try await backend.open(dir)
        let key = try SigningKey()
        let events = try await store.append(AppendBatch(events: [try delivery(1), try delivery(2)]))
        try await store.appendCheckpoint(Checkpoint.sign(head: events[0].head, time: Timestamp(milliseconds: 1), with: key))
        try await store.appendCheckpoint(Checkpoint.sign(head: events[1].head, time: Timestamp(milliseconds: 2), with: key))
        try await store.appendCheckpoint(Checkpoint.sign(head: events[1].head, time: Timestamp(milliseconds: 3), with: key))
        let cps = try await store.checkpoints()
        #expect(cps.map(\.sequence) == [1, 2])
        #expect(cps.allSatisfy { $0.isSigned(by: key.verifyingKey) })
    }

    @Test("what was acknowledged is there after the store is closed and reopened", arguments: Backend.available)
    func durableAcrossReopen(_ backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let handle = try await backend.fresh(dir)
        var acknowledged: [RecordedEvent] = []
        do {
            let store = try await handle.open()
            acknowledged = try await store.append(AppendBatch(events: (1...50).map { try delivery($0) }))
            store.close()
        }
        let reopened = try await handle.open()
        #expect(try await reopened.events(from: 1, limit: 100) == acknowledged)
        #expect(try await reopened.projectedSequence() == 50)
    }

    @Test("reads are bounded by the page limits", arguments: Backend.available)
    func pageLimits(_ backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try await backend.open(dir)
        _ = try await store.append(AppendBatch(events: (1...30).map { try delivery($0) }))
        #expect(try await store.events(from: 1, limit: 10).count == 10)
        #expect(try await store.events(from: 1, limit: 0).count == 1)
        #expect(try await store.accessLog(subject: "sub_a", limit: 5).count == 5)
        #expect(try await store.accessLog(subject: "sub_a", limit: 5).first?.records == 30, "newest first")
    }
}

struct DerivedProjectionTests {
    @Test("projection changes carried with a typed batch equal those decoded from its events", arguments: Backend.available)
    func typedEqualsDecoded(_ backend: Backend) async throws {
        let dirA = TemporaryDirectory(), dirB = TemporaryDirectory()
        let a = try await backend.open(dirA), b = try await backend.open(dirB)
        let typed = try (1...20).map { i -> (DomainEvent, NewEvent) in
            let e = DomainEvent.dataDelivered(
                DataDelivered(
                    deliveryID: "dlv_\(i)", consentID: "con_\(i % 3)", subject: "sub_a",
                    recipient: "safedrive", items: ["vehicle.driving", "vehicle.context"], records: i, digest: "00"))
            return (e, try e.newEvent(authorID: AuthorID.broker, time: Timestamp(milliseconds: 1_796_169_600_000 + Int64(i))))
        }
        _ = try await a.append(AppendBatch(typed: typed))
        _ = try await b.append(AppendBatch(events: typed.map(\.1)))
        #expect(try await a.dumpProjections() == (try await b.dumpProjections()))
        #expect(try await a.events(from: 1, limit: 100) == (try await b.events(from: 1, limit: 100)))
        try await a.rebuildProjections()
        #expect(try await a.dumpProjections() == (try await b.dumpProjections()))
    }
}
