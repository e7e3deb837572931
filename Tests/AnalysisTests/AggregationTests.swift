import Analysis
import Consent
import Foundation
import Ledger
import Testing

struct AggregationTests {
    static let item = DataItem(
        id: "energy.device", title: "Energy use per device", updateFrequency: "hourly",
        fields: [
            FieldSpec(name: "device_type", type: .string, unit: nil, required: true),
            FieldSpec(name: "consumption", type: .number, unit: "kWh", required: true),
        ])
    static let policy = PolicySet(
        version: "t", categories: [DataCategory(id: "energy", title: "Energy", sensitive: false, maxConsentDays: 365, items: [item])],
        purposes: [Purpose(id: "energy-saving", title: "Saving", categories: ["energy"])])
    static let terms = ConsentTerms(
        category: "energy", items: ["energy.device"], purpose: "energy-saving", dataFrom: Timestamp(milliseconds: 0),
        dataTo: Timestamp(milliseconds: 1_000_000), durationDays: 30, onceOff: false, retentionDays: 0, incentiveKRW: 0, access: .analysis)
    static func rule(k: Int = 10, records: Int = 3, cells: Int = 2) -> AnalysisRule {
        AnalysisRule(
            category: "energy", purposes: ["energy-saving"], access: [.analysis], analysisUnderDelivery: false, k: k,
            epsilonMaxPerAnalysisMilli: 2_000, budgetEpsilonMilli: 10_000, budgetPeriodDays: 30, recordsPerPersonPerCell: records,
            cellsPerPerson: cells)
    }
    static func query(
        groupBy: [AnalysisGroupBy]? = [AnalysisGroupBy(field: "device_type", categories: [.string("tv"), .string("fridge"), .string("aircon")])],
        measures: [AnalysisMeasure] = [AnalysisMeasure(kind: .persons), AnalysisMeasure(kind: .sum, field: "consumption", lower: 0, upper: 5)],
        epsilon: Double = 1
    ) -> AnalysisQuery {
        AnalysisQuery(
            requestID: "req-1", items: ["energy.device"], from: Timestamp(milliseconds: 0), to: Timestamp(milliseconds: 1_000),
            groupBy: groupBy, measures: measures, epsilon: epsilon)
    }
    static func row(_ type: String, _ kwh: Double) -> AnalysisRow {
        AnalysisRow(item: "energy.device", manufacturer: "m", fields: [.number(kwh), .string(type)])
    }

    @Test func oneCellTakesAtMostTheRecordsOfOnePersonThePolicyAllowsClampedToTheBounds() throws {
        let compiled = try CompiledQuery.compile(Self.query(), terms: Self.terms, rule: Self.rule(), policy: Self.policy)
        var random = SeededRandom(seed: Array(repeating: 1, count: 32))
        let rows = (0..<50).map { _ in Self.row("tv", 9) }
        let c = Aggregation.contribution(of: rows, query: compiled, recordsPerCell: 3, cellsMax: 2, random: &random)
        #expect(c.cells == [0])
        #expect(c.records == [3])
        // 9 kWh clamped to the upper bound 5, three times, in thousandths.
        #expect(c.sums == [[15_000]])
    }

    @Test func aPersonInMoreCellsThanAllowedContributesToARandomChoiceOfThem() throws {
        let compiled = try CompiledQuery.compile(Self.query(), terms: Self.terms, rule: Self.rule(), policy: Self.policy)
        var random = SeededRandom(seed: Array(repeating: 2, count: 32))
        let rows = [Self.row("tv", 1), Self.row("fridge", 1), Self.row("aircon", 1)]
        var chosen: [Int: Int] = [:]
        for _ in 0..<3_000 {
            let c = Aggregation.contribution(of: rows, query: compiled, recordsPerCell: 3, cellsMax: 2, random: &random)
            #expect(c.cells.count == 2)
            for cell in c.cells { chosen[cell, default: 0] += 1 }
        }
        // Each of the three cells is kept two times in three: no bias towards the first.
        for cell in 0..<3 { #expect(abs((chosen[cell] ?? 0) - 2_000) < 150, "cell \(cell) kept \(chosen[cell] ?? 0) times") }
    }

    @Test func recordsOutsideEveryBucketOrMissingAFieldAreNotUsed() throws {
        let compiled = try CompiledQuery.compile(Self.query(), terms: Self.terms, rule: Self.rule(), policy: Self.policy)
        var random = SeededRandom(seed: Array(repeating: 3, count: 32))
        let rows = [
            Self.row("heater", 1),
            compiled.row(item: "energy.device", manufacturer: "m", values: ["device_type": .string("tv")]),
        ]
        #expect(Aggregation.contribution(of: rows, query: compiled, recordsPerCell: 3, cellsMax: 2, random: &random).isEmpty)
    }

    @Test func cellsBelowKAreSuppressedAndNeverReportedAsZero() throws {
        let rule = Self.rule(k: 3)
        let compiled = try CompiledQuery.compile(Self.query(epsilon: 2), terms: Self.terms, rule: rule, policy: Self.policy)
        var aggregate = Aggregate(cells: 3, sums: 1)
        var random = SeededRandom(seed: Array(repeating: 4, count: 32))
        for _ in 0..<200 {
            aggregate.add(Aggregation.contribution(of: [Self.row("tv", 2)], query: compiled, recordsPerCell: 3, cellsMax: 2, random: &random))
        }
        for _ in 0..<2 {
            aggregate.add(Aggregation.contribution(of: [Self.row("fridge", 2)], query: compiled, recordsPerCell: 3, cellsMax: 2, random: &random))
        }
        let release = try Aggregation.release(aggregate, query: compiled, rule: rule, deltaExponent: 9, random: &random)
        #expect(release.cells.map(\.suppressed) == [false, true, true])
        #expect(release.cells[1] == AnalysisCell(key: ["fridge"], suppressed: true))
        #expect(release.released == 1 && release.suppressed == 2)
        let tv = release.cells[0]
        #expect(tv.key == ["tv"])
        #expect(abs((tv.persons ?? 0) - 200) < 60)
        #expect(abs((tv.sums?["consumption"] ?? 0) - 400) < 200)
        // Two quantities share ε = 2: persons has sensitivity C = 2, scale 2 · 2 / 2 = 2.
        #expect(release.protection.noise.map(\.quantity) == ["persons", "sum:consumption"])
        #expect(release.protection.noise[0].scale == 2)
        #expect(release.protection.noise[1].sensitivity == 2 * 3 * 5_000)
        #expect(release.protection.margin == DiscreteLaplace(scaleNumerator: 4_000, scaleDenominator: 2_000).tailBound(delta: 1e-9 / 2))
    }

    @Test func theFastReaderReadsWhatTheFullDecoderReadsOrLeavesIt() throws {
        let compiled = try CompiledQuery.compile(Self.query(), terms: Self.terms, rule: Self.rule(), policy: Self.policy)
        #expect(compiled.fields == ["consumption", "device_type"])
        for (json, expected) in [
            (#"{"consumption":1.25,"device_type":"tv","other":[1]}"#, nil),
            (#"{"a":true,"consumption":-0.1,"device_type":"fridge","z":false}"#, [FieldValue.number(-0.1), .string("fridge")]),
            (#"{"consumption":3,"n":12345678901234}"#, [.integer(3), nil]),
            (#"{"consumption":1e3,"device_type":"tv"}"#, nil),
            (#"{"device_type":"t\u0076"}"#, nil),
            (#"{}"#, [nil, nil]),
            // Found by the analysisquery fuzz target: a repeated key, which the two readers took differently.
            (#"{":":0,"consumption":1,"consumption":13}"#, nil),
            (#"{"device_type":"tv","consumption":2}"#, nil),
        ] as [(String, [FieldValue?]?)] {
            let read = Array(json.utf8).withUnsafeBytes { compiled.fields(fromCanonical: $0) }
            #expect(read == expected, "\(json)")
            // Whatever the reader gives, the full decoder gives the same values.
            if let read, let values = try? CanonicalJSON.decode([String: FieldValue].self, from: Array(json.utf8)) {
                #expect(read == compiled.row(item: "energy.device", manufacturer: "m", values: values).fields)
            }
        }
    }

    @Test func eachQueryLimitHoldsAtItsValueAndRefusesOnePast() throws {
        func compile(_ q: AnalysisQuery) throws { _ = try CompiledQuery.compile(q, terms: Self.terms, rule: Self.rule(), policy: Self.policy) }
        func types(_ n: Int) -> [FieldValue] { (0..<n).map { .string("t\($0)") } }
        func grid(_ bins: Int, _ categories: Int) -> [AnalysisGroupBy] {
            [
                AnalysisGroupBy(field: "consumption", bins: (0...bins).map(Double.init)),
                AnalysisGroupBy(field: "device_type", categories: types(categories)),
            ]
        }
        let filter = AnalysisFilter(field: "consumption", min: 0)
        try compile(Self.query(groupBy: grid(20, 20)))  // 400 cells
        #expect(throws: ConsentError.self) { try compile(Self.query(groupBy: grid(20, 21))) }  // 420
        var q = Self.query()
        q.filters = Array(repeating: filter, count: AnalysisLimits.filtersMax)
        try compile(q)
        q.filters = Array(repeating: filter, count: AnalysisLimits.filtersMax + 1)
        #expect(throws: ConsentError.self) { try compile(q) }
        #expect(throws: ConsentError.self) {
            try compile(Self.query(measures: Array(repeating: AnalysisMeasure(kind: .persons), count: AnalysisLimits.measuresMax + 1)))
        }
        #expect(throws: ConsentError.self) {
            try compile(Self.query(groupBy: grid(2, 2) + [AnalysisGroupBy(field: "item", categories: [.string("energy.device")])]))
        }
        #expect(throws: ConsentError.self) {
            try compile(Self.query(groupBy: [AnalysisGroupBy(field: "device_type", categories: types(AnalysisLimits.bucketsMax + 1))]))
        }
        try compile(Self.query(groupBy: [AnalysisGroupBy(field: "device_type", categories: types(AnalysisLimits.bucketsMax))]))
        #expect(throws: ConsentError.self) {
            try compile(
                Self.query(measures: [AnalysisMeasure(kind: .sum, field: "consumption", lower: 0, upper: AnalysisLimits.boundMagnitudeMax * 2)]))
        }
    }

    @Test(arguments: [
        (
            AnalysisQuery(
                requestID: "r", items: ["energy.household"], from: .init(milliseconds: 0), to: .init(milliseconds: 1),
                measures: [.init(kind: .persons)], epsilon: 1), "does not cover"
        ),
        (query(groupBy: [AnalysisGroupBy(field: "colour", categories: [.string("red")])]), "not declared"),
        (query(groupBy: [AnalysisGroupBy(field: "device_type", bins: [0, 1])]), "not numeric"),
        (query(measures: [AnalysisMeasure(kind: .sum, field: "consumption")]), "clamping bounds"),
        (query(measures: [AnalysisMeasure(kind: .mean, field: "consumption", lower: 3, upper: 1)]), "lower < upper"),
        (query(epsilon: 3), "more than one analysis may spend"),
        (query(epsilon: 0.0001), "thousandths"),
        // Found by the analysisquery fuzz target: an ε beyond Int64 in thousandths trapped.
        (query(epsilon: 2.2e20), "more than one analysis may spend"),
        (
            query(groupBy: [
                AnalysisGroupBy(field: "consumption", bins: Array(stride(from: 0.0, through: 30, by: 1))),
                AnalysisGroupBy(field: "device_type", categories: (0..<20).map { .string("t\($0)") }),
            ]), "cells"
        ),
    ])
    func queriesThatCannotRunAreRefusedSayingWhatToChange(query: AnalysisQuery, message: String) {
        #expect {
            _ = try CompiledQuery.compile(query, terms: Self.terms, rule: Self.rule(), policy: Self.policy)
        } throws: { error in
            guard let e = error as? ConsentError else { return false }
            return e.code == .invalidQuery && e.message.contains(message)
        }
    }
}
