import Consent
import Foundation
import Ledger
import Sodium

/// The demo set-up of `mydata admin init --demo`: a few manufacturers and recipients with keys
/// in the data directory, and open offers that any new user can grant at once.
public enum Demo {
    public struct PartySpec: Sendable {
        public let id: String
        public let role: PartyRole
        public let name: String
    }

    public static let parties: [PartySpec] = [
        .init(id: "hanbit-motors", role: .manufacturer, name: "Hanbit Motors (vehicles)"),
        .init(id: "saebom-appliances", role: .manufacturer, name: "Saebom Appliances (home appliances)"),
        .init(id: "gridwise-energy", role: .manufacturer, name: "Gridwise Energy (smart meters)"),
        .init(id: "safedrive-insurance", role: .recipient, name: "SafeDrive Insurance (startup)"),
        .init(id: "fixit-ai", role: .recipient, name: "FixIt AI (predictive maintenance startup)"),
        .init(id: "ecowatt", role: .recipient, name: "EcoWatt (energy saving startup)"),
        .init(id: "nutrilab", role: .recipient, name: "NutriLab (healthcare startup)"),
    ]

    public struct OfferSpec: Sendable {
        public let recipient: String
        public let category: String
        public let items: [String]
        public let purpose: String
        public let durationDays: Int
        public let onceOff: Bool
        public let incentiveKRW: Int64
        /// `analysis`: the recipient only ever runs aggregate analyses over the data.
        public var access: ConsentAccess = .delivery
    }

    public static let offers: [OfferSpec] = [
        .init(
            recipient: "safedrive-insurance", category: "vehicle", items: ["vehicle.driving", "vehicle.context"],
            purpose: "usage-based-insurance", durationDays: 180, onceOff: false, incentiveKRW: 5_000),
        .init(
            recipient: "fixit-ai", category: "appliance", items: ["appliance.operation", "appliance.errors"],
            purpose: "predictive-maintenance", durationDays: 365, onceOff: false, incentiveKRW: 3_000),
        .init(
            recipient: "ecowatt", category: "energy", items: ["energy.household"],
            purpose: "energy-saving", durationDays: 1, onceOff: true, incentiveKRW: 1_000),
        .init(
            recipient: "nutrilab", category: "health", items: ["health.nutrition"],
            purpose: "health-services", durationDays: 30, onceOff: false, incentiveKRW: 10_000),
        // Analysis only: EcoWatt never receives a record, only statistics over many households.
        .init(
            recipient: "ecowatt", category: "energy", items: ["energy.household"],
            purpose: "energy-saving", durationDays: 90, onceOff: false, incentiveKRW: 2_000, access: .analysis),
    ]

    /// Registers the demo parties (keys into `dataDirectory/keys`) and creates the open offers,
    /// each signed by its recipient's demo key. Skips what already exists.
    public static func seed(broker: BrokerService, dataDirectory: DataDirectory) async throws {
        for spec in parties where try await broker.store.party(spec.id) == nil {
            let identity = try Identity.generate(id: spec.id)
            var none: [UInt8]? = nil
            try KeyFile.write(identity, to: dataDirectory.partyKeyURL(spec.id), passphrase: &none)
            var keys = identity.publicKeys
            keys.role = spec.role.rawValue
            try DataDirectory.writePublicKeys(keys, to: dataDirectory.keysURL.appendingPathComponent("\(spec.id).pub"))
            try await broker.registerParty(id: spec.id, role: spec.role, name: spec.name, keys: keys)
        }
        try await seedMoney(broker: broker)
        guard try await broker.store.requests(for: nil, limit: 1).isEmpty, let policy = try await broker.store.activePolicy() else { return }
        let now = broker.clock.now()
        for offer in offers {
            let recipient = try KeyFile.read(dataDirectory.partyKeyURL(offer.recipient)) { [] }
            let terms = ConsentTerms(
                category: offer.category, items: offer.items, purpose: offer.purpose,
                dataFrom: now.adding(days: -365), dataTo: now.adding(days: 365),
                durationDays: offer.durationDays, onceOff: offer.onceOff, retentionDays: offer.access == .analysis ? 0 : 90,
                incentiveKRW: offer.incentiveKRW, access: offer.access)
            let contracted = try StandardContract.attach(template: nil, parameters: [:], to: terms, recipient: offer.recipient, policy: policy.policy)
            let request = ConsentRequested(
                requestID: Identifiers.random(prefix: "req"), recipient: offer.recipient, subject: nil,
                terms: contracted, offerExpiresAt: now.adding(days: 90), policyVersion: policy.version)
            try await broker.submit(recipient.sign(.consentRequested(request), at: now))
        }
    }

    /// The programme fund's budget, and for each demo recipient a voucher and some cash, so that
    /// pulls in the demo are paid for. Skipped when there are no money rules; never twice.
    static func seedMoney(broker: BrokerService) async throws {
        guard let rules = try await broker.store.activePolicy()?.policy.accounting,
            try await broker.store.account(AccountNames.fund(rules.fund)) == nil
        else { return }
        try await broker.deposit(10_000_000, to: AccountNames.fundAccount(rules.fund), id: "demo-fund-budget")
        for spec in parties where spec.role == .recipient {
            try await broker.deposit(50_000, to: AccountNames.cashAccount(spec.id), id: "demo-\(spec.id)")
            _ = try await broker.issueVoucher(id: "demo", recipient: spec.id, amount: 100_000, expiresAt: broker.clock.now().adding(days: 90))
        }
    }

    /// A day of telemetry from twelve demo owners' products per demo manufacturer, so that the
    /// catalogue and `mydata quality show` have something measured: smart meters every 15 minutes,
    /// washing machines hourly (some readings without their optional field, a few malformed), cars
    /// per trip. The owners' keys are thrown away: they only register and confirm their devices.
    /// Skipped when the demo manufacturers have pushed before.
    public static func seedTelemetry(transfer: TransferService, dataDirectory: DataDirectory) async throws {
        let broker = transfer.broker
        guard try await broker.store.qualitySeries().isEmpty else { return }
        let now = broker.clock.now()
        let fleets: [(manufacturer: String, prefix: String, records: (Int) -> [(String, Timestamp, [String: FieldValue])])] = [
            (
                "gridwise-energy", "meter",
                { d in
                    (1...96).map { i in
                        (
                            "energy.household", now.adding(seconds: -900 * Int64(i)),
                            ["consumption": .number(Double((d * 7 + i) % 40) / 100), "interval": .integer(900)]
                        )
                    }
                }
            ),
            (
                "saebom-appliances", "washer",
                { d in
                    (1...24).map { i in
                        var values: [String: FieldValue] = [
                            "mode": .string(i % 3 == 0 ? "eco" : "normal"), "runtime": .integer(Int64(1_800 + 60 * ((d + i) % 30))),
                        ]
                        if i % 3 != 0 { values["cycles"] = .integer(1) }
                        return ("appliance.operation", now.adding(seconds: -3_600 * Int64(i)), values)
                    }
                }
            ),
            (
                "hanbit-motors", "car",
                { d in
                    (1...10).map { i in
                        var values: [String: FieldValue] = [
                            "distance": .number(Double(5 + (d * 3 + i) % 40)), "duration": .integer(Int64(600 + 120 * ((d + i) % 10))),
                            "average_speed": .number(Double(30 + (d + i) % 50)),
                        ]
                        if i % 2 == 0 { values["harsh_braking_events"] = .integer(Int64((d + i) % 3)) }
                        return ("vehicle.driving", now.adding(seconds: -7_200 * Int64(i)), values)
                    }
                }
            ),
        ]
        for fleet in fleets {
            let maker = try KeyFile.read(dataDirectory.partyKeyURL(fleet.manufacturer)) { [] }
            var records: [TransferService.PushItem] = []
            for d in 1...12 {
                let owner = try Identity.generateSubject()
                let device = "demo-\(fleet.prefix)-\(d < 10 ? "0" : "")\(d)"
                try await broker.submit(owner.sign(ConsentDrafts.registration(of: owner), at: now))
                try await broker.submit(
                    maker.sign(.deviceAttested(DeviceAttested(deviceID: device, manufacturer: maker.id, subject: owner.id)), at: now))
                try await broker.submit(
                    owner.sign(.deviceConfirmed(DeviceConfirmed(deviceID: device, manufacturer: maker.id, subject: owner.id)), at: now))
                records += fleet.records(d).map { .record(TelemetryRecord(device: device, item: $0.0, time: $0.1, values: $0.2)) }
            }
            if fleet.manufacturer == "saebom-appliances" {
                records += (1...3).map { _ in .malformed("a reading cut short in transit") }
            }
            for (n, start) in stride(from: 0, to: records.count, by: TelemetryLimits.batchRecordsMax).enumerated() {
                let batch = Array(records[start..<min(start + TelemetryLimits.batchRecordsMax, records.count)])
                _ = try await transfer.push(
                    items: batch, manufacturer: maker.id, idempotencyKey: "demo-\(fleet.prefix)-\(n)",
                    digest: Hex.encode(BLAKE2b.hash256(Array("demo-\(fleet.prefix)-\(n)".utf8))))
            }
        }
        // Some of the day lies before today, in a period that has ended: certify it now, as
        // `serve` would at its first sweep, so that the demo's catalogue links certificates and a
        // fresh `serve` has nothing left to append.
        if try await broker.store.activePolicy()?.policy.quality != nil { _ = try await QualityService(broker: broker).certify() }
    }
}
