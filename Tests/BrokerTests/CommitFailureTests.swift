import Accounting
import Broker
import Consent
import Foundation
import Ledger
import Ports
import Sodium
import TestSupport
import Testing
import Vault

/// The real store, except that its multi-batch appends report the failure a COMMIT that broke
/// after writing gives ("may or may not be stored") while the writes did land, once armed.
final class CommitThenFailStore: BrokerStore, @unchecked Sendable {
    let inner: any BrokerStore
    private let lock = NSLock()
    private var armed = false
    init(_ inner: any BrokerStore) { self.inner = inner }
    func arm() { lock.withLock { armed = true } }

    func append(batches: [AppendBatch]) async -> [Result<[RecordedEvent], any Error>] {
        let results = await inner.append(batches: batches)
        guard
            lock.withLock({
                defer { armed = false }; return armed
            })
        else { return results }
        return results.map { _ in
            .failure(LedgerError(.storeUnavailable, "the connection failed while committing; the append may or may not be stored"))
        }
    }

    func append(_ batch: AppendBatch) async throws -> [RecordedEvent] { try await inner.append(batch) }
    func events(from sequence: UInt64, limit: Int) async throws -> [RecordedEvent] { try await inner.events(from: sequence, limit: limit) }
    func head() async throws -> ChainHead { try await inner.head() }
    func pullState(consentID: String, recipient: String, around cursor: RecordCursor) async throws -> PullState {
        try await inner.pullState(consentID: consentID, recipient: recipient, around: cursor)
    }
    func logSize() async throws -> UInt64 { try await inner.logSize() }
    func logTile(level: Int, index: UInt64) async throws -> LogTiles.Tile? { try await inner.logTile(level: level, index: index) }
    func rebuildLogTiles() async throws { try await inner.rebuildLogTiles() }
    func appendCheckpoint(_ checkpoint: Checkpoint, logNote: String) async throws { try await inner.appendCheckpoint(checkpoint, logNote: logNote) }
    func latestLogCheckpoint() async throws -> (size: UInt64, note: String)? { try await inner.latestLogCheckpoint() }
    func logCheckpoints() async throws -> [(size: UInt64, note: String)] { try await inner.logCheckpoints() }
    func logCheckpoint(size: UInt64) async throws -> String? { try await inner.logCheckpoint(size: size) }
    func addLogCosignatures(size: UInt64, _ cosignatures: [NoteSignature]) async throws -> Bool {
        try await inner.addLogCosignatures(size: size, cosignatures)
    }
    func streamVersion(_ streamID: String) async throws -> Int { try await inner.streamVersion(streamID) }
    func appendCheckpoint(_ checkpoint: Checkpoint) async throws { try await inner.appendCheckpoint(checkpoint) }
    func checkpoints() async throws -> [Checkpoint] { try await inner.checkpoints() }
    func activePolicy() async throws -> ActivePolicy? { try await inner.activePolicy() }
    func policy(hash: String) async throws -> ActivePolicy? { try await inner.policy(hash: hash) }
    func party(_ id: String) async throws -> Party? { try await inner.party(id) }
    func parties() async throws -> [Party] { try await inner.parties() }
    func subject(_ id: String) async throws -> Subject? { try await inner.subject(id) }
    func request(_ id: String) async throws -> ConsentRequest? { try await inner.request(id) }
    func requests(for subject: String?, limit: Int, before: RequestCursor?) async throws -> [ConsentRequest] {
        try await inner.requests(for: subject, limit: limit, before: before)
    }
    func requests(recipient: String, limit: Int, before: RequestCursor?) async throws -> [ConsentRequest] {
        try await inner.requests(recipient: recipient, limit: limit, before: before)
    }
    func consent(_ id: String) async throws -> Consent? { try await inner.consent(id) }
    func consents(subject: String, limit: Int, before: UInt64?) async throws -> [Consent] {
        try await inner.consents(subject: subject, limit: limit, before: before)
    }
    func consents(recipient: String, limit: Int, before: UInt64?) async throws -> [Consent] {
        try await inner.consents(recipient: recipient, limit: limit, before: before)
    }
    func deviceBindings(subject: String) async throws -> [DeviceBinding] { try await inner.deviceBindings(subject: subject) }
    func deviceBinding(manufacturer: String, deviceID: String) async throws -> DeviceBinding? {
        try await inner.deviceBinding(manufacturer: manufacturer, deviceID: deviceID)
    }
    func accessLog(subject: String, limit: Int, before: UInt64?) async throws -> [AccessLogEntry] {
        try await inner.accessLog(subject: subject, limit: limit, before: before)
    }
    func analysis(_ id: String) async throws -> AnalysisRecord? { try await inner.analysis(id) }
    func analyses(requestID: String, limit: Int, before: UInt64?) async throws -> [AnalysisRecord] {
        try await inner.analyses(requestID: requestID, limit: limit, before: before)
    }
    func analysisSpent(requestID: String, periodStart: Timestamp) async throws -> Int64 {
        try await inner.analysisSpent(requestID: requestID, periodStart: periodStart)
    }
    func analysisInclusions(subject: String, limit: Int, before: UInt64?) async throws -> [AnalysisInclusion] {
        try await inner.analysisInclusions(subject: subject, limit: limit, before: before)
    }
    func activeConsents(requestID: String, at now: Timestamp, limit: Int) async throws -> [Consent] {
        try await inner.activeConsents(requestID: requestID, at: now, limit: limit)
    }
    func deliveries(consentID: String, limit: Int, after: UInt64?) async throws -> [AccessLogEntry] {
        try await inner.deliveries(consentID: consentID, limit: limit, after: after)
    }
    func deliveries(consentID: String, around cursor: RecordCursor) async throws -> (atOrBefore: AccessLogEntry?, next: AccessLogEntry?) {
        try await inner.deliveries(consentID: consentID, around: cursor)
    }
    func telemetryBatch(manufacturer: String, idempotencyKey: String) async throws -> TelemetryBatch? {
        try await inner.telemetryBatch(manufacturer: manufacturer, idempotencyKey: idempotencyKey)
    }
    func projectedSequence() async throws -> UInt64 { try await inner.projectedSequence() }
    func rebuildProjections() async throws { try await inner.rebuildProjections() }
    func dumpProjections() async throws -> String { try await inner.dumpProjections() }
    func accountingSnapshot() async throws -> AccountingSnapshot { try await inner.accountingSnapshot() }
    func accounts(owner: Owner?) async throws -> [Account] { try await inner.accounts(owner: owner) }
    func account(_ id: String) async throws -> Account? { try await inner.account(id) }
    func transfers(account: String, after: Int, limit: Int) async throws -> [Transfer] {
        try await inner.transfers(account: account, after: after, limit: limit)
    }
    func dataKey(subject: String, orCreate wrapped: [UInt8]) async throws -> [UInt8]? { try await inner.dataKey(subject: subject, orCreate: wrapped) }
    func destroyDataKey(subject: String) async throws { try await inner.destroyDataKey(subject: subject) }
    func wrappedDataKeys(subjects: [String]) async throws -> [String: [UInt8]?] { try await inner.wrappedDataKeys(subjects: subjects) }
    func recordKeys(manufacturer: String, spans: [(device: String, from: Timestamp, through: Timestamp)]) async throws -> Set<RecordKey> {
        try await inner.recordKeys(manufacturer: manufacturer, spans: spans)
    }
    func qualityCounts(manufacturer: String, item: String, period: QualityPeriod) async throws -> QualityCounts {
        try await inner.qualityCounts(manufacturer: manufacturer, item: item, period: period)
    }
    func qualitySeries() async throws -> [(manufacturer: String, item: String)] { try await inner.qualitySeries() }
    func confirmedDevices() async throws -> [String: Int64] { try await inner.confirmedDevices() }
    func holdings(at now: Timestamp) async throws -> [Holding] { try await inner.holdings(at: now) }
    func qualityCertificates(manufacturer: String?, item: String?, limit: Int) async throws -> [QualityCertificateRecord] {
        try await inner.qualityCertificates(manufacturer: manufacturer, item: item, limit: limit)
    }
    func qualityCertificate(_ id: String) async throws -> QualityCertificateRecord? { try await inner.qualityCertificate(id) }
    func storeRecords(_ records: [SealedRecord]) async throws { try await inner.storeRecords(records) }
    func deleteRecords(batchID: String) async throws { try await inner.deleteRecords(batchID: batchID) }
    func records(_ query: RecordQuery) async throws -> [SealedRecord] { try await inner.records(query) }
    func claimNonce(_ nonce: String, keyID: String, expiresAt: Timestamp, now: Timestamp) async throws -> Bool {
        try await inner.claimNonce(nonce, keyID: keyID, expiresAt: expiresAt, now: now)
    }
    func claimDueCallbacks(now: Timestamp, leaseUntil: Timestamp, limit: Int) async throws -> [RevocationCallback] {
        try await inner.claimDueCallbacks(now: now, leaseUntil: leaseUntil, limit: limit)
    }
    func markCallbackDelivered(id: Int64, at: Timestamp) async throws { try await inner.markCallbackDelivered(id: id, at: at) }
    func markCallbackFailed(id: Int64, attempts: Int, nextAttempt: Timestamp, error: String) async throws {
        try await inner.markCallbackFailed(id: id, attempts: attempts, nextAttempt: nextAttempt, error: error)
    }
    func callbacks(recipient: String, limit: Int) async throws -> [RevocationCallback] {
        try await inner.callbacks(recipient: recipient, limit: limit)
    }
    var appliedMigrations: [String] { inner.appliedMigrations }
    var locationDescription: String { inner.locationDescription }
    func close() { inner.close() }
}

struct CommitFailureTests {
    @Test(
        "a delivery whose COMMIT may or may not have landed is reported so, never charged again, and the book is read back",
        arguments: Backend.available)
    func uncertainCommit(_ backend: Backend) async throws {
        let w = try await AccountingFlowTests.World(backend, records: 2, cash: 1_000)
        let consent = try await w.consent()
        let first = try await w.transfer.pull(consentID: consent.id, recipient: w.payer.id, limit: 100)  // pays the reward
        let flaky = CommitThenFailStore(w.f.store)
        let broker = BrokerService(store: flaky, identity: w.f.brokerIdentity, clock: w.f.clock)
        let transfer = TransferService(broker: broker, vault: w.transfer.vault)
        let before = try await w.account(AccountNames.cash(w.payer.id)).balance
        var cursor = try #require(RecordCursor(first.nextCursor))
        try await w.pushRecords(2)
        flaky.arm()
        await #expect(throws: LedgerError.self) {
            _ = try await transfer.pull(consentID: consent.id, recipient: w.payer.id, after: cursor, limit: 100)
        }
        // It did land: charged once. The recipient, told nothing certain, asks again from the same
        // cursor and gets the delivery that landed, not charged again.
        #expect(try await w.account(AccountNames.cash(w.payer.id)).balance == before - 14)
        let retried = try await transfer.pull(consentID: consent.id, recipient: w.payer.id, after: cursor, limit: 100)
        #expect(retried.replayed && retried.records.count == 2)
        #expect(try await w.account(AccountNames.cash(w.payer.id)).balance == before - 14)
        // The next pull through the same broker decides on the book read back.
        cursor = try #require(RecordCursor(retried.nextCursor))
        try await w.pushRecords(2)
        let next = try await transfer.pull(consentID: consent.id, recipient: w.payer.id, after: cursor, limit: 100)
        #expect(try await w.account(AccountNames.cash(w.payer.id)).balance == before - 28, "one more charge, for the one more delivery")

        // Several pulls from one cursor in flight when a COMMIT breaks: whatever each was told,
        // one delivery was recorded, charged exactly once, and nothing was charged without it.
        let deliveries = try await w.f.store.accessLog(subject: w.person.id, limit: 1_000).count
        let cash = try await w.account(AccountNames.cash(w.payer.id)).balance
        cursor = try #require(RecordCursor(next.nextCursor))
        try await w.pushRecords(2)
        flaky.arm()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask { [cursor] in _ = try? await transfer.pull(consentID: consent.id, recipient: w.payer.id, after: cursor, limit: 100) }
            }
        }
        let recorded = try await w.f.store.accessLog(subject: w.person.id, limit: 1_000).count - deliveries
        #expect(recorded == 1)
        #expect(try await w.account(AccountNames.cash(w.payer.id)).balance == cash - 14 * Int64(recorded))
        try await w.checkBooks()
    }
}
