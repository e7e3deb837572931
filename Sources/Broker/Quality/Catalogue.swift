import Consent
import Foundation
import Ledger
import Ports

/// The metadata catalogue (docs/catalogue-and-quality.md): per data item what it is, its schema
/// and update cycle, the purposes that may use it, related items and example uses; per
/// manufacturer that holds it, how many confirmed devices and consenting people it has (rounded,
/// and left out below a threshold so the catalogue never points at one person), the update
/// cycle observed and the grade of its newest quality certificate.
public struct Catalogue: Codable, Sendable, Equatable {
    public var policyVersion: String
    public var policyHash: String
    /// When these counts were made; the catalogue is made again at most every
    /// `CatalogueService.freshSeconds`.
    public var generatedAt: Timestamp
    /// Counts below this are left out; others are rounded to the nearest multiple of `rounding`.
    public var suppressedBelow: Int64
    public var rounding: Int64
    public var categories: [Category]
    public var purposes: [Purpose]

    public struct Category: Codable, Sendable, Equatable {
        public var id: String
        public var title: String
        public var sensitive: Bool
        public var maxConsentDays: Int
        public var items: [Item]
    }

    public struct Item: Codable, Sendable, Equatable {
        public var id: String
        public var category: String
        public var title: String
        public var description: String?
        public var fields: [FieldSpec]
        public var updateFrequency: String
        public var updateCycleSeconds: Int64?
        /// The purposes whose categories include this item's.
        public var purposes: [String]
        /// The accesses some purpose allows (`delivery`, `analysis`).
        public var access: [ConsentAccess]
        public var related: [String]
        public var examples: [String]
        public var holders: [Holder]
    }

    /// A manufacturer that pushed the item.
    public struct Holder: Codable, Sendable, Equatable {
        public var manufacturer: String
        public var name: String
        /// Rounded; absent when fewer than `suppressedBelow`.
        public var confirmedDevices: Int64?
        public var consentingPersons: Int64?
        /// The seconds between two records of one device on a day it reported, over the 30 days
        /// up to and including today.
        public var observedCycleSeconds: Int64?
        /// The grade the rules give the figures of those 30 days, as measured now (absent without
        /// quality rules); a certificate's grade is the signed one.
        public var measuredGrade: QualityGrade?
        /// The newest certificate's grade, id and period.
        public var grade: QualityGrade?
        public var certificate: String?
        public var certifiedDays: String?
    }

    /// The catalogue narrowed to a category and to the items a purpose may use.
    public func filtered(category: String?, purpose: String?) -> Catalogue {
        var out = self
        out.categories = categories.filter { category == nil || $0.id == category }.compactMap { c in
            var c = c
            c.items = c.items.filter { purpose == nil || $0.purposes.contains(purpose!) }
            return c.items.isEmpty ? nil : c
        }
        out.purposes = purposes.filter { purpose == nil || $0.id == purpose }
        return out
    }
}

/// Counts are shown rounded, and not at all below a threshold.
public enum CatalogueRounding {
    public static let suppressedBelow: Int64 = 10
    public static let rounding: Int64 = 10

    /// `n` rounded to the nearest multiple of `rounding` (half up), nil below `suppressedBelow`.
    public static func shown(_ n: Int64) -> Int64? {
        guard n >= suppressedBelow else { return nil }
        return (n + rounding / 2) / rounding * rounding
    }
}

/// Makes the catalogue from the policy and the projections, and keeps it for a few seconds: every
/// request reads the same bytes, so hundreds of requests a second cost one build, and none waits
/// for a build once the first is made: an older catalogue is served while its successor is made.
public actor CatalogueService {
    /// How long one catalogue is served before the next is made (it is served until that is done).
    public static let freshSeconds: Int64 = 10
    public let broker: BrokerService
    private var cached: (catalogue: Catalogue, json: [UInt8])?
    private var building: Task<(Catalogue, [UInt8]), any Error>?

    public init(broker: BrokerService) { self.broker = broker }

    /// The catalogue as sorted-key JSON. One older than `freshSeconds` is still served while the
    /// next is made; one made under another policy is not.
    public func json() async throws -> [UInt8] { try await current().json }

    /// The catalogue.
    public func catalogue() async throws -> Catalogue { try await current().catalogue }

    /// Waits for a catalogue being made, if one is (tests use it to see the next one).
    public func settle() async { _ = try? await building?.value }

    private func current() async throws -> (catalogue: Catalogue, json: [UInt8]) {
        let now = broker.clock.now()
        let policy = try await broker.activePolicy()
        if let cached, cached.catalogue.policyHash == policy?.hash {
            if now.milliseconds - cached.catalogue.generatedAt.milliseconds >= Self.freshSeconds * 1000, building == nil {
                _ = rebuild(at: now)
            }
            return cached
        }
        // None yet, or made under another policy: wait for one (concurrent requests wait for the same one).
        return try await (building ?? rebuild(at: now)).value
    }

    /// Starts making a catalogue; it replaces the cached one when done (a failed one changes nothing).
    private func rebuild(at now: Timestamp) -> Task<(Catalogue, [UInt8]), any Error> {
        let broker = self.broker
        let task = Task { try await Self.build(broker: broker, at: now) }
        building = task
        Task { await self.finished(task) }
        return task
    }

    private func finished(_ task: Task<(Catalogue, [UInt8]), any Error>) async {
        if let made = try? await task.value { cached = made }
        if building == task { building = nil }
    }

    private static func build(broker: BrokerService, at now: Timestamp) async throws -> (Catalogue, [UInt8]) {
        guard let policy = try await broker.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        let store = broker.store
        let parties = Dictionary(uniqueKeysWithValues: try await store.parties().map { ($0.id, $0) })
        let confirmed = try await store.confirmedDevices()
        var persons: [String: Int64] = [:]
        for h in try await store.holdings(at: now) { persons["\(h.manufacturer)/\(h.item)"] = h.consentingPersons }
        let series = try await store.qualitySeries()
        let window = QualityPeriod.rolling(days: 30, endingAt: now)
        var holders: [String: [Catalogue.Holder]] = [:]
        for s in series {
            guard let party = parties[s.manufacturer], party.status == .active else { continue }
            guard let schema = policy.policy.item(s.item) else { continue }
            let counts = try await store.qualityCounts(manufacturer: s.manufacturer, item: s.item, period: window)
            let figures = QualityFigures.of(
                counts, period: window, declaredCycleSeconds: schema.updateCycleSeconds, devicesConfirmed: confirmed[s.manufacturer] ?? 0,
                now: now)
            let newest = try await store.qualityCertificates(manufacturer: s.manufacturer, item: s.item, limit: 1).first
            holders[s.item, default: []].append(
                Catalogue.Holder(
                    manufacturer: s.manufacturer, name: party.name, confirmedDevices: CatalogueRounding.shown(confirmed[s.manufacturer] ?? 0),
                    consentingPersons: CatalogueRounding.shown(persons["\(s.manufacturer)/\(s.item)"] ?? 0),
                    observedCycleSeconds: figures.observedCycleSeconds, measuredGrade: policy.policy.quality?.grade(figures).0,
                    grade: newest?.grade, certificate: newest?.certificateID, certifiedDays: newest?.period.description))
        }
        let p = policy.policy
        let catalogue = Catalogue(
            policyVersion: policy.version, policyHash: policy.hash, generatedAt: now, suppressedBelow: CatalogueRounding.suppressedBelow,
            rounding: CatalogueRounding.rounding,
            categories: p.categories.map { c in
                let purposes = p.purposes.filter { $0.categories.contains(c.id) }.map(\.id)
                var access: [ConsentAccess] = [.delivery]
                if p.analysis?.rules.contains(where: { $0.category == c.id && $0.access.contains(.analysis) }) == true { access.append(.analysis) }
                return Catalogue.Category(
                    id: c.id, title: c.title, sensitive: c.sensitive, maxConsentDays: c.maxConsentDays,
                    items: c.items.map { i in
                        Catalogue.Item(
                            id: i.id, category: c.id, title: i.title, description: i.description, fields: i.fields,
                            updateFrequency: i.updateFrequency, updateCycleSeconds: i.updateCycleSeconds, purposes: purposes, access: access,
                            related: i.related ?? [], examples: i.examples ?? [], holders: holders[i.id] ?? [])
                    })
            }, purposes: p.purposes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (catalogue, [UInt8](try encoder.encode(catalogue)))
    }
}
