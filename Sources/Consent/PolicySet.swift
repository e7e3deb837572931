/// The active rules of the broker: categories and their data items with record schemas,
/// purposes, and consent limits. Loaded from `Policies/` and recorded in the ledger on activation.
public struct PolicySet: Codable, Sendable, Equatable {
    /// The operator's version label, e.g. `2026.11.1`; each consent names it.
    public var version: String
    public var categories: [DataCategory]
    public var purposes: [Purpose]
    /// The money rules; absent from policies activated before accounting existed (nothing is
    /// then charged or rewarded).
    public var accounting: AccountingPolicy?
    /// What one party may ask of the broker; absent from policies activated before it existed
    /// (no party is then limited but by the broker's bound on work in flight).
    public var traffic: TrafficThresholds?
    /// Which accesses each category and purpose allow, and the analysis zone's limits; absent
    /// from policies activated before analyses existed (every request is then for delivery).
    public var analysis: AnalysisPolicy?
    /// The rules that grade measured quality; absent from policies activated before quality was
    /// graded (figures are then measured but not graded, and no certificate is issued).
    public var quality: QualityPolicy?
    /// The standard contracts (`Policies/contracts/`) a request names; absent from policies
    /// activated before contracts existed.
    public var contracts: [ContractTemplate]?

    public init(
        version: String, categories: [DataCategory], purposes: [Purpose], accounting: AccountingPolicy? = nil,
        traffic: TrafficThresholds? = nil, analysis: AnalysisPolicy? = nil, quality: QualityPolicy? = nil,
        contracts: [ContractTemplate]? = nil
    ) {
        self.quality = quality
        self.contracts = contracts
        self.version = version
        self.categories = categories
        self.purposes = purposes
        self.accounting = accounting
        self.traffic = traffic
        self.analysis = analysis
    }

    /// The category with `id`.
    public func category(_ id: String) -> DataCategory? { categories.first { $0.id == id } }

    /// The purpose with `id`.
    public func contract(_ id: String) -> ContractTemplate? { contracts?.first { $0.id == id } }

    public func purpose(_ id: String) -> Purpose? { purposes.first { $0.id == id } }

    /// The category that holds item `itemID`.
    public func category(ofItem itemID: String) -> DataCategory? {
        categories.first { c in c.items.contains { $0.id == itemID } }
    }

    /// The data item with `id`, in any category.
    public func item(_ id: String) -> DataItem? {
        for c in categories { if let i = c.items.first(where: { $0.id == id }) { return i } }
        return nil
    }
}

/// A category of connected-product data (vehicle, appliance, energy, health).
public struct DataCategory: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    /// Sensitive data (health): a grant needs the person's explicit confirmation.
    public var sensitive: Bool
    /// The longest consent this category allows, in days (never more than 365).
    public var maxConsentDays: Int
    public var items: [DataItem]
    /// The standard contracts this category's data may be shared under; absent: any.
    public var contracts: [String]?

    public init(id: String, title: String, sensitive: Bool, maxConsentDays: Int, items: [DataItem], contracts: [String]? = nil) {
        self.contracts = contracts
        self.id = id
        self.title = title
        self.sensitive = sensitive
        self.maxConsentDays = maxConsentDays
        self.items = items
    }
}

/// One kind of record a product produces, with the schema each record must follow.
public struct DataItem: Codable, Sendable, Equatable {
    /// Dotted id, category first: `vehicle.driving`.
    public var id: String
    public var title: String
    /// How often makers typically update it, in words (`per trip`, `hourly`).
    public var updateFrequency: String
    public var fields: [FieldSpec]
    /// The catalogue's metadata; absent from policies activated before the catalogue had it.
    /// What the item holds and how it comes about, in plain words.
    public var description: String?
    /// The declared update cycle in seconds, when the item has one (not for items produced on an
    /// event): freshness is measured against it.
    public var updateCycleSeconds: Int64?
    /// Items often used together with this one.
    public var related: [String]?
    /// What a service could do with it.
    public var examples: [String]?

    public init(
        id: String, title: String, updateFrequency: String, fields: [FieldSpec], description: String? = nil,
        updateCycleSeconds: Int64? = nil, related: [String]? = nil, examples: [String]? = nil
    ) {
        self.id = id
        self.title = title
        self.updateFrequency = updateFrequency
        self.fields = fields
        self.description = description
        self.updateCycleSeconds = updateCycleSeconds
        self.related = related
        self.examples = examples
    }
}

/// One field of a record schema.
public struct FieldSpec: Codable, Sendable, Equatable {
    public enum FieldType: String, Codable, Sendable, CaseIterable {
        case number, integer, string, boolean, timestamp
    }
    public var name: String
    public var type: FieldType
    /// Unit of measure (`km/h`, `kWh`), if any.
    public var unit: String?
    public var required: Bool

    public init(name: String, type: FieldType, unit: String?, required: Bool) {
        self.name = name
        self.type = type
        self.unit = unit
        self.required = required
    }
}

/// Why a recipient wants data, and which categories that purpose may use.
public struct Purpose: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var categories: [String]

    public init(id: String, title: String, categories: [String]) {
        self.id = id
        self.title = title
        self.categories = categories
    }
}

/// Limits that hold whatever the policy files say.
public enum ConsentLimits {
    /// No consent lasts longer than a year.
    public static let consentDurationDaysMax = 365
    /// A once-off consent lasts at most this long.
    public static let onceOffDurationHoursMax = 24
    /// Data items in one request.
    public static let requestItemsMax = 64
    /// Days a recipient may keep delivered data.
    public static let retentionDaysMax = 3_650
    /// Days an open offer may stay open.
    public static let offerDaysMax = 365
    /// Won offered as an incentive in one request.
    public static let incentiveKRWMax: Int64 = 100_000_000
    /// Entries in one listing page.
    public static let pageItemsMax = 1_000
    /// The times a data window may name, in milliseconds: 1970-01-01T00:00:00.000Z to
    /// 9999-12-31T23:59:59.999Z, the years RFC 3339 writes with four digits (so every client
    /// renders a contract's window as the broker does).
    public static let dataWindowMilliseconds: ClosedRange<Int64> = 0...253_402_300_799_999
}

/// The money rules, from `Policies/accounting.yaml`: what a person earns for a consent, what a
/// recipient pays per delivery and how that divides, and how rewards are redeemed. Whole won.
public struct AccountingPolicy: Codable, Sendable, Equatable {
    /// The programme fund that pays rewards and issues vouchers (an account `fund:<id>`).
    public var fund: String
    /// When a reserved reward is paid: at the grant, or at the consent's first delivery.
    public var rewardPostedOn: RewardPosting
    /// A paid reward is taken back when the consent is revoked within this many days of the
    /// grant (0: never).
    public var clawbackWithinDays: Int
    public var rewards: [RewardRule]
    public var prices: [PriceRule]
    /// The smallest redemption, in won.
    public var redemptionMinimumKRW: Int64

    public enum RewardPosting: String, Codable, Sendable, CaseIterable { case grant, firstDelivery = "first-delivery" }

    public init(
        fund: String, rewardPostedOn: RewardPosting, clawbackWithinDays: Int, rewards: [RewardRule], prices: [PriceRule],
        redemptionMinimumKRW: Int64
    ) {
        self.fund = fund; self.rewardPostedOn = rewardPostedOn; self.clawbackWithinDays = clawbackWithinDays
        self.rewards = rewards; self.prices = prices; self.redemptionMinimumKRW = redemptionMinimumKRW
    }

    /// The reward for a consent of `category` lasting `durationDays` (once-off or periodic).
    public func reward(category: String, durationDays: Int, onceOff: Bool) -> Int64 {
        guard let rule = rewards.first(where: { $0.category == category }) else { return 0 }
        if onceOff { return rule.onceOffKRW }
        return rule.perMonthKRW * Int64((max(durationDays, 1) + 29) / 30)
    }

    /// The price rule of `category`, if deliveries of it are charged.
    public func price(category: String) -> PriceRule? { prices.first { $0.category == category } }
}

/// What a person earns for consenting to a category.
public struct RewardRule: Codable, Sendable, Equatable {
    public var category: String
    /// For a once-off consent.
    public var onceOffKRW: Int64
    /// For a periodic consent, per started 30 days of its duration.
    public var perMonthKRW: Int64
    public init(category: String, onceOffKRW: Int64, perMonthKRW: Int64) {
        self.category = category; self.onceOffKRW = onceOffKRW; self.perMonthKRW = perMonthKRW
    }
}

/// What a recipient pays for a delivery of a category, and how the price divides.
public struct PriceRule: Codable, Sendable, Equatable {
    public var category: String
    public var perRecordKRW: Int64
    public var perPullKRW: Int64
    /// What one analysis costs, and what it costs per person whose records it used; absent in
    /// rules from before analyses existed (analyses are then free).
    public var perAnalysisKRW: Int64?
    public var perPersonKRW: Int64?
    /// Percent of each price to the manufacturer, the person and the broker; they add up to 100.
    /// Rounding leftovers go to the broker's fee.
    public var manufacturerPercent: Int64
    public var personPercent: Int64
    public var brokerPercent: Int64
    public init(
        category: String, perRecordKRW: Int64, perPullKRW: Int64, manufacturerPercent: Int64, personPercent: Int64, brokerPercent: Int64,
        perAnalysisKRW: Int64? = nil, perPersonKRW: Int64? = nil
    ) {
        self.category = category; self.perRecordKRW = perRecordKRW; self.perPullKRW = perPullKRW
        self.manufacturerPercent = manufacturerPercent; self.personPercent = personPercent; self.brokerPercent = brokerPercent
        self.perAnalysisKRW = perAnalysisKRW; self.perPersonKRW = perPersonKRW
    }

    /// The price of an analysis that used the records of `persons` persons.
    public func analysisPrice(persons: Int) -> Int64 { (perAnalysisKRW ?? 0) + (perPersonKRW ?? 0) * Int64(persons) }

    /// The price of a pull of `records` records.
    public func price(records: Int) -> Int64 { perPullKRW + perRecordKRW * Int64(records) }
}
