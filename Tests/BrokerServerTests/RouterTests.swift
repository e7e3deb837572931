import Broker
import BrokerServer
import Consent
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Sodium
import TestSupport
import Testing
import Vault
import Yams

/// The router as `BrokerApplication` assembles it, driven in process (HummingbirdTesting): which
/// routes need a signature, what an unknown path gets, and that a refusal changes nothing. The
/// tests that start the built binary remain the end-to-end layer.
struct RouterTests {
    static func router(_ f: BrokerFixture) throws -> Router<BrokerRequestContext> {
        let transfer = TransferService(broker: f.broker, vault: Vault(kek: try SymmetricKey(), store: f.store))
        return BrokerApplication.router(service: f.broker, transfer: transfer, nonces: f.store)
    }

    /// `GET /v1/consents/:id`: a route as the tests name it.
    static func name(_ route: Router<BrokerRequestContext>.RouteDescription) -> String {
        "\(route.method.rawValue) /" + route.path.description.split(separator: "/").joined(separator: "/")
    }

    /// The routes anyone may call: health outside `/v1`, and the public documents under it.
    static let unsigned: Set<String> = [
        "GET /healthz", "GET /readyz", "GET /metrics", "GET /v1/policy", "GET /v1/catalog", "GET /v1/openapi.yaml", "GET /v1/log/checkpoint",
        "GET /v1/log/tile/**", "GET /v1/log/proof/inclusion", "GET /v1/log/proof/consistency", "GET /v1/log/vkey", "GET /v1/quality",
        "GET /v1/quality/certificates", "GET /v1/quality/certificates/{id}", "GET /v1/policies/{hash}",
    ]

    @Test("a policy activated before is served by its hash after a new one is active; an unknown hash is 404 policyNotFound")
    func policiesByHash() async throws {
        let f = try await BrokerFixture()
        let first = try #require(try await f.store.activePolicy())
        let files = try PolicyLoader.files(in: Repository.policies).map { name, text in
            (name, name == "accounting.yaml" ? text.replacingOccurrences(of: "perPullKRW: 10\n", with: "perPullKRW: 11\n") : text)
        }
        try await f.broker.activatePolicy(try PolicyLoader.load(files: files))
        let second = try #require(try await f.store.activePolicy())
        #expect(second.hash != first.hash)
        let app = Application(router: try Self.router(f))
        try await app.test(.router) { client in
            for policy in [first, second] {
                try await client.execute(uri: "/v1/policies/\(policy.hash)", method: .get) { response in
                    #expect(response.status == .ok)
                    struct View: Decodable { var hash: String; var policy: PolicySet }
                    let view = try JSONDecoder().decode(View.self, from: Data(buffer: response.body))
                    #expect(view.hash == policy.hash && view.policy == policy.policy)
                }
            }
            for hash in [String(repeating: "0", count: 64), "not-a-hash", String(repeating: "A", count: 64)] {
                try await client.execute(uri: "/v1/policies/\(hash)", method: .get) { response in
                    #expect(response.status == .notFound, "\(hash)")
                    #expect(String(buffer: response.body).contains("\"code\":\"policyNotFound\""), "\(String(buffer: response.body))")
                }
            }
        }
    }

    @Test("health, policy, catalogue and the OpenAPI document answer without a signature")
    func publicRoutes() async throws {
        let f = try await BrokerFixture()
        let app = Application(router: try Self.router(f))
        try await app.test(.router) { client in
            for path in [
                "/healthz", "/readyz", "/v1/policy", "/v1/catalog", "/v1/quality", "/v1/quality/certificates", "/v1/openapi.yaml", "/v1/log/vkey",
            ] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path): \(response.status)")
                }
            }
        }
    }

    @Test("every other route refuses an unsigned request with 401 problem+json and appends nothing")
    func signedRoutesNeedASignature() async throws {
        let f = try await BrokerFixture()
        let router = try Self.router(f)
        // (method, path with every parameter filled in), as Sendable values for the client.
        let signed = router.routes.filter { !Self.unsigned.contains(Self.name($0)) }.map { route in
            (route.method, "/" + route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "con_x" : String($0) }.joined(separator: "/"))
        }
        #expect(Set(router.routes.map(Self.name)).isSuperset(of: Self.unsigned), "the unsigned routes exist")
        #expect(signed.count >= 20, "the signed routes: \(signed.count)")
        let head = try await f.store.head()
        let app = Application(router: router)
        try await app.test(.router) { client in
            for (method, path) in signed {
                try await client.execute(uri: path, method: method, body: ByteBuffer(string: "{}")) { response in
                    #expect(response.status == .unauthorized, "\(method) \(path): \(response.status)")
                    #expect(response.headers[.contentType] == "application/problem+json", "\(method) \(path)")
                    #expect(String(buffer: response.body).contains("\"code\":\"missingSignature\""), "\(String(buffer: response.body))")
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Signature ") == true, "a 401 says how to authenticate")
                    let accept = response.headers[HTTPField.Name("Accept-Signature")!] ?? ""
                    #expect(accept.contains("\"@method\" \"@target-uri\""), "\(accept)")
                    #expect(accept.contains("content-digest") == (method == .post), "\(method): \(accept)")
                }
            }
        }
        #expect(try await f.store.head() == head, "nothing was appended")
    }

    @Test("an unknown path under /v1 is a 404 problem, signed or not")
    func unknownPath() async throws {
        let f = try await BrokerFixture()
        let app = Application(router: try Self.router(f))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/no-such-thing", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
    }

    @Test("a known path asked with another method is 405 with the methods it answers in Allow, and appends nothing")
    func wrongMethod() async throws {
        let f = try await BrokerFixture()
        let head = try await f.store.head()
        let app = Application(router: try Self.router(f))
        try await app.test(.router) { client in
            for (method, path, allowed) in [
                (HTTPRequest.Method.delete, "/v1/consents/con_x/revoke", "POST"), (.post, "/v1/consents/con_x/data", "GET"),
                (.put, "/v1/telemetry", "POST"), (.post, "/healthz", "GET"), (.get, "/v1/consents", "GET, POST"),
            ] where method != .get {
                try await client.execute(uri: path, method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(path): \(response.status)")
                    #expect(response.headers[.allow] == allowed, "\(method) \(path)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                    #expect(String(buffer: response.body).contains("\"code\":\"methodNotAllowed\""))
                }
            }
        }
        #expect(try await f.store.head() == head)
    }

    @Test("the routes the server serves are exactly the operations of docs/openapi.yaml")
    func routesMatchTheDocument() async throws {
        let f = try await BrokerFixture()
        let served = Set(
            try Self.router(f).routes.map { route in
                "\(route.method.rawValue) /"
                    + route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{id}" : $0 == "**" ? "{tilePath}" : String($0) }
                    .joined(separator: "/")
            })
        let document = try Yams.load(yaml: String(contentsOf: Repository.root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8))
        let paths = try #require((document as? [String: Any])?["paths"] as? [String: Any])
        let documented = Set(
            paths.flatMap { path, item in
                ((item as? [String: Any]) ?? [:]).keys.filter { ["get", "post", "put", "delete", "patch"].contains($0) }.map {
                    "\($0.uppercased()) \(path)"
                }
            })
        #expect(served.subtracting(documented).sorted() == [], "served but not in the document")
        #expect(documented.subtracting(served).sorted() == [], "in the document but not served")
    }
}
