import Broker
import Consent
import Foundation
import TestSupport
import Testing

struct PolicyLoaderTests {
    @Test("the shipped policies load: four categories, health sensitive and shorter")
    func shippedPolicies() throws {
        let loaded = try PolicyLoader.load(directory: Repository.policies)
        #expect(Set(loaded.policy.categories.map(\.id)) == ["vehicle", "appliance", "energy", "health"])
        let health = try #require(loaded.policy.category("health"))
        #expect(health.sensitive)
        #expect(health.maxConsentDays < 365)
        #expect(loaded.policy.categories.allSatisfy { $0.maxConsentDays <= 365 && !$0.items.isEmpty })
        #expect(loaded.hash.count == 64)
        #expect(loaded.policy.contracts?.map(\.id) == ["analysis", "processing", "provision"], "the standard contracts, in file order")
        #expect(try PolicyLoader.load(directory: Repository.policies).hash == loaded.hash, "the hash is stable")
    }

    struct Breakage: Sendable, CustomTestStringConvertible {
        let name: String
        let file: String
        let find: String
        let replace: String
        let expectedLine: Int?
        let mentions: String
        var testDescription: String { name }
    }

    static let breakages: [Breakage] = [
        Breakage(
            name: "a consent limit over a year", file: "categories/vehicle.yaml", find: "maxConsentDays: 365",
            replace: "maxConsentDays: 400", expectedLine: 5, mentions: "maxConsentDays"),
        Breakage(
            name: "an unknown field type", file: "categories/energy.yaml", find: "{ name: interval, type: integer",
            replace: "{ name: interval, type: duration", expectedLine: 19, mentions: "duration"),
        Breakage(
            name: "an item outside its category", file: "categories/appliance.yaml", find: "id: appliance.errors",
            replace: "id: vehicle.errors", expectedLine: 21, mentions: "must start with its category"),
        Breakage(
            name: "broken YAML", file: "categories/health.yaml", find: "sensitive: true",
            replace: "sensitive: [true", expectedLine: nil, mentions: "not valid YAML"),
        Breakage(
            name: "a purpose naming an unknown category", file: "purposes.yaml", find: "categories: [energy]\n  - id: demand-response",
            replace: "categories: [energi]\n  - id: demand-response", expectedLine: 19, mentions: "energi"),
        Breakage(
            name: "sensitive not a boolean", file: "categories/health.yaml", find: "sensitive: true",
            replace: "sensitive: maybe", expectedLine: 5, mentions: "true or false"),
        Breakage(
            name: "a missing version", file: "policy.yaml", find: "version: \"2026.11.1\"",
            replace: "versio: \"2026.11.1\"", expectedLine: nil, mentions: "version"),
        Breakage(
            name: "health analysed with cells smaller than 20", file: "analysis.yaml", find: "k: 20", replace: "k: 15", expectedLine: 31,
            mentions: "at least 20"),
        Breakage(
            name: "an access that does not exist", file: "analysis.yaml",
            find: "access: [delivery, analysis]\n    analysisUnderDelivery: false\n    k: 10",
            replace: "access: [delivery, analyse]\n    analysisUnderDelivery: false\n    k: 10", expectedLine: 20, mentions: "analyse"),
        Breakage(
            name: "an ε with four decimals", file: "analysis.yaml", find: "epsilonMaxPerAnalysis: 0.5", replace: "epsilonMaxPerAnalysis: 0.0005",
            expectedLine: 32, mentions: "three decimals"),
        Breakage(
            name: "a price per person that pays each person under 1 won", file: "accounting.yaml", find: "perPersonKRW: 4",
            replace: "perPersonKRW: 3", expectedLine: 38, mentions: "under 1 won"),
        Breakage(
            name: "an analysis rule for a purpose the category may not serve", file: "analysis.yaml", find: "purposes: [health-services]",
            replace: "purposes: [demand-response]", expectedLine: 27, mentions: "demand-response"),
        Breakage(
            name: "a related item that no category defines", file: "categories/appliance.yaml",
            find: "related: [appliance.errors, appliance.settings]", replace: "related: [appliance.errors, appliance.setings]",
            expectedLine: 12, mentions: "appliance.setings"),
        Breakage(
            name: "an update cycle without a unit", file: "categories/energy.yaml", find: "updateCycle: 15m", replace: "updateCycle: 15",
            expectedLine: 11, mentions: "updateCycle"),
        Breakage(
            name: "a grade B that asks more validity than A", file: "quality.yaml", find: "B: { validity: 98,", replace: "B: { validity: 99.9,",
            expectedLine: 21, mentions: "grade A must ask at least what B asks of `validity`"),
        Breakage(
            name: "a percentage over 100", file: "quality.yaml", find: "coverage: 80 }", replace: "coverage: 180 }", expectedLine: 21,
            mentions: "0 to 100"),
        Breakage(
            name: "a threshold the broker does not know", file: "quality.yaml", find: "duplicates: 5,", replace: "duplicate: 5,",
            expectedLine: 23, mentions: "unknown threshold `duplicate`"),
        Breakage(
            name: "a lag that is not a duration", file: "quality.yaml", find: "lagP95: 1d", replace: "lagP95: a day", expectedLine: 22,
            mentions: "lagP95"),
        Breakage(
            name: "a grade missing", file: "quality.yaml", find: "  C: { validity: 90,", replace: "  D: { validity: 90,", expectedLine: nil,
            mentions: "`C:`"),
        Breakage(
            name: "a contract clause with a placeholder nothing fills", file: "contracts/provision.yaml", find: "only for {purpose},",
            replace: "only for {purpse},", expectedLine: 16, mentions: "{purpse} is neither a parameter"),
        Breakage(
            name: "a contract clause with a brace left open", file: "contracts/provision.yaml", find: "at most {retentionDays} days",
            replace: "at most {retentionDays days", expectedLine: 19, mentions: "a `{` without its `}`"),
        Breakage(
            name: "a contract parameter whose default breaks its own range", file: "contracts/provision.yaml",
            find: "max: 30, default: 7 }", replace: "max: 30, default: 70 }", expectedLine: 11, mentions: "deletionDays must be at most 30, got 70"),
        Breakage(
            name: "a contract parameter of an unknown type", file: "contracts/processing.yaml", find: "type: name }", replace: "type: string }",
            expectedLine: 8, mentions: "parameter type is integer or name"),
        Breakage(
            name: "a category that allows a contract no file defines", file: "categories/health.yaml",
            find: "contracts: [provision, analysis]", replace: "contracts: [provision, analysys]", expectedLine: 8, mentions: "'analysys'"),
    ]

    @Test("a broken policy file is refused with its file, line and what is wrong", arguments: breakages)
    func errorsNameFileAndLine(_ b: Breakage) throws {
        let dir = TemporaryDirectory("policies")
        try FileManager.default.removeItem(at: dir.url)
        try FileManager.default.copyItem(at: Repository.policies, to: dir.url)
        let url = dir.url.appendingPathComponent(b.file)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains(b.find), "the fixture text to break exists")
        try text.replacingOccurrences(of: b.find, with: b.replace).write(to: url, atomically: true, encoding: .utf8)
        do {
            _ = try PolicyLoader.load(directory: dir.url)
            Issue.record("expected a policy error")
        } catch let error as PolicyError {
            #expect(error.file == b.file)
            if let line = b.expectedLine {
                #expect(error.line == line, "\(error)")
            } else {
                #expect(error.line != nil || b.file == "policy.yaml", "\(error)")
            }
            #expect(error.description.contains(b.mentions), "\(error)")
        }
    }
}
