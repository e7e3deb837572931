import Broker
import Consent
import Foundation
import HTTPTypes
import Ledger
import MyDataClient
import MyDataWire
import OpenAPIRuntime
import OpenAPIURLSession
import Sodium
import Synchronization
import TestSupport
import Testing

/// The client library against `mydata serve`: typed calls, the signing middleware, openers that
/// refuse what the broker did not send, problems as typed errors, retries only where safe.
struct MyDataClientTests {
    /// A person with a confirmed car and a consent to the SafeDrive demo offer.
    struct World {
        let broker: RunningBroker
        let maker: MyDataClient
        let startup: MyDataClient
        let consentID: String
        /// Records are timed from here, so the same range is the same bytes.
        let now = Timestamp.now()

        init(transport: any ClientTransport = URLSessionTransport()) async throws {
            broker = try RunningBroker()
            let brokerKey = try broker.brokerKey
            maker = MyDataClient(baseURL: broker.baseURL, identity: try broker.party("hanbit-motors"), brokerKey: brokerKey)
            startup = MyDataClient(
                baseURL: broker.baseURL, identity: try broker.party("safedrive-insurance"), brokerKey: brokerKey, transport: transport)
            let person = try Identity.generateSubject()
            let me = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
            let (body, consentID) = try await HTTPAPITests.grantBody(broker, person: person)
            #expect(try await me.send("POST", "/v1/consents", body: body).status == 201)
            self.consentID = consentID
            try await maker.attestDevice("car-1", subject: person.id)
            let confirm = try person.sign(
                .deviceConfirmed(DeviceConfirmed(deviceID: "car-1", manufacturer: "hanbit-motors", subject: person.id)), at: .now())
            #expect(try await me.send("POST", "/v1/devices", body: try HTTPAPITests.submit([confirm])).status == 201)
        }

        func records(_ range: Range<Int>) -> [TelemetryRecord] {
            range.map { n in
                TransferTests.record("car-1", "vehicle.driving", now.adding(seconds: Int64(-1 - n)), km: Double(n))
            }
        }
    }

    @Test("push, pull and list deliveries through the library: every record once, each page checked, a repeat the same delivery")
    func pushAndPull() async throws {
        let w = try await World()
        let first = try await w.maker.push(w.records(0..<30), idempotencyKey: "batch-1")
        #expect(first.accepted == 30 && first.rejected == 0 && !first.replayed)
        let again = try await w.maker.push(w.records(0..<30), idempotencyKey: "batch-1")
        #expect(again.replayed, "the same key and bytes: answered from the ledger, stored once")
        var cursor = "0", pulled: [TelemetryRecord] = [], pages: [TransferService.Delivery] = []
        while true {
            let page = try await w.startup.pull(consentID: w.consentID, after: cursor, limit: 12)
            pulled += page.records
            pages.append(page)
            cursor = page.nextCursor
            if !page.hasMore { break }
        }
        #expect(pulled.count == 30 && pages.count == 3)
        let repeated = try await w.startup.pull(consentID: w.consentID, after: pages[1].after, limit: 12)
        #expect(repeated.replayed && repeated.deliveryID == pages[1].deliveryID && repeated.records == pages[1].records)
        let logged = try await w.startup.deliveries(consentID: w.consentID)
        #expect(logged.map(\.deliveryID) == pages.compactMap(\.deliveryID), "the broker's record, oldest first")
        #expect(logged.map(\.digest) == pages.compactMap(\.digest))
        // A sealed stream of what comes next.
        _ = try await w.maker.push(w.records(30..<40))
        let stream = try await w.startup.pullStream(consentID: w.consentID, after: cursor)
        #expect(stream.records.count == 10 && !stream.trailer.hasMore)
    }

    @Test("a delivery checked against another broker key, or opened by another party, is refused as not from the broker")
    func openersRefuseWhatTheBrokerDidNotSend() async throws {
        let w = try await World()
        _ = try await w.maker.push(w.records(0..<3))
        let impostor = MyDataClient(
            baseURL: w.broker.baseURL, identity: try w.broker.party("safedrive-insurance"), brokerKey: try SigningKey().verifyingKey)
        await #expect {
            _ = try await impostor.pull(consentID: w.consentID)
        } throws: { error in
            if case MyDataClientError.notFromBroker = error { true } else { false }
        }
        await #expect {
            _ = try await impostor.pullStream(consentID: w.consentID)
        } throws: { error in
            if case MyDataClientError.notFromBroker = error { true } else { false }
        }
    }

    @Test("the broker's refusals arrive as MyDataClientError with their code, from the helpers and from generated calls")
    func problemsAreTyped() async throws {
        let w = try await World()
        await #expect {
            _ = try await w.startup.pull(consentID: "con_nope")
        } throws: { error in
            (error as? MyDataClientError)?.code == "consentNotFound"
        }
        await #expect {
            _ = try await w.maker.pull(consentID: w.consentID)
        } throws: { error in
            (error as? MyDataClientError)?.code == "wrongRole"
        }
        // A generated call, through call { }: the ClientError around it is gone.
        await #expect {
            _ = try await w.startup.call { try await w.startup.api.getConsentReceipt(path: .init(id: w.consentID)) }
        } throws: { error in
            (error as? MyDataClientError)?.code == "notConsentSubject"
        }
        let accounts = try await w.startup.call { try await w.startup.api.listAccounts() }.ok.body.json.accounts
        #expect(accounts.contains { $0.id == "recipient:safedrive-insurance:cash" })
    }

    /// Answers 503 for the first `failures` requests of each operation it is told to fail, then
    /// sends the rest to the broker (the network misbehaving, not a part of ours).
    final class FlakyTransport: ClientTransport {
        let inner = URLSessionTransport()
        let failures: Int
        let seen = Mutex<[String: Int]>([:])
        init(failures: Int) { self.failures = failures }

        func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
            let count = seen.withLock {
                $0[operationID, default: 0] += 1; return $0[operationID]!
            }
            if count <= failures {
                return (
                    HTTPResponse(status: .serviceUnavailable, headerFields: [.contentType: "application/problem+json", .retryAfter: "0"]),
                    HTTPBody(#"{"code":"overloaded","detail":"busy","status":503,"title":"Service Unavailable","type":"x"}"#)
                )
            }
            return try await inner.send(request, body: body, baseURL: baseURL, operationID: operationID)
        }

        func attempts(_ operationID: String) -> Int { seen.withLock { $0[operationID, default: 0] } }
    }

    @Test("a 503 is retried, signed afresh, for a GET and a keyed push; an unkeyed push is not retried")
    func retriesOnlyWhatIsSafe() async throws {
        let flaky = FlakyTransport(failures: 2)
        let w = try await World(transport: flaky)
        _ = try await w.maker.push(w.records(0..<5))
        let page = try await w.startup.pull(consentID: w.consentID)
        #expect(page.records.count == 5, "the third attempt, with a fresh nonce, was answered")
        #expect(flaky.attempts("pullData") == 3)
        // The startup's own pushes would be refused (wrongRole), but only after the retries:
        // a keyed push is retried, an unkeyed one is not.
        await #expect(throws: MyDataClientError.self) { _ = try await w.startup.push(w.records(0..<1), idempotencyKey: "k1") }
        #expect(flaky.attempts("pushTelemetry") == 3)
        let unkeyed = FlakyTransport(failures: 1)
        let once = MyDataClient(baseURL: w.broker.baseURL, identity: try w.broker.party("hanbit-motors"), transport: unkeyed)
        await #expect {
            _ = try await once.push(w.records(0..<1))
        } throws: { error in
            (error as? MyDataClientError)?.code == "overloaded"
        }
        #expect(unkeyed.attempts("pushTelemetry") == 1)
    }

    @Test("a page's digest read over the records' bytes as the broker wrote them is the digest of the records")
    func digestOverTheWrittenBytes() throws {
        let records = try (0..<3).map { n in
            try CanonicalJSON.encode(TransferTests.record("car-1", "vehicle.driving", Timestamp(milliseconds: 1_000 + Int64(n)), km: Double(n)))
        }
        for (records, replayed) in [(records, false), (records, true), ([], false)] {
            let page = TransferService.CanonicalDelivery(
                deliveryID: "dlv_1", consentID: "con_1", after: .start, records: records,
                positions: records.indices.map { RecordCursor(batchSequence: 5, recordID: Int64($0 + 1)) },
                nextCursor: RecordCursor(batchSequence: 5, recordID: 3), hasMore: false, replayed: replayed,
                digest: TransferService.digest(ofCanonical: records), ledgerSequence: 7)
            #expect(MyDataClient.recordsDigest(in: TransferService.deliveryJSON(page)) == page.digest, "replayed \(replayed)")
        }
        #expect(MyDataClient.recordsDigest(in: Array(#"{"records":[]}"#.utf8)) == nil, "another layout: the records are encoded again")
    }

    @Test("a page that does not answer the cursor asked for is refused: another start, positions out of order, a cursor behind them")
    func pagesMustAnswerTheirCursor() throws {
        try MyDataClient.checkPositions(after: "0", positions: ["3.1", "3.2", "4.1"], next: "4.1", asked: "0")
        try MyDataClient.checkPositions(after: "4.1", positions: [], next: "4.1", asked: "4.1")
        try MyDataClient.checkPositions(after: "0", positions: ["3.1"], next: "9.9", asked: "0.0")
        for (after, positions, next, asked) in [
            ("0", ["3.1"], "3.1", "3.1"),  // an older page, sent again for a later cursor
            ("3.1", ["3.1"], "3.1", "3.1"),  // a record at the cursor itself
            ("0", ["3.2", "3.1"], "3.2", "0"),  // positions not rising
            ("0", ["3.1", "3.2"], "3.1", "0"),  // continues before its last record
            ("0", ["x"], "3.1", "0"),  // not a cursor
        ] {
            #expect(throws: MyDataClientError.self, "\(after) \(positions) \(next) asked \(asked)") {
                try MyDataClient.checkPositions(after: after, positions: positions, next: next, asked: asked)
            }
        }
    }
}
