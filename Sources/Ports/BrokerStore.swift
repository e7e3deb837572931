import Consent
import Ledger
import Vault

/// Everything a broker keeps, as one type: the event log, the projections over it (consents,
/// the book), the vault of sealed telemetry, request nonces and the revocation callback outbox.
/// Both `SQLiteStore` and `PostgresStore` provide all of it, so what a store must do is checked
/// by the compiler, not asked at run time.
public protocol BrokerStore: EventStore, LogTileStore, ConsentReadModel, AccountingReadModel, AnalysisReadModel, QualityReadModel, VaultStore,
    NonceStore, CallbackStore
{
    /// The schema migrations this store applied when it was opened (empty when it was up to date).
    var appliedMigrations: [String] { get }
    /// Where the store is, for messages (a file path, or a PostgreSQL location without secrets).
    var locationDescription: String { get }
    /// Releases the store's connections; the store is not used afterwards.
    func close()
    /// What a pull of `consentID` by `recipient` from `cursor` decides on.
    func pullState(consentID: String, recipient: String, around cursor: RecordCursor) async throws -> PullState
}

/// What a pull decides on (`TransferService.pullCanonical`): the versions of the consent's two
/// streams its append is conditioned on, the consent, the recipient's standing and the consent's
/// deliveries around the cursor. A store may read them in one snapshot (SQLite does: one trip
/// to the database instead of five); the append's stream conditions make separate reads just as
/// safe, only slower.
public struct PullState: Sendable {
    public var consentVersion: Int
    public var deliveriesVersion: Int
    public var consent: Consent?
    public var recipientStatus: Party.Status?
    public var atOrBefore: AccessLogEntry?
    public var next: AccessLogEntry?

    public init(
        consentVersion: Int, deliveriesVersion: Int, consent: Consent?, recipientStatus: Party.Status?, atOrBefore: AccessLogEntry?,
        next: AccessLogEntry?
    ) {
        self.consentVersion = consentVersion; self.deliveriesVersion = deliveriesVersion; self.consent = consent
        self.recipientStatus = recipientStatus; self.atOrBefore = atOrBefore; self.next = next
    }
}

extension BrokerStore {
    /// The pull's state read by separate queries (a store without a single-snapshot read).
    public func pullStateBySeparateReads(consentID: String, recipient: String, around cursor: RecordCursor) async throws -> PullState {
        let consentVersion = try await streamVersion(StreamName.consent(consentID))
        let deliveriesVersion = try await streamVersion(StreamName.deliveries(consentID))
        let consent = try await consent(consentID)
        let standing = try await party(recipient)?.status
        let around = try await deliveries(consentID: consentID, around: cursor)
        return PullState(
            consentVersion: consentVersion, deliveriesVersion: deliveriesVersion, consent: consent, recipientStatus: standing,
            atOrBefore: around.atOrBefore, next: around.next)
    }
}
