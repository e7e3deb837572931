import HTTPTypes
import Hummingbird
import Metrics

/// Admits a request only when the broker has a slot for it (`AdmissionGate`), before any work is
/// done on it, not even its signature; holds the slot until the response, streamed or not, has
/// been written.
public struct AdmissionMiddleware<Context: RequestContext>: RouterMiddleware {
    let gate: AdmissionGate

    public init(gate: AdmissionGate) { self.gate = gate }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Probes and metrics are answered always: they are how an operator sees the overload.
        guard request.uri.path.hasPrefix("/v1/") else { return try await next(request, context) }
        guard let ticket = gate.admit(priority: Self.isConsentChange(request)) else {
            Counter(label: "mydata_http_refused_total", dimensions: [("reason", "overloaded")]).increment()
            throw Refusal.overloaded(requestsInFlightMax: gate.requestsInFlightMax)
        }
        do {
            var response = try await next(request, context)
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { ticket.release() }
                try await body.write(writer)
            }
            return response
        } catch {
            ticket.release()
            throw error
        }
    }

    /// Grants, revocations, erasure and key registrations: what a person does to their consent.
    static func isConsentChange(_ request: Request) -> Bool {
        guard request.method == .post else { return false }
        let path = request.uri.path
        if path == "/v1/consents" || path == "/v1/erasure" || path == "/v1/subjects" { return true }
        return path.hasPrefix("/v1/consents/") && path.hasSuffix("/revoke")
    }
}

/// A request the broker refuses without doing any of it, and when to try again.
public struct Refusal: Error, Sendable {
    public let code: String
    public let status: HTTPResponse.Status
    public let detail: String
    public let retryAfterSeconds: Int

    static func overloaded(requestsInFlightMax: Int) -> Refusal {
        Refusal(
            code: "overloaded", status: .serviceUnavailable,
            detail: "the broker is working on as many requests as it takes at once (\(requestsInFlightMax)); nothing was done, try again shortly",
            retryAfterSeconds: 1)
    }

    static func rateLimited(party: String, detail: String, retryAfterSeconds: Int) -> Refusal {
        Refusal(
            code: "rateLimited", status: .tooManyRequests, detail: "\(party) is over its share: \(detail); nothing was done",
            retryAfterSeconds: retryAfterSeconds)
    }
}
