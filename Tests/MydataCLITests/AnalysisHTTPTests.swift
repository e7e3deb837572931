import Foundation
import TestSupport
import Testing

/// The analysis zone end to end with the built binary over HTTP: people grant the demo's
/// analysis-only request and their meters push; the startup runs analyses and verifies the
/// result offline, cannot pull a record, and is refused once its budget is spent; each person
/// sees the analyses that counted them.
struct AnalysisHTTPTests {
    /// The shipped policies with analysis limits a test reaches with a dozen people (k = 5, δ = 10⁻³,
    /// ε up to 8 per analysis and 20 per period).
    static func policies(_ work: TemporaryDirectory) throws -> URL {
        let dir = work.file("policies")
        try FileManager.default.copyItem(at: Repository.policies, to: dir)
        try AnalysisTestPolicy.yaml.write(to: dir.appendingPathComponent("analysis.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test("analysis consent granted, records pushed, analysis run and verified, seen by each person, refused once the budget is spent")
    func analysisEndToEnd() async throws {
        let work = TemporaryDirectory("mydata-analysis")
        let broker = try RunningBroker(policies: try Self.policies(work))
        let remote = ["MYDATA_BROKER": broker.baseURL.absoluteString]
        func party(_ id: String, _ args: [String]) throws -> MydataCLI.Output {
            try MydataCLI(dataDir: work.file("none").path, configDir: work.file(id).path).run(
                ["party"] + args,
                environment: remote.merging([
                    "MYDATA_PARTY_KEY": broker.dir.file("data/keys/\(id).key").path,
                    "MYDATA_BROKER_KEY": broker.dir.file("data/keys/broker.pub").path,
                ]) { $1 })
        }
        var people: [(cli: MydataCLI, subject: String)] = []
        var lines: [String] = []
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var request = ""
        for i in 0..<14 {
            let cli = MydataCLI(dataDir: work.file("none").path, configDir: work.file("person-\(i)").path)
            #expect(try cli.run(["key", "init"], environment: remote).status == 0)
            #expect(try cli.run(["key", "register"], environment: remote).status == 0)
            let shown = try #require(try cli.run(["key", "show", "--json"]).json() as? [String: Any])
            let subject = try #require(shown["subject"] as? String)
            let attested = try party("gridwise-energy", ["devices", "attest", "--device", "meter-\(i)", "--subject", subject])
            #expect(attested.status == 0, "\(attested.stderr)")
            #expect(try cli.run(["devices", "confirm", "gridwise-energy", "meter-\(i)"], environment: remote).status == 0)
            if request.isEmpty {
                let listed = try #require(try cli.run(["requests", "--json"], environment: remote).json() as? [[String: Any]])
                request = try #require(
                    listed.map(EndToEndTests.request).first {
                        $0["recipient"] as? String == "ecowatt" && ($0["terms"] as? [String: Any])?["access"] as? String == "analysis"
                    }?["id"] as? String)
                let shownTerms = try cli.run(["grant", request], environment: remote)
                #expect(shownTerms.stderr.contains("ANALYSIS ONLY"), "the grant says what analysis consent means: \(shownTerms.stderr)")
            }
            let granted = try cli.run(["grant", request, "--yes"], environment: remote)
            #expect(granted.status == 0, "\(granted.stderr)")
            people.append((cli, subject))
            for h in 1...3 {
                lines.append(
                    #"{"device":"meter-\#(i)","item":"energy.household","time":\#(now - Int64(h) * 3_600_000),"values":{"consumption":\#(Double(i % 4) + 0.5),"interval":900}}"#
                )
            }
        }
        let readings = work.file("readings.ndjson")
        try (lines.joined(separator: "\n") + "\n").write(to: readings, atomically: true, encoding: .utf8)
        let pushed = try party("gridwise-energy", ["push", readings.path])
        #expect(pushed.status == 0, "\(pushed.stderr)")

        // The startup runs an analysis: one cell of fourteen persons, released; the result verifies offline.
        let query = work.file("query.yaml")
        try """
        request: \(request)
        items: [energy.household]
        fromDaysAgo: 30
        measures:
          - kind: persons
        epsilon: 8
        """.write(to: query, atomically: true, encoding: .utf8)
        let resultFile = work.file("result.json")
        let ran = try party("ecowatt", ["analysis", "run", query.path, "--out", resultFile.path, "--json"])
        #expect(ran.status == 0, "\(ran.stderr)")
        let result = try #require(try ran.json() as? [String: Any])
        let analysis = try #require(result["analysis"] as? [String: Any])
        let analysisID = try #require(analysis["analysisID"] as? String)
        #expect(analysis["persons"] as? Int == 14 && analysis["released"] as? Int == 1, "\(analysis)")
        let brokerKey = ["--broker-key", broker.dir.file("data/keys/broker.pub").path]
        let verified = try people[0].cli.run(["analysis", "verify", resultFile.path] + brokerKey)
        #expect(verified.status == 0 && verified.stdout.contains("Valid"), "\(verified.stdout)\(verified.stderr)")
        let original = try String(contentsOf: resultFile, encoding: .utf8)
        try original.replacingOccurrences(of: "\"epsilonMilli\" : 8000", with: "\"epsilonMilli\" : 800")
            .write(to: resultFile, atomically: true, encoding: .utf8)
        let tampered = try people[0].cli.run(["analysis", "verify", resultFile.path] + brokerKey)
        #expect(tampered.status == 4 && tampered.stderr.contains("does not verify"), "\(tampered.stderr)")
        let shown = try party("ecowatt", ["analysis", "show", analysisID, "--json"])
        let listed = try #require(try party("ecowatt", ["analysis", "list", request, "--json"]).json() as? [[String: Any]])
        #expect(listed.map { $0["analysisID"] as? String } == [analysisID])
        let again = try shown.json() as? [String: Any]
        #expect(shown.status == 0 && again?["ledgerSequence"] as? Int == result["ledgerSequence"] as? Int)

        // Each person sees that they were counted, and no record was delivered.
        for person in people {
            let log = try person.cli.run(["access-log"], environment: remote)
            #expect(log.stdout.contains("included in analysis \(analysisID) by ecowatt for purpose energy-saving (aggregate only"), "\(log.stdout)")
            #expect(log.stdout.contains("No data of yours has been delivered"))
        }
        let consents = try #require(try people[0].cli.run(["consents", "--json"], environment: remote).json() as? [[String: Any]])
        let consent = try #require(consents.first.map(EndToEndTests.consent)?["id"] as? String)
        let pull = try party("ecowatt", ["pull", consent, "--out", work.file("none.ndjson").path])
        #expect(pull.status == 3 && pull.stderr.contains("analysisOnly"), "\(pull.stderr)")

        // 8 of 20 spent: one more fits, the next is refused and changes nothing.
        #expect(try party("ecowatt", ["analysis", "run", query.path]).status == 0)
        let refused = try party("ecowatt", ["analysis", "run", query.path])
        #expect(refused.status == 3 && refused.stderr.contains("privacyBudgetExhausted"), "\(refused.stderr)")
        let budget = try #require(try party("ecowatt", ["analysis", "budget", request, "--json"]).json() as? [String: Any])
        #expect(budget["spentEpsilon"] as? Double == 16 && budget["remainingEpsilon"] as? Double == 4, "\(budget)")

        // The analyses, their inclusions and their payouts replay: the chain, the authors and the book.
        broker.stop()
        let verify = try broker.cli.run(["admin", "verify"])
        #expect(verify.status == 0 && verify.stdout.contains("Accounts add up"), "\(verify.stdout)\(verify.stderr)")
    }
}
