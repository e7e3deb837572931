import ArgumentParser
import Broker
import Consent
import Foundation

struct AccessLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-log", abstract: "See who received which of your data, when, and under which consent; prove it.",
        subcommands: [AccessLogList.self, AccessLogAnalyses.self, AccessLogVerify.self], defaultSubcommand: AccessLogList.self)
}

struct AccessLogList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the deliveries of your data and the analyses that counted you, newest first.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "At most this many entries.")
    var limit = 100
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also write one offline proof per delivery listed into this directory (<delivery id>.tlog-proof).", valueName: "dir"))
    var proofs: String?

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            let (entries, written, analyses) = try await broker.session {
                let entries = try await broker.accessLog(subject: subject, limit: limit)
                let analyses = try await broker.analysisInclusions(subject: subject, limit: limit)
                var written: [String] = []
                if let proofs {
                    let directory = URL(fileURLWithPath: proofs, isDirectory: true)
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                    for entry in entries {
                        // The name comes from the broker: only a plain id may name a file here.
                        guard entry.deliveryID.count <= 100,
                            entry.deliveryID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
                        else {
                            throw CLIError(
                                message: "the broker named a delivery '\(entry.deliveryID)', which cannot name a file", exitCode: ExitCodes.failure)
                        }
                        let text = try await broker.deliveryProof(sequence: entry.sequence, subject: subject)
                        let file = directory.appendingPathComponent("\(entry.deliveryID).tlog-proof")
                        try Data(text.utf8).write(to: file, options: .atomic)
                        written.append(file.path)
                    }
                }
                return (entries, written, analyses)
            }
            // The API's shape (`AccessLogEntry` in docs/openapi.yaml), as `GET /v1/access-log` lists it;
            // `access-log analyses --json` lists the analyses.
            if global.json { try Terminal.printJSON(entries); return }
            if entries.isEmpty {
                print("No data of yours has been delivered.")
            } else {
                print(
                    Terminal.table(
                        ["TIME", "RECIPIENT", "CONSENT", "ITEMS", "RECORDS"],
                        entries.map {
                            [$0.time.description, $0.recipient, $0.consentID, $0.items.joined(separator: ","), "\($0.records)"]
                        }))
            }
            if !analyses.isEmpty {
                print("")
                for a in analyses { print(AccessLogAnalyses.line(a)) }
            }
            if let proofs, !written.isEmpty {
                print("\nWrote \(written.count) proofs to \(proofs). Check one any time with: mydata access-log verify <file>")
            }
        }
    }
}

struct AccessLogAnalyses: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyses", abstract: "List the analyses that counted you (no record of yours left the broker), newest first.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "At most this many entries.")
    var limit = 100

    /// One inclusion in plain words.
    static func line(_ a: AnalysisInclusion) -> String {
        "\(a.time): included in analysis \(a.analysisID) by \(a.recipient) for purpose \(a.purpose) (aggregate only; consent \(a.consentID))"
    }

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            let analyses = try await broker.session { try await broker.analysisInclusions(subject: subject, limit: limit) }
            if global.json { try Terminal.printJSON(analyses); return }
            guard !analyses.isEmpty else { print("No analysis has counted you."); return }
            for a in analyses { print(Self.line(a)) }
        }
    }
}

struct AccessLogVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check delivery proofs offline: who received how many records of which of your data, and that the log holds it.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The .tlog-proof files `access-log --proofs` wrote.")
    var files: [String]
    @Option(name: .long, help: ArgumentHelp("The broker's public key file (default: keys/broker.pub in the data directory).", valueName: "file"))
    var brokerKey: String?
    @OptionGroup var logTrust: LogTrustOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one .tlog-proof file") }
    }

    func run() async throws {
        try await reportingErrors {
            let keyURL = brokerKey.map { URL(fileURLWithPath: $0) } ?? DataDirectory(global.resolvedDataDir).brokerPublicKeyURL
            let key = try DataDirectory.readPublicKeys(keyURL).verifyingKey()
            let trust = try logTrust.trust(dataDir: global.resolvedDataDir)
            struct Line: Encodable {
                var file: String; var deliveryID: String; var recipient: String; var subject: String; var items: [String]
                var records: Int; var time: String; var ledgerSequence: UInt64; var logSize: UInt64; var cosigners: [String]
            }
            var lines: [Line] = []
            for file in files {
                guard let data = try InputFile.read(file, bytesMax: InputLimits.receiptFileBytesMax) else {
                    throw CLIError(message: "cannot read \(file)", exitCode: ExitCodes.failure)
                }
                let v: DeliveryProofVerifier.Verified
                do { v = try DeliveryProofVerifier.verify(String(decoding: data, as: UTF8.self), brokerKey: key, trust: trust) } catch let error
                    as ReceiptError
                {
                    throw CLIError(message: "\(file) does not verify: \(error.message)", exitCode: ExitCodes.verificationFailed)
                }
                lines.append(
                    Line(
                        file: file, deliveryID: v.delivery.deliveryID, recipient: v.delivery.recipient, subject: v.delivery.subject,
                        items: v.delivery.items, records: v.delivery.records, time: v.time.description, ledgerSequence: v.sequence,
                        logSize: v.checkpoint.size, cosigners: v.cosigners))
            }
            if global.json { try Terminal.printJSON(lines); return }
            for l in lines {
                let witnessed = l.cosigners.isEmpty ? "" : ", cosigned by \(l.cosigners.joined(separator: ", "))"
                print(
                    "Valid: \(l.recipient) received \(l.records) records of \(l.items.joined(separator: ",")) of \(l.subject) at \(l.time) (delivery \(l.deliveryID); log entry \(l.ledgerSequence - 1) of \(l.logSize)\(witnessed))."
                )
            }
        }
    }
}
