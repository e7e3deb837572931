import Foundation
import TestSupport
import Testing

/// The README's "Try it as a manufacturer", "Try it as a startup" and "Try the analysis zone" blocks, run as written
/// against `mydata serve` on demo data (`make run`'s), so that they stay true. Only what a test
/// must change is changed: the broker's address, where the binary is, and `--yes` on the grant
/// (a person at a terminal answers its prompt).
struct ReadmeTryItTests {
    @Test("the README's Try it sections work as written on make run's demo data")
    func tryItSectionsRun() throws {
        let readme = try String(contentsOf: Repository.root.appendingPathComponent("README.md"), encoding: .utf8)
        var blocks: [String] = []
        for heading in [
            "## Try it as a manufacturer", "## Try it as a startup", "## Try the analysis zone",
            "## Try the catalogue, quality and standard contracts",
        ] {
            let section = try #require(readme.range(of: heading).map { readme[$0.upperBound...] }, "no '\(heading)' in the README")
            let start = try #require(section.range(of: "```sh\n"))
            let end = try #require(section[start.upperBound...].range(of: "```"))
            blocks.append(String(section[start.upperBound..<end.lowerBound]))
        }
        let broker = try RunningBroker()
        let work = TemporaryDirectory("mydata-readme")
        try FileManager.default.createSymbolicLink(at: work.file("demo-data"), withDestinationURL: broker.dir.file("data"))
        let script =
            "set -eu\n"
            + blocks.joined(separator: "\n")
            .replacingOccurrences(of: "$(swift build --show-bin-path)", with: MydataCLI.executable.deletingLastPathComponent().path)
            .replacingOccurrences(of: "http://127.0.0.1:8080", with: broker.baseURL.absoluteString)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("mydata grant ") ? $0 + " --yes" : String($0) }
            .joined(separator: "\n")
        #expect(script.contains("--yes"), "the grant line changed: update this test with the README")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = work.url
        var environment = ProcessInfo.processInfo.environment
        environment["MYDATA_CONFIG_DIR"] = work.file("person").path
        environment["MYDATA_PASSPHRASE"] = "a passphrase for the readme"
        for name in ["MYDATA_BROKER", "MYDATA_PARTY_KEY", "MYDATA_BROKER_KEY", "MYDATA_DATA_DIR", "MYDATA_STORE"] { environment[name] = nil }
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try ChildProcesses.start(process)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        ChildProcesses.forget(process)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("2000 records accepted, 0 rejected"), "\(text)")
        #expect(text.contains("Pulled 2000 records"), "\(text)")
        #expect(text.contains("Complete."), "\(text)")
        // The analysis zone: a dozen households, every cell suppressed, the result valid offline,
        // the household told it was counted.
        #expect(text.contains("12 persons included") && text.contains("suppressed"), "\(text)")
        #expect(text.contains("Valid: signed by the broker"), "\(text)")
        #expect(text.contains("of 5.0 left") || text.contains("of 5 left"), "\(text)")
        #expect(text.contains("by ecowatt for purpose energy-saving (aggregate only"), "\(text)")
        #expect(try String(contentsOf: work.file("driving.received.ndjson"), encoding: .utf8).split(separator: "\n").count == 2000)
        // The catalogue with the demo's measured makers, and the contract the person signed.
        #expect(text.contains("Catalogue of policy") && text.contains("gridwise-energy"), "\(text)")
        #expect(text.contains("MyData standard contract: Data provision to a recipient (provision)"), "\(text)")
    }
}
