import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger

struct QualityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "Measured data quality per manufacturer and item, and the certificates the broker signs.",
        subcommands: [QualityShow.self, QualityCertificates.self, QualityCertificate.self, QualityVerify.self])
}

/// The period option of the quality commands.
struct PeriodOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "`today`, days up to today such as `30d`, a day `2026-11-30`, or days `2026-11-01..2026-11-30`.", valueName: "period"))
    var period: String?

    func parsed(now: Timestamp, default fallback: String) throws -> QualityPeriod {
        let text = period ?? fallback
        guard let p = QualityPeriod.parse(text, now: now) else {
            throw ConsentError(
                .invalidPeriod,
                "--period is `today`, days up to today such as `30d`, a day `2026-11-30` or days `2026-11-01..2026-11-30` (at most \(QualityPeriod.periodDaysMax)); got '\(text)'"
            )
        }
        return p
    }
}

struct QualityShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "The quality figures and grade of each manufacturer's records of each item over a period (no key needed).")
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Only this manufacturer.", valueName: "id")) var manufacturer: String?
    @Option(help: ArgumentHelp("Only this data item.", valueName: "id")) var item: String?
    @OptionGroup var period: PeriodOption

    func run() async throws {
        try await reportingErrors {
            let reports: [QualityService.Report]
            if let url = global.resolvedBroker {
                struct Reports: Decodable { var reports: [QualityService.Report] }
                let path = "/v1/quality" + PublicRead.query([("manufacturer", manufacturer), ("item", item), ("period", period.period ?? "30d")])
                reports = try JSONDecoder().decode(Reports.self, from: try await PublicRead.get(path, from: url)).reports
            } else {
                let local = try await LocalBroker.open(global)
                reports = try await local.session { local in
                    let p = try period.parsed(now: local.service.clock.now(), default: "30d")
                    return try await QualityService(broker: local.service).reports(period: p, manufacturer: manufacturer, item: item)
                }
            }
            if global.json { try Terminal.printJSON(reports); return }
            guard !reports.isEmpty else { print("No measured pushes in the period."); return }
            for r in reports { print(QualityOutput.describe(r.manufacturer, r.item, r.days, r.figures, r.grade, r.reasons)) }
        }
    }
}

enum QualityOutput {
    static func describe(
        _ manufacturer: String, _ item: String, _ days: String, _ f: QualityFigures, _ grade: QualityGrade?, _ reasons: [String]
    ) -> String {
        func percent(_ bp: Int?) -> String { bp.map(QualityThresholds.percent) ?? "n/a" }
        func seconds(_ s: Int64?) -> String { s.map(CatalogCommand.duration) ?? "n/a" }
        var out = "\(manufacturer) × \(item), \(days): grade \(grade?.rawValue ?? "not graded (no quality rules)")\n"
        out += "  validity      \(percent(f.validityBP)) (\(f.accepted) of \(f.offered) accepted"
        out += f.rejections.isEmpty ? ")\n" : "; rejected: " + f.rejections.map { "\($0.code) \($0.count)" }.joined(separator: ", ") + ")\n"
        out += "  completeness  \(percent(f.completenessBP))\n"
        out += "  lag           p50 ≤ \(seconds(f.lagP50Seconds)), p95 ≤ \(seconds(f.lagP95Seconds))\n"
        out += "  freshness     newest \(f.newest?.description ?? "n/a"), \(seconds(f.ageSeconds)) old"
        out += f.ageCyclesMilli.map { " = \(QualityThresholds.thousandths($0)) declared cycles\n" } ?? " (no declared cycle)\n"
        out += "  duplicates    \(f.duplicates) (\(percent(f.duplicatesBP)))\n"
        out += "  coverage      \(percent(f.coverageBP)) (\(f.devicesReporting) of \(f.devicesConfirmed) confirmed devices reported)\n"
        out += "  observed cycle \(seconds(f.observedCycleSeconds)) between a device's records\n"
        for r in reasons { out += "  \(r)\n" }
        return out
    }
}

struct QualityCertificates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificates", abstract: "Quality certificates issued, newest first (no key needed).")
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Only this manufacturer.", valueName: "id")) var manufacturer: String?
    @Option(help: ArgumentHelp("Only this data item (with --manufacturer).", valueName: "id")) var item: String?
    @Option(help: "At most this many.") var limit = 100

    func run() async throws {
        try await reportingErrors {
            let list: [QualityService.Summary]
            if let url = global.resolvedBroker {
                struct Page: Decodable { var certificates: [QualityService.Summary] }
                let path = "/v1/quality/certificates" + PublicRead.query([("manufacturer", manufacturer), ("item", item), ("limit", String(limit))])
                list = try JSONDecoder().decode(Page.self, from: try await PublicRead.get(path, from: url)).certificates
            } else {
                let local = try await LocalBroker.open(global)
                list = try await local.session {
                    try await QualityService(broker: $0.service).certificates(manufacturer: manufacturer, item: item, limit: limit)
                }
            }
            if global.json { try Terminal.printJSON(list); return }
            print(
                Terminal.table(
                    ["CERTIFICATE", "MANUFACTURER", "ITEM", "PERIOD", "GRADE", "SEQUENCE"],
                    list.map { [$0.certificateID, $0.manufacturer, $0.item, $0.days, $0.grade.rawValue, String($0.ledgerSequence)] }))
        }
    }
}

struct QualityCertificate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificate", abstract: "Fetch a signed quality certificate, to keep or to check with `mydata quality verify`.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The certificate id (qc_…).") var id: String
    @Option(help: ArgumentHelp("Write it to this file (default: print it).", valueName: "file")) var out: String?

    func run() async throws {
        try await reportingErrors {
            let data: Data
            if let url = global.resolvedBroker {
                guard Identifiers.isValidReference(id) else { throw ConsentError(.invalidIdentifier, "a certificate id is letters, digits and -_.:") }
                data = try await PublicRead.get("/v1/quality/certificates/\(id)", from: url)
            } else {
                let local = try await LocalBroker.open(global)
                let signed = try await local.session { try await QualityService(broker: $0.service).certificate(id) }
                data = try Terminal.jsonData(signed)
            }
            if let out {
                try DurableFile.write(data, to: URL(fileURLWithPath: out))
                print("Wrote \(out); check it with `mydata quality verify \(out)`.")
            } else {
                FileHandle.standardOutput.write(data)
                print()
            }
        }
    }
}

struct QualityVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Check a quality certificate offline: the broker's signature, the grade its rules give the figures (with --policies), and its proof in the broker's transparency log."
    )
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The certificate file (`mydata quality certificate ID --out FILE`).") var file: String
    @Option(name: .long, help: ArgumentHelp("The broker's public key file (default: keys/broker.pub in the data directory).", valueName: "file"))
    var brokerKey: String?
    @Option(
        help: ArgumentHelp(
            "The Policies/ folder the certificate names by hash: its quality.yaml must give the same grade for the figures.", valueName: "dir"))
    var policies: String?
    @OptionGroup var logTrust: LogTrustOptions

    func run() async throws {
        try await reportingErrors {
            let keyURL = brokerKey.map { URL(fileURLWithPath: $0) } ?? DataDirectory(global.resolvedDataDir).brokerPublicKeyURL
            let key = try DataDirectory.readPublicKeys(keyURL).signingKey
            guard let data = try InputFile.read(file, bytesMax: InputLimits.receiptFileBytesMax) else {
                throw CLIError(message: "cannot read \(file)", exitCode: ExitCodes.failure)
            }
            let policy = try policies.map { try PolicyLoader.load(directory: URL(fileURLWithPath: $0, isDirectory: true)) }
            let signed: SignedQualityCertificate
            do {
                signed = try SignedQualityCertificate.verify(
                    data, brokerKey: key, policy: policy, trust: try logTrust.trust(dataDir: global.resolvedDataDir))
            } catch let failure as SignedAnalysis.Failure {
                throw CLIError(message: "\(file) does not verify: \(failure)", exitCode: ExitCodes.verificationFailed)
            }
            if global.json { try Terminal.printJSON(signed); return }
            let c = signed.certificate
            print(
                "Valid: signed by the broker\(policy == nil ? "" : ", graded by the policy given,") and in its transparency log, ledger sequence \(signed.ledgerSequence)."
            )
            print("Certificate \(c.certificateID) under policy \(c.policyVersion) (\(c.policyHash.prefix(16))…)")
            print(QualityOutput.describe(c.manufacturer, c.item, c.period.description, c.figures, c.grade, c.reasons))
        }
    }
}

struct AdminQuality: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality", abstract: "Certify measured quality.", subcommands: [AdminQualityCertify.self])
}

struct AdminQualityCertify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certify",
        abstract: "Issue a signed quality certificate for every manufacturer and item measured in a period (once per period).",
        discussion: """
            The period defaults to the policy's certificatePeriodDays whole days before today; `serve` does this
            itself once a day. A manufacturer and item already certified for the period keeps its certificate.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var period: PeriodOption

    func run() async throws {
        try await reportingErrors {
            let local = try await LocalBroker.open(global)
            let issued = try await local.session { local in
                let service = QualityService(broker: local.service)
                let p = try period.period.map { _ in try period.parsed(now: local.service.clock.now(), default: "") }
                return try await service.certify(period: p)
            }
            if global.json { try Terminal.printJSON(issued); return }
            guard !issued.isEmpty else { print("Nothing was measured in the period; no certificate."); return }
            print(
                Terminal.table(
                    ["CERTIFICATE", "MANUFACTURER", "ITEM", "PERIOD", "GRADE", "SEQUENCE"],
                    issued.map {
                        [
                            $0.certificate.certificateID, $0.certificate.manufacturer, $0.certificate.item, $0.certificate.period.description,
                            $0.certificate.grade.rawValue, String($0.ledgerSequence),
                        ]
                    }))
        }
    }
}
