import Broker
import Consent
import Foundation
import Ledger
import Ports
import Sodium
import Storage

/// A broker on a real store (an SQLite file in a temporary directory, or a fresh PostgreSQL
/// database), with the shipped policies active,
/// a manufacturer, two recipients and a helper for each common action.
public final class BrokerFixture: @unchecked Sendable {
    public let directory = TemporaryDirectory("mydata-broker")
    public let clock = TestClock()
    public let store: any BrokerStore
    public let broker: BrokerService
    public let brokerIdentity: Identity
    public let manufacturer: Identity
    public let recipient: Identity
    public let otherRecipient: Identity

    /// Where the store is, to open it again as another broker process would.
    public let handle: StoreHandle

    public init(_ backend: Backend = .sqlite) async throws {
        handle = try await backend.fresh(directory)
        store = try await handle.open()
        brokerIdentity = try Identity.generate(id: "broker")
        broker = BrokerService(store: store, identity: brokerIdentity, clock: clock)
        manufacturer = try Identity.generate(id: "hanbit-motors")
        recipient = try Identity.generate(id: "safedrive")
        otherRecipient = try Identity.generate(id: "other-startup")
        try await broker.initialise()
        try await broker.activatePolicy(try PolicyLoader.load(directory: Repository.policies))
        try await broker.registerParty(id: manufacturer.id, role: .manufacturer, name: "Hanbit Motors", keys: manufacturer.publicKeys)
        try await broker.registerParty(id: recipient.id, role: .recipient, name: "SafeDrive", keys: recipient.publicKeys)
        try await broker.registerParty(id: otherRecipient.id, role: .recipient, name: "Other", keys: otherRecipient.publicKeys)
        // Enough cash that no test about data is refused for want of money (accounting tests spend their own).
        for r in [recipient, otherRecipient] {
            try await broker.deposit(1_000_000_000, to: AccountNames.cashAccount(r.id), id: "fixture-\(r.id)")
        }
    }

    /// The SQLite file, for tests that tamper with it directly.
    public var sqlitePath: String { (store as! SQLiteStore).path }

    /// A registered person.
    public func person() async throws -> Identity {
        let person = try Identity.generateSubject()
        try await broker.submit(person.sign(ConsentDrafts.registration(of: person), at: clock.now()))
        return person
    }

    /// Vehicle terms that the shipped policy allows.
    public func vehicleTerms(days: Int = 180, items: [String] = ["vehicle.driving"]) -> ConsentTerms {
        let now = clock.now()
        return ConsentTerms(
            category: "vehicle", items: items, purpose: "usage-based-insurance",
            dataFrom: now.adding(days: -30), dataTo: now.adding(days: 30), durationDays: days,
            onceOff: false, retentionDays: 30, incentiveKRW: 1_000)
    }

    /// A request by `recipient` (default: the fixture's), open to anyone unless `subject` is given,
    /// under the standard contract the terms name or else the category's default one.
    @discardableResult
    public func request(
        terms: ConsentTerms? = nil, subject: String? = nil, by author: Identity? = nil,
        offerDays: Int64 = 30
    ) async throws -> ConsentRequest {
        let author = author ?? recipient
        let policy = try await store.activePolicy()!
        let contracted = try StandardContract.attach(
            template: nil, parameters: [:], to: terms ?? vehicleTerms(), recipient: author.id, policy: policy.policy)
        let event = ConsentRequested(
            requestID: Identifiers.random(prefix: "req"), recipient: author.id, subject: subject,
            terms: contracted, offerExpiresAt: clock.now().adding(days: offerDays),
            policyVersion: policy.version)
        try await broker.submit(author.sign(.consentRequested(event), at: clock.now()))
        return try await store.request(event.requestID)!
    }

    /// `person` grants `request`.
    @discardableResult
    public func grant(_ request: ConsentRequest, by person: Identity, sensitiveConfirmed: Bool = false) async throws -> Consent {
        let policy = try await store.activePolicy()!
        let grant = ConsentDrafts.grant(of: request, by: person.id, policy: policy, now: clock.now(), sensitiveConfirmed: sensitiveConfirmed)
        try await broker.submit(person.sign(grant, at: clock.now()))
        return try await store.consent(Identifiers.consentID(requestID: request.id, subject: person.id))!
    }

    /// `person` revokes `consent`.
    public func revoke(_ consent: Consent, by person: Identity) async throws {
        try await broker.submit(person.sign(.consentRevoked(ConsentRevoked(consentID: consent.id, subject: person.id)), at: clock.now()))
    }

    /// The broker records a delivery (as the transfer API will), so access logs have entries.
    public func recordDelivery(_ consent: Consent, records: Int) async throws {
        let event = DomainEvent.dataDelivered(
            DataDelivered(
                deliveryID: Identifiers.random(prefix: "dlv"), consentID: consent.id, subject: consent.subject,
                recipient: consent.recipient, items: consent.terms.items, records: records,
                digest: Hex.encode(BLAKE2b.hash256(Array("records".utf8)))))
        _ = try await store.append(AppendBatch(events: [try event.newEvent(authorID: AuthorID.broker, time: clock.now())]))
    }
}
