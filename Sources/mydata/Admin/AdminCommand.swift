import ArgumentParser
import Broker

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Operator commands, run on the broker's host.",
        subcommands: [
            AdminInit.self, AdminPolicy.self, AdminParty.self, AdminRequest.self, AdminDevice.self, AdminAccounts.self, AdminStatement.self,
            AdminDeposit.self, AdminVoucher.self,
            AdminVerify.self, AdminCheckpoint.self, AdminRebuild.self, AdminMigrate.self, AdminLog.self, AdminQuality.self,
        ])
}

struct AdminMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations to the store (brokers also do it when they start).")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let directory = DataDirectory(global.resolvedDataDir)
            if global.resolvedStore == nil && directory.postgresMarker == nil && !directory.isInitialised {
                throw CLIError(
                    message: "\(directory.url.path) is not a broker data directory; create it with `mydata admin init`",
                    exitCode: ExitCodes.storeProblem)
            }
            // Opening applies the pending migrations (under an advisory lock on PostgreSQL).
            let (store, kind) = try await LocalBroker.openStore(
                directory, url: global.resolvedStore, purpose: .existingLedger,
                allowAsyncCommit: global.allowAsyncCommit)
            defer { store.close() }
            let name = kind == .postgres ? "PostgreSQL" : "SQLite"
            print(
                store.appliedMigrations.isEmpty
                    ? "\(name) store at \(store.locationDescription) was up to date."
                    : "Applied \(store.appliedMigrations.joined(separator: ", ")) to \(store.locationDescription).")
        }
    }
}
