import ArgumentParser
import Broker
import Foundation

struct AdminPolicy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Check or activate policy files.",
        subcommands: [AdminPolicyCheck.self, AdminPolicyActivate.self])
}

struct AdminPolicyCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate a policy directory without changing anything.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "Policies"

    func run() async throws {
        try await reportingErrors {
            let loaded = try PolicyLoader.load(directory: URL(fileURLWithPath: policies, isDirectory: true))
            print(
                "Policy \(loaded.policy.version) is valid: \(loaded.policy.categories.count) categories, \(loaded.policy.purposes.count) purposes; hash \(loaded.hash)"
            )
        }
    }
}

struct AdminPolicyActivate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate", abstract: "Make a policy directory the active set (records its hash in the ledger).")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "Policies"

    func run() async throws {
        try await reportingErrors {
            let loaded = try PolicyLoader.load(directory: URL(fileURLWithPath: policies, isDirectory: true))
            let broker = try await LocalBroker.open(global)
            let changed = try await broker.session { try await $0.service.activatePolicy(loaded) }
            print(
                changed
                    ? "Activated policy \(loaded.policy.version) (hash \(loaded.hash))."
                    : "Policy \(loaded.policy.version) with this hash is already active; nothing changed.")
        }
    }
}
