import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import Sodium
import TestSupport
import Testing

/// Party keys change only by ledger events: `admin party rotate`, or a changed file in the
/// `Keys/` trust store loaded at start. The old key stops working at once.
struct KeyRotationTests {
    /// A recipient's offer signed with `identity`, over HTTP.
    static func offer(_ broker: RunningBroker, by identity: Identity) async throws -> Int {
        let policy = try await broker.policy()
        let now = Timestamp.now()
        let terms = try StandardContract.attach(
            template: nil, parameters: [:],
            to: ConsentTerms(
                category: "vehicle", items: ["vehicle.driving"], purpose: "usage-based-insurance",
                dataFrom: now.adding(days: -30), dataTo: now.adding(days: 30), durationDays: 30,
                onceOff: false, retentionDays: 30, incentiveKRW: 1_000),
            recipient: identity.id, policy: policy.policy)
        let event = ConsentRequested(
            requestID: Identifiers.random(prefix: "req"), recipient: identity.id, subject: nil,
            terms: terms, offerExpiresAt: now.adding(days: 30), policyVersion: policy.version)
        let client = BrokerHTTPClient(baseURL: broker.baseURL, identity: identity)
        return try await client.send(
            "POST", "/v1/consent-requests", body: try HTTPAPITests.submit([try identity.sign(.consentRequested(event), at: now)])
        ).status
    }

    @Test("after admin party rotate the old key gets 401, the new key works, and the ledger still verifies")
    func rotateByCommand() async throws {
        let broker = try RunningBroker()
        let old = try broker.party("fixit-ai")
        #expect(try await BrokerHTTPClient(baseURL: broker.baseURL, identity: old).send("GET", "/v1/consents").status == 200)

        let rotated = try broker.cli.run(["admin", "party", "rotate", "fixit-ai"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let new = try broker.party("fixit-ai")
        #expect(new.publicKeys.signingKey != old.publicKeys.signingKey)

        #expect(try await BrokerHTTPClient(baseURL: broker.baseURL, identity: old).send("GET", "/v1/consents").status == 401)
        #expect(try await Self.offer(broker, by: old) == 401)
        #expect(try await Self.offer(broker, by: new) == 201, "events signed with the new key are accepted")

        let again = try broker.cli.run(["admin", "party", "rotate", "fixit-ai", "--public-key-file", broker.dir.file("data/keys/fixit-ai.pub").path])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already has these keys"), "\(again.stderr)")

        broker.stop()
        let verify = try broker.cli.run(["admin", "verify"])
        #expect(verify.status == 0, "the verifier learns the rotated key from the ledger: \(verify.stdout)\(verify.stderr)")
    }

    @Test("a party rotates its own keys over signed HTTP, proving it holds the new key; a wrong proof changes nothing")
    func rotateOverAPI() async throws {
        let broker = try RunningBroker()
        let old = try broker.party("ecowatt")
        let new = try Identity.generate(id: "ecowatt")
        struct Body: Encodable { var signingKey: String; var boxKey: String; var proof: String }
        let keys = new.publicKeys
        let client = BrokerHTTPClient(baseURL: broker.baseURL, identity: old)

        // Signed by someone else's key: the proof does not verify, nothing is appended.
        let head = try await broker.ledgerHead()
        let forged = Body(
            signingKey: keys.signingKey, boxKey: keys.boxKey,
            proof: Base64.encode(try SigningKey().sign(BrokerService.rotationProof(party: "ecowatt", keys: keys)).bytes))
        #expect(try await client.send("POST", "/v1/parties/me/keys", body: try JSONEncoder().encode(forged)).status == 401)
        #expect(try await broker.ledgerHead() == head)

        let proof = new.signingKey.sign(BrokerService.rotationProof(party: "ecowatt", keys: keys))
        let rotated = try await client.send(
            "POST", "/v1/parties/me/keys",
            body: try JSONEncoder().encode(Body(signingKey: keys.signingKey, boxKey: keys.boxKey, proof: Base64.encode(proof.bytes))))
        #expect(rotated.status == 200, "\(String(decoding: rotated.body, as: UTF8.self))")
        #expect(try await client.send("GET", "/v1/consents").status == 401, "the old key is refused at once")
        #expect(try await BrokerHTTPClient(baseURL: broker.baseURL, identity: new).send("GET", "/v1/consents").status == 200)
        broker.stop()
        #expect(try broker.cli.run(["admin", "verify"]).status == 0)
    }

    @Test("the trust store registers new parties and rotates changed keys at start; a bad file stops the start and changes nothing")
    func trustStoreAtStart() async throws {
        let keys = TemporaryDirectory("mydata-keys")
        let newcomer = try Identity.generate(id: "acme-labs")
        var newcomerKeys = newcomer.publicKeys
        newcomerKeys.role = "recipient"
        newcomerKeys.name = "Acme Labs"
        try DataDirectory.writePublicKeys(newcomerKeys, to: keys.file("acme-labs.pub"))
        let replacement = try Identity.generate(id: "safedrive-insurance")
        var replacementKeys = replacement.publicKeys
        replacementKeys.role = "recipient"
        try DataDirectory.writePublicKeys(replacementKeys, to: keys.file("safedrive-insurance.pub"))
        try Data("public keys only\n".utf8).write(to: keys.file("README.md"))

        let broker = try RunningBroker(trustStore: keys.url)
        #expect(broker.startLines.contains { $0.contains("2 parties, 1 registered, 1 rotated (safedrive-insurance)") }, "\(broker.startLines)")
        #expect(try await BrokerHTTPClient(baseURL: broker.baseURL, identity: newcomer).send("GET", "/v1/consents").status == 200)
        #expect(try await BrokerHTTPClient(baseURL: broker.baseURL, identity: replacement).send("GET", "/v1/consents").status == 200)
        #expect(
            try await BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("safedrive-insurance"))
                .send("GET", "/v1/consents").status == 401, "the demo key the file replaced is refused")
        broker.stop()

        let verify = try broker.cli.run(["admin", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

        // Another broker's broker.pub, or a role that contradicts the ledger, refuses to start.
        let foreign = try Identity.generate(id: "broker")
        try DataDirectory.writePublicKeys(foreign.publicKeys, to: keys.file("broker.pub"))
        let refused = try broker.cli.run(["serve", "--port", "0", "--trust-store", keys.url.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("another broker's key"), "\(refused.stderr)")
        try FileManager.default.removeItem(at: keys.file("broker.pub"))
        var wrongRole = newcomerKeys
        wrongRole.role = "manufacturer"
        try DataDirectory.writePublicKeys(wrongRole, to: keys.file("acme-labs.pub"))
        let newcomerTwo = try Identity.generate(id: "zeta-labs")
        var zeta = newcomerTwo.publicKeys
        zeta.role = "recipient"
        try DataDirectory.writePublicKeys(zeta, to: keys.file("zeta-labs.pub"))
        let contradicted = try broker.cli.run(["serve", "--port", "0", "--trust-store", keys.url.path])
        #expect(contradicted.status != 0)
        #expect(contradicted.stderr.contains("registered as recipient"), "\(contradicted.stderr)")
        let parties = try broker.cli.run(["admin", "party", "list", "--json"])
        #expect(!parties.stdout.contains("zeta-labs"), "a refused start registers nobody")
    }
}
