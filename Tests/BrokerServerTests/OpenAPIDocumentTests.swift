import BrokerServer
import Foundation
import Hummingbird
import Broker
import Sodium
import Storage
import Vault
import TestSupport
import Testing
import Yams

/// docs/openapi.yaml must describe exactly the routes the server has.
struct OpenAPIDocumentTests {
    static func documented() throws -> Set<String> {
        let text = try String(contentsOf: Repository.root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let doc = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect((doc["openapi"] as? String)?.hasPrefix("3.1") == true, "an OpenAPI 3.1 document")
        let paths = try #require(doc["paths"] as? [String: Any])
        var routes = Set<String>()
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] where (item as? [String: Any])?[method] != nil {
                routes.insert("\(method.uppercased()) \(path)")
            }
        }
        return routes
    }

    @Test("every route is documented in docs/openapi.yaml, and every documented route exists")
    func documentMatchesRouter() async throws {
        let f = try await BrokerFixture()
        let router = try RouterTests.router(f)
        let served = Set(
            router.routes.map { route in
                // The log's catch-all (a tlog-tiles path of several segments) is documented as one {tilePath}.
                let path = route.path.description.split(separator: "/").map {
                    $0.hasPrefix(":") ? "{\($0.dropFirst())}" : $0 == "**" ? "{tilePath}" : String($0)
                }
                return "\(route.method.rawValue) /" + path.joined(separator: "/")
            })
        let documented = try Self.documented()
        #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
    }
}
