import Analysis
import Broker
import Consent
import Foundation
import Ledger

extension FuzzTarget {
    /// The consent terms and policy rule an analysis query is checked against: the real policy's
    /// energy rule, over every energy item.
    static let analysisWorld: (terms: ConsentTerms, rule: AnalysisRule, policy: PolicySet)? = {
        guard let loaded = try? PolicyLoader.load(files: FuzzPolicy.files),
            let rule = loaded.policy.analysis?.rule(category: "energy", purpose: "energy-saving"),
            let energy = loaded.policy.category("energy")
        else { return nil }
        let terms = ConsentTerms(
            category: "energy", items: energy.items.map(\.id), purpose: "energy-saving", dataFrom: Timestamp(milliseconds: 0),
            dataTo: FuzzKeys.now, durationDays: 90, onceOff: false, retentionDays: 0, incentiveKRW: 0, access: .analysis)
        return (terms, rule, loaded.policy)
    }()

    /// A query body as `POST /v1/analyses` decodes it, checked against the energy rule; one that
    /// compiles runs over a few rows made from the same bytes, and no released cell has fewer than
    /// `k` persons. The same bytes as a record's sealed values: what the fast field reader takes,
    /// the full decoder reads as the same values.
    static func analysisQuery(_ input: [UInt8]) throws {
        guard let world = analysisWorld else { FuzzCheck.require(false, "the real policy has an energy analysis rule"); return }
        let probe = try CompiledQuery.compile(
            AnalysisQuery(
                requestID: "req", items: ["energy.household", "energy.device"], from: Timestamp(milliseconds: 0), to: FuzzKeys.now,
                measures: [AnalysisMeasure(kind: .sum, field: "consumption", lower: 0, upper: 10)], epsilon: 1),
            terms: world.terms, rule: world.rule, policy: world.policy)
        if let fast = input.withUnsafeBytes({ probe.fields(fromCanonical: $0) }),
            let values = try? CanonicalJSON.decode([String: FieldValue].self, from: input)
        {
            FuzzCheck.require(
                fast == probe.row(item: "energy.household", manufacturer: "m", values: values).fields,
                "the fast field reader reads what the full decoder reads")
        }
        let query = try JSONDecoder().decode(AnalysisQuery.self, from: Data(input))
        let compiled = try CompiledQuery.compile(query, terms: world.terms, rule: world.rule, policy: world.policy)
        // A few persons whose rows take their values from the query's own bounds and bins.
        var random = SeededRandom(seed: Array(repeating: 1, count: 32))
        var aggregate = Aggregate(cells: compiled.cellCount, sums: compiled.sums.count)
        var truth = Array(repeating: 0, count: compiled.cellCount)
        let numbers = [0.0, 0.5, 1.5, 3.0] + (query.groupBy ?? []).flatMap { $0.bins ?? [] }
        for person in 0..<min(24, numbers.count * 4) {
            let values = Dictionary(uniqueKeysWithValues: compiled.fields.map { ($0, FieldValue.number(numbers[person % numbers.count])) })
            let row = compiled.row(item: query.items[person % query.items.count], manufacturer: "m", values: values)
            let contribution = Aggregation.contribution(
                of: [row, row], query: compiled, recordsPerCell: world.rule.recordsPerPersonPerCell, cellsMax: world.rule.cellsPerPerson,
                random: &random)
            for cell in contribution.cells { truth[cell] += 1 }
            aggregate.add(contribution)
        }
        let release = try Aggregation.release(aggregate, query: compiled, rule: world.rule, deltaExponent: 9, random: &random)
        FuzzCheck.require(release.cells.count == compiled.cellCount, "one cell per bucket combination")
        for (cell, out) in release.cells.enumerated() where !out.suppressed {
            FuzzCheck.require(truth[cell] >= world.rule.k, "no released cell has fewer than k persons")
        }
    }
}
