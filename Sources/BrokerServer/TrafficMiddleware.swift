import Consent
import Hummingbird
import Metrics

/// Holds each authenticated party to its share (`TrafficLimiter`): over its request rate, or
/// over its records for the day on a push or pull, it gets 429 with `Retry-After` and nothing is
/// done. People are not limited here.
public struct TrafficMiddleware: RouterMiddleware {
    public typealias Context = BrokerRequestContext
    let limiter: TrafficLimiter

    public init(limiter: TrafficLimiter) { self.limiter = limiter }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard case .party(let signer)? = context.principal, let share = try await limiter.current()?.share(for: signer.role) else {
            return try await next(request, context)
        }
        let party = signer.id
        if let refusal = limiter.admitRequest(party: party, share: share)
            ?? (Self.movesRecords(request) ? limiter.admitRecords(party: party, share: share) : nil)
        {
            Counter(label: "mydata_http_refused_total", dimensions: [("reason", "rateLimited")]).increment()
            Counter(label: "mydata_party_throttled_total", dimensions: [("party", party)]).increment()
            throw refusal
        }
        return try await next(request, context)
    }

    /// A push or a pull: what `recordsPerDay` counts.
    static func movesRecords(_ request: Request) -> Bool {
        let path = request.uri.path
        return (request.method == .post && path == "/v1/telemetry")
            || (request.method == .get && path.hasPrefix("/v1/consents/") && path.hasSuffix("/data"))
    }
}
