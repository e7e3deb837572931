import Broker
import Consent
import Foundation
import Ledger
import Sodium
import TestSupport
import Testing
import Vault

/// A small seeded generator, so a failing run can be replayed from its seed.
/// The product's first invariant, tried on random worlds: no record leaves without a covering
/// consent at that instant.
struct DeliveryInvariantTests {
    struct Device: Sendable { let id: String; let subject: Identity; let confirmed: Bool }

    static let items = ["vehicle.driving", "vehicle.parts", "vehicle.context"]

    static func record(_ device: String, _ item: String, _ time: Timestamp, _ n: Int) -> TelemetryRecord {
        switch item {
        case "vehicle.driving":
            TelemetryRecord(
                device: device, item: item, time: time,
                values: ["distance": .integer(Int64(n)), "duration": .integer(1), "average_speed": .integer(1)])
        case "vehicle.parts": TelemetryRecord(device: device, item: item, time: time, values: ["part": .string("p\(n)"), "wear": .number(0.5)])
        default: TelemetryRecord(device: device, item: item, time: time, values: ["weather": .string("w\(n)")])
        }
    }

    @Test(
        "random consents and random pulls: no record outside a covering consent is ever delivered",
        arguments: Backend.available, [UInt64(1), 2, 3])
    func randomWorlds(_ backend: Backend, seed: UInt64) async throws {
        var rng = SplitMix64(state: seed)
        let f = try await BrokerFixture(backend)
        let transfer = TransferService(broker: f.broker, vault: Vault(kek: try SymmetricKey(), store: f.store))
        let people = try await (0..<3).asyncMap { _ in try await f.person() }
        var devices: [String: Device] = [:]
        for (i, person) in people.enumerated() {
            for d in 0..<2 {
                let id = "car-\(i)-\(d)"
                let confirmed = Bool.random(using: &rng)
                try await f.broker.submit(
                    f.manufacturer.sign(
                        .deviceAttested(DeviceAttested(deviceID: id, manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
                if confirmed {
                    try await f.broker.submit(
                        person.sign(
                            .deviceConfirmed(DeviceConfirmed(deviceID: id, manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
                }
                devices[id] = Device(id: id, subject: person, confirmed: confirmed)
            }
        }
        let t0 = f.clock.now()
        var records: [TelemetryRecord] = []
        for n in 0..<60 {
            let device = devices.keys.sorted()[Int.random(in: 0..<devices.count, using: &rng)]
            records.append(
                Self.record(
                    device, Self.items.randomElement(using: &rng)!, t0.adding(seconds: Int64.random(in: -20 * 86_400...20 * 86_400, using: &rng)), n))
        }
        _ = try await transfer.push(records, manufacturer: f.manufacturer.id, idempotencyKey: nil, digest: "00")

        var consents: [Consent] = []
        for _ in 0..<6 {
            let person = people.randomElement(using: &rng)!
            let recipient = Bool.random(using: &rng) ? f.recipient : f.otherRecipient
            let chosen = Array(Self.items.shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng)))
            var terms = f.vehicleTerms(items: chosen)
            terms.purpose = chosen.contains("vehicle.context") || chosen.contains("vehicle.parts") ? "product-safety" : "usage-based-insurance"
            terms.dataFrom = t0.adding(days: Int64.random(in: -15...0, using: &rng))
            terms.dataTo = terms.dataFrom.adding(days: Int64.random(in: 1...15, using: &rng))
            let request = try await f.request(terms: terms, subject: person.id, by: recipient)
            let consent = try await f.grant(request, by: person)
            if Int.random(in: 0..<3, using: &rng) == 0 { try await f.revoke(consent, by: person) }
            consents.append(try #require(try await f.store.consent(consent.id)))
        }

        for _ in 0..<30 {
            let consent = consents.randomElement(using: &rng)!
            let asker = [f.recipient, f.otherRecipient].randomElement(using: &rng)!
            do {
                let delivery = try await transfer.pull(consentID: consent.id, recipient: asker.id, limit: 500)
                let now = try #require(try await f.store.consent(consent.id))
                for record in delivery.records {
                    let device = try #require(devices[record.device])
                    #expect(asker.id == consent.recipient, "delivered only to the consent's recipient")
                    #expect(now.revokedAt == nil, "nothing under a revoked consent")
                    #expect(device.subject.id == consent.subject, "only the consenting person's data")
                    #expect(device.confirmed, "only from devices the person confirmed")
                    #expect(consent.terms.items.contains(record.item), "only consented items")
                    #expect(consent.terms.dataFrom <= record.time && record.time < consent.terms.dataTo, "only inside the data window")
                }
                // And nothing covered is withheld.
                let expected = records.filter { r in
                    let d = devices[r.device]!
                    return d.subject.id == consent.subject && d.confirmed && consent.terms.items.contains(r.item)
                        && consent.terms.dataFrom <= r.time && r.time < consent.terms.dataTo
                }
                #expect(delivery.records.count == expected.count, "every covered record is delivered")
            } catch let error as ConsentError {
                #expect(asker.id != consent.recipient || consent.revokedAt != nil, "refused only when it should be: \(error)")
            }
        }
    }

    @Test("pulls racing a revocation: none that starts after the revocation is acknowledged returns a record", arguments: Backend.available)
    func pullsRaceRevocation(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let transfer = TransferService(broker: f.broker, vault: Vault(kek: try SymmetricKey(), store: f.store))
        let person = try await f.person()
        try await f.broker.submit(
            f.manufacturer.sign(
                .deviceAttested(DeviceAttested(deviceID: "car", manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
        try await f.broker.submit(
            person.sign(.deviceConfirmed(DeviceConfirmed(deviceID: "car", manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
        let t = f.clock.now()
        _ = try await transfer.push(
            (0..<20).map { Self.record("car", "vehicle.driving", t.adding(seconds: Int64(-$0)), $0) },
            manufacturer: f.manufacturer.id, idempotencyKey: nil, digest: "00")
        let consent = try await f.grant(try await f.request(subject: person.id), by: person)

        let clock = ContinuousClock()
        let acknowledged = Acknowledgement()
        let outcomes = try await withThrowingTaskGroup(of: [(ContinuousClock.Instant, Bool)].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var mine: [(ContinuousClock.Instant, Bool)] = []
                    for _ in 0..<40 {
                        let start = clock.now
                        let delivered = (try? await transfer.pull(consentID: consent.id, recipient: f.recipient.id, limit: 50).records.count) ?? 0
                        mine.append((start, delivered > 0))
                    }
                    return mine
                }
            }
            group.addTask {
                try await Task.sleep(nanoseconds: 20_000_000)
                try await f.revoke(consent, by: person)
                await acknowledged.set(clock.now)
                return []
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let ack = try #require(await acknowledged.instant)
        let after = outcomes.filter { $0.0 > ack }
        #expect(after.allSatisfy { !$0.1 }, "\(after.filter { $0.1 }.count) pulls after the acknowledgement returned records")
        let deliveries = try await f.store.events(from: 1, limit: 10_000).filter { $0.event.type == DomainEvent.TypeName.dataDelivered }
        let revocation = try #require(try await f.store.events(from: 1, limit: 10_000).first { $0.event.type == DomainEvent.TypeName.consentRevoked })
        #expect(deliveries.allSatisfy { $0.sequence < revocation.sequence }, "no delivery is logged after the revocation")
    }
}

actor Acknowledgement {
    var instant: ContinuousClock.Instant?
    func set(_ i: ContinuousClock.Instant) { instant = i }
}
