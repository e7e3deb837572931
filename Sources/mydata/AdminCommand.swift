import ArgumentParser
import Broker
import Storage

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Operator commands, run on the broker's host.",
        subcommands: [AdminInit.self, AdminPolicy.self, AdminParty.self, AdminRequest.self, AdminDevice.self,
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
                print("PostgreSQL store at \(store.location) is up to date.")
            } else {
                let directory = DataDirectory(global.resolvedDataDir)
                _ = try SQLiteStore(path: directory.ledgerPath, logger: LocalBroker.logger("mydata.storage"))
                print("SQLite store \(directory.ledgerPath) is up to date.")
            }
        }
    }
}
