import ArgumentParser
import Broker
import Consent
import Foundation
import MyDataClient

/// What `party pull` remembers between runs, per consent: where to continue, how much of the
/// output file holds committed records, and every delivery received (for `party reconcile`).
struct PullState: Codable {
    struct Received: Codable, Equatable {
        var deliveryID: String
        var digest: String
        var records: Int
        var after: String
        var through: String
        var ledgerSequence: UInt64?
    }

    struct Consent: Codable {
        var cursor = "0"
        /// The output file and its length after the last committed page: a later run cuts off
        /// whatever a crash left after it, so the file never holds a record twice.
        var output: String?
        var outputBytes: UInt64 = 0
        var received: [Received] = []
    }

    var consents: [String: Consent] = [:]

    static func path(_ option: String?) -> URL {
        URL(fileURLWithPath: option ?? ProcessInfo.processInfo.environment["MYDATA_PARTY_STATE"] ?? "mydata-party-state.json")
    }

    static func load(_ url: URL) throws -> PullState {
        guard FileManager.default.fileExists(atPath: url.path) else { return PullState() }
        guard let data = try InputFile.read(url.path, bytesMax: 256 * 1_048_576) else {
            throw CLIError(message: "cannot read the state file \(url.path)", exitCode: ExitCodes.failure)
        }
        do { return try JSONDecoder().decode(PullState.self, from: data) } catch {
            throw CLIError(message: "\(url.path) is not a party pull state file (\(error)); move it away to start over", exitCode: ExitCodes.failure)
        }
    }

    /// Written whole to a temporary file, synced, and renamed over the old one.
    func save(_ url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try DurableFile.write(try encoder.encode(self), to: url)
    }
}

enum PullFormat: String, ExpressibleByArgument, CaseIterable { case ndjson, csv }

struct PartyPull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull the records a consent covers, checked and opened, as NDJSON or CSV; continue where the last run stopped.",
        discussion: """
            Every page is checked (the broker's signature against --broker-key, the sealed box, the consent, the digest) before its records are written. The cursor and the received deliveries are kept in the state file (--state, default $MYDATA_PARTY_STATE or ./mydata-party-state.json) after the records are on disk, and a run first cuts the output file back to what the state says was written, so each record is in the file once even when a run is killed. A repeated page comes back from the broker as the same delivery, not charged again. --follow keeps polling.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions
    @Argument(help: "The consent id.") var consent: String
    @Option(name: .long, help: ArgumentHelp("Append the records to this file (default: stdout).", valueName: "file")) var out: String?
    @Option(name: .long, help: "ndjson or csv.") var format: PullFormat = .ndjson
    @Option(name: .long, help: ArgumentHelp("The state file.", valueName: "file")) var state: String?
    @Option(name: .long, help: "Records per page (1 to 500).") var limit = 500
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Start from this cursor instead of the saved one (to fetch a delivery `reconcile` says is missing; deliveries already held are not written again).",
            valueName: "cursor"))
    var after: String?
    @Flag(name: .long, help: "Keep polling for new records until interrupted.") var follow = false
    @Option(name: .long, help: "Seconds between polls when nothing is new (--follow); doubles up to 10x while nothing comes.")
    var interval = 30.0

    func run() async throws {
        try await reportingErrors {
            let client = try party.client(global, needBrokerKey: true)
            let stateURL = PullState.path(state)
            var saved = try PullState.load(stateURL)
            var entry = saved.consents[consent] ?? .init()
            if let after {
                guard let cursor = RecordCursor(after) else {
                    throw CLIError(message: "--after takes a cursor, <batch>.<record> or 0: \(after)", exitCode: ExitCodes.failure)
                }
                entry.cursor = cursor.description
            }
            let owners = saved.consents.filter { $0.key != consent }.compactMap(\.value.output)
            let output = try PullOutput(path: out, format: format, entry: &entry, ownedByOthers: Set(owners))
            var total = 0, delay = interval
            defer { try? output.close() }
            while true {
                let page: TransferService.Delivery
                do { page = try await client.pull(consentID: consent, after: entry.cursor, limit: limit) } catch let error as MyDataClientError {
                    if let code = error.code, ["consentRevoked", "consentExpired", "subjectErased"].contains(code) {
                        throw CLIError(
                            message:
                                "consent \(consent) no longer covers you (\(code)): stop using what it gave you as its terms say; \(total) records were pulled this run",
                            exitCode: ExitCodes.refused)
                    }
                    throw error
                }
                // A delivery already held (asked for again from an earlier cursor) is not written twice.
                let held = page.deliveryID.map { id in entry.received.contains { $0.deliveryID == id } } ?? false
                if !page.records.isEmpty && !held {
                    try output.write(page.records)
                    if let length = try output.committedLength() { entry.outputBytes = length }
                    total += page.records.count
                }
                if let id = page.deliveryID, let digest = page.digest, !held {
                    entry.received.append(
                        .init(
                            deliveryID: id, digest: digest, records: page.records.count, after: page.after, through: page.nextCursor,
                            ledgerSequence: page.ledgerSequence))
                }
                entry.cursor = page.nextCursor
                saved.consents[consent] = entry
                try saved.save(stateURL)
                if Terminal.stderrIsTTY { Terminal.progress("\(consent): \(total) records, cursor \(entry.cursor)") }
                if page.hasMore { delay = interval; continue }
                guard follow else { break }
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                if page.records.isEmpty { delay = min(delay * 2, interval * 10) } else { delay = interval }
            }
            if Terminal.stderrIsTTY { Terminal.progress("", final: true) }
            FileHandle.standardError.write(Data("Pulled \(total) records under \(consent); next run continues after \(entry.cursor).\n".utf8))
        }
    }
}

/// Where pulled records go: a file (cut back to its committed length on open, synced after each
/// page) or stdout.
final class PullOutput {
    private let handle: FileHandle
    private let isFile: Bool
    private let format: PullFormat
    private var wroteHeader: Bool

    /// - Parameter ownedByOthers: the output files of the state's other consents, which this one
    ///   must not write into (each cuts its own file back to its own committed length).
    init(path: String?, format: PullFormat, entry: inout PullState.Consent, ownedByOthers: Set<String>) throws {
        self.format = format
        guard let path else {
            handle = FileHandle.standardOutput; isFile = false; wroteHeader = false
            return
        }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        if let previous = entry.output, previous != absolute {
            throw CLIError(
                message: "the state file says \(previous) holds this consent's records; pull into it, or give another --state",
                exitCode: ExitCodes.failure)
        }
        guard !ownedByOthers.contains(absolute) else {
            throw CLIError(
                message: "\(absolute) holds another consent's records; give each consent its own --out file", exitCode: ExitCodes.failure)
        }
        if !FileManager.default.fileExists(atPath: absolute) {
            guard entry.output == nil || entry.outputBytes == 0 else {
                throw CLIError(
                    message: "\(absolute) is gone but the state file says it held records; give another --state to start over",
                    exitCode: ExitCodes.failure)
            }
            guard FileManager.default.createFile(atPath: absolute, contents: nil) else {
                throw CLIError(message: "cannot create \(absolute)", exitCode: ExitCodes.failure)
            }
        }
        guard let handle = FileHandle(forUpdatingAtPath: absolute) else {
            throw CLIError(message: "cannot write \(absolute)", exitCode: ExitCodes.failure)
        }
        let length = try handle.seekToEnd()
        if entry.output == nil {
            // A file this state has not written yet: what it holds stays, the records come after it.
            entry.outputBytes = length
        } else if length < entry.outputBytes {
            throw CLIError(
                message:
                    "\(absolute) is shorter than the \(entry.outputBytes) bytes the state file says were written: something else changed it; give another --state to start over",
                exitCode: ExitCodes.failure)
        } else {
            // Whatever a killed run wrote after its last saved state goes: those records come again.
            try handle.truncate(atOffset: entry.outputBytes)
            try handle.seekToEnd()
        }
        self.handle = handle
        isFile = true
        wroteHeader = entry.outputBytes > 0
        entry.output = absolute
    }

    func write(_ records: [TelemetryRecord]) throws {
        var out = Data()
        switch format {
        case .ndjson:
            for record in records { out += try CanonicalJSON.encode(record); out.append(10) }
        case .csv:
            if !wroteHeader { out += Data("device,item,time,values\n".utf8); wroteHeader = true }
            for record in records {
                let values = String(decoding: try CanonicalJSON.encode(record.values), as: UTF8.self)
                out += Data("\(Self.csv(record.device)),\(Self.csv(record.item)),\(record.time.milliseconds),\(Self.csv(values))\n".utf8)
            }
        }
        try handle.write(contentsOf: out)
        if isFile { try handle.synchronize() }
    }

    /// The file's length after the last write; nil for stdout.
    func committedLength() throws -> UInt64? { isFile ? try handle.offset() : nil }

    func close() throws { if isFile { try handle.close() } }

    /// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
    static func csv(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
