import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
import MyDataWire
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import Sodium
import Storage
import TestSupport
import Testing

/// The API over real HTTP on loopback, against the built `mydata serve`.
struct HTTPAPITests {
    static func submit(_ events: [NewEvent]) throws -> Data {
        try JSONEncoder().encode(SubmitBody(events: events.map(WireEvent.init)))
    }

    /// A person's grant of the demo SafeDrive offer, with their key registration.
    static func grantBody(_ broker: RunningBroker, person: Identity) async throws -> (Data, String) {
        let client = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
        let list = try await client.send("GET", "/v1/consent-requests").decode(RequestList.self)
        let request = try #require(list.requests.first { $0.request.recipient == "safedrive-insurance" }?.request)
        let policy = try await broker.policy()
        let now = Timestamp.now()
        let grant = ConsentDrafts.grant(of: request, by: person.id, policy: policy, now: now, sensitiveConfirmed: false)
        let events = [try person.sign(ConsentDrafts.registration(of: person), at: now), try person.sign(grant, at: now)]
        return (try submit(events), Identifiers.consentID(requestID: request.id, subject: person.id))
    }

    @Test("a person lists offers, grants, gets a receipt and revokes over signed HTTP; the ledger verifies after a graceful stop")
    func consentOverHTTP() async throws {
        let broker = try RunningBroker()
        let person = try Identity.generateSubject()
        let client = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
        let (body, consentID) = try await Self.grantBody(broker, person: person)
        let granted = try await client.send("POST", "/v1/consents", body: body)
        #expect(granted.status == 201, "\(String(decoding: granted.body, as: UTF8.self))")

        let mine = try await client.send("GET", "/v1/consents").decode(ConsentList.self)
        #expect(mine.consents.map(\.consent.id) == [consentID])
        #expect(mine.consents.first?.status == "active")
        let recipient = BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("safedrive-insurance"))
        #expect(try await recipient.send("GET", "/v1/consents").decode(ConsentList.self).consents.map(\.consent.id) == [consentID])

        let receipt = try await client.send("GET", "/v1/consents/\(consentID)/receipt")
        #expect(receipt.status == 200)
        let verified = try ReceiptVerifier.verify(receipt.body, brokerKey: try broker.brokerKey)
        #expect(verified.receipt.recordID == consentID)

        let revoke = try person.sign(.consentRevoked(ConsentRevoked(consentID: consentID, subject: person.id)), at: .now())
        #expect(try await client.send("POST", "/v1/consents/\(consentID)/revoke", body: try Self.submit([revoke])).status == 200)
        #expect(try await client.send("GET", "/v1/consents").decode(ConsentList.self).consents.first?.status == "revoked")
        let again = try person.sign(.consentRevoked(ConsentRevoked(consentID: consentID, subject: person.id)), at: .now())
        let twice = try await client.send("POST", "/v1/consents/\(consentID)/revoke", body: try Self.submit([again]))
        #expect(twice.status == 409)
        #expect(twice.contentType == "application/problem+json")
        #expect(try twice.decode(Problem.self).code == "consentAlreadyRevoked")

        broker.stop()
        #expect(broker.process.terminationStatus == 0, "SIGTERM stops the server gracefully")
        // The store service, ended last, signed a checkpoint over everything the server appended
        // (read before any other command could sign one).
        let store = try SQLiteStore(path: broker.cli.dataDir + "/ledger.sqlite")
        #expect(try await store.checkpoints().last?.sequence == (try await store.head()).sequence, "the head is checkpointed at the stop")
        store.close()
        #expect(try broker.cli.run(["admin", "verify"]).status == 0)
    }

    @Test("a JSON error names the field")
    func jsonErrorsNameTheField() async throws {
        let broker = try RunningBroker()
        let client = BrokerHTTPClient(baseURL: broker.baseURL, identity: try Identity.generateSubject())
        let reply = try await client.send("POST", "/v1/consents", body: Data(#"{"events":[{"streamID":"x"}]}"#.utf8))
        #expect(reply.status == 400)
        let problem = try reply.decode(Problem.self)
        #expect(problem.detail.contains("events[0]"), "\(problem.detail)")
    }

    enum Tamper: String, CaseIterable, Sendable {
        case unsigned, stale, replayedNonce, unknownKey, suspendedKey, wrongDigest, badSignature, insufficientCoverage
    }

    @Test("requests outside the rules get 401 and change nothing", arguments: Tamper.allCases)
    func authenticationFailures(_ tamper: Tamper) async throws {
        let broker = try RunningBroker()
        let person = try Identity.generateSubject()
        let (body, _) = try await Self.grantBody(broker, person: person)
        let client = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
        if tamper == .suspendedKey {
            #expect(try broker.cli.run(["admin", "party", "suspend", "safedrive-insurance"]).status == 0)
        }
        let headBefore = try await broker.ledgerHead()
        var request: URLRequest
        switch tamper {
        case .unsigned:
            request = try client.signedRequest("POST", "/v1/consents", body: body)
            request.setValue(nil, forHTTPHeaderField: "Signature")
            request.setValue(nil, forHTTPHeaderField: "Signature-Input")
        case .stale:
            request = try client.signedRequest("POST", "/v1/consents", body: body, created: Timestamp.now().milliseconds / 1000 - 301)
        case .replayedNonce:
            let probe = try await client.send("GET", "/v1/consents", nonce: "once-only")
            #expect(probe.status == 200)
            request = try client.signedRequest("POST", "/v1/consents", body: body, nonce: "once-only")
        case .unknownKey:
            request = try BrokerHTTPClient(baseURL: broker.baseURL, identity: try Identity.generate(id: "no-such-party"))
                .signedRequest("GET", "/v1/consents")
        case .suspendedKey:
            request = try BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("safedrive-insurance"))
                .signedRequest("GET", "/v1/consents")
        case .wrongDigest:
            request = try client.signedRequest("POST", "/v1/consents", body: body)
            request.httpBody = body + Data(" ".utf8)
        case .badSignature:
            // Mallory signs as the person, offering the person's real key.
            let mallory = Identity(id: person.id, signingKey: try SigningKey(), boxKey: person.boxKey)
            request = try BrokerHTTPClient(baseURL: broker.baseURL, identity: mallory, announceKey: false)
                .signedRequest("POST", "/v1/consents", body: body)
            request.setValue(person.publicKeys.signingKey, forHTTPHeaderField: "MyData-Subject-Key")
        case .insufficientCoverage:
            request = try client.signedRequest("POST", "/v1/consents", body: body)
            let input = request.value(forHTTPHeaderField: "Signature-Input")!
            let stripped = SignedRequest(
                method: "POST", scheme: "http", authority: broker.baseURL.host! + ":\(broker.baseURL.port!)",
                path: "/v1/consents", query: nil, fields: [:])
            let (newInput, newSig) = try HTTPMessageSignatures.sign(
                stripped, covered: ["@method", "@target-uri"], keyID: person.id,
                key: person.signingKey, created: Timestamp.now().milliseconds / 1000, nonce: "nd-1")
            #expect(input != newInput)
            request.setValue(newInput, forHTTPHeaderField: "Signature-Input")
            request.setValue(newSig, forHTTPHeaderField: "Signature")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as! HTTPURLResponse).statusCode
        #expect(status == 401, "\(tamper): \(String(decoding: data, as: UTF8.self))")
        #expect((try? JSONDecoder().decode(Problem.self, from: data))?.status == 401)
        #expect(try await broker.ledgerHead() == headBefore, "nothing was appended")
        let consents = try await client.send("GET", "/v1/consents")
        if consents.status == 200 { #expect(try consents.decode(ConsentList.self).consents.isEmpty) }
    }
}

/// A client written without any of the broker's code: Python's http-message-signatures and PyNaCl.
struct IndependentClientTests {
    static let pythonReady = PythonModules.available(["http_message_signatures", "nacl", "requests"])

    @Test(
        "the server accepts requests and events signed by an independent implementation",
        .enabled(if: pythonReady, "needs Python with http-message-signatures, pynacl and requests (pip install them; .ci/run does)"))
    func pythonClient() throws {
        let broker = try RunningBroker()
        let (status, text) = try PythonClient.run(
            "independent_client.py", [broker.baseURL.absoluteString, broker.dir.file("data/keys/ecowatt.key").path])
        #expect(status == 0, "\(text)")
        #expect(text.contains("independent client: ok"))
        broker.stop()
        #expect(try broker.cli.run(["admin", "verify"]).status == 0, "the Python-signed event verifies in the ledger")
    }
}

/// The person's `mydata` talking to a broker over HTTP with `--broker`.
struct RemoteCLITests {
    @Test("mydata --broker lists, grants, revokes and fetches a verifiable receipt over signed HTTP")
    func cliOverHTTP() throws {
        let broker = try RunningBroker()
        let home = TemporaryDirectory("mydata-remote")
        let cli = MydataCLI(dataDir: home.file("no-data-dir").path, configDir: home.file("config").path)
        let env = ["MYDATA_BROKER": broker.baseURL.absoluteString]
        #expect(try cli.run(["key", "init"]).status == 0)
        let requests = try #require(try cli.run(["requests", "--json"], environment: env).json() as? [[String: Any]])
        let offer = try #require(requests.map(EndToEndTests.request).first { $0["recipient"] as? String == "fixit-ai" }?["id"] as? String)
        let grant = try cli.run(["grant", offer, "--yes"], environment: env)
        #expect(grant.status == 0, "\(grant.stderr)")
        let consents = try #require(try cli.run(["consents", "--json"], environment: env).json() as? [[String: Any]])
        let consent = try #require(consents.first.map(EndToEndTests.consent)?["id"] as? String)
        let receiptFile = home.file("receipt.json").path
        #expect(try cli.run(["receipt", consent, "-o", receiptFile], environment: env).status == 0)
        #expect(try cli.run(["receipt", "verify", receiptFile, "--broker-key", broker.dir.file("data/keys/broker.pub").path]).status == 0)
        #expect(try cli.run(["revoke", consent], environment: env).status == 0)
        let twice = try cli.run(["revoke", consent], environment: env)
        #expect(twice.status == 3)
        #expect(twice.stderr.contains("consentAlreadyRevoked"))
        broker.stop()
        #expect(try broker.cli.run(["admin", "verify"]).status == 0)
    }
}

struct OpenAPIServedTests {
    @Test("the server serves its OpenAPI document at /v1/openapi.yaml, identical to docs/openapi.yaml")
    func served() async throws {
        let broker = try RunningBroker()
        let (data, response) = try await URLSession.shared.data(from: broker.baseURL.appendingPathComponent("v1/openapi.yaml"))
        #expect((response as! HTTPURLResponse).statusCode == 200)
        #expect(data == (try Data(contentsOf: Repository.root.appendingPathComponent("docs/openapi.yaml"))))
    }

    @Test("behind a TLS proxy the broker checks signatures over its public URL, not the proxy's hop")
    func publicURL() async throws {
        let broker = try RunningBroker(serveArguments: ["--public-url", "https://broker.example"])
        let person = try Identity.generateSubject()
        // Signed for https://broker.example/v1/consents, delivered by the proxy to the loopback port.
        var request = try BrokerHTTPClient(baseURL: URL(string: "https://broker.example")!, identity: person).signedRequest("GET", "/v1/consents")
        request.url = broker.baseURL.appendingPathComponent("v1/consents")
        let (_, proxied) = try await URLSession.shared.data(for: request)
        #expect((proxied as! HTTPURLResponse).statusCode == 200)
        // Signed for the hop the proxy uses: not what clients sign, refused.
        let direct = try await BrokerHTTPClient(baseURL: broker.baseURL, identity: person).send("GET", "/v1/consents")
        #expect(direct.status == 401)
    }

    @Test("listings page newest first with the cursor of the previous page; a made-up cursor is refused")
    func listingCursors() async throws {
        let broker = try RunningBroker()
        let safedrive = try broker.party("safedrive-insurance")
        for _ in 0..<2 { #expect(try await KeyRotationTests.offer(broker, by: safedrive) == 201) }
        let recipient = BrokerHTTPClient(baseURL: broker.baseURL, identity: safedrive)
        struct Page: Decodable { var requests: [RequestItemView]; var nextCursor: String? }
        struct RequestItemView: Decodable { struct R: Decodable { var id: String; var recipient: String }; var request: R }
        let first = try await recipient.send("GET", "/v1/consent-requests?limit=2").decode(Page.self)
        #expect(first.requests.count == 2)
        #expect(first.requests.allSatisfy { $0.request.recipient == "safedrive-insurance" }, "a recipient lists only its own requests")
        let cursor = try #require(first.nextCursor)
        let second = try await recipient.send("GET", "/v1/consent-requests?limit=2&before=\(cursor)").decode(Page.self)
        #expect(second.requests.count == 1, "the demo offer and two more: three in all")
        #expect(second.nextCursor == nil)
        #expect(Set((first.requests + second.requests).map(\.request.id)).count == 3, "no request twice")

        let person = try Identity.generateSubject()
        let me = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
        let (grant, _) = try await HTTPAPITests.grantBody(broker, person: person)
        #expect(try await me.send("POST", "/v1/consents", body: grant).status == 201)
        let offers = try await me.send("GET", "/v1/consent-requests").decode(RequestList.self).requests.map(\.request)
        let policy = try await broker.policy()
        for offer in offers.filter({ $0.recipient == "safedrive-insurance" }) {
            let g = ConsentDrafts.grant(of: offer, by: person.id, policy: policy, now: .now(), sensitiveConfirmed: false)
            #expect(try await me.send("POST", "/v1/consents", body: try HTTPAPITests.submit([try person.sign(g, at: .now())])).status == 201)
        }
        struct Consents: Decodable {
            struct Item: Decodable { struct C: Decodable { var id: String }; var consent: C }; var consents: [Item]; var nextCursor: String?
        }
        var seen: [String] = []
        var before: String? = nil
        repeat {
            let page = try await me.send("GET", "/v1/consents?limit=1" + (before.map { "&before=\($0)" } ?? "")).decode(Consents.self)
            seen += page.consents.map(\.consent.id)
            before = page.nextCursor
        } while before != nil
        #expect(seen.count == 3 && Set(seen).count == 3, "every consent once, page by page: \(seen)")
        #expect(try await me.send("GET", "/v1/consents?before=yesterday").status == 422)
    }
}
