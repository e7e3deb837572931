import HTTPTypes
import Hummingbird
import Synchronization

/// The paths a router serves and the methods of each, read from the router once its routes are
/// added: a known path asked with another method is `405 methodNotAllowed` with `Allow`, not a
/// `404` that would send a client looking for a path that exists.
final class RouteTable: Sendable {
    private let routes = Mutex<[(path: RouterPath, methods: [HTTPRequest.Method])]>([])

    func load(_ descriptions: [Router<BrokerRequestContext>.RouteDescription]) {
        var byPath: [String: (RouterPath, [HTTPRequest.Method])] = [:]
        for route in descriptions {
            byPath["\(route.path)", default: (route.path, [])].1.append(route.method)
        }
        routes.withLock { $0 = byPath.values.map { ($0.0, $0.1.sorted { $0.rawValue < $1.rawValue }) } }
    }

    /// The methods served at `path` (a request's path, without its query); empty for an unknown path.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return routes.withLock { routes in
            routes.first { route in
                route.path.components.count == segments.count && zip(route.path.components, segments).allSatisfy { $0 ~= $1 }
            }?.methods ?? []
        }
    }

    /// Every route as `METHOD /path/{capture}`, sorted (for the test that holds it to the API document).
    var descriptions: [String] {
        routes.withLock { routes in routes.flatMap { r in r.methods.map { "\($0) \(r.path)" } }.sorted() }
    }
}
