import Broker
import Consent
import Foundation
import Ledger
import Sodium
import Storage
import TestSupport
import Testing
import Vault

/// The vault half of the store suite, on every backend.
struct VaultStoreTests {
    @Test("a person's data key is created once, even when two pushes race for it", arguments: Backend.available)
    func dataKeyCreatedOnce(_ backend: Backend) async throws {
        // The directory must outlive the store: a pool opens reader connections as it needs them.
        let directory = TemporaryDirectory()
        let store = try await backend.open(directory)
        let vault = Vault(kek: try SymmetricKey(), store: store)
        let keys = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<8 { group.addTask { try await vault.dataKey(for: "sub_a").copyBytes() } }
            return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
        }
        #expect(Set(keys).count == 1)
        // Asked again once it exists, the key is read, not made again.
        #expect(try await vault.dataKey(for: "sub_a").copyBytes() == keys[0])
        withExtendedLifetime(directory) {}
    }

    @Test("records are visible to pulls only once their batch is in the ledger and their device confirmed", arguments: Backend.available)
    func visibility(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let vaultStore = f.store
        let vault = Vault(kek: try SymmetricKey(), store: vaultStore)
        let transfer = TransferService(broker: f.broker, vault: vault)
        let person = try await f.person()
        for car in ["car-1", "car-2"] {
            try await f.broker.submit(
                f.manufacturer.sign(
                    .deviceAttested(DeviceAttested(deviceID: car, manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
        }
        try await f.broker.submit(
            person.sign(.deviceConfirmed(DeviceConfirmed(deviceID: "car-1", manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
        let t = f.clock.now()
        let record = { (car: String, km: Double) in
            TelemetryRecord(
                device: car, item: "vehicle.driving", time: t,
                values: ["distance": .number(km), "duration": .integer(60), "average_speed": .number(10)])
        }
        let query = RecordQuery(
            subject: person.id, items: ["vehicle.driving"], from: t.adding(days: -1), to: t.adding(days: 1), after: .start, limit: 100)

        // Records stored without their batch event (a crash between the two) stay invisible.
        let key = try await vault.dataKey(for: person.id)
        try await vaultStore.storeRecords([
            try vault.seal(record("car-1", 1), manufacturer: f.manufacturer.id, subject: person.id, batchID: "bat_orphan", key: key)
        ])
        #expect(try await vaultStore.records(query).isEmpty)

        let result = try await transfer.push(
            [record("car-1", 2), record("car-2", 3)], manufacturer: f.manufacturer.id, idempotencyKey: "k-1", digest: "00")
        #expect(result.accepted == 2)
        let visible = try await vaultStore.records(query)
        #expect(visible.count == 1, "only the confirmed device's record")
        #expect(try vault.open(visible[0], key: key).values["distance"] == .number(2))
        #expect(try await transfer.push([record("car-1", 4)], manufacturer: f.manufacturer.id, idempotencyKey: "k-1", digest: "00").replayed)
        #expect(try await vaultStore.records(query).count == 1, "a replayed key stores nothing")

        // A record whose metadata was moved to another person does not open.
        var moved = visible[0]
        moved.subject = "sub_other"
        #expect(throws: SodiumError.self) { try vault.open(moved, key: key) }
    }

    @Test(
        "pages follow the cursor without gaps or repeats; a malformed entry rejects only itself; a reused key with another body is refused",
        arguments: Backend.available)
    func pagingAndPushEdges(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let transfer = TransferService(broker: f.broker, vault: Vault(kek: try SymmetricKey(), store: f.store))
        let person = try await f.person()
        try await f.broker.submit(
            f.manufacturer.sign(
                .deviceAttested(DeviceAttested(deviceID: "car", manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
        try await f.broker.submit(
            person.sign(.deviceConfirmed(DeviceConfirmed(deviceID: "car", manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
        let t = f.clock.now()
        let record = { (n: Int) in
            TelemetryRecord(
                device: "car", item: "vehicle.driving", time: t.adding(seconds: Int64(-n)),
                values: ["distance": .integer(Int64(n)), "duration": .integer(1), "average_speed": .integer(1)])
        }
        let first = try await transfer.push(
            items: (0..<12).map { .record(record($0)) } + [.malformed("not a record")],
            manufacturer: f.manufacturer.id, idempotencyKey: "a", digest: "d1")
        #expect(first.accepted == 12)
        #expect(first.results.last?.status == .rejected)
        _ = try await transfer.push((12..<25).map(record), manufacturer: f.manufacturer.id, idempotencyKey: "b", digest: "d2")
        await #expect(throws: ConsentError.self) {
            _ = try await transfer.push([record(99)], manufacturer: f.manufacturer.id, idempotencyKey: "a", digest: "other")
        }
        let consent = try await f.grant(try await f.request(subject: person.id), by: person)
        var seen: [Int64] = []
        var cursor = RecordCursor.start
        while true {
            let page = try await transfer.pull(consentID: consent.id, recipient: f.recipient.id, after: cursor, limit: 10)
            seen += page.records.compactMap { if case .integer(let n)? = $0.values["distance"] { n } else { nil } }
            cursor = try #require(RecordCursor(page.nextCursor))
            guard page.hasMore else { break }
        }
        #expect(seen.sorted() == (0..<25).map(Int64.init), "every record once, none skipped")
    }
}
