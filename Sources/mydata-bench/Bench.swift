import ArgumentParser
import Foundation

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mydata-bench",
        abstract: "Measure the broker against raw baselines measured in the same run; prints a table and JSON.",
        subcommands: [
            LedgerBench.self, PostgresBench.self, APIBench.self, AccountingBench.self, LogBench.self, AnalysisBench.self, AppendWorker.self,
            LoadGenerator.self,
        ],
        defaultSubcommand: LedgerBench.self)
}

/// One measured figure.
struct Figure: Codable {
    let name: String
    let value: Double
    let unit: String
    /// The goal, when the issue sets one.
    var goal: String?
    /// Ratio to a named baseline, when it has one.
    var ratio: Double?
    var baseline: String?
    var met: Bool?
    /// The durability the figure was measured at, read from the connection that wrote
    /// (`synchronous=FULL` for SQLite, `synchronous_commit=on` for PostgreSQL).
    var durability: String?
}

/// How SQLite reports `PRAGMA synchronous`, as a column of the benchmark's table.
func synchronousName(_ level: Int) -> String {
    switch level {
    case 0: "synchronous=OFF"
    case 1: "synchronous=NORMAL"
    case 2: "synchronous=FULL"
    case 3: "synchronous=EXTRA"
    default: "synchronous=\(level)"
    }
}

/// Times a block with the monotonic clock.
func measure(_ body: () async throws -> Void) async rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try await body()
    let d = clock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func format(_ v: Double) -> String {
    if v >= 1000 {
        return String(Int(v.rounded())).reversed().enumerated().map { $0.offset > 0 && $0.offset % 3 == 0 ? "\($0.element)," : "\($0.element)" }
            .reversed().joined()
    }
    return String(format: "%.2f", v)
}
