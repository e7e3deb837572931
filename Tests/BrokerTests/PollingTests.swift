import Accounting
import Broker
import Consent
import Foundation
import Ledger
import Sodium
import TestSupport
import Testing
import Vault

/// A recipient that polls: every page hands out a cursor, and a record is delivered, charged and
/// logged once per consent however often the recipient asks.
struct PollingTests {
    /// A person with a confirmed car, a consent to `vehicle.driving`, and a manufacturer pushing.
    struct World {
        let f: BrokerFixture
        let transfer: TransferService
        let person: Identity
        let consent: Consent
        var pushed = 0

        init(_ backend: Backend) async throws {
            f = try await BrokerFixture(backend)
            transfer = TransferService(broker: f.broker, vault: Vault(kek: try SymmetricKey(), store: f.store))
            person = try await f.person()
            try await f.broker.submit(
                f.manufacturer.sign(
                    .deviceAttested(DeviceAttested(deviceID: "car", manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
            try await f.broker.submit(
                person.sign(
                    .deviceConfirmed(DeviceConfirmed(deviceID: "car", manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
            consent = try await f.grant(try await f.request(subject: person.id), by: person)
        }

        /// Pushes `count` new records, numbered on from the last push (`distance` is the number).
        mutating func push(_ count: Int) async throws {
            let t = f.clock.now(), first = pushed
            let records = (first..<first + count).map { n in
                TelemetryRecord(
                    device: "car", item: "vehicle.driving", time: t.adding(seconds: Int64(-1 - n)),
                    values: ["distance": .integer(Int64(n)), "duration": .integer(1), "average_speed": .integer(1)])
            }
            _ = try await transfer.push(records, manufacturer: f.manufacturer.id, idempotencyKey: nil, digest: "push-\(first)")
            pushed += count
        }

        func pull(after cursor: String, limit: Int = 10) async throws -> TransferService.Delivery {
            try await transfer.pull(consentID: consent.id, recipient: f.recipient.id, after: try #require(RecordCursor(cursor)), limit: limit)
        }

        /// The record numbers of a delivery.
        func numbers(_ d: TransferService.Delivery) -> [Int64] {
            d.records.compactMap { if case .integer(let n)? = $0.values["distance"] { n } else { nil } }
        }

        func accessLog() async throws -> [AccessLogEntry] { try await f.store.accessLog(subject: person.id, limit: 1_000) }

        /// What the recipient has paid for data so far (cash spent).
        func spent() async throws -> Int64 {
            let cash = try #require(try await f.store.account(AccountNames.cash(f.recipient.id)))
            return 1_000_000_000 - cash.balance
        }
    }

    @Test("polling from the cursor every page hands out receives each record once, charged and logged once", arguments: Backend.available)
    func pollingDeliversOnce(_ backend: Backend) async throws {
        var w = try await World(backend)
        try await w.push(25)
        var held: [Int64] = [], cursor = "0", pages = 0
        // Drain, then find nothing new, then new records arrive, then drain again.
        for round in 0..<2 {
            while true {
                let page = try await w.pull(after: cursor)
                pages += 1
                #expect(page.after == cursor)
                #expect(page.positions.count == page.records.count, "every record's position is visible")
                #expect(!page.replayed)
                held += w.numbers(page)
                if let last = page.positions.last { #expect(page.nextCursor == last, "the cursor continues after the last record") }
                cursor = page.nextCursor
                guard page.hasMore else { break }
            }
            let empty = try await w.pull(after: cursor)
            #expect(empty.records.isEmpty && empty.deliveryID == nil && !empty.hasMore)
            #expect(empty.nextCursor == cursor, "an empty page hands out the cursor it was asked from")
            if round == 0 { try await w.push(7) }
        }
        #expect(held == (0..<32).map(Int64.init), "every record, in order, once")
        let log = try await w.accessLog()
        #expect(log.reduce(0) { $0 + $1.records } == 32, "the person's access log counts each record once")
        #expect(Set(log.map(\.deliveryID)).count == log.count)
        let price = try #require(try await w.f.store.activePolicy()?.policy.accounting?.price(category: "vehicle"))
        #expect(try await w.spent() == log.reduce(0) { $0 + price.price(records: $1.records) }, "charged for each delivery the log shows, once")
    }

    @Test("a pull repeated from the same cursor returns the same delivery, not charged or logged again", arguments: Backend.available)
    func repeatedPullIsTheSameDelivery(_ backend: Backend) async throws {
        var w = try await World(backend)
        try await w.push(15)
        let first = try await w.pull(after: "0")
        let logged = try await w.accessLog().count, spent = try await w.spent(), head = try await w.f.store.head().sequence
        // The answer was lost; new records arrive; the recipient asks again from where it was.
        try await w.push(5)
        let again = try await w.pull(after: "0", limit: 100)
        #expect(again.replayed)
        #expect(again.deliveryID == first.deliveryID && again.digest == first.digest && again.ledgerSequence == first.ledgerSequence)
        #expect(w.numbers(again) == w.numbers(first), "the same records, not the new ones and not a bigger page")
        #expect(again.nextCursor == first.nextCursor && again.hasMore)
        #expect(try await w.accessLog().count == logged, "not logged again")
        #expect(try await w.spent() == spent, "not charged again")
        let headAfterReplay = try await w.f.store.head().sequence
        #expect(headAfterReplay == head + 1, "nothing appended but the push")
        // Continuing from the cursor gives the rest, once.
        let rest = try await w.pull(after: again.nextCursor, limit: 100)
        #expect(w.numbers(rest) == (10..<20).map(Int64.init))
        #expect(!rest.replayed && !rest.hasMore)
    }

    @Test("a cursor inside a delivery is refused with where to pull from, and changes nothing", arguments: Backend.available)
    func cursorInsideDeliveryRefused(_ backend: Backend) async throws {
        var w = try await World(backend)
        try await w.push(10)
        let page = try await w.pull(after: "0")
        let head = try await w.f.store.head().sequence
        let inside = page.positions[4]
        do {
            _ = try await w.pull(after: inside)
            Issue.record("a pull from inside a delivery was answered")
        } catch let error as ConsentError {
            #expect(error.code == .cursorInsideDelivery)
            #expect(error.message.contains("after=0 ") && error.message.contains("after=\(page.nextCursor)"), "\(error.message)")
        }
        #expect(try await w.f.store.head().sequence == head)
    }

    @Test("concurrent pulls from one cursor make one delivery; the others get it again", arguments: Backend.available)
    func concurrentPullsDeliverOnce(_ backend: Backend) async throws {
        var w = try await World(backend)
        try await w.push(30)
        let world = w
        let pages = try await withThrowingTaskGroup(of: TransferService.Delivery.self) { group in
            for _ in 0..<6 { group.addTask { try await world.pull(after: "0", limit: 30) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(pages.map(\.deliveryID)).count == 1, "one delivery")
        #expect(pages.filter { !$0.replayed }.count == 1)
        #expect(pages.allSatisfy { w.numbers($0) == (0..<30).map(Int64.init) })
        #expect(try await w.accessLog().count == 1)
    }
}
