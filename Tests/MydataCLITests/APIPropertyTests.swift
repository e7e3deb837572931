import Broker
import BrokerServer
import Foundation
import MyDataClient
import Sodium
import TestSupport
import Testing

/// The API against its own document: schemathesis generates valid and invalid requests for every
/// operation of docs/openapi.yaml, signed by the independent Python client's method, as a
/// manufacturer, a recipient and a new person. No 5xx, every answer as documented, every error
/// problem+json, and the ledger verifies afterwards.
struct APIPropertyTests {
    static let schemathesisReady = PythonModules.available(["schemathesis", "http_message_signatures", "nacl", "requests"])

    @Test(
        "every operation of the OpenAPI document answers as documented to generated requests, valid and invalid; the ledger verifies after",
        .enabled(if: schemathesisReady, "needs Python with schemathesis, http-message-signatures, pynacl and requests (.ci/run installs them)"))
    func documentHolds() throws {
        let broker = try RunningBroker()
        let examples = ProcessInfo.processInfo.environment["MYDATA_API_EXAMPLES"] ?? "25"
        let (status, text) = try PythonClient.run(
            "api_properties.py",
            [
                broker.baseURL.absoluteString, broker.dir.file("data/keys/hanbit-motors.key").path,
                broker.dir.file("data/keys/safedrive-insurance.key").path, "--person", "--max-examples", examples, "--max-time", "240",
            ])
        print(text.split(separator: "\n").filter { $0.contains("pass") || $0.contains("total") || $0.contains("seed") }.joined(separator: "\n"))
        #expect(status == 0, "\(text.suffix(6_000))")
        broker.stop()
        let verify = try broker.cli.run(["admin", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("a percent-encoded id in the path names the same account as the plain one")
    func percentEncodedPathID() async throws {
        let broker = try RunningBroker()
        let recipient = BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("safedrive-insurance"))
        let plain = try await recipient.send("GET", "/v1/accounts/recipient:safedrive-insurance:cash/transfers")
        let encoded = try await recipient.send("GET", "/v1/accounts/recipient%3Asafedrive-insurance%3Acash/transfers")
        #expect(plain.status == 200, "\(String(decoding: plain.body, as: UTF8.self))")
        #expect(encoded.status == 200, "\(String(decoding: encoded.body, as: UTF8.self))")
    }
}
