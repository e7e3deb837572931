import Broker
import Consent
import Foundation
import Ledger
import Ports
import TestSupport
import Testing

struct ReceiptTests {
    @Test("a receipt verifies offline with the broker key, and names the person, recipient, items, purpose and policy", arguments: Backend.available)
    func receiptVerifies(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let person = try await f.person()
        let consent = try await f.grant(try await f.request(), by: person)
        try await f.broker.close()
        let receipt = try await f.broker.receipt(consentID: consent.id, subject: person.id)
        let verified = try ReceiptVerifier.verify(try receipt.json(), brokerKey: f.brokerIdentity.signingKey.verifyingKey)
        #expect(verified.receipt.recordID == consent.id)
        #expect(verified.receipt.piiPrincipalID == person.id)
        #expect(verified.receipt.piiController.id == f.recipient.id)
        #expect(verified.receipt.dataItems == ["vehicle.driving"])
        #expect(verified.receipt.purposes.first?.id == "usage-based-insurance")
        #expect(verified.receipt.status == "active")
        #expect(verified.receipt.evidence.checkpoint != nil)
    }

    @Test("a receipt proves its grant, and once revoked its revocation, in the transparency log, offline", arguments: Backend.available)
    func receiptCarriesLogProofs(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let person = try await f.person()
        let consent = try await f.grant(try await f.request(), by: person)
        let key = f.brokerIdentity.signingKey.verifyingKey
        // No checkpoint covers the grant yet: the receipt signs one rather than hand out an unprovable proof.
        let receipt = try await f.broker.receipt(consentID: consent.id, subject: person.id)
        let log = try await f.broker.logVerifier()
        let verified = try ReceiptVerifier.verify(try receipt.json(), brokerKey: key, trust: .init(log: log))
        #expect(try #require(verified.grantCheckpoint).size >= consent.grantSequence)
        #expect(verified.revocationCheckpoint == nil && receipt.receipt.revocation == nil)
        try await f.revoke(consent, by: person)
        let revoked = try await f.broker.receipt(consentID: consent.id, subject: person.id)
        let again = try ReceiptVerifier.verify(try revoked.json(), brokerKey: key, trust: .init(log: log))
        let revocation = try #require(revoked.receipt.revocation)
        #expect(try #require(again.revocationCheckpoint).size >= revocation.ledgerSequence)
        #expect(try await f.store.consent(consent.id)?.revokeSequence == revocation.ledgerSequence)
        // The proofs are bound to the events: another entry, another log key, or a quorum of
        // witnesses nobody asked fails, even when the broker re-signs the receipt.
        func resigned(_ r: ConsentReceipt) throws -> Data {
            var signed = revoked
            signed.receipt = r
            signed.signature.value = Base64.encode(f.brokerIdentity.signingKey.sign(try SignedReceipt.signedBytes(r)).bytes)
            return try signed.json()
        }
        var moved = revoked.receipt
        moved.revocation?.logProof = receipt.receipt.evidence.logProof!
        #expect(throws: ReceiptError.self) { try ReceiptVerifier.verify(try resigned(moved), brokerKey: key, trust: .init()) }
        var unlinked = revoked.receipt
        unlinked.evidence.previousHash = String(repeating: "0", count: 64)
        #expect(throws: ReceiptError.self) { try ReceiptVerifier.verify(try resigned(unlinked), brokerKey: key, trust: .init()) }
        var hidden = revoked.receipt
        hidden.revocation = nil
        #expect(throws: ReceiptError.self) { try ReceiptVerifier.verify(try resigned(hidden), brokerKey: key, trust: .init()) }
        let otherLog = NoteVerifier(name: log.name, key: try Identity.generate(id: "broker").signingKey.verifyingKey)
        #expect(throws: ReceiptError.self) { try ReceiptVerifier.verify(try revoked.json(), brokerKey: key, trust: .init(log: otherLog)) }
        let witness = NoteVerifier(name: "w.example", key: try Identity.generate(id: "w").signingKey.verifyingKey, kind: .cosignature)
        #expect(throws: ReceiptError.self) {
            try ReceiptVerifier.verify(try revoked.json(), brokerKey: key, trust: .init(witnesses: [witness], quorum: 1))
        }
    }

    @Test("a changed receipt, or one checked with another broker key, does not verify")
    func tamperedReceiptsFail() async throws {
        let f = try await BrokerFixture()
        let person = try await f.person()
        let consent = try await f.grant(try await f.request(), by: person)
        let receipt = try await f.broker.receipt(consentID: consent.id, subject: person.id)
        let key = f.brokerIdentity.signingKey.verifyingKey
        #expect(throws: ReceiptError.self) {
            try ReceiptVerifier.verify(try receipt.json(), brokerKey: try Identity.generate(id: "broker").signingKey.verifyingKey)
        }
        var longer = receipt
        longer.receipt.expiresAt = "2099-01-01T00:00:00.000Z"
        #expect(throws: ReceiptError.self) { try ReceiptVerifier.verify(try longer.json(), brokerKey: key) }
        // Even a receipt the broker itself re-signed cannot claim terms the person did not sign.
        var lying = receipt.receipt
        lying.dataItems = ["vehicle.driving", "vehicle.parts"]
        let resigned = f.brokerIdentity.signingKey.sign(try SignedReceipt.signedBytes(lying))
        let forged = SignedReceipt(
            receipt: lying,
            signature: .init(
                algorithm: "Ed25519", keyID: "broker",
                publicKey: receipt.signature.publicKey, value: Base64.encode(resigned.bytes)))
        #expect(throws: ReceiptError.self) { try ReceiptVerifier.verify(try forged.json(), brokerKey: key) }
    }

    @Test("nobody gets a receipt for someone else's consent")
    func onlyTheSubject() async throws {
        let f = try await BrokerFixture()
        let consent = try await f.grant(try await f.request(), by: try await f.person())
        await #expect(throws: ConsentError.self) { _ = try await f.broker.receipt(consentID: consent.id, subject: try await f.person().id) }
    }
}

struct SubmissionOrderTests {
    @Test("a registration sent after the person's first event is appended first, so the ledger still verifies", arguments: Backend.available)
    func registrationAfterGrant(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let stranger = try Identity.generateSubject()
        let request = try await f.request()
        let policy = try #require(try await f.store.activePolicy())
        let grant = try stranger.sign(
            ConsentDrafts.grant(of: request, by: stranger.id, policy: policy, now: f.clock.now(), sensitiveConfirmed: false), at: f.clock.now())
        let registration = try stranger.sign(ConsentDrafts.registration(of: stranger), at: f.clock.now())
        let recorded = try await f.broker.submit([grant, registration])
        #expect(recorded.map(\.event.type) == [DomainEvent.TypeName.subjectRegistered, DomainEvent.TypeName.consentGranted])
        try await f.broker.close()
        let result = try await LedgerAudit.verify(store: f.store, brokerKey: f.brokerIdentity.signingKey.verifyingKey)
        #expect((try? result.get()) != nil, "\(result)")
    }
}

struct CallbackOutboxTests {
    @Test(
        "a revocation queues one notice for a recipient with a callback URL, and a claimed notice is not claimed again", arguments: Backend.available)
    func claimOnce(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        try await f.broker.setCallback("https://safedrive.example/revocations", party: f.recipient.id)
        await #expect(throws: ConsentError.self) { try await f.broker.setCallback("ftp://nope", party: f.recipient.id) }
        let person = try await f.person()
        let consent = try await f.grant(try await f.request(), by: person)
        try await f.revoke(consent, by: person)
        let outbox = f.store
        let now = f.clock.now().adding(seconds: 1)
        let first = try await outbox.claimDueCallbacks(now: now, leaseUntil: now.adding(seconds: 300), limit: 10)
        #expect(first.map(\.consentID) == [consent.id])
        #expect(first.first?.url == "https://safedrive.example/revocations")
        #expect(try await outbox.claimDueCallbacks(now: now, leaseUntil: now.adding(seconds: 300), limit: 10).isEmpty, "leased")
        try await outbox.markCallbackDelivered(id: first[0].id, at: now)
        #expect(try await outbox.callbacks(recipient: f.recipient.id, limit: 10).first?.status == .delivered)
        try await f.store.rebuildProjections()
        #expect(try await outbox.callbacks(recipient: f.recipient.id, limit: 10).count == 1, "a rebuild queues nothing twice")
    }
}
