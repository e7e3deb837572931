import ArgumentParser
import Broker
import Storage

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Operator commands, run on the broker's host.",
        subcommands: [AdminInit.self, AdminPolicy.self, AdminParty.self, AdminRequest.self, AdminDevice.self, AdminAccounts.self, AdminStatement.self, AdminDeposit.self, AdminVoucher.self,
                      AdminVerify.self, AdminCheckpoint.self, AdminRebuild.self, AdminMigrate.self])
}

struct AdminMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations to the store (brokers also do it when they start).")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            if let url = global.resolvedStore {
                let store = try await PostgresStore.connect(url: url, logger: LocalBroker.logger("mydata.storage"))
                defer { store.close() }
                let applied = store.appliedMigrations
                print(applied.isEmpty ? "PostgreSQL store at \(store.location) was up to date."
                                      : "Applied \(applied.joined(separator: ", ")) to \(store.location).")
            } else {
                let directory = DataDirectory(global.resolvedDataDir)
                if let marker = directory.postgresMarker {
                    throw CLIError(message: "this data directory's ledger is in PostgreSQL (\(marker)); pass --store or set MYDATA_STORE", exitCode: ExitCodes.storeProblem)
                }
                guard directory.isInitialised else {
                    throw CLIError(message: "\(directory.url.path) is not a broker data directory; create it with `mydata admin init`", exitCode: ExitCodes.storeProblem)
                }
                _ = try SQLiteStore(path: directory.ledgerPath, logger: LocalBroker.logger("mydata.storage"))
                print("SQLite store \(directory.ledgerPath) is up to date.")
            }
        }
    }
}
