import Consent
import Foundation
import Ledger

/// A query checked against the request and the policy, ready to place records in cells: every
/// field it names is declared in every item's schema, every domain is declared in the query.
public struct CompiledQuery: Sendable {
    public let query: AnalysisQuery
    /// ε in thousandths.
    public let epsilonMilli: Int64
    /// The fields a record must have to be used (filters, groups and sums name them), ascending:
    /// a row holds their values in this order (`AnalysisRow.fields`).
    public let fields: [String]
    let fieldBytes: [[UInt8]]
    let filters: [Filter]
    let groups: [Group]
    /// The summed fields, in order, with their clamping bounds in thousandths of the unit.
    public let sums: [Sum]
    public let cellCount: Int
    /// Whether the result shows records (asked for, or needed by a mean).
    let wantsRecords: Bool

    enum Filter: Sendable {
        /// On the field at an index of `fields`, or on the item (`itemField`).
        case equals(Int, FieldValue)
        case range(Int, min: Double?, max: Double?)
    }

    /// The index that stands for the record's item rather than one of `fields`.
    static let itemField = -1

    struct Group: Sendable {
        let field: Int
        let categories: [FieldValue]?
        let bins: [Double]?
        var count: Int { categories?.count ?? (bins!.count - 1) }

        func bucket(_ value: FieldValue) -> Int? {
            if let categories { return categories.firstIndex(of: value) }
            guard let bins, let x = value.numeric else { return nil }
            guard x >= bins[0], x < bins[bins.count - 1] else { return nil }
            // Bins are few (at most `AnalysisLimits.bucketsMax`): the first edge above x.
            var i = 1
            while x >= bins[i] { i += 1 }
            return i - 1
        }

        func label(_ index: Int) -> String {
            if let categories { return categories[index].label }
            return "[\(bins![index].label),\(bins![index + 1].label))"
        }
    }

    public struct Sum: Sendable, Equatable {
        public let field: String
        let index: Int
        public let lowerMilli: Int64
        public let upperMilli: Int64
        /// The largest magnitude one clamped value can have, in thousandths.
        public var magnitudeMilli: Int64 { max(abs(lowerMilli), abs(upperMilli)) }
    }

    /// The cell a record falls in, or nil when it is not used (a filter fails, a field is
    /// missing, a value is in no bucket).
    public func cell(_ row: AnalysisRow) -> Int? {
        for value in row.fields where value == nil { return nil }
        func value(_ field: Int) -> FieldValue? { field == Self.itemField ? .string(row.item) : row.fields[field] }
        for filter in filters {
            switch filter {
            case .equals(let field, let wanted):
                guard value(field) == wanted else { return nil }
            case .range(let field, let lo, let hi):
                guard let x = value(field)?.numeric else { return nil }
                if let lo, x < lo { return nil }
                if let hi, x >= hi { return nil }
            }
        }
        var cell = 0
        for group in groups {
            guard let v = value(group.field), let b = group.bucket(v) else { return nil }
            cell = cell * group.count + b
        }
        return cell
    }

    /// A record as an analysis row: the values of `fields`, in order.
    public func row(item: String, manufacturer: String, values: [String: FieldValue]) -> AnalysisRow {
        AnalysisRow(item: item, manufacturer: manufacturer, fields: fields.map { values[$0] })
    }

    /// The value of sum `index` of a row, clamped, in thousandths of the unit.
    public func clampedMilli(_ index: Int, row: AnalysisRow) -> Int64 {
        let sum = sums[index]
        guard let x = row.fields[sum.index]?.numeric, x.isFinite else { return 0 }
        let milli = (x * 1000).rounded()
        return min(max(Int64(exactly: milli.clamped(-1e15, 1e15)) ?? 0, sum.lowerMilli), sum.upperMilli)
    }

    /// The labels of cell `index`, one per group-by field.
    public func key(of index: Int) -> [String] {
        var labels: [String] = []
        var rest = index
        for group in groups.reversed() {
            labels.append(group.label(rest % group.count))
            rest /= group.count
        }
        return labels.reversed()
    }

    // MARK: Checking

    /// Checks `query` against the request it names, the item schemas and the policy's rule.
    ///
    /// - Throws: `ConsentError.invalidQuery` saying what to change.
    public static func compile(
        _ query: AnalysisQuery, terms: ConsentTerms, rule: AnalysisRule, policy: PolicySet
    ) throws(ConsentError) -> CompiledQuery {
        func refuse(_ message: String) -> ConsentError { ConsentError(.invalidQuery, message) }
        guard !query.items.isEmpty, Set(query.items).count == query.items.count else {
            throw refuse("name each data item once, at least one")
        }
        for item in query.items where !terms.items.contains(item) {
            throw refuse("request \(query.requestID) does not cover '\(item)'; it covers \(terms.items.joined(separator: ", "))")
        }
        guard query.from < query.to else { throw refuse("`from` must be before `to` (milliseconds since the epoch)") }
        let schemas = query.items.compactMap(policy.item)
        func declared(_ field: String) throws(ConsentError) -> FieldSpec.FieldType? {
            if field == "item" { return .string }
            var type: FieldSpec.FieldType?
            for schema in schemas {
                guard let spec = schema.fields.first(where: { $0.name == field }) else {
                    throw refuse("field '\(field)' is not declared in item '\(schema.id)'; see the catalogue")
                }
                type = spec.type
            }
            return type
        }
        func numeric(_ field: String) throws(ConsentError) {
            guard let type = try declared(field), type == .number || type == .integer else {
                throw refuse("field '\(field)' is not numeric; ranges, bins and sums need a number or integer field")
            }
        }
        func bounded(_ x: Double, _ what: String) throws(ConsentError) {
            guard x.isFinite, x.magnitude <= AnalysisLimits.boundMagnitudeMax else {
                throw refuse("\(what) must be a finite number of magnitude at most \(Int(AnalysisLimits.boundMagnitudeMax))")
            }
        }
        var required = Set<String>()
        var namedFilters: [(String, FieldValue?, Double?, Double?)] = []
        // Filters.
        let rawFilters = query.filters ?? []
        guard rawFilters.count <= AnalysisLimits.filtersMax else { throw refuse("at most \(AnalysisLimits.filtersMax) filters") }
        for f in rawFilters {
            _ = try declared(f.field)
            if f.field != "item" { required.insert(f.field) }
            if let equals = f.equals {
                guard f.min == nil, f.max == nil else { throw refuse("a filter on '\(f.field)' has `equals` or a range, not both") }
                namedFilters.append((f.field, equals, nil, nil))
            } else {
                guard f.min != nil || f.max != nil else { throw refuse("a filter on '\(f.field)' needs `equals`, `min` or `max`") }
                try numeric(f.field)
                if let lo = f.min { try bounded(lo, "a filter's min") }
                if let hi = f.max { try bounded(hi, "a filter's max") }
                if let lo = f.min, let hi = f.max, !(lo < hi) { throw refuse("a filter's min must be below its max (`[min, max)`)") }
                namedFilters.append((f.field, nil, f.min, f.max))
            }
        }
        // Groups.
        let rawGroups = query.groupBy ?? []
        guard rawGroups.count <= AnalysisLimits.groupByFieldsMax else {
            throw refuse("group by at most \(AnalysisLimits.groupByFieldsMax) fields")
        }
        guard Set(rawGroups.map(\.field)).count == rawGroups.count else { throw refuse("group by each field once") }
        var namedGroups: [(String, [FieldValue]?, [Double]?)] = []
        var cells = 1
        for g in rawGroups {
            _ = try declared(g.field)
            if g.field != "item" { required.insert(g.field) }
            switch (g.categories, g.bins) {
            case (let categories?, nil):
                guard (1...AnalysisLimits.bucketsMax).contains(categories.count), Set(categories.map(\.label)).count == categories.count else {
                    throw refuse("'\(g.field)' needs 1 to \(AnalysisLimits.bucketsMax) distinct categories")
                }
                namedGroups.append((g.field, categories, nil))
                cells *= categories.count
            case (nil, let bins?):
                try numeric(g.field)
                guard (2...AnalysisLimits.bucketsMax + 1).contains(bins.count) else {
                    throw refuse("'\(g.field)' needs 2 to \(AnalysisLimits.bucketsMax + 1) bin edges")
                }
                for edge in bins { try bounded(edge, "a bin edge") }
                guard zip(bins, bins.dropFirst()).allSatisfy({ $0 < $1 }) else { throw refuse("the bin edges of '\(g.field)' must ascend") }
                namedGroups.append((g.field, nil, bins))
                cells *= bins.count - 1
            default:
                throw refuse("group '\(g.field)' by `categories` or by `bins`: one of them")
            }
            guard cells <= AnalysisLimits.cellsMax else {
                throw refuse("the groups make more than \(AnalysisLimits.cellsMax) cells; use fewer buckets")
            }
        }
        // Measures.
        guard (1...AnalysisLimits.measuresMax).contains(query.measures.count) else {
            throw refuse("ask for 1 to \(AnalysisLimits.measuresMax) measures")
        }
        var namedSums: [(field: String, lower: Int64, upper: Int64)] = []
        var wantsRecords = false
        var seen = Set<String>()
        for m in query.measures {
            guard seen.insert("\(m.kind.rawValue):\(m.field ?? "")").inserted else { throw refuse("a measure is asked for twice") }
            switch m.kind {
            case .persons, .records:
                guard m.field == nil, m.lower == nil, m.upper == nil else { throw refuse("`\(m.kind.rawValue)` takes no field or bounds") }
                if m.kind == .records { wantsRecords = true }
            case .sum, .mean:
                guard let field = m.field, field != "item" else { throw refuse("`\(m.kind.rawValue)` needs a numeric `field`") }
                try numeric(field)
                guard let lower = m.lower, let upper = m.upper else {
                    throw refuse("`\(m.kind.rawValue)` of '\(field)' needs clamping bounds `lower` and `upper` (declared, never taken from the data)")
                }
                try bounded(lower, "a clamping bound")
                try bounded(upper, "a clamping bound")
                guard lower < upper else { throw refuse("the clamping bounds of '\(field)' must have lower < upper") }
                required.insert(field)
                if m.kind == .mean { wantsRecords = true }
                let sum = (field: field, lower: Int64((lower * 1000).rounded(.down)), upper: Int64((upper * 1000).rounded(.up)))
                if let existing = namedSums.first(where: { $0.field == field }) {
                    guard existing == sum else { throw refuse("the sum and mean of '\(field)' must use the same bounds") }
                } else {
                    namedSums.append(sum)
                }
            }
        }
        // ε.
        let milli = (query.epsilon * 1000).rounded()
        guard query.epsilon.isFinite, query.epsilon > 0, abs(query.epsilon * 1000 - milli) < 1e-6, milli >= 1 else {
            throw refuse("ε must be a positive number in thousandths (such as 0.5 or 0.125)")
        }
        // Compared as a double first: an ε beyond Int64 in thousandths must be refused, not converted.
        guard milli <= Double(rule.epsilonMaxPerAnalysisMilli) else {
            throw refuse(
                "ε \(query.epsilon) is more than one analysis may spend here (\(Double(rule.epsilonMaxPerAnalysisMilli) / 1000)); ask for less")
        }
        let fields = required.sorted()
        func index(_ name: String) -> Int { name == "item" ? itemField : fields.firstIndex(of: name)! }
        return CompiledQuery(
            query: query, epsilonMilli: Int64(milli), fields: fields, fieldBytes: fields.map { Array($0.utf8) },
            filters: namedFilters.map { f in
                f.1.map { .equals(index(f.0), $0) } ?? .range(index(f.0), min: f.2, max: f.3)
            },
            groups: namedGroups.map { Group(field: index($0.0), categories: $0.1, bins: $0.2) },
            sums: namedSums.map { Sum(field: $0.field, index: index($0.field), lowerMilli: $0.lower, upperMilli: $0.upper) },
            cellCount: cells, wantsRecords: wantsRecords)
    }
}

extension FieldValue {
    /// The value as a number, when it is one.
    public var numeric: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }

    /// How a bucket shows the value.
    var label: String {
        switch self {
        case .integer(let i): String(i)
        case .number(let d): d.label
        case .string(let s): s
        case .boolean(let b): String(b)
        }
    }
}

extension Double {
    /// Integral values without `.0`.
    var label: String { self == rounded() && magnitude < 1e15 ? String(Int64(self)) : String(self) }

    func clamped(_ lo: Double, _ hi: Double) -> Double { Swift.min(Swift.max(self, lo), hi) }
}
