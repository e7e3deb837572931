import Ledger

/// What the policy allows per category and purpose: which accesses (delivery, analysis) a request
/// may ask for, and the limits of the analyses run under it. From `Policies/analysis.yaml`.
public struct AnalysisPolicy: Codable, Sendable, Equatable {
    /// The δ of every analysis: the chance, at most, that a cell of fewer than `k` persons could
    /// have been released had the broker not also checked the true count (see
    /// docs/analysis-zone.md), as a power of ten: 9 is δ = 10⁻⁹.
    public var deltaExponent: Int
    public var rules: [AnalysisRule]

    public init(deltaExponent: Int, rules: [AnalysisRule]) {
        self.deltaExponent = deltaExponent
        self.rules = rules
    }

    /// The rule for `category` and `purpose`, if the policy has one.
    public func rule(category: String, purpose: String) -> AnalysisRule? {
        rules.first { $0.category == category && $0.purposes.contains(purpose) }
    }
}

/// The accesses and analysis limits of one category for some purposes.
public struct AnalysisRule: Codable, Sendable, Equatable {
    public var category: String
    public var purposes: [String]
    /// What a request for these may ask for.
    public var access: [ConsentAccess]
    /// Whether an analysis may also run over `delivery` consents (whose recipient receives the
    /// records anyway).
    public var analysisUnderDelivery: Bool
    /// The fewest persons a released cell has: cells with fewer are reported as suppressed.
    public var k: Int
    /// The largest ε one analysis may spend, in thousandths.
    public var epsilonMaxPerAnalysisMilli: Int64
    /// The ε one request's analyses may spend together in one period, in thousandths.
    public var budgetEpsilonMilli: Int64
    /// The length of a budget period: periods start at the Unix epoch, one after another.
    public var budgetPeriodDays: Int
    /// The most records one person contributes to one cell (chosen at random when more).
    public var recordsPerPersonPerCell: Int
    /// The most cells one person contributes to (chosen at random when more).
    public var cellsPerPerson: Int

    public init(
        category: String, purposes: [String], access: [ConsentAccess], analysisUnderDelivery: Bool, k: Int,
        epsilonMaxPerAnalysisMilli: Int64, budgetEpsilonMilli: Int64, budgetPeriodDays: Int, recordsPerPersonPerCell: Int,
        cellsPerPerson: Int
    ) {
        self.category = category; self.purposes = purposes; self.access = access
        self.analysisUnderDelivery = analysisUnderDelivery; self.k = k
        self.epsilonMaxPerAnalysisMilli = epsilonMaxPerAnalysisMilli; self.budgetEpsilonMilli = budgetEpsilonMilli
        self.budgetPeriodDays = budgetPeriodDays; self.recordsPerPersonPerCell = recordsPerPersonPerCell
        self.cellsPerPerson = cellsPerPerson
    }

    /// The budget period that holds `time`: `[start, end)`.
    public func period(at time: Timestamp) -> (start: Timestamp, end: Timestamp) {
        let length = Int64(budgetPeriodDays) * 86_400_000
        let start = time.milliseconds >= 0 ? time.milliseconds / length * length : (time.milliseconds - length + 1) / length * length
        return (Timestamp(milliseconds: start), Timestamp(milliseconds: start + length))
    }
}

/// Limits of the analysis zone that hold whatever the policy says.
public enum AnalysisLimits {
    /// The smallest `k` a policy may set; sensitive categories need `sensitiveKMin`.
    public static let kMin = 2
    public static let kDefault = 10
    public static let sensitiveKMin = 20
    /// The largest ε of one analysis and of one budget, in thousandths.
    public static let epsilonMilliMax: Int64 = 100_000
    public static let recordsPerPersonPerCellMax = 1_000
    public static let cellsPerPersonMax = 1_000
    /// δ is 10⁻ᵉ with e in this range.
    public static let deltaExponents = 3...30
    /// Group-by fields in one query.
    public static let groupByFieldsMax = 2
    /// Buckets of one group-by field, and cells of one query (the product).
    public static let bucketsMax = 100
    public static let cellsMax = 400
    /// Filters and measures in one query.
    public static let filtersMax = 16
    public static let measuresMax = 8
    /// The largest magnitude of a clamping bound, a bin edge or a range filter.
    public static let boundMagnitudeMax = 1_000_000.0
    /// Persons one analysis includes at most (each gets an access log entry and maybe a share).
    public static let personsMax = 20_000
    /// Included persons listed in one `analysis.included` event.
    public static let personsPerInclusionEventMax = 4_000
}

extension ConsentTerms {
    /// Whether the policy lets a request ask for these terms' access.
    public func accessAllowed(by policy: PolicySet) -> Bool {
        guard let rule = policy.analysis?.rule(category: category, purpose: purpose) else { return accessMode == .delivery }
        return rule.access.contains(accessMode)
    }
}
