import Broker
import Consent
import Foundation
import Ledger
import Sodium
import TestSupport
import Testing

struct ConsentLifecycleTests {
    @Test("a person grants an open offer, sees it active, revokes it, and it is revoked at once", arguments: Backend.available)
    func grantAndRevoke(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let person = try await f.person()
        let request = try await f.request()
        #expect(try await f.store.requests(for: person.id, limit: 10).map(\.id) == [request.id])
        let consent = try await f.grant(request, by: person)
        #expect(consent.status(at: f.clock.now()) == .active)
        #expect(consent.policyVersion == (try await f.store.activePolicy())?.version)
        #expect(try await f.store.requests(for: person.id, limit: 10).isEmpty, "an answered request is no longer listed for the person")
        #expect(try await f.store.consents(recipient: f.recipient.id, limit: 10).map(\.id) == [consent.id])
        try await f.revoke(consent, by: person)
        let after = try #require(try await f.store.consent(consent.id))
        #expect(after.status(at: f.clock.now()) == .revoked)
        let denial = AccessDecision.denial(
            consent: after, recipientStatus: .active,
            query: AccessQuery(
                recipient: f.recipient.id, subject: person.id, item: "vehicle.driving", recordTime: f.clock.now(), deviceConfirmed: true,
                now: f.clock.now()))
        #expect(denial?.code == .consentRevoked)
    }

    @Test("an open offer gives each person who accepts their own consent")
    func openOfferManyPeople() async throws {
        let f = try await BrokerFixture()
        let request = try await f.request()
        let a = try await f.grant(request, by: try await f.person())
        let b = try await f.grant(request, by: try await f.person())
        #expect(a.id != b.id)
        #expect(a.subject != b.subject)
    }

    @Test("consents expire by time without any event")
    func expiry() async throws {
        let f = try await BrokerFixture()
        let person = try await f.person()
        let consent = try await f.grant(try await f.request(terms: f.vehicleTerms(days: 2)), by: person)
        f.clock.advance(days: 2)
        #expect(consent.status(at: f.clock.now()) == .expired)
        await #expect(throws: ConsentError.self) { try await f.revoke(consent, by: person) }
    }

    /// Each case breaks one rule; the ledger must not grow.
    @Test(
        "refused actions append nothing", arguments: Backend.available,
        [
            "withdrawn", "expired offer", "twice", "someone else's signature",
            "other addressee", "revoke twice", "revoke by another", "over limit",
            "item outside category", "purpose not allowed", "sensitive unconfirmed",
            "unregistered person", "suspended recipient", "forged author",
        ])
    func refusalsAppendNothing(_ backend: Backend, _ name: String) async throws {
        let f = try await BrokerFixture(backend)
        let person = try await f.person()
        let other = try await f.person()
        let policy = try #require(try await f.store.activePolicy())
        let request = try await f.request()
        var action: () async throws -> Void
        switch name {
        case "withdrawn":
            try await f.broker.submit(f.recipient.sign(.requestWithdrawn(RequestWithdrawn(requestID: request.id)), at: f.clock.now()))
            action = { try await f.grant(request, by: person) }
        case "expired offer":
            f.clock.advance(days: 31)
            action = { try await f.grant(request, by: person) }
        case "twice":
            try await f.grant(request, by: person)
            action = { try await f.grant(request, by: person) }
        case "someone else's signature":
            let grant = ConsentDrafts.grant(of: request, by: person.id, policy: policy, now: f.clock.now(), sensitiveConfirmed: false)
            var event = try person.sign(grant, at: f.clock.now())
            event.signature = other.signingKey.sign(event.signingInput).bytes
            action = { try await f.broker.submit(event) }
        case "forged author":
            let grant = ConsentDrafts.grant(of: request, by: person.id, policy: policy, now: f.clock.now(), sensitiveConfirmed: false)
            action = { try await f.broker.submit(other.sign(grant, at: f.clock.now())) }
        case "other addressee":
            let addressed = try await f.request(subject: other.id)
            action = { try await f.grant(addressed, by: person) }
        case "revoke twice":
            let consent = try await f.grant(request, by: person)
            try await f.revoke(consent, by: person)
            action = { try await f.revoke(consent, by: person) }
        case "revoke by another":
            let consent = try await f.grant(request, by: person)
            action = {
                try await f.broker.submit(other.sign(.consentRevoked(ConsentRevoked(consentID: consent.id, subject: other.id)), at: f.clock.now()))
            }
        case "over limit":
            action = { try await f.request(terms: f.vehicleTerms(days: 400)) }
        case "item outside category":
            action = { try await f.request(terms: f.vehicleTerms(items: ["energy.household"])) }
        case "purpose not allowed":
            var terms = f.vehicleTerms()
            terms.purpose = "health-services"
            action = { try await f.request(terms: terms) }
        case "sensitive unconfirmed":
            let now = f.clock.now()
            let health = try await f.request(
                terms: ConsentTerms(
                    category: "health", items: ["health.nutrition"], purpose: "health-services",
                    dataFrom: now.adding(days: -1), dataTo: now.adding(days: 1), durationDays: 30,
                    onceOff: false, retentionDays: 0, incentiveKRW: 0))
            action = { try await f.grant(health, by: person, sensitiveConfirmed: false) }
        case "unregistered person":
            let stranger = try Identity.generateSubject()
            action = { try await f.grant(request, by: stranger) }
        case "suspended recipient":
            try await f.broker.setSuspended(true, party: f.recipient.id)
            action = { try await f.grant(request, by: person) }
        default:
            Issue.record("unknown case"); return
        }
        let before = try await f.store.head()
        let projectionBefore = try await f.store.dumpProjections()
        await #expect(throws: ConsentError.self) { try await action() }
        #expect(try await f.store.head() == before)
        #expect(try await f.store.dumpProjections() == projectionBefore)
    }

    @Test("a first grant carries the person's registration, and a refused one registers nothing", arguments: Backend.available)
    func registrationTravelsWithFirstAction(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let stranger = try Identity.generateSubject()
        let request = try await f.request()
        let policy = try #require(try await f.store.activePolicy())
        let registration = try stranger.sign(ConsentDrafts.registration(of: stranger), at: f.clock.now())
        var tooLate = request
        tooLate.requestHash = "not the request"
        let refused = try stranger.sign(
            ConsentDrafts.grant(of: tooLate, by: stranger.id, policy: policy, now: f.clock.now(), sensitiveConfirmed: false), at: f.clock.now())
        let before = try await f.store.head()
        await #expect(throws: ConsentError.self) { try await f.broker.submit([registration, refused]) }
        #expect(try await f.store.head() == before)
        #expect(try await f.store.subject(stranger.id) == nil)
        let grant = try stranger.sign(
            ConsentDrafts.grant(of: request, by: stranger.id, policy: policy, now: f.clock.now(), sensitiveConfirmed: false), at: f.clock.now())
        let recorded = try await f.broker.submit([registration, grant])
        #expect(recorded.count == 2)
        #expect(try await f.store.subject(stranger.id) != nil)
    }

    @Test("a sensitive grant with explicit confirmation is accepted")
    func sensitiveConfirmed() async throws {
        let f = try await BrokerFixture()
        let person = try await f.person()
        let now = f.clock.now()
        let health = try await f.request(
            terms: ConsentTerms(
                category: "health", items: ["health.nutrition"], purpose: "health-services",
                dataFrom: now.adding(days: -1), dataTo: now.adding(days: 1), durationDays: 30,
                onceOff: false, retentionDays: 0, incentiveKRW: 0))
        let consent = try await f.grant(health, by: person, sensitiveConfirmed: true)
        #expect(consent.sensitiveConfirmed)
    }

    @Test("racing grants and withdrawals: no consent is ever granted after its request was withdrawn", arguments: Backend.available)
    func grantWithdrawRace(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let people = try await (0..<10).asyncMap { _ in try await f.person() }
        for _ in 0..<10 {
            let request = try await f.request()
            await withTaskGroup(of: Void.self) { group in
                for person in people { group.addTask { _ = try? await f.grant(request, by: person) } }
                group.addTask {
                    _ = try? await f.broker.submit(f.recipient.sign(.requestWithdrawn(RequestWithdrawn(requestID: request.id)), at: f.clock.now()))
                }
            }
            let withdrawal = try #require(
                try await f.store.events(from: 1, limit: 10_000).first {
                    $0.event.type == DomainEvent.TypeName.requestWithdrawn && $0.event.streamID == StreamName.request(request.id)
                })
            for person in people {
                if let consent = try await f.store.consent(Identifiers.consentID(requestID: request.id, subject: person.id)) {
                    #expect(consent.grantSequence < withdrawal.sequence)
                }
            }
        }
    }

    @Test("two revocations of one consent racing: exactly one is recorded", arguments: Backend.available)
    func revokeRace(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let person = try await f.person()
        let consent = try await f.grant(try await f.request(), by: person)
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { (try? await f.revoke(consent, by: person)) != nil } }
            var ok = 0
            for await r in group where r { ok += 1 }
            return ok
        }
        #expect(results == 1)
        let revocations = try await f.store.events(from: 1, limit: 1000).filter { $0.event.type == DomainEvent.TypeName.consentRevoked }
        #expect(revocations.count == 1)
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await transform(e)) }
        return out
    }
}
