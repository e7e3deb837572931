import Consent
import Foundation
import Ledger

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
            let request = ConsentRequested(
                requestID: Identifiers.random(prefix: "req"), recipient: offer.recipient, subject: nil,
                terms: terms, offerExpiresAt: now.adding(days: 90), policyVersion: policy.version)
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
}
