import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
import Ledger
import Sodium
import TestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Offered more than it can do, the broker refuses at once what exceeds its bounds (503, or 429
/// for one party over its share, both with Retry-After) and keeps serving everyone else: other
/// parties, and every revocation.
struct FloodTests {
    /// A signed request's status, its Retry-After, and its problem code.
    struct Answer { var status: Int; var retryAfter: String?; var code: String? }

    static func send(_ client: BrokerHTTPClient, _ method: String, _ path: String, body: Data? = nil) async throws -> Answer {
        let request = try client.signedRequest(method, path, body: body)
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        let code = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["code"] as? String
        return Answer(status: http.statusCode, retryAfter: http.value(forHTTPHeaderField: "Retry-After"), code: code)
    }

    /// The shipped policies with the recipients' share cut to `rate` requests per second.
    static func policies(recipientRate rate: Int, in dir: TemporaryDirectory) throws -> URL {
        let url = dir.file("policies")
        try FileManager.default.copyItem(at: Repository.policies, to: url)
        let file = url.appendingPathComponent("policy.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let cut = text.replacingOccurrences(
            of: "recipient: { requestsPerSecond: 1000, burst: 2000,",
            with: "recipient: { requestsPerSecond: \(rate), burst: \(rate),")
        #expect(cut != text, "the shipped policy sets the recipients' share")
        try cut.write(to: file, atomically: true, encoding: .utf8)
        return url
    }

    /// A person who grants `count` consents to the demo insurer over HTTP; their consent ids.
    static func grants(_ broker: RunningBroker, count: Int) async throws -> [(BrokerHTTPClient, Identity, String)] {
        var granted: [(BrokerHTTPClient, Identity, String)] = []
        for _ in 0..<count {
            let person = try Identity.generateSubject()
            let client = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
            let (body, consentID) = try await HTTPAPITests.grantBody(broker, person: person)
            #expect(try await client.send("POST", "/v1/consents", body: body).status == 201)
            granted.append((client, person, consentID))
        }
        return granted
    }

    static func revoke(_ client: BrokerHTTPClient, _ person: Identity, _ consentID: String) async throws -> Answer {
        let revoke = try person.sign(.consentRevoked(ConsentRevoked(consentID: consentID, subject: person.id)), at: .now())
        return try await send(client, "POST", "/v1/consents/\(consentID)/revoke", body: try HTTPAPITests.submit([revoke]))
    }

    @Test("a recipient flooding the broker gets 429 with Retry-After past its share; another party and every revocation are still served")
    func oneRecipientFloods() async throws {
        let dir = TemporaryDirectory("mydata-flood")
        let broker = try RunningBroker(policies: try Self.policies(recipientRate: 20, in: dir))
        let people = try await Self.grants(broker, count: 8)
        let flooder = BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("safedrive-insurance"))
        let other = BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("fixit-ai"))

        async let flood: [Answer] = withThrowingTaskGroup(of: [Answer].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var answers: [Answer] = []
                    for _ in 0..<40 { answers.append(try await Self.send(flooder, "GET", "/v1/consent-requests")) }
                    return answers
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        // While the flood runs: the other recipient at a polite pace, and every person revokes.
        var others: [Answer] = []
        var revocations: [Answer] = []
        for (client, person, consentID) in people {
            others.append(try await Self.send(other, "GET", "/v1/consent-requests"))
            revocations.append(try await Self.revoke(client, person, consentID))
        }
        let flooded = try await flood

        let limited = flooded.filter { $0.status == 429 }
        #expect(!limited.isEmpty, "the flooder went past 20 requests per second")
        #expect(limited.allSatisfy { $0.code == "rateLimited" && Int($0.retryAfter ?? "") ?? 0 >= 1 }, "429 is problem+json with Retry-After")
        #expect(flooded.allSatisfy { [200, 429, 503].contains($0.status) }, "\(Set(flooded.map(\.status)))")
        #expect(others.allSatisfy { $0.status == 200 }, "the other recipient is not held to the flooder's share: \(others.map(\.status))")
        #expect(revocations.allSatisfy { $0.status == 200 }, "every revocation went through: \(revocations.map(\.status))")

        let (metrics, _) = try await URLSession.shared.data(from: broker.baseURL.appendingPathComponent("metrics"))
        let text = String(decoding: metrics, as: UTF8.self)
        #expect(text.contains(#"mydata_http_refused_total{reason="rateLimited"}"#), "refusals are counted")
        #expect(text.contains(#"mydata_party_throttled_total{party="safedrive-insurance"}"#))
        broker.stop()
        #expect(try broker.cli.run(["admin", "verify"]).status == 0)
    }

    @Test(
        "beyond the bound on work in flight requests are refused at once with 503 and Retry-After, a revocation still gets through, and the slot comes back"
    )
    func boundedInFlight() async throws {
        let broker = try RunningBroker(serveArguments: ["--requests-in-flight-max", "1"])
        let people = try await Self.grants(broker, count: 1)
        let (client, person, consentID) = people[0]
        // A request whose body never comes holds the one slot.
        let stalled = try StalledRequest(port: broker.baseURL.port!)
        var refused: Answer?
        for _ in 0..<100 {
            let answer = try await Self.send(client, "GET", "/v1/consents")
            if answer.status == 503 { refused = answer; break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        let overload = try #require(refused, "a second request is refused while the slot is held")
        #expect(overload.code == "overloaded")
        #expect(overload.retryAfter == "1")
        let (ready, readyResponse) = try await URLSession.shared.data(from: broker.baseURL.appendingPathComponent("readyz"))
        #expect(
            (readyResponse as! HTTPURLResponse).statusCode == 200,
            "probes are answered during the overload: \(String(decoding: ready, as: UTF8.self))")
        #expect(try await Self.revoke(client, person, consentID).status == 200, "a revocation uses the reserve")

        stalled.close()
        var after = 0
        for _ in 0..<100 where after != 200 {
            after = try await Self.send(client, "GET", "/v1/consents").status
            if after != 200 { try await Task.sleep(nanoseconds: 20_000_000) }
        }
        #expect(after == 200, "the slot came back once the stalled request's connection closed")
    }
}

/// A raw TCP connection that sends a request's head and never its body.
final class StalledRequest: @unchecked Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
        let head = "POST /v1/telemetry HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        _ = head.withCString { send(fd, $0, strlen($0), 0) }
    }

    private var closed = false

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    deinit { close() }
}
