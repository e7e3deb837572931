import Broker
import BrokerServer
import Foundation
import MyDataClient
import Sodium
import TestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Hostile input over HTTP gets a clear error and changes nothing: signature fields past their
/// limit, JSON nested as deep as a body can hold.
struct HTTPInputLimitTests {
    static func answer(_ request: URLRequest) async throws -> (status: Int, detail: String) {
        let (data, response) = try await URLSession.shared.data(for: request)
        let detail = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["detail"] as? String ?? ""
        return ((response as! HTTPURLResponse).statusCode, detail)
    }

    @Test("a Signature-Input field is read up to its limit and refused one byte past it")
    func signatureFieldLimit() async throws {
        let broker = try RunningBroker()
        let head = try await broker.ledgerHead()
        let client = BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("safedrive-insurance"))
        for extra in [0, 1] {
            var request = try client.signedRequest("GET", "/v1/consents")
            let input = request.value(forHTTPHeaderField: "Signature-Input")!
            // A long but harmless parameter, padded so the field is exactly at (or one past) the limit.
            let padded = input + ";tag=\"" + String(repeating: "a", count: APILimits.signatureFieldBytesMax - input.utf8.count - 7 + extra) + "\""
            #expect(padded.utf8.count == APILimits.signatureFieldBytesMax + extra)
            request.setValue(padded, forHTTPHeaderField: "Signature-Input")
            let (status, detail) = try await Self.answer(request)
            #expect(status == 401)
            #expect(detail.contains("at most \(APILimits.signatureFieldBytesMax)") == (extra == 1), "\(detail)")
        }
        #expect(try await broker.ledgerHead() == head, "nothing was appended")
    }

    @Test("a body of nothing but nested brackets is refused as JSON, and the broker goes on answering", arguments: ["[", "{\"a\":"])
    func deeplyNestedJSON(opening: String) async throws {
        let broker = try RunningBroker()
        let person = try Identity.generateSubject()
        let client = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
        let body = Data(String(repeating: opening, count: 200_000).utf8)
        let request = try client.signedRequest("POST", "/v1/consents", body: body)
        let (status, _) = try await Self.answer(request)
        #expect(status == 400)
        let (health, _) = try await URLSession.shared.data(from: broker.baseURL.appendingPathComponent("healthz"))
        #expect(!health.isEmpty, "the broker still answers")
    }
}
