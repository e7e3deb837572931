import Consent
import Ledger
import Sodium

/// `mydata admin verify`: the ledger verifier with the domain's key book, plus the check that
/// the ledger's first event names the broker key the operator trusts.
public enum LedgerAudit {
    /// Verifies the whole ledger in `store` against `brokerKey`.
    ///
    /// - Returns: the report, or the first failure.
    public static func verify(
        store: any EventStore, brokerKey: VerifyingKey, trusted: Checkpoint? = nil, trustedLogCheckpoints: [SignedNote] = [],
        workers: Int = ProcessInfoCores.count,
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) async throws -> Result<VerificationReport, VerificationFailure> {
        if let first = try await store.events(from: 1, limit: 1).first, first.sequence == 1 {
            guard first.event.type == DomainEvent.TypeName.brokerInitialised,
                case .brokerInitialised(let e)? = try? DomainEvent.decode(first.event),
                e.signingKey == Base64.encode(brokerKey.bytes)
            else {
                return .failure(
                    VerificationFailure(
                        sequence: 1, kind: .wrongBrokerKey,
                        detail: "the ledger does not start with this broker's key: it belongs to another broker, or its first event was replaced"))
            }
        }
        var verifier = LedgerVerifier(store: store, brokerKey: brokerKey, keyBook: DomainKeyBook(), workers: workers)
        let result = try await verifier.run(trusted: trusted, progress: progress)
        // The Merkle tree's tiles must be the tree of the events just verified.
        if case .success = result, let tiled = store as? any EventStore & LogTileStore,
            let failure = try await LogAudit.check(
                store: tiled, brokerKey: brokerKey, origin: try await BrokerService.logOrigin(store: store, brokerKey: brokerKey))
        {
            return .failure(failure)
        }
        // Log checkpoints kept elsewhere (witnesses', receipts'): the tree must be the one they sign.
        if case .success = result, let tiled = store as? any EventStore & LogTileStore {
            let verifier = NoteVerifier(name: try await BrokerService.logOrigin(store: store, brokerKey: brokerKey), key: brokerKey)
            for note in trustedLogCheckpoints {
                if let failure = try await LogAudit.checkTrusted(note, store: tiled, verifier: verifier) { return .failure(failure) }
            }
        }
        return result
    }
}
