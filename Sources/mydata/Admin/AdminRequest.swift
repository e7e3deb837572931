import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger

struct AdminRequest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request", abstract: "Create or withdraw consent requests on a recipient's behalf (until the HTTP API exists).",
        subcommands: [AdminRequestCreate.self, AdminRequestWithdraw.self])
}

/// The key a recipient or manufacturer signs with: `--key-file`, else its demo key in the data directory.
struct PartyKeyOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The party's key file (default: keys/<party>.key in the data directory).", valueName: "file"))
    var keyFile: String?

    func identity(for party: String, in directory: DataDirectory) throws -> Identity {
        let url = keyFile.map { URL(fileURLWithPath: $0) } ?? directory.partyKeyURL(party)
        let identity = try KeyFile.read(url) { try Terminal.passphrase(prompt: "Passphrase for \(party): ") }
        guard identity.id == party else {
            throw CLIError(message: "\(url.path) holds the key of '\(identity.id)', not '\(party)'", exitCode: ExitCodes.keyProblem)
        }
        return identity
    }
}

struct AdminRequestCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a consent request signed with the recipient's key.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var key: PartyKeyOption
    @Option(name: .long, help: "The recipient party id.") var recipient: String
    @Option(name: .long, help: "The data category (vehicle, appliance, energy, health).") var category: String
    @Option(name: .long, parsing: .upToNextOption, help: "Data items, e.g. vehicle.driving vehicle.context.") var items: [String]
    @Option(name: .long, help: "The purpose id from Policies/purposes.yaml.") var purpose: String
    @Option(name: .long, help: "How many days the consent lasts after the grant.") var days: Int
    @Flag(name: .long, help: "A once-off consent (at most 24 hours; use --days 1).") var onceOff = false
    @Option(name: .long, help: "Address the request to one person (sub_…); default: an open offer to anyone.") var subject: String?
    @Option(name: .long, help: "Incentive offered, in whole KRW.") var incentive: Int64 = 0
    @Option(name: .long, help: "Days the recipient keeps delivered data.") var retentionDays = 30
    @Option(name: .long, help: "Start of the data window (RFC 3339); default: a year ago.") var dataFrom: String?
    @Option(name: .long, help: "End of the data window (RFC 3339); default: a year ahead.") var dataTo: String?
    @Option(name: .long, help: "Days the offer stays open.") var offerDays = 30
    @Option(name: .long, help: "The request id; default: a random one.") var id: String?
    @Option(
        name: .long,
        help: ArgumentHelp("The standard contract (Policies/contracts/); default: the first the category allows for the access.", valueName: "id"))
    var contract: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A parameter of the contract, such as deletionDays=7 (repeat for more; others take their defaults).", valueName: "name=value"))
    var contractParam: [String] = []

    func validate() throws {
        for (name, text) in [("--data-from", dataFrom), ("--data-to", dataTo)] {
            if let text, Timestamp(rfc3339: text) == nil { throw ValidationError("\(name) must be RFC 3339, e.g. 2026-01-01T00:00:00Z") }
        }
        guard (1...ConsentLimits.offerDaysMax).contains(offerDays) else {
            throw ValidationError("--offer-days must be 1 to \(ConsentLimits.offerDaysMax)")
        }
        _ = try contractParameters()
    }

    func contractParameters() throws -> [String: String] {
        var parameters: [String: String] = [:]
        for pair in contractParam {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--contract-param is name=value, got '\(pair)'") }
            guard parameters.updateValue(parts[1], forKey: parts[0]) == nil else {
                throw ValidationError("--contract-param \(parts[0]) is given twice")
            }
        }
        return parameters
    }

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            try await broker.session { broker in
                let service = broker.service
                let signer = try key.identity(for: recipient, in: broker.directory)
                let now = service.clock.now()
                let policy = try await broker.store.activePolicy()
                let terms = ConsentTerms(
                    category: category, items: items, purpose: purpose,
                    dataFrom: dataFrom.flatMap(Timestamp.init(rfc3339:)) ?? now.adding(days: -365),
                    dataTo: dataTo.flatMap(Timestamp.init(rfc3339:)) ?? now.adding(days: 365),
                    durationDays: days, onceOff: onceOff, retentionDays: retentionDays, incentiveKRW: incentive)
                var contracted = terms
                if let policy {
                    contracted = try StandardContract.attach(
                        template: contract, parameters: try contractParameters(), to: terms, recipient: recipient, policy: policy.policy)
                }
                let request = ConsentRequested(
                    requestID: id ?? Identifiers.random(prefix: "req"), recipient: recipient, subject: subject,
                    terms: contracted, offerExpiresAt: now.adding(days: Int64(offerDays)),
                    policyVersion: policy?.version ?? "")
                let recorded = try await service.submit(signer.sign(.consentRequested(request), at: now))
                if global.json {
                    struct Created: Encodable { var request: String; var ledgerSequence: UInt64; var contractHash: String? }
                    try Terminal.printJSON(
                        Created(request: request.requestID, ledgerSequence: recorded.sequence, contractHash: contracted.contract?.hash))
                } else {
                    print(
                        "Created request \(request.requestID)\(contracted.contract.map { " under standard contract \($0.template) (\($0.hash))" } ?? "")."
                    )
                }
            }
        }
    }
}

struct AdminRequestWithdraw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "withdraw", abstract: "Withdraw a request, signed with the recipient's key.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var key: PartyKeyOption
    @Argument(help: "The request id.") var requestID: String

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            try await broker.session { broker in
                guard let request = try await broker.store.request(requestID) else {
                    throw ConsentError(.requestNotFound, "request \(requestID) does not exist")
                }
                let signer = try key.identity(for: request.recipient, in: broker.directory)
                try await broker.service.submit(
                    signer.sign(.requestWithdrawn(RequestWithdrawn(requestID: requestID)), at: broker.service.clock.now()))
                print("Withdrew request \(requestID).")
            }
        }
    }
}
