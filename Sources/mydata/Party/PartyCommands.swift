import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger
import MyDataClient
import Yams

struct PartyDevices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "A manufacturer's devices.", subcommands: [PartyDevicesAttest.self])
}

struct PartyDevicesAttest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest", abstract: "Attest that a device belongs to a person (they confirm it with `mydata devices confirm`).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions
    @Option(name: .long, help: "Your pseudonymous device id.") var device: String
    @Option(name: .long, help: "The person's id (sub_…).") var subject: String

    func run() async throws {
        try await reportingErrors {
            try await party.client(global).attestDevice(device, subject: subject)
            if global.json { try Terminal.printJSON(["device": device, "subject": subject]) } else { print("Attested \(device) for \(subject).") }
        }
    }
}

struct PartyRequest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request", abstract: "A recipient's consent requests.", subcommands: [PartyRequestCreate.self])
}

/// The terms file of `party request create`.
struct RequestTermsFile: Decodable {
    var category: String
    var items: [String]
    var purpose: String
    /// Days of data before now the consent covers (records from then on).
    var dataFromDaysAgo: Int64
    /// Days after now the data window ends (default: the consent's duration).
    var dataToDaysAhead: Int64?
    var durationDays: Int
    var onceOff: Bool?
    var retentionDays: Int
    var incentiveKRW: Int64?
    /// A person the request is addressed to; absent: open to anyone.
    var subject: String?
    var offerDays: Int64?
    /// `delivery` (default) or `analysis`: the records never leave the broker.
    var access: ConsentAccess?
    /// `A`, `B` or `C`: only records whose manufacturer's current quality certificate for the item meets it.
    var minQuality: QualityGrade?
    /// The standard contract (`Policies/contracts/`); absent: the first the category allows whose
    /// parameters all have defaults.
    var contract: Contract?

    struct Contract: Decodable {
        var template: String?
        var parameters: [String: String]?
    }
}

struct PartyRequestCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Ask for consent with the terms in a YAML file (see docs/cli.md for its fields).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions
    @Argument(help: ArgumentHelp("The terms file.", valueName: "TERMS.yaml")) var file: String

    func run() async throws {
        try await reportingErrors {
            guard let data = try InputFile.read(file, bytesMax: 65_536) else {
                throw CLIError(message: "cannot read \(file)", exitCode: ExitCodes.failure)
            }
            let spec: RequestTermsFile
            do { spec = try YAMLDecoder().decode(RequestTermsFile.self, from: data) } catch {
                throw CLIError(message: "\(file) is not a terms file: \(error)", exitCode: ExitCodes.failure)
            }
            let now = Timestamp.now()
            let terms = ConsentTerms(
                category: spec.category, items: spec.items, purpose: spec.purpose, dataFrom: now.adding(days: -spec.dataFromDaysAgo),
                dataTo: now.adding(days: spec.dataToDaysAhead ?? Int64(spec.durationDays)), durationDays: spec.durationDays,
                onceOff: spec.onceOff ?? false, retentionDays: spec.retentionDays, incentiveKRW: spec.incentiveKRW ?? 0, access: spec.access,
                minQuality: spec.minQuality)
            let id = try await party.client(global).requestConsent(
                terms: terms, subject: spec.subject, offerDays: spec.offerDays ?? 30, contract: spec.contract?.template,
                contractParameters: spec.contract?.parameters ?? [:])
            if global.json { try Terminal.printJSON(["id": id]) } else { print("Requested consent: \(id)") }
        }
    }
}

struct PartyRequests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests", abstract: "Your consent requests, newest first, with how many people granted each.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions

    struct Row: Encodable {
        var request: Components.Schemas.ConsentRequest
        var status: String
        var grants: Int
    }

    func run() async throws {
        try await reportingErrors {
            let client = try party.client(global)
            var requests: [Components.Schemas.RequestItem] = [], before: String?
            repeat {
                let page = try await client.call { try await client.api.listConsentRequests(query: .init(limit: 500, before: before)) }.ok.body.json
                requests += page.requests
                before = page.nextCursor
            } while before != nil
            var grants: [String: Int] = [:]
            before = nil
            repeat {
                let page = try await client.call { try await client.api.listConsents(query: .init(limit: 500, before: before)) }.ok.body.json
                for item in page.consents { grants[item.consent.requestID, default: 0] += 1 }
                before = page.nextCursor
            } while before != nil
            let rows = requests.map { Row(request: $0.request, status: $0.status.rawValue, grants: grants[$0.request.id] ?? 0) }
            if global.json { try Terminal.printJSON(rows); return }
            print(
                Terminal.table(
                    ["REQUEST", "STATUS", "GRANTS", "CATEGORY", "PURPOSE", "TO"],
                    rows.map {
                        [
                            $0.request.id, $0.status, "\($0.grants)", $0.request.terms.category, $0.request.terms.purpose,
                            $0.request.subject ?? "anyone",
                        ]
                    }))
        }
    }
}

struct PartyReconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Compare the deliveries you hold (the state file of `party pull`) with the broker's record of them.",
        discussion: "Exits 0 when you hold every delivery as logged, 4 when one is missing or differs (pull from its start again: not charged twice)."
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions
    @Argument(help: "The consent id.") var consent: String
    @Option(name: .long, help: ArgumentHelp("The state file of `party pull`.", valueName: "file")) var state: String?

    struct Report: Encodable {
        var consentID: String
        var held: [String]
        var missing: [Missing]
        var differing: [Differing]
        var complete: Bool

        struct Missing: Encodable { var deliveryID: String; var records: Int; var after: String? }
        struct Differing: Encodable {
            var deliveryID: String; var brokerDigest: String; var heldDigest: String?; var brokerRecords: Int; var heldRecords: Int?
        }
    }

    func run() async throws {
        try await reportingErrors {
            let received = try PullState.load(PullState.path(state)).consents[consent]?.received ?? []
            let logged = try await party.client(global).deliveries(consentID: consent)
            let byID = Dictionary(received.map { ($0.deliveryID, $0) }, uniquingKeysWith: { a, _ in a })
            var report = Report(consentID: consent, held: [], missing: [], differing: [], complete: false)
            for d in logged {
                guard let mine = byID[d.deliveryID] else {
                    report.missing.append(.init(deliveryID: d.deliveryID, records: d.records, after: d.after))
                    continue
                }
                if mine.digest == d.digest && mine.records == d.records {
                    report.held.append(d.deliveryID)
                } else {
                    report.differing.append(
                        .init(
                            deliveryID: d.deliveryID, brokerDigest: d.digest, heldDigest: mine.digest, brokerRecords: d.records,
                            heldRecords: mine.records))
                }
            }
            let loggedIDs = Set(logged.map(\.deliveryID))
            for mine in received where !loggedIDs.contains(mine.deliveryID) {
                report.differing.append(
                    .init(deliveryID: mine.deliveryID, brokerDigest: "", heldDigest: mine.digest, brokerRecords: 0, heldRecords: mine.records))
            }
            report.complete = report.missing.isEmpty && report.differing.isEmpty
            if global.json {
                try Terminal.printJSON(report)
            } else {
                print("\(consent): \(report.held.count) of \(logged.count) deliveries held as logged.")
                for m in report.missing {
                    print(
                        "  missing \(m.deliveryID) (\(m.records) records): `mydata party pull \(consent) --after \(m.after ?? "0")` gets it again, not charged"
                    )
                }
                for d in report.differing {
                    print(
                        "  differs \(d.deliveryID): broker \(d.brokerRecords) records \(d.brokerDigest), held \(d.heldRecords ?? 0) \(d.heldDigest ?? "")"
                    )
                }
                if report.complete { print("Complete.") }
            }
            if !report.complete { throw ExitCode(ExitCodes.verificationFailed) }
        }
    }
}

struct PartyAccounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "accounts", abstract: "Your accounts: balances of cash, vouchers and revenue.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions

    func run() async throws {
        try await reportingErrors {
            let client = try party.client(global)
            let accounts = try await client.call { try await client.api.listAccounts() }.ok.body.json
            if global.json { try Terminal.printJSON(accounts); return }
            print(
                Terminal.table(
                    ["ACCOUNT", "KIND", "BALANCE", "AVAILABLE", "PENDING IN", "PENDING OUT"],
                    accounts.accounts.map { [$0.id, $0.kind.rawValue, "\($0.balance)", "\($0.available)", "\($0.pendingIn)", "\($0.pendingOut)"] }))
        }
    }
}
