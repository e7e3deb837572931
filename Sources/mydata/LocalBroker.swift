import Broker
import Consent
import Foundation
import Ledger
import Logging
import Storage
import Vault

/// A broker on a local data directory, opened for one command and closed (with a checkpoint)
/// when it ends.
struct LocalBroker {
    let directory: DataDirectory
    let store: any BrokerStore
    let service: BrokerService

    /// Opens an initialised data directory.
    ///
    /// - Throws: `CLIError` with exit code 6 when the directory was never initialised.
    static func open(_ options: GlobalOptions, checkOwnership: Bool = true) async throws -> LocalBroker {
        let directory = DataDirectory(options.resolvedDataDir)
        guard directory.isInitialised else {
            throw CLIError(message: "\(directory.url.path) is not a broker data directory; create it with `mydata admin init --data-dir \(options.resolvedDataDir)`",
                           exitCode: ExitCodes.storeProblem)
        }
        return try await open(directory, store: options.resolvedStore, checkOwnership: checkOwnership)
    }

    /// Opens the broker whose keys are in `directory`, on the PostgreSQL store at `storeURL`, or
    /// on the directory's own SQLite file when there is none.
    /// - Parameter checkOwnership: false only for `admin verify`, which reports a foreign or
    ///   changed first event itself.
    static func open(_ directory: DataDirectory, store storeURL: String?, checkOwnership: Bool = true) async throws -> LocalBroker {
        let brokerIdentity = try KeyFile.read(directory.brokerKeyURL) { [] }
        let store: any BrokerStore
        if let storeURL {
            store = try await PostgresStore.connect(url: storeURL, logger: logger("mydata.storage"))
        } else if let marker = directory.postgresMarker {
            throw CLIError(message: "this data directory's ledger is in PostgreSQL (\(marker)); pass --store or set MYDATA_STORE",
                           exitCode: ExitCodes.storeProblem)
        } else {
            store = try SQLiteStore(path: directory.ledgerPath, logger: logger("mydata.storage"))
        }
        let service = BrokerService(store: store, identity: brokerIdentity, logger: logger("mydata.broker"))
        do {
            if checkOwnership { try await service.checkOwnership() }
        } catch {
            (store as? PostgresStore)?.close()
            throw error
        }
        // Only a store this broker owns is remembered as the data directory's.
        if let postgres = store as? PostgresStore {
            try postgres.location.description.write(to: directory.storeMarkerURL, atomically: true, encoding: .utf8)
        }
        return LocalBroker(directory: directory, store: store, service: service)
    }

    /// Logs go to stderr, at $MYDATA_LOG_LEVEL (default: warning), so stdout stays the command's output.
    static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["MYDATA_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    /// Push, pull and erasure over this broker's vault.
    func transfer() throws -> TransferService {
        guard let vaultStore = store as? any VaultStore else {
            throw CLIError(message: "this store cannot keep telemetry", exitCode: ExitCodes.storeProblem)
        }
        return TransferService(broker: service, vault: Vault(kek: try directory.vaultKey(), store: vaultStore))
    }

    /// Runs `body` and signs a checkpoint afterwards, also when `body` fails.
    func session<T>(_ body: (LocalBroker) async throws -> T) async throws -> T {
        defer { (store as? PostgresStore)?.close() }
        do {
            let result = try await body(self)
            try await service.close()
            return result
        } catch {
            try? await service.close()
            throw error
        }
    }
}

/// The person using the CLI.
struct Person {
    /// The subject id from the key file, without asking for the passphrase.
    static func subjectID(_ options: GlobalOptions) throws -> String {
        try KeyFile.publicKeys(options.identityKeyURL).id
    }

    /// The person's identity, asking for the passphrase if needed.
    static func identity(_ options: GlobalOptions) throws -> Identity {
        try KeyFile.read(options.identityKeyURL) { try Terminal.passphrase() }
    }

}
