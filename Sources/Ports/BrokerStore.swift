import Consent
import Ledger
import Vault

/// Everything a broker keeps, as one type: the event log, the projections over it (consents,
/// the book), the vault of sealed telemetry, request nonces and the revocation callback outbox.
/// Both `SQLiteStore` and `PostgresStore` provide all of it, so what a store must do is checked
/// by the compiler, not asked at run time.
public protocol BrokerStore: EventStore, ConsentReadModel, AccountingReadModel, VaultStore, NonceStore, CallbackStore {
    /// The schema migrations this store applied when it was opened (empty when it was up to date).
    var appliedMigrations: [String] { get }
    /// Where the store is, for messages (a file path, or a PostgreSQL location without secrets).
    var locationDescription: String { get }
    /// Releases the store's connections; the store is not used afterwards.
    func close()
}
