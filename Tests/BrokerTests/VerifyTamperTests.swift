import Broker
import Consent
import Foundation
import GRDB
import Ledger
import Sodium
import TestSupport
import Testing

/// `verify` against a ledger whose SQLite file was changed behind the broker's back.
struct VerifyTamperTests {
    /// A ledger with registrations, requests, grants and revocations, checkpointed at the end.
    static func populated() async throws -> BrokerFixture {
        let f = try await BrokerFixture()
        for _ in 0..<3 {
            let person = try await f.person()
            let consent = try await f.grant(try await f.request(), by: person)
            try await f.revoke(consent, by: person)
        }
        try await f.broker.close()
        return f
    }

    static func verify(_ f: BrokerFixture, workers: Int = 2) async throws -> Result<VerificationReport, VerificationFailure> {
        try await LedgerAudit.verify(store: f.store, brokerKey: f.brokerIdentity.signingKey.verifyingKey, workers: workers)
    }

    static func tamper(_ f: BrokerFixture, _ sql: String) throws {
        let db = try DatabaseQueue(path: f.sqlitePath)
        try db.write { try $0.execute(sql: sql) }
    }

    /// The sequence of a person-signed grant in the middle of the log.
    static func grantSequence(_ f: BrokerFixture) async throws -> UInt64 {
        let grants = try await f.store.events(from: 1, limit: 1000).filter { $0.event.type == DomainEvent.TypeName.consentGranted }
        return grants[1].sequence
    }

    @Test("an untouched ledger verifies, with every signature and checkpoint checked")
    func intact() async throws {
        let f = try await Self.populated()
        let report = try await Self.verify(f).get()
        #expect(report.events == (try await f.store.head().sequence))
        #expect(report.signatures == 3 * 3 + 3, "3 registrations, grants and revocations, and 3 requests, are author-signed")
        #expect(report.checkpoints >= 1)
        let singleWorker = try await Self.verify(f, workers: 1).get()
        #expect(singleWorker == report)
    }

    @Test("a changed byte in a payload is named: payload changed")
    func changedPayload() async throws {
        let f = try await Self.populated()
        let k = try await Self.grantSequence(f)
        try Self.tamper(
            f,
            "UPDATE events SET payload = CAST(replace(CAST(payload AS TEXT), '\"durationDays\":180', '\"durationDays\":365') AS BLOB) WHERE seq = \(k)"
        )
        let failure = try #require(Self.failure(try await Self.verify(f)))
        #expect(failure.sequence == k)
        #expect(failure.kind == .payloadChanged)
    }

    @Test("a deleted row is named: event missing")
    func deletedRow() async throws {
        let f = try await Self.populated()
        let k = try await Self.grantSequence(f)
        try Self.tamper(f, "DELETE FROM events WHERE seq = \(k)")
        let failure = try #require(Self.failure(try await Self.verify(f)))
        #expect(failure.sequence == k)
        #expect(failure.kind == .eventMissing)
    }

    @Test("two swapped rows are named: order changed")
    func swappedRows() async throws {
        let f = try await Self.populated()
        let k = try await Self.grantSequence(f)
        try Self.tamper(
            f,
            """
            UPDATE events SET seq = -1 WHERE seq = \(k);
            UPDATE events SET seq = \(k) WHERE seq = \(k + 1);
            UPDATE events SET seq = \(k + 1) WHERE seq = -1;
            """)
        let failure = try #require(Self.failure(try await Self.verify(f)))
        #expect(failure.sequence == k)
        #expect(failure.kind == .orderChanged)
    }

    @Test("a checkpoint row whose head hash was changed is named itself, not the events it claims to cover")
    func forgedCheckpointRow() async throws {
        let f = try await Self.populated()
        let checkpoint = try #require(try await f.store.checkpoints().last)
        try Self.tamper(f, "UPDATE checkpoints SET head_hash = zeroblob(32) WHERE seq = \(checkpoint.sequence)")
        let failure = try #require(Self.failure(try await Self.verify(f)))
        #expect(failure.kind == .badCheckpoint)
        #expect(failure.sequence == checkpoint.sequence)
        #expect(failure.detail.contains("not signed"), "\(failure.detail)")
    }

    @Test("a tail cut behind the last checkpoint is named: tail truncated")
    func truncatedTail() async throws {
        let f = try await Self.populated()
        let head = try await f.store.head().sequence
        try Self.tamper(f, "DELETE FROM events WHERE seq > \(head - 3)")
        let failure = try #require(Self.failure(try await Self.verify(f)))
        #expect(failure.sequence == head - 2)
        #expect(failure.kind == .tailTruncated)
    }

    @Test("a replaced signature, with every hash after it recomputed, is named: bad signature")
    func forgedSignatureWithRewrittenChain() async throws {
        let f = try await Self.populated()
        let k = try await Self.grantSequence(f)
        let events = try await f.store.events(from: 1, limit: 1000)
        var head = ChainHead(sequence: k - 1, hash: events[Int(k) - 2].hash)
        var rewritten: [RecordedEvent] = []
        for e in events where e.sequence >= k {
            var content = e.event
            if e.sequence == k { content.signature = try Identity.generateSubject().signingKey.sign(content.signingInput).bytes }
            let chained = RecordedEvent.chained(content, after: head)
            rewritten.append(chained)
            head = chained.head
        }
        let db = try DatabaseQueue(path: f.sqlitePath)
        try await db.write { [rewritten] db in
            for e in rewritten {
                try db.execute(
                    sql: "UPDATE events SET signature = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    arguments: [Data(e.event.signature), Data(e.previousHash), Data(e.hash), Int64(e.sequence)])
            }
        }
        let failure = try #require(Self.failure(try await Self.verify(f)))
        #expect(failure.sequence == k)
        #expect(failure.kind == .badSignature)
    }

    @Test("a ledger checked with another broker's key fails at its first event")
    func otherBroker() async throws {
        let f = try await Self.populated()
        let result = try await LedgerAudit.verify(store: f.store, brokerKey: try Identity.generate(id: "broker").signingKey.verifyingKey)
        #expect(Self.failure(result)?.sequence == 1)
    }

    static func failure(_ result: Result<VerificationReport, VerificationFailure>) -> VerificationFailure? {
        if case .failure(let f) = result { return f }
        return nil
    }
}

struct ProjectionRebuildTests {
    @Test("projections rebuilt from zero equal the live ones after a mixed workload", arguments: Backend.available)
    func rebuildEqualsLive(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        var people: [Identity] = []
        for i in 0..<6 {
            let person = try await f.person()
            people.append(person)
            let request = try await f.request(subject: i % 2 == 0 ? person.id : nil)
            let consent = try await f.grant(request, by: person)
            if i % 3 == 0 { try await f.revoke(consent, by: person) }
            try await f.recordDelivery(consent, records: i + 1)
            let device = DomainEvent.deviceAttested(DeviceAttested(deviceID: "car-\(i)", manufacturer: f.manufacturer.id, subject: person.id))
            try await f.broker.submit(f.manufacturer.sign(device, at: f.clock.now()))
            if i % 2 == 1 {
                try await f.broker.submit(
                    person.sign(
                        .deviceConfirmed(DeviceConfirmed(deviceID: "car-\(i)", manufacturer: f.manufacturer.id, subject: person.id)),
                        at: f.clock.now()))
            }
            f.clock.advance(seconds: 7)
        }
        let unanswered = try await f.request()
        try await f.broker.submit(f.recipient.sign(.requestWithdrawn(RequestWithdrawn(requestID: unanswered.id)), at: f.clock.now()))
        try await f.broker.setSuspended(true, party: f.otherRecipient.id)
        let live = try await f.store.dumpProjections()
        #expect(live.contains("access_log"))
        try await f.store.rebuildProjections()
        #expect(try await f.store.dumpProjections() == live)
        #expect(try await f.store.deviceBindings(subject: people[1].id).first?.confirmedAt != nil)
        #expect(try await f.store.accessLog(subject: people[2].id, limit: 10).first?.records == 3)
    }
}

struct AuthorRuleTests {
    @Test("a grant written by the broker instead of the person is named: wrong author", arguments: Backend.available)
    func brokerCannotForgeConsent(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let person = try await f.person()
        let request = try await f.request()
        let policy = try #require(try await f.store.activePolicy())
        // Someone with write access to the store appends an unsigned grant as "broker".
        let forged = try ConsentDrafts.grant(of: request, by: person.id, policy: policy, now: f.clock.now(), sensitiveConfirmed: false)
            .newEvent(authorID: AuthorID.broker, time: f.clock.now())
        let appended = try await f.store.append(AppendBatch(events: [forged]))
        let result = try await LedgerAudit.verify(store: f.store, brokerKey: f.brokerIdentity.signingKey.verifyingKey)
        let failure = try #require(VerifyTamperTests.failure(result))
        #expect(failure.sequence == appended[0].sequence)
        #expect(failure.kind == .wrongAuthor)
    }

    @Test("a revocation signed by another person than the grantor is named: wrong author")
    func othersCannotRevoke() async throws {
        let f = try await BrokerFixture()
        let person = try await f.person()
        let mallory = try await f.person()
        let consent = try await f.grant(try await f.request(), by: person)
        let forged = try mallory.sign(.consentRevoked(ConsentRevoked(consentID: consent.id, subject: mallory.id)), at: f.clock.now())
        let appended = try await f.store.append(AppendBatch(events: [forged]))
        let failure = try #require(
            VerifyTamperTests.failure(try await LedgerAudit.verify(store: f.store, brokerKey: f.brokerIdentity.signingKey.verifyingKey)))
        #expect(failure.sequence == appended[0].sequence)
        #expect(failure.kind == .wrongAuthor)
    }

    @Test("a chain rewritten with its checkpoints deleted still fails against a checkpoint kept elsewhere")
    func trustedCheckpoint() async throws {
        let f = try await VerifyTamperTests.populated()
        let kept = try #require(try await f.store.checkpoints().last)
        let k = try await VerifyTamperTests.grantSequence(f)
        // Cut everything from the grant on, and the checkpoints with it: the rest verifies on its own…
        try VerifyTamperTests.tamper(f, "DELETE FROM events WHERE seq >= \(k); DELETE FROM checkpoints;")
        // The Merkle tree's tiles still cover the cut events…
        #expect(VerifyTamperTests.failure(try await VerifyTamperTests.verify(f))?.kind == .logTilesDiffer)
        // …until the tamperer rebuilds them too; and the log's signed checkpoints beyond the cut
        // still name the longer tree…
        try await f.store.rebuildLogTiles()
        #expect(VerifyTamperTests.failure(try await VerifyTamperTests.verify(f))?.kind == .tailTruncated)
        // …until the tamperer deletes them as well.
        try VerifyTamperTests.tamper(f, "DELETE FROM log_checkpoints;")
        #expect(VerifyTamperTests.failure(try await VerifyTamperTests.verify(f)) == nil)
        // …but not against the checkpoint the operator kept outside the database.
        let result = try await LedgerAudit.verify(store: f.store, brokerKey: f.brokerIdentity.signingKey.verifyingKey, trusted: kept)
        let failure = try #require(VerifyTamperTests.failure(result))
        #expect(failure.kind == .trustedCheckpointMismatch)
        #expect(failure.sequence == k)
    }

    @Test("a chain rewritten whole, with new hashes and no checkpoints, fails at the kept checkpoint")
    func rewrittenChain() async throws {
        let f = try await VerifyTamperTests.populated()
        let kept = try #require(try await f.store.checkpoints().last)
        // Rewrite every broker event's time, recompute every hash, drop the checkpoints.
        let events = try await f.store.events(from: 1, limit: 1000)
        var head = ChainHead.genesis
        var rewritten: [RecordedEvent] = []
        for e in events {
            var content = e.event
            if content.authorID == AuthorID.broker { content.time = content.time.adding(seconds: 1) }
            let chained = RecordedEvent.chained(content, after: head)
            rewritten.append(chained)
            head = chained.head
        }
        let db = try DatabaseQueue(path: f.sqlitePath)
        try await db.write { [rewritten] db in
            try db.execute(sql: "DELETE FROM checkpoints")
            for e in rewritten {
                try db.execute(
                    sql: "UPDATE events SET time_ms = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    arguments: [e.event.time.milliseconds, Data(e.previousHash), Data(e.hash), Int64(e.sequence)])
            }
        }
        // The Merkle tree's level 0 is the events' own hashes, so it follows the rewrite (this
        // ledger has no higher level yet); but the log's signed checkpoints name the old roots…
        #expect(VerifyTamperTests.failure(try await VerifyTamperTests.verify(f))?.kind == .badCheckpoint)
        try await f.store.rebuildLogTiles()
        #expect(VerifyTamperTests.failure(try await VerifyTamperTests.verify(f))?.kind == .badCheckpoint)
        // …until the tamperer deletes them as well.
        try VerifyTamperTests.tamper(f, "DELETE FROM log_checkpoints;")
        #expect(VerifyTamperTests.failure(try await VerifyTamperTests.verify(f)) == nil, "alone, the rewrite is consistent")
        let result = try await LedgerAudit.verify(store: f.store, brokerKey: f.brokerIdentity.signingKey.verifyingKey, trusted: kept)
        let failure = try #require(VerifyTamperTests.failure(result))
        #expect(failure.kind == .trustedCheckpointMismatch)
        #expect(failure.sequence == kept.sequence)
    }
}
