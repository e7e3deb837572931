import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger
import MyDataClient
import Yams

/// A startup's aggregate analyses in the broker's analysis zone.
struct PartyAnalysis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analysis", abstract: "Run aggregate analyses inside the broker: only protected results come out.",
        subcommands: [PartyAnalysisRun.self, PartyAnalysisList.self, PartyAnalysisShow.self, PartyAnalysisBudget.self])
}

/// The query file of `party analysis run`: an `AnalysisQuery` (docs/analysis-zone.md) whose time
/// window may be given in days before now instead of milliseconds.
struct AnalysisQueryFile: Decodable {
    var request: String
    var items: [String]
    var from: Int64?
    var to: Int64?
    var fromDaysAgo: Int64?
    var toDaysAgo: Int64?
    var filters: [AnalysisFilter]?
    var groupBy: [AnalysisGroupBy]?
    var measures: [AnalysisMeasure]
    var epsilon: Double

    func query(now: Timestamp) throws -> AnalysisQuery {
        guard let from = from.map(Timestamp.init(milliseconds:)) ?? fromDaysAgo.map({ now.adding(days: -$0) }) else {
            throw CLIError(message: "the query file needs `from` (milliseconds) or `fromDaysAgo`", exitCode: ExitCodes.failure)
        }
        let to = to.map(Timestamp.init(milliseconds:)) ?? now.adding(days: -(toDaysAgo ?? 0))
        return AnalysisQuery(
            requestID: request, items: items, from: from, to: to, filters: filters, groupBy: groupBy, measures: measures, epsilon: epsilon)
    }
}

struct PartyAnalysisRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the analysis in a query file (YAML or JSON; see docs/analysis-zone.md) and print its protected result.",
        discussion:
            "It spends the query's ε from the request's budget and is charged like a delivery. --out keeps the signed result (check it with `mydata analysis verify`)."
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions
    @Argument(help: ArgumentHelp("The query file.", valueName: "QUERY.yaml")) var file: String
    @Option(name: [.short, .long], help: ArgumentHelp("Write the signed result to this file.", valueName: "file")) var out: String?

    func run() async throws {
        try await reportingErrors {
            guard let data = try InputFile.read(file, bytesMax: 65_536) else {
                throw CLIError(message: "cannot read \(file)", exitCode: ExitCodes.failure)
            }
            let spec: AnalysisQueryFile
            do { spec = try YAMLDecoder().decode(AnalysisQueryFile.self, from: data) } catch {
                throw CLIError(message: "\(file) is not an analysis query: \(error)", exitCode: ExitCodes.failure)
            }
            let result = try await party.client(global).runAnalysis(try spec.query(now: .now()))
            try AnalysisOutput.emit(result, out: out, json: global.json)
        }
    }
}

struct PartyAnalysisShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Fetch an analysis you ran again (nothing is spent or charged again).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions
    @Argument(help: "The analysis id (anl_…).") var id: String
    @Option(name: [.short, .long], help: ArgumentHelp("Write the signed result to this file.", valueName: "file")) var out: String?

    func run() async throws {
        try await reportingErrors {
            try AnalysisOutput.emit(try await party.client(global).analysis(id: id), out: out, json: global.json)
        }
    }
}

struct PartyAnalysisList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The analyses you ran under a request, newest first (`show <id>` fetches one again).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions
    @Argument(help: "The request id.") var request: String

    func run() async throws {
        try await reportingErrors {
            let list = try await party.client(global).analyses(requestID: request)
            if global.json { try Terminal.printJSON(list); return }
            guard !list.isEmpty else { print("No analysis under \(request) yet."); return }
            print(
                Terminal.table(
                    ["ANALYSIS", "TIME", "EPSILON", "PERSONS", "RELEASED", "SUPPRESSED", "PRICE"],
                    list.map {
                        [
                            $0.analysisID, $0.time.description, AnalysisOutput.format($0.epsilon), "\($0.persons)", "\($0.released)",
                            "\($0.suppressed)", "\($0.priceKRW) KRW",
                        ]
                    }))
        }
    }
}

struct PartyAnalysisBudget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget", abstract: "The privacy budget (ε) left under a request in the current period.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions
    @Argument(help: "The request id.") var request: String

    func run() async throws {
        try await reportingErrors {
            let budget = try await party.client(global).analysisBudget(requestID: request)
            if global.json { try Terminal.printJSON(budget); return }
            print(
                "Request \(budget.requestID): ε \(budget.remainingEpsilon) of \(budget.budgetEpsilon) left until \(budget.periodEnd) (at most \(budget.epsilonMaxPerAnalysis) per analysis)."
            )
        }
    }
}

enum AnalysisOutput {
    /// Prints a result as a table (or JSON) and writes the signed result to `out`.
    static func emit(_ result: SignedAnalysis, out: String?, json: Bool) throws {
        if let out {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            try encoder.encode(result).write(to: URL(fileURLWithPath: out), options: .atomic)
        }
        if json { try Terminal.printJSON(result); return }
        print(describe(result.analysis, sequence: result.ledgerSequence))
    }

    /// A result in plain words and a table.
    static func describe(_ a: AnalysisRan, sequence: UInt64) -> String {
        let p = a.protection
        var lines = [
            "Analysis \(a.analysisID) under \(a.requestID) (\(a.category), \(a.purpose)): \(a.persons) persons included.",
            "ε \(Double(a.epsilonMilli) / 1000) spent; \(p.mechanism) noise (\(p.noise.map { "\($0.quantity) scale \(format($0.scale))" }.joined(separator: ", "))); at most \(p.recordsPerPersonPerCell) records in \(p.cellsPerPerson) cells per person.",
            "Cells need \(p.k) persons and a noisy count of \(Int64(p.k) + p.margin): \(a.released) released, \(a.suppressed) suppressed. Ledger sequence \(sequence); price \(a.priceKRW) won.",
            "",
        ]
        let sumFields = Array(Set(a.cells.flatMap { ($0.sums ?? [:]).keys })).sorted()
        let meanFields = Array(Set(a.cells.flatMap { ($0.means ?? [:]).keys })).sorted()
        let headers = ["CELL", "PERSONS", "RECORDS"] + sumFields.map { "SUM \($0)" } + meanFields.map { "MEAN \($0)" }
        let rows = a.cells.map { cell -> [String] in
            let key = cell.key.isEmpty ? "all" : cell.key.joined(separator: " × ")
            guard !cell.suppressed else { return [key, "suppressed"] + Array(repeating: "", count: headers.count - 2) }
            return [key, cell.persons.map(String.init) ?? "", cell.records.map(String.init) ?? ""]
                + sumFields.map { cell.sums?[$0].map(format) ?? "" } + meanFields.map { cell.means?[$0].map(format) ?? "" }
        }
        lines.append(Terminal.table(headers, rows))
        return lines.joined(separator: "\n")
    }

    static func format(_ x: Double) -> String { String(format: "%.3f", x) }
}

/// `mydata analysis verify`: anyone holding a result checks it offline.
struct AnalysisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analysis", abstract: "Check an analysis result offline.", subcommands: [AnalysisVerify.self])
}

struct AnalysisVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Check a signed analysis result offline: the broker's signature, its digests, that every released cell passed its threshold, and its proof in the broker's transparency log."
    )
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The result file (`party analysis run --out`).") var file: String
    @Option(name: .long, help: ArgumentHelp("The broker's public key file (default: keys/broker.pub in the data directory).", valueName: "file"))
    var brokerKey: String?
    @OptionGroup var logTrust: LogTrustOptions

    func run() async throws {
        try await reportingErrors {
            let keyURL = brokerKey.map { URL(fileURLWithPath: $0) } ?? DataDirectory(global.resolvedDataDir).brokerPublicKeyURL
            let key = try DataDirectory.readPublicKeys(keyURL).signingKey
            guard let data = try InputFile.read(file, bytesMax: InputLimits.receiptFileBytesMax) else {
                throw CLIError(message: "cannot read \(file)", exitCode: ExitCodes.failure)
            }
            let result: SignedAnalysis
            do {
                result = try SignedAnalysis.verify(data, brokerKey: key, trust: try logTrust.trust(dataDir: global.resolvedDataDir))
            } catch let failure as SignedAnalysis.Failure {
                throw CLIError(message: "\(file) does not verify: \(failure)", exitCode: ExitCodes.verificationFailed)
            }
            if global.json { try Terminal.printJSON(result); return }
            print("Valid: signed by the broker and in its transparency log, ledger sequence \(result.ledgerSequence).")
            print(AnalysisOutput.describe(result.analysis, sequence: result.ledgerSequence))
        }
    }
}
