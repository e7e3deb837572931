import Consent
import Foundation
import Ledger

/// One record as an analysis sees it, opened inside the broker: the values of the fields the
/// query names (`CompiledQuery.fields`, in that order; nil where the record has none).
public struct AnalysisRow: Sendable {
    public var item: String
    public var manufacturer: String
    public var fields: [FieldValue?]
    public init(item: String, manufacturer: String, fields: [FieldValue?]) {
        self.item = item; self.manufacturer = manufacturer; self.fields = fields
    }
}

/// What one person adds to the cells once their contribution is bounded.
public struct Contribution: Sendable, Equatable {
    /// The cells, at most `cellsPerPerson`, ascending.
    public var cells: [Int] = []
    /// Per cell: records used (at most `recordsPerPersonPerCell`) and each sum's clamped total.
    public var records: [Int64] = []
    public var sums: [[Int64]] = []
    /// The records read (before filters and bounds), by the manufacturer that pushed them: what
    /// divides the manufacturers' share of the price, whatever the query's filters pick.
    public var byManufacturer: [String: Int] = [:]
    public var isEmpty: Bool { cells.isEmpty }
    public init() {}
}

/// The true totals per cell, before noise.
public struct Aggregate: Sendable, Equatable {
    public var persons: [Int64]
    public var records: [Int64]
    /// Per sum, per cell, in thousandths of the unit.
    public var sums: [[Int64]]
    /// The records read (before filters and bounds), by manufacturer.
    public var byManufacturer: [String: Int] = [:]

    public init(cells: Int, sums: Int) {
        persons = Array(repeating: 0, count: cells)
        records = Array(repeating: 0, count: cells)
        self.sums = Array(repeating: Array(repeating: 0, count: cells), count: sums)
    }

    public mutating func add(_ c: Contribution) {
        byManufacturer.merge(c.byManufacturer, uniquingKeysWith: +)
        guard !c.isEmpty else { return }
        for (i, cell) in c.cells.enumerated() {
            persons[cell] += 1
            records[cell] += c.records[i]
            for s in sums.indices { sums[s][cell] += c.sums[i][s] }
        }
    }
}

/// Contribution bounding, clamping, noise and suppression, in that order.
public enum Aggregation {
    /// The rows of one person, placed in cells and bounded: at most `cellsMax` cells and
    /// `recordsPerCell` records in each, chosen uniformly at random when there are more (so the
    /// choice has no bias towards early or late records), values clamped.
    public static func contribution<R: RandomSource>(
        of rows: [AnalysisRow], query: CompiledQuery, recordsPerCell: Int, cellsMax: Int, random: inout R
    ) -> Contribution {
        var byCell: [Int: [Int]] = [:]
        var out = Contribution()
        for row in rows { out.byManufacturer[row.manufacturer, default: 0] += 1 }
        for (i, row) in rows.enumerated() {
            if let cell = query.cell(row) { byCell[cell, default: []].append(i) }
        }
        var cells = byCell.keys.sorted()
        if cells.count > cellsMax {
            cells = Array(choose(cellsMax, from: cells, random: &random)).sorted()
        }
        for cell in cells {
            var indices = byCell[cell]!
            if indices.count > recordsPerCell { indices = choose(recordsPerCell, from: indices, random: &random) }
            var totals = Array(repeating: Int64(0), count: query.sums.count)
            for i in indices {
                for s in totals.indices { totals[s] += query.clampedMilli(s, row: rows[i]) }
            }
            out.cells.append(cell)
            out.records.append(Int64(indices.count))
            out.sums.append(totals)
        }
        return out
    }

    /// A true figure plus its noise, saturating instead of trapping at the ends of Int64.
    static func add(_ value: Int64, _ noise: Int64) -> Int64 {
        let (sum, overflow) = value.addingReportingOverflow(noise)
        return overflow ? (noise > 0 ? .max : .min) : sum
    }

    /// `count` elements of `from`, uniformly at random (a partial Fisher–Yates shuffle).
    static func choose<T, R: RandomSource>(_ count: Int, from items: [T], random: inout R) -> [T] {
        var items = items
        for i in 0..<count {
            let j = i + Int(random.uniform(UInt64(items.count - i)))
            items.swapAt(i, j)
        }
        return Array(items.prefix(count))
    }

    /// What an analysis releases.
    public struct Release: Sendable, Equatable {
        public var cells: [AnalysisCell]
        public var protection: AnalysisProtection
        public var released: Int
        public var suppressed: Int
    }

    /// The largest scale numerator Δ · m · 1000 a query may need (2⁵⁶): the sampler's U + t · V
    /// stays below 2⁶³ for every V it draws in practice (V ≥ 128 has probability below e⁻¹²⁸).
    public static let scaleNumeratorMax: UInt64 = 1 << 56

    /// The mechanism every noise statement names.
    public static let mechanism = "discrete-laplace"

    /// Adds discrete Laplace noise calibrated to each quantity's sensitivity and its share of ε
    /// to every cell, then suppresses every cell with fewer than `k` persons or a noisy person
    /// count below `k + margin`; means come from the noisy sums and record counts.
    ///
    /// - Throws: `ConsentError.invalidQuery` when the bounds make the noise's scale too large to state.
    public static func release<R: RandomSource>(
        _ aggregate: Aggregate, query: CompiledQuery, rule: AnalysisRule, deltaExponent: Int, random: inout R
    ) throws(ConsentError) -> Release {
        let c = Int64(rule.cellsPerPerson), r = Int64(rule.recordsPerPersonPerCell)
        // The noisy quantities: persons always (suppression needs it), records when shown or
        // needed by a mean, each summed field. They share ε equally.
        var quantities: [(name: String, sensitivity: Int64, unit: String)] = [("persons", c, "1")]
        if query.wantsRecords { quantities.append(("records", c * r, "1")) }
        for sum in query.sums { quantities.append(("sum:\(sum.field)", c * r * sum.magnitudeMilli, "0.001")) }
        let m = UInt64(quantities.count)
        var noises: [DiscreteLaplace] = []
        var statements: [NoiseStatement] = []
        for q in quantities {
            // b = Δ / (ε / m) = Δ · m · 1000 / ε_milli.
            let (a, o1) = UInt64(q.sensitivity).multipliedReportingOverflow(by: m)
            let (numerator, o2) = a.multipliedReportingOverflow(by: 1000)
            // The sampler multiplies the numerator by small counts: keep it far below 2⁶⁴.
            guard !o1, !o2, numerator <= Self.scaleNumeratorMax else {
                throw ConsentError(
                    .invalidQuery,
                    "the noise of \(q.name) would be too large to add exactly; narrow its clamping bounds, ask for fewer measures or for more ε")
            }
            let noise = DiscreteLaplace(scaleNumerator: numerator, scaleDenominator: UInt64(query.epsilonMilli))
            noises.append(noise)
            statements.append(
                NoiseStatement(
                    quantity: q.name, sensitivity: q.sensitivity, unit: q.unit, epsilon: Double(query.epsilonMilli) / 1000 / Double(m),
                    scale: noise.scale))
        }
        // A cell of fewer than k persons passes the noisy test with probability at most δ / C.
        let delta = pow(10, -Double(deltaExponent)) / Double(c)
        let margin = noises[0].tailBound(delta: delta)
        let k = Int64(rule.k)
        var cells: [AnalysisCell] = []
        var released = 0
        let measures = query.query.measures
        for cell in 0..<query.cellCount {
            let persons = Self.add(aggregate.persons[cell], noises[0].sample(&random))
            var next = 1
            var records: Int64?
            if query.wantsRecords {
                records = Self.add(aggregate.records[cell], noises[next].sample(&random))
                next += 1
            }
            var sums: [String: Int64] = [:]
            for (s, sum) in query.sums.enumerated() {
                sums[sum.field] = Self.add(aggregate.sums[s][cell], noises[next].sample(&random))
                next += 1
            }
            let key = query.key(of: cell)
            guard aggregate.persons[cell] >= k, persons >= k + margin else {
                cells.append(AnalysisCell(key: key, suppressed: true))
                continue
            }
            released += 1
            var out = AnalysisCell(key: key, suppressed: false)
            for measure in measures {
                switch measure.kind {
                case .persons: out.persons = max(persons, 0)
                case .records: out.records = max(records ?? 0, 0)
                case .sum:
                    let field = measure.field ?? ""
                    out.sums = (out.sums ?? [:]).merging([field: Double(sums[field] ?? 0) / 1000]) { $1 }
                case .mean:
                    let field = measure.field ?? ""
                    guard let n = records, n >= 1, let lower = measure.lower, let upper = measure.upper else { continue }
                    let mean = (Double(sums[field] ?? 0) / 1000 / Double(n)).clamped(lower, upper)
                    out.means = (out.means ?? [:]).merging([field: mean]) { $1 }
                }
            }
            cells.append(out)
        }
        return Release(
            cells: cells,
            protection: AnalysisProtection(
                recordsPerPersonPerCell: rule.recordsPerPersonPerCell, cellsPerPerson: rule.cellsPerPerson, mechanism: mechanism,
                noise: statements, k: rule.k, margin: margin, deltaExponent: deltaExponent),
            released: released, suppressed: cells.count - released)
    }
}
