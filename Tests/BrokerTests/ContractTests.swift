import Broker
import Consent
import Foundation
import Ledger
import TestSupport
import Testing

/// Standard contracts: a request names one, the broker checks it, the person signs its hash and
/// the receipt carries it.
struct ContractTests {
    static func contracted(
        _ terms: ConsentTerms, template: String = "provision", parameters: [String: String] = [:], recipient: String = "safedrive"
    ) throws -> ConsentTerms {
        var t = terms
        let policy = try PolicyLoader.load(directory: Repository.policies).policy
        t.contract = try StandardContract.make(template: template, parameters: parameters, terms: terms, recipient: recipient, policy: policy)
            .reference
        return t
    }

    @Test("a request under a standard contract is granted, and the receipt carries the hash of the text the person saw", arguments: Backend.available)
    func grantedUnderContract(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let person = try await f.person()
        let terms = try Self.contracted(f.vehicleTerms(), parameters: ["deletionDays": "3"])
        let consent = try await f.grant(try await f.request(terms: terms), by: person)
        let reference = try #require(consent.terms.contract)
        #expect(reference.parameters == ["deletionDays": "3", "liabilityKRW": "10000000"], "the default fills what the request left out")
        let policy = try #require(try await f.store.activePolicy()).policy
        let text = try #require(try StandardContract.check(reference, terms: consent.terms, recipient: f.recipient.id, policy: policy))
        #expect(StandardContract.hash(text) == reference.hash)
        #expect(text.hasPrefix("MyData standard contract: Data provision to a recipient (provision)\nRecipient: safedrive\n"))
        #expect(text.contains("within 3 days"), "a parameter is filled in: \(text)")
        #expect(text.contains("safedrive pays 10 won per pull and 2 won per record"), "the category's price from accounting.yaml: \(text)")
        #expect(text.contains("at most 30 days"), "the terms' retention: \(text)")

        let receipt = try await f.broker.receipt(consentID: consent.id, subject: person.id)
        #expect(receipt.receipt.contract == reference)
        _ = try ReceiptVerifier.verify(try receipt.json(), brokerKey: f.brokerIdentity.signingKey.verifyingKey)
        // The contract in a receipt is checked against the grant the person signed.
        var edited = receipt
        edited.receipt.contract?.parameters["deletionDays"] = "30"
        edited.signature.value = Base64.encode(
            f.brokerIdentity.signingKey.sign(try SignedReceipt.signedBytes(edited.receipt)).bytes)
        #expect(throws: ReceiptError.self) {
            try ReceiptVerifier.verify(try edited.json(), brokerKey: f.brokerIdentity.signingKey.verifyingKey)
        }
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let name: String
        let mentions: String
        let change: @Sendable (inout ConsentTerms) throws -> Void
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(name: "a template the policy does not have", mentions: "no standard contract 'lease'") { $0.contract?.template = "lease" },
        Bad(name: "an analysis contract for a delivery request", mentions: "is for analysis requests") { t in
            t.contract = try contracted(t, template: "provision").contract
            t.contract?.template = "analysis"
        },
        Bad(name: "a parameter the template does not have", mentions: "has no parameter 'penaltyKRW'") {
            $0.contract?.parameters["penaltyKRW"] = "1"
        },
        Bad(name: "a parameter left out", mentions: "needs parameter 'liabilityKRW'") { $0.contract?.parameters["liabilityKRW"] = nil },
        Bad(name: "a parameter one past its maximum", mentions: "deletionDays must be at most 30, got 31") {
            $0.contract?.parameters["deletionDays"] = "31"
        },
        Bad(name: "a parameter that is not a number", mentions: "liabilityKRW must be a whole number") {
            $0.contract?.parameters["liabilityKRW"] = "lots"
        },
        Bad(name: "a hash that is not the text's", mentions: "not the hash of its text") { $0.contract?.hash = String(repeating: "0", count: 64) },
        Bad(name: "a retention the template does not allow", mentions: "at most 180 days of retention") { t in
            t.contract = try contracted(t, template: "processing", parameters: ["processor": "Cloud Analytics Ltd"]).contract
            t.retentionDays = 181
        },
        Bad(name: "a processor name with characters a name does not have", mentions: "processor must be 1 to 64 letters") { t in
            t.contract = try contracted(t, template: "processing", parameters: ["processor": "Cloud Analytics Ltd"]).contract
            t.contract?.parameters["processor"] = "<script>"
        },
    ]

    @Test("a request whose contract the policy does not allow is refused with invalidContract and appends nothing", arguments: bad)
    func refused(_ bad: Bad) async throws {
        let f = try await BrokerFixture()
        var terms = try Self.contracted(f.vehicleTerms())
        try bad.change(&terms)
        let head = try await f.store.head().sequence
        do {
            try await f.request(terms: terms)
            Issue.record("the request was accepted")
        } catch let error as ConsentError {
            #expect(error.code == .invalidContract, "\(error)")
            #expect(error.message.contains(bad.mentions), "\(error.message)")
        }
        #expect(try await f.store.head().sequence == head)
    }

    @Test(
        "a request without a contract is refused, naming the contracts to choose from, when the policy has templates for it",
        arguments: Backend.available)
    func contractRequired(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let policy = try #require(try await f.store.activePolicy())
        let head = try await f.store.head().sequence
        let event = ConsentRequested(
            requestID: Identifiers.random(prefix: "req"), recipient: f.recipient.id, subject: nil, terms: f.vehicleTerms(),
            offerExpiresAt: f.clock.now().adding(days: 30), policyVersion: policy.version)
        do {
            try await f.broker.submit(f.recipient.sign(.consentRequested(event), at: f.clock.now()))
            Issue.record("a request without a contract was accepted")
        } catch let error as ConsentError {
            #expect(error.code == .invalidContract, "\(error)")
            #expect(
                error.message.contains("vehicle data is shared only under a standard contract: name one of processing, provision"), "\(error.message)"
            )
        }
        #expect(try await f.store.head().sequence == head, "nothing appended")
    }

    @Test("a category allows only the contracts it names, on both stores", arguments: Backend.available)
    func categoryLimits(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let policy = try #require(try await f.store.activePolicy()).policy
        var health = ConsentTerms(
            category: "health", items: ["health.vitals"], purpose: "health-services", dataFrom: f.clock.now().adding(days: -30),
            dataTo: f.clock.now().adding(days: 30), durationDays: 30, onceOff: false, retentionDays: 30, incentiveKRW: 0)
        #expect(StandardContract.templates(for: health, policy: policy).map(\.id) == ["provision"])
        do {
            health.contract = try StandardContract.make(
                template: "processing", parameters: ["processor": "Cloud Analytics Ltd"], terms: health, recipient: f.recipient.id,
                policy: policy
            ).reference
            Issue.record("processing was allowed for health data")
        } catch {
            #expect(error.code == .invalidContract && error.message.contains("health data may not be shared under contract 'processing'"))
        }
        health.contract = try StandardContract.make(template: nil, parameters: [:], terms: health, recipient: f.recipient.id, policy: policy)
            .reference
        #expect(health.contract?.template == "provision")
        let person = try await f.person()
        let consent = try await f.grant(try await f.request(terms: health), by: person, sensitiveConfirmed: true)
        #expect(consent.terms.contract == health.contract)
    }
}
