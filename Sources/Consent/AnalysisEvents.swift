import Ledger

/// What a recipient asks the analysis zone to compute over the records its analysis consents
/// cover. Every domain is declared here, never taken from the data: the cells are the product of
/// the group-by buckets, and sums are clamped to the bounds the query gives.
public struct AnalysisQuery: Codable, Sendable, Equatable {
    /// The consent request the analysis runs under: its consents decide who is included.
    public var requestID: String
    /// Data items, a subset of the request's.
    public var items: [String]
    /// The records' time window, `from ≤ time < to` (milliseconds), within each consent's window.
    public var from: Timestamp
    public var to: Timestamp
    /// Every filter must hold for a record to be used.
    public var filters: [AnalysisFilter]?
    /// Up to two fields to group by, each with its declared buckets.
    public var groupBy: [AnalysisGroupBy]?
    public var measures: [AnalysisMeasure]
    /// The privacy loss the analysis may cost, at most the policy's per-analysis limit; given in
    /// thousandths at most (0.001 to …).
    public var epsilon: Double

    public init(
        requestID: String, items: [String], from: Timestamp, to: Timestamp, filters: [AnalysisFilter]? = nil,
        groupBy: [AnalysisGroupBy]? = nil, measures: [AnalysisMeasure], epsilon: Double
    ) {
        self.requestID = requestID; self.items = items; self.from = from; self.to = to
        self.filters = filters; self.groupBy = groupBy; self.measures = measures; self.epsilon = epsilon
    }
}

/// A condition on one field: equal to a value, or within `[min, max)`.
public struct AnalysisFilter: Codable, Sendable, Equatable {
    public var field: String
    public var equals: FieldValue?
    public var min: Double?
    public var max: Double?
    public init(field: String, equals: FieldValue? = nil, min: Double? = nil, max: Double? = nil) {
        self.field = field; self.equals = equals; self.min = min; self.max = max
    }
}

/// A field to group by, with its buckets: listed values (`categories`), or numeric bins between
/// ascending `bins` edges (`[edge i, edge i+1)`). A record whose value falls in no bucket is not used.
public struct AnalysisGroupBy: Codable, Sendable, Equatable {
    /// A field of the items' schema, or `item` (the data item itself).
    public var field: String
    public var categories: [FieldValue]?
    public var bins: [Double]?
    public init(field: String, categories: [FieldValue]? = nil, bins: [Double]? = nil) {
        self.field = field; self.categories = categories; self.bins = bins
    }
}

/// One figure per cell.
public struct AnalysisMeasure: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Persons with at least one record in the cell.
        case persons
        /// Records in the cell (at most the policy's number per person).
        case records
        /// The sum of a numeric field, each value clamped to `[lower, upper]`.
        case sum
        /// The sum divided by the record count, both noisy.
        case mean
    }
    public var kind: Kind
    public var field: String?
    public var lower: Double?
    public var upper: Double?
    public init(kind: Kind, field: String? = nil, lower: Double? = nil, upper: Double? = nil) {
        self.kind = kind; self.field = field; self.lower = lower; self.upper = upper
    }
}

/// One cell of a result: its bucket labels, and its figures, or `suppressed` (never zeros).
public struct AnalysisCell: Codable, Sendable, Equatable {
    /// One label per group-by field: the category's value, or the bin as `[lo,hi)`.
    public var key: [String]
    public var suppressed: Bool
    public var persons: Int64?
    public var records: Int64?
    /// Noisy sums and means by field.
    public var sums: [String: Double]?
    public var means: [String: Double]?
    public init(
        key: [String], suppressed: Bool, persons: Int64? = nil, records: Int64? = nil, sums: [String: Double]? = nil,
        means: [String: Double]? = nil
    ) {
        self.key = key; self.suppressed = suppressed; self.persons = persons; self.records = records
        self.sums = sums; self.means = means
    }
}

/// The noise added to one quantity of every cell.
public struct NoiseStatement: Codable, Sendable, Equatable {
    /// `persons`, `records`, or `sum:<field>`.
    public var quantity: String
    /// How much one person can change the quantity over all cells (L1), in `unit`s.
    public var sensitivity: Int64
    /// `1`, or `0.001` for sums (counted in thousandths of the field's unit).
    public var unit: String
    /// The share of the analysis's ε this quantity spends.
    public var epsilon: Double
    /// The discrete Laplace scale b = sensitivity / ε, in `unit`s: P(noise = x) ∝ exp(−|x| / b).
    public var scale: Double
    public init(quantity: String, sensitivity: Int64, unit: String, epsilon: Double, scale: Double) {
        self.quantity = quantity; self.sensitivity = sensitivity; self.unit = unit; self.epsilon = epsilon; self.scale = scale
    }
}

/// How a result was protected, in the order the protections apply.
public struct AnalysisProtection: Codable, Sendable, Equatable {
    /// Records one person contributes to one cell at most, and cells at most.
    public var recordsPerPersonPerCell: Int
    public var cellsPerPerson: Int
    /// `discrete-laplace` (Canonne, Kamath and Steinke 2020, sampled exactly from libsodium's randomness).
    public var mechanism: String
    public var noise: [NoiseStatement]
    /// A cell is released only when its true person count is at least `k` and its noisy person
    /// count at least `k + margin`; `margin` makes a cell of fewer than `k` persons pass the noisy
    /// test with probability at most δ / cellsPerPerson.
    public var k: Int
    public var margin: Int64
    /// δ = 10^-deltaExponent.
    public var deltaExponent: Int
    public init(
        recordsPerPersonPerCell: Int, cellsPerPerson: Int, mechanism: String, noise: [NoiseStatement], k: Int, margin: Int64,
        deltaExponent: Int
    ) {
        self.recordsPerPersonPerCell = recordsPerPersonPerCell; self.cellsPerPerson = cellsPerPerson; self.mechanism = mechanism
        self.noise = noise; self.k = k; self.margin = margin; self.deltaExponent = deltaExponent
    }
}

/// The broker ran an analysis and released its result: the budget it spent, who it counted and
/// the result itself. In the same append as its `analysis.included` events and its charge.
public struct AnalysisRan: Codable, Sendable, Equatable {
    public var analysisID: String
    public var requestID: String
    public var recipient: String
    public var category: String
    public var purpose: String
    public var query: AnalysisQuery
    /// BLAKE2b-256 (hex) of the query's canonical JSON.
    public var queryHash: String
    public var policyVersion: String
    public var policyHash: String
    /// The ε spent, in thousandths.
    public var epsilonMilli: Int64
    /// The budget period charged, `[periodStart, periodEnd)`.
    public var periodStart: Timestamp
    public var periodEnd: Timestamp
    public var protection: AnalysisProtection
    /// Persons whose analysis consent covered them when it ran (the recipient knows its consents;
    /// how many of them had records the query used is not released).
    public var persons: Int
    public var cells: [AnalysisCell]
    public var released: Int
    public var suppressed: Int
    /// BLAKE2b-256 (hex) of `cells` as canonical JSON.
    public var resultDigest: String
    /// What the recipient was charged, in won: the price per analysis and per person included.
    public var priceKRW: Int64

    public init(
        analysisID: String, requestID: String, recipient: String, category: String, purpose: String, query: AnalysisQuery,
        queryHash: String, policyVersion: String, policyHash: String, epsilonMilli: Int64, periodStart: Timestamp,
        periodEnd: Timestamp, protection: AnalysisProtection, persons: Int, cells: [AnalysisCell],
        released: Int, suppressed: Int, resultDigest: String, priceKRW: Int64
    ) {
        self.analysisID = analysisID; self.requestID = requestID; self.recipient = recipient; self.category = category
        self.purpose = purpose; self.query = query; self.queryHash = queryHash; self.policyVersion = policyVersion
        self.policyHash = policyHash; self.epsilonMilli = epsilonMilli; self.periodStart = periodStart
        self.periodEnd = periodEnd; self.protection = protection; self.persons = persons
        self.cells = cells; self.released = released; self.suppressed = suppressed; self.resultDigest = resultDigest
        self.priceKRW = priceKRW
    }
}

/// The persons an analysis counted (a part of them: one event holds at most
/// `AnalysisLimits.personsPerInclusionEventMax`); what each one's access log shows.
public struct AnalysisIncluded: Codable, Sendable, Equatable {
    public var analysisID: String
    public var requestID: String
    public var recipient: String
    public var purpose: String
    /// Person ids, ascending; each one's consent is `Identifiers.consentID(requestID:subject:)`.
    public var subjects: [String]
    public init(analysisID: String, requestID: String, recipient: String, purpose: String, subjects: [String]) {
        self.analysisID = analysisID; self.requestID = requestID; self.recipient = recipient; self.purpose = purpose
        self.subjects = subjects
    }
}

/// An analysis as the projections hold it: its event's payload, for fetching the result again.
public struct AnalysisRecord: Sendable, Equatable, Codable {
    public var analysisID: String
    public var requestID: String
    public var recipient: String
    public var sequence: UInt64
    public var time: Timestamp
    public var epsilonMilli: Int64
    public var periodStart: Timestamp
    /// The `analysis.ran` payload (canonical JSON).
    public var payload: [UInt8]
    public init(
        analysisID: String, requestID: String, recipient: String, sequence: UInt64, time: Timestamp, epsilonMilli: Int64,
        periodStart: Timestamp, payload: [UInt8]
    ) {
        self.analysisID = analysisID; self.requestID = requestID; self.recipient = recipient; self.sequence = sequence
        self.time = time; self.epsilonMilli = epsilonMilli; self.periodStart = periodStart; self.payload = payload
    }
}

/// One person's inclusion in an analysis, as their access log shows it.
public struct AnalysisInclusion: Sendable, Equatable, Codable {
    /// The `analysis.included` event's ledger sequence.
    public var sequence: UInt64
    public var time: Timestamp
    public var analysisID: String
    public var consentID: String
    public var subject: String
    public var recipient: String
    public var purpose: String
    public init(
        sequence: UInt64, time: Timestamp, analysisID: String, consentID: String, subject: String, recipient: String, purpose: String
    ) {
        self.sequence = sequence; self.time = time; self.analysisID = analysisID; self.consentID = consentID
        self.subject = subject; self.recipient = recipient; self.purpose = purpose
    }
}

/// Reads of the analysis zone's projections.
public protocol AnalysisReadModel: Sendable {
    func analysis(_ id: String) async throws -> AnalysisRecord?
    /// The analyses run under `requestID`, newest first; `before` is an analysis's sequence.
    func analyses(requestID: String, limit: Int, before: UInt64?) async throws -> [AnalysisRecord]
    /// The ε (thousandths) the analyses of `requestID` spent in the period starting at `periodStart`.
    func analysisSpent(requestID: String, periodStart: Timestamp) async throws -> Int64
    /// The analyses `subject` was included in, newest first; `before` is an entry's sequence.
    func analysisInclusions(subject: String, limit: Int, before: UInt64?) async throws -> [AnalysisInclusion]
    /// The consents granted under `requestID` that are active at `now` (neither revoked nor
    /// expired), by grant sequence, at most `limit`.
    func activeConsents(requestID: String, at now: Timestamp, limit: Int) async throws -> [Consent]
}
