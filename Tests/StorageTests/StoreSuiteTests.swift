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

struct AnalysisProjectionTests {
    static let t0 = Timestamp(milliseconds: 1_796_169_600_000)

    static func grant(_ subject: String, request: String = "req_a", expiresAt: Timestamp = t0.adding(days: 30)) -> DomainEvent {
        .consentGranted(
            ConsentGranted(
                consentID: Identifiers.consentID(requestID: request, subject: subject), requestID: request, requestHash: "rh",
                subject: subject, recipient: "safedrive",
                terms: ConsentTerms(
                    category: "vehicle", items: ["vehicle.driving"], purpose: "insurance", dataFrom: t0.adding(days: -10),
                    dataTo: t0.adding(days: 10), durationDays: 30, onceOff: false, retentionDays: 30, incentiveKRW: 0, access: .analysis),
                grantedAt: t0, expiresAt: expiresAt, policyVersion: "1", policyHash: "ph", sensitiveConfirmed: false))
    }

    static func ran(_ id: String, epsilonMilli: Int64, periodStart: Timestamp) -> DomainEvent {
        .analysisRan(
            AnalysisRan(
                analysisID: id, requestID: "req_a", recipient: "safedrive", category: "vehicle", purpose: "insurance",
                query: AnalysisQuery(
                    requestID: "req_a", items: ["vehicle.driving"], from: t0.adding(days: -10), to: t0,
                    measures: [AnalysisMeasure(kind: .persons)], epsilon: Double(epsilonMilli) / 1000),
                queryHash: "qh", policyVersion: "1", policyHash: "ph", epsilonMilli: epsilonMilli, periodStart: periodStart,
                periodEnd: periodStart.adding(days: 30),
                protection: AnalysisProtection(
                    recordsPerPersonPerCell: 1, cellsPerPerson: 1, mechanism: "discrete-laplace",
                    noise: [NoiseStatement(quantity: "persons", sensitivity: 1, unit: "1", epsilon: Double(epsilonMilli) / 1000, scale: 1)],
                    k: 10, margin: 5, deltaExponent: 9),
                persons: 3, cells: [AnalysisCell(key: [], suppressed: false, persons: 12)], released: 1, suppressed: 0,
                resultDigest: "rd", priceKRW: 1000))
    }

    static func included(_ id: String, _ subjects: [String]) -> DomainEvent {
        .analysisIncluded(
            AnalysisIncluded(analysisID: id, requestID: "req_a", recipient: "safedrive", purpose: "insurance", subjects: subjects))
    }

    @Test("analyses record the ε they spent and the persons they included, and a rebuild restores both", arguments: Backend.available)
    func analysisProjectionsRecordSpendAndInclusions(_ backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try await backend.open(dir)
        let period = Timestamp(milliseconds: 1_795_000_000_000), nextPeriod = period.adding(days: 30)
        func typed(_ events: [DomainEvent], at time: Timestamp) throws -> [(DomainEvent, NewEvent)] {
            try events.map { ($0, try $0.newEvent(authorID: AuthorID.broker, time: time)) }
        }
        _ = try await store.append(
            AppendBatch(
                typed: try typed(
                    [
                        Self.grant("sub_a"), Self.grant("sub_b"), Self.grant("sub_c"), Self.grant("sub_d", expiresAt: Self.t0.adding(days: 1)),
                        Self.grant("sub_a", request: "req_b"),
                    ], at: Self.t0)))
        _ = try await store.append(
            AppendBatch(
                typed: try typed(
                    [.consentRevoked(ConsentRevoked(consentID: Identifiers.consentID(requestID: "req_a", subject: "sub_b"), subject: "sub_b"))],
                    at: Self.t0.adding(seconds: 1))))
        let many = (0..<4_000).map { String(format: "sub_m%04d", $0) }
        let first = try await store.append(
            AppendBatch(
                typed: try typed(
                    [
                        Self.ran("ana_1", epsilonMilli: 250, periodStart: period), Self.included("ana_1", ["sub_a", "sub_c"]),
                        Self.included("ana_1", many),
                    ], at: Self.t0.adding(seconds: 2))))
        let second = try await store.append(
            AppendBatch(
                typed: try typed(
                    [
                        Self.ran("ana_2", epsilonMilli: 500, periodStart: period), Self.included("ana_2", ["sub_a"]),
                        Self.ran("ana_3", epsilonMilli: 100, periodStart: nextPeriod),
                    ], at: Self.t0.adding(seconds: 3))))

        let record = try #require(try await store.analysis("ana_1"))
        #expect(record.requestID == "req_a" && record.recipient == "safedrive")
        #expect(record.sequence == first[0].sequence && record.time == Self.t0.adding(seconds: 2))
        #expect(record.epsilonMilli == 250 && record.periodStart == period)
        #expect(record.payload == first[0].event.payload)
        #expect(try await store.analysis("ana_none") == nil)

        #expect(try await store.analysisSpent(requestID: "req_a", periodStart: period) == 750)
        #expect(try await store.analysisSpent(requestID: "req_a", periodStart: nextPeriod) == 100)
        #expect(try await store.analysisSpent(requestID: "req_b", periodStart: period) == 0)

        let log = try await store.analysisInclusions(subject: "sub_a", limit: 10, before: nil)
        #expect(log.map(\.analysisID) == ["ana_2", "ana_1"], "newest first")
        #expect(log.map(\.sequence) == [second[1].sequence, first[1].sequence])
        #expect(
            log.last
                == AnalysisInclusion(
                    sequence: first[1].sequence, time: Self.t0.adding(seconds: 2), analysisID: "ana_1",
                    consentID: Identifiers.consentID(requestID: "req_a", subject: "sub_a"), subject: "sub_a", recipient: "safedrive",
                    purpose: "insurance"))
        #expect(try await store.analysisInclusions(subject: "sub_a", limit: 10, before: second[1].sequence).map(\.analysisID) == ["ana_1"])
        #expect(try await store.analysisInclusions(subject: "sub_a", limit: 1, before: nil).map(\.analysisID) == ["ana_2"])
        #expect(try await store.analysisInclusions(subject: "sub_m3999", limit: 10, before: nil).map(\.sequence) == [first[2].sequence])
        #expect(try await store.analysisInclusions(subject: "sub_b", limit: 10, before: nil).isEmpty)

        // sub_b revoked, sub_d expired by then, and sub_a's other consent is of another request.
        let active = try await store.activeConsents(requestID: "req_a", at: Self.t0.adding(days: 2), limit: 10)
        #expect(active.map(\.subject) == ["sub_a", "sub_c"])
        #expect(active.first == (try await store.consent(Identifiers.consentID(requestID: "req_a", subject: "sub_a"))))
        #expect(try await store.activeConsents(requestID: "req_a", at: Self.t0.adding(days: 2), limit: 1).map(\.subject) == ["sub_a"])
        #expect(try await store.activeConsents(requestID: "req_a", at: Self.t0, limit: 10).map(\.subject) == ["sub_a", "sub_c", "sub_d"])

        let live = try await store.dumpProjections()
        #expect(live.contains("## analyses") && live.contains("## analysis_inclusions"))
        try await store.rebuildProjections()
        #expect(try await store.dumpProjections() == live)
        #expect(try await store.analysisSpent(requestID: "req_a", periodStart: period) == 750)
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
