import Broker
import Consent
import Foundation
import Ledger
import Logging
import Ports
import Storage
import Vault

/// A broker on a local data directory, opened for one command and closed (with a checkpoint)
/// when it ends.
struct LocalBroker {
    let directory: DataDirectory
    let store: any BrokerStore
    let storeKind: StoreKind
    let service: BrokerService

    /// Opens an initialised data directory and checks that its ledger is the one `admin init`
    /// started there.
    ///
    /// - Throws: `CLIError` with exit code 6 when the directory was never initialised;
    ///   `LedgerIdentityError` (exit code 8) when its ledger is missing, empty or another one.
    /// - Parameter checkOwnership: false only for `admin verify`, which reports a changed first
    ///   event itself.
    static func open(_ options: GlobalOptions, checkOwnership: Bool = true) async throws -> LocalBroker {
        let directory = DataDirectory(options.resolvedDataDir)
        guard directory.isInitialised else {
            throw CLIError(
                message:
                    "\(directory.url.path) is not a broker data directory; create it with `mydata admin init --data-dir \(options.resolvedDataDir)`",
                exitCode: ExitCodes.storeProblem)
        }
        return try await open(
            directory, store: options.resolvedStore, purpose: .existingLedger, checkOwnership: checkOwnership,
            allowAsyncCommit: options.allowAsyncCommit)
    }

    /// Why a ledger is opened: only `admin init` may start one.
    enum Purpose: Sendable {
        /// Every command but `admin init`: the ledger must exist, hold events, and be this directory's.
        case existingLedger
        /// `admin init`: an empty ledger may be started, unless the directory remembers one.
        case initialising
    }

    /// The kinds of store a broker runs on.
    enum StoreKind: Sendable {
        /// The data directory's own `ledger.sqlite`.
        case sqlite
        /// A PostgreSQL database, shared by the broker processes of a deployment.
        case postgres
    }

    /// The composition root's one choice: the PostgreSQL store at `storeURL`, or the directory's
    /// own SQLite file when there is none. Every command, `serve` and `admin migrate` open their
    /// store here and nowhere else.
    ///
    /// - Throws: `CLIError` (exit 6) when the directory's ledger is in PostgreSQL but no URL was
    ///   given; `LedgerIdentityError` (exit 8) when the SQLite ledger file is missing or empty and
    ///   `purpose` does not allow starting one.
    static func openStore(
        _ directory: DataDirectory, url storeURL: String?, purpose: Purpose,
        allowAsyncCommit: Bool
    ) async throws -> (store: any BrokerStore, kind: StoreKind) {
        if let storeURL {
            return (try await PostgresStore.connect(url: storeURL, allowAsyncCommit: allowAsyncCommit, logger: logger("mydata.storage")), .postgres)
        }
        if let marker = directory.postgresMarker {
            throw CLIError(
                message: "this data directory's ledger is in PostgreSQL (\(marker)); pass --store or set MYDATA_STORE",
                exitCode: ExitCodes.storeProblem)
        }
        // Opening creates the file and its tables: a lost ledger must be seen before that.
        if try purpose == .existingLedger || LedgerIdentity.read(directory) != nil { try checkLedgerFile(directory.ledgerPath) }
        return (try SQLiteStore(path: directory.ledgerPath, logger: logger("mydata.storage")), .sqlite)
    }

    /// Opens the broker whose keys are in `directory`, on the store `openStore` chooses.
    static func open(
        _ directory: DataDirectory, store storeURL: String?, purpose: Purpose, checkOwnership: Bool = true,
        allowAsyncCommit: Bool = false
    ) async throws -> LocalBroker {
        let brokerIdentity = try KeyFile.read(directory.brokerKeyURL) { [] }
        let remembered = try LedgerIdentity.read(directory)
        let (store, kind) = try await openStore(directory, url: storeURL, purpose: purpose, allowAsyncCommit: allowAsyncCommit)
        let location = store.locationDescription
        let service = BrokerService(store: store, identity: brokerIdentity, logger: logger("mydata.broker"))
        do {
            let first = try await store.events(from: 1, limit: 1).first
            if let remembered {
                guard remembered.brokerSigningKey == brokerIdentity.publicKeys.signingKey else {
                    throw LedgerIdentityError(
                        "\(directory.ledgerIdentityURL.path) names another broker key than keys/broker.key; "
                            + "restore the broker key that started this ledger")
                }
                try remembered.check(first: first, location: location)
            } else if purpose == .existingLedger && first == nil {
                throw LedgerIdentityError(
                    "the ledger at \(location) holds no events and this data directory remembers none "
                        + "(no \(directory.ledgerIdentityURL.lastPathComponent)); only `mydata admin init` starts a ledger")
            }
            if checkOwnership { try await service.checkOwnership() }
            // A directory made before ledger.id existed learns it from a ledger that is its own.
            if remembered == nil, checkOwnership, let first {
                try LedgerIdentity(brokerSigningKey: brokerIdentity.publicKeys.signingKey, firstEventHash: first.hash).write(to: directory)
            }
        } catch {
            store.close()
            throw error
        }
        // Only a store this broker owns is remembered as the data directory's.
        if kind == .postgres {
            try location.write(to: directory.storeMarkerURL, atomically: true, encoding: .utf8)
        }
        return LocalBroker(directory: directory, store: store, storeKind: kind, service: service)
    }

    /// Refuses a ledger file that is missing or empty, before SQLite would create a new one there.
    private static func checkLedgerFile(_ path: String) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
        guard let size else {
            throw LedgerIdentityError(
                "\(path) is missing: this data directory's ledger was lost. Restore it from a backup "
                    + "(with ledger.sqlite-wal if there is one); nothing was changed")
        }
        guard size > 0 else {
            throw LedgerIdentityError(
                "\(path) is empty (0 bytes): this data directory's ledger was truncated. Restore it from a backup; nothing was changed")
        }
    }

    /// Logs go to stderr, at $MYDATA_LOG_LEVEL (default: warning), so stdout stays the command's output.
    static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["MYDATA_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    /// Push, pull and erasure over this broker's vault.
    func transfer() throws -> TransferService {
        TransferService(broker: service, vault: Vault(kek: try directory.vaultKey(), store: store))
    }

    /// Runs `body` and signs a checkpoint afterwards, also when `body` fails.
    func session<T>(_ body: (LocalBroker) async throws -> T) async throws -> T {
        defer { store.close() }
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
