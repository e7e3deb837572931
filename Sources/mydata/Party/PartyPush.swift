import ArgumentParser
import Broker
import Consent
import Foundation
import MyDataClient
import Sodium

struct PartyPush: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push telemetry records from a file (NDJSON, a JSON array, or {\"records\": [...]}), or - for stdin.",
        discussion: """
            Splits the records into batches under the broker's limits (1,000 records, 1 MiB). Each batch's Idempotency-Key is derived from its content, so running the same push again (after an interruption, say) stores nothing twice. Exits 3 when any record was rejected, after a summary of the reasons.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions
    @Argument(help: ArgumentHelp("The records' file, or - for stdin.", valueName: "file")) var file: String
    @Option(name: .long, help: "Batches in flight at once.") var concurrency = 4
    @Option(
        name: .long,
        help:
            "Begins each batch's Idempotency-Key. A re-run under the same prefix is answered from the first push; another prefix sends the records again as new batches (after fixing what rejected some of them, say)."
    )
    var keyPrefix = "push"

    func run() async throws {
        try await reportingErrors {
            guard keyPrefix.utf8.count <= 64, keyPrefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }) else {
                throw CLIError(message: "--key-prefix is 1 to 64 letters, digits or -_.:", exitCode: ExitCodes.failure)
            }
            let client = try party.client(global)
            let input = try PushInput(file)
            let summary = PushSummary()
            let keyPrefix = self.keyPrefix
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                // Starts the next batch; false when the input is done. At most `concurrency` batches
                // are read ahead, so memory stays bounded whatever the size of an NDJSON input.
                func start() throws -> Bool {
                    guard let body = try input.nextBody() else { return false }
                    let index = next
                    next += 1
                    group.addTask {
                        // The key is the batch's content: a re-run sends the same key with the same bytes.
                        let key = keyPrefix + "-" + Hex.encode(BLAKE2b.hash(body, outputBytes: 16))
                        let result = try await client.push(ndjson: body, idempotencyKey: key)
                        await summary.add(result, batch: index)
                    }
                    return true
                }
                for _ in 0..<max(concurrency, 1) where try start() {}
                while try await group.next() != nil {
                    if Terminal.stderrIsTTY && !global.json { Terminal.progress(await summary.progressLine) }
                    _ = try start()
                }
            }
            guard await summary.report.batches > 0 else { throw CLIError(message: "\(file) holds no records", exitCode: ExitCodes.failure) }
            let report = await summary.report
            if Terminal.stderrIsTTY && !global.json { Terminal.progress(await summary.progressLine, final: true) }
            if global.json { try Terminal.printJSON(report) } else { print(report.text) }
            if report.rejected > 0 {
                throw CLIError(
                    message: "\(report.rejected) of \(report.accepted + report.rejected) records were rejected", exitCode: ExitCodes.refused)
            }
        }
    }

    /// One record per line: NDJSON as it is (blank lines dropped); a JSON array or a
    /// `{"records": [...]}` object split into its elements, each written as one line.
    static func lines(of bytes: [UInt8]) throws -> [ArraySlice<UInt8>] {
        let first = bytes.first { ![9, 10, 13, 32].contains($0) }
        if first == UInt8(ascii: "[") || first == UInt8(ascii: "{"),
            let whole = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        {
            let elements: [Any]
            if let array = whole as? [Any] {
                elements = array
            } else if let object = whole as? [String: Any], let records = object["records"] as? [Any] {
                elements = records
            } else if whole is [String: Any] {
                elements = [whole]  // one record as a JSON object
            } else {
                throw CLIError(message: "the input is JSON but neither records nor {\"records\": [...]}", exitCode: ExitCodes.failure)
            }
            return try elements.map { element in
                ArraySlice(try JSONSerialization.data(withJSONObject: element, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]))
            }
        }
        return bytes.split(separator: 10, omittingEmptySubsequences: true).map { line in
            line.last == 13 ? line.dropLast() : line
        }.filter { !$0.allSatisfy { $0 == 32 || $0 == 9 } }
    }
}

/// What a push did, batch by batch, as the summary prints it.
actor PushSummary {
    struct Report: Encodable {
        var batches: Int
        var replayedBatches: Int
        var accepted: Int
        var rejected: Int
        /// Rejected records by reason code, with up to three examples each.
        var rejections: [String: Rejections]

        struct Rejections: Encodable {
            var count: Int
            var examples: [String]
        }

        var text: String {
            var lines = [
                "Pushed \(batches) batches: \(accepted) records accepted, \(rejected) rejected"
                    + (replayedBatches > 0 ? " (\(replayedBatches) batches were already stored and were not stored again)" : "") + "."
            ]
            for (code, r) in rejections.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(code): \(r.count)" + (r.examples.isEmpty ? "" : " — e.g. " + r.examples.joined(separator: "; ")))
            }
            if replayedBatches > 0 && rejected > 0 {
                lines.append(
                    "  (a batch answered from an earlier push repeats its counts, not its reasons; to send its records again, use another --key-prefix)"
                )
            }
            return lines.joined(separator: "\n")
        }
    }

    private(set) var report = Report(batches: 0, replayedBatches: 0, accepted: 0, rejected: 0, rejections: [:])

    func add(_ result: Components.Schemas.PushResult, batch: Int) {
        report.batches += 1
        report.accepted += result.accepted
        report.rejected += result.rejected
        if result.replayed { report.replayedBatches += 1 }
        for r in result.results where r.status == .rejected {
            let code = r.code ?? "rejected"
            var entry = report.rejections[code] ?? .init(count: 0, examples: [])
            entry.count += 1
            if entry.examples.count < 3 { entry.examples.append("batch \(batch + 1) record \(r.index + 1): \(r.reason ?? code)") }
            report.rejections[code] = entry
        }
    }

    var progressLine: String { "pushed \(report.batches) batches, \(report.accepted) accepted, \(report.rejected) rejected" }
}

/// A push's input as batch bodies, read as they are needed: NDJSON a chunk at a time (any size, in
/// bounded memory), a JSON array or `{"records": [...]}` whole (at most `jsonBytesMax`).
final class PushInput {
    static let jsonBytesMax = 1 << 30
    private static let chunkBytes = 1 << 20

    private let handle: FileHandle
    private let name: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false
    /// The bodies of a JSON input, split when it was read.
    private var json: IndexingIterator<[[UInt8]]>?

    init(_ file: String) throws {
        name = file
        if file == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let opened = FileHandle(forReadingAtPath: file) else { throw CLIError(message: "cannot read \(file)", exitCode: ExitCodes.failure) }
            handle = opened
        }
        try fill()
        let first = buffer.first { ![9, 10, 13, 32].contains($0) }
        if first == UInt8(ascii: "[") || first == UInt8(ascii: "{") {
            while !ended {
                try fill()
                guard buffer.count <= Self.jsonBytesMax else {
                    throw CLIError(
                        message:
                            "\(file) is JSON larger than \(Self.jsonBytesMax) bytes; give it as NDJSON (one record per line), which is read as it goes",
                        exitCode: ExitCodes.failure)
                }
            }
            json = try Batches.split(lines: PartyPush.lines(of: buffer)).makeIterator()
            buffer = []
        }
    }

    /// The next body under the broker's limits, or nil at the end.
    func nextBody() throws -> [UInt8]? {
        if json != nil { return json!.next() }
        while let line = try nextLine() {
            do {
                if let full = try builder.add(line) { return full }
            } catch let error as MyDataClientError {
                throw CLIError(message: "\(name): \(error)", exitCode: ExitCodes.failure)
            }
        }
        return builder.finish()
    }

    private var builder = Batches.Builder()

    /// The next line that is not blank, without its line break.
    private func nextLine() throws -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 10) {
                var line = Array(buffer[start..<newline])
                start = newline + 1
                if line.last == 13 { line.removeLast() }
                if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                return line
            }
            if ended {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) ? nil : line
            }
            buffer.removeFirst(start)
            start = 0
            try fill()
        }
    }

    private func fill() throws {
        guard !ended else { return }
        let chunk = try handle.read(upToCount: Self.chunkBytes) ?? Data()
        if chunk.isEmpty { ended = true } else { buffer += chunk }
    }
}
