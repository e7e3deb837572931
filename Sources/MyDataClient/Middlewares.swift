import Broker
import Foundation
import HTTPTypes
import MyDataWire
import OpenAPIRuntime

/// Signs every request of the generated client with an identity's key (`RequestSigning`), after
/// reading its body once to compute `Content-Digest`.
public struct SigningMiddleware: ClientMiddleware {
    public let identity: Identity
    public var announceKey: Bool

    public init(identity: Identity, announceKey: Bool = true) {
        self.identity = identity
        self.announceKey = announceKey
    }

    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        let bytes: [UInt8]? = if let body { try await [UInt8](collecting: body, upTo: MyDataClient.requestBodyBytesMax) } else { nil }
        let url = try MyDataClient.url(of: request, baseURL: baseURL)
        for (name, value) in try RequestSigning.fields(
            method: request.method.rawValue, url: url, body: bytes, keyID: identity.id, key: identity.signingKey,
            announcedKey: announceKey ? identity.announcedKey : nil)
        {
            guard let field = HTTPField.Name(name) else { continue }
            request.headerFields[field] = value
        }
        return try await next(request, bytes.map { HTTPBody($0) }, baseURL)
    }
}

/// Turns an `application/problem+json` answer into `MyDataClientError.problem`, so a caller
/// gets the broker's code and detail as a Swift error whatever the operation.
public struct ProblemMiddleware: ClientMiddleware {
    public init() {}

    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let (response, responseBody) = try await next(request, body, baseURL)
        guard response.status.code >= 400, response.headerFields[.contentType]?.lowercased().hasPrefix("application/problem+json") == true
        else { return (response, responseBody) }
        var bytes = Data()
        if let responseBody { bytes = try await Data(collecting: responseBody, upTo: 1_048_576) }
        guard let problem = try? JSONDecoder().decode(ProblemDetails.self, from: bytes) else {
            throw MyDataClientError.unexpected(
                "a \(response.status.code) whose problem+json does not decode: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
        throw MyDataClientError.problem(problem, retryAfterSeconds: response.headerFields[.retryAfter].flatMap { Int($0) })
    }
}

/// Sends a request again, with exponential back-off and jitter, when the broker could not take
/// it (`503`, `429`, a connection that failed) and sending it twice is safe: a `GET`, or a
/// request with an `Idempotency-Key`. Each attempt is signed afresh (a nonce is good once), so
/// this middleware comes before `SigningMiddleware`.
public struct RetryMiddleware: ClientMiddleware {
    public var attempts: Int
    public var firstDelaySeconds: Double
    public var maxDelaySeconds: Double

    public init(attempts: Int = 5, firstDelaySeconds: Double = 0.2, maxDelaySeconds: Double = 10) {
        self.attempts = max(1, attempts)
        self.firstDelaySeconds = firstDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
    }

    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let safe = request.method == .get || request.method == .head || request.headerFields[WireField.idempotencyKey] != nil
        guard safe, attempts > 1 else { return try await next(request, body, baseURL) }
        let bytes: [UInt8]? = if let body { try await [UInt8](collecting: body, upTo: MyDataClient.requestBodyBytesMax) } else { nil }
        var delay = firstDelaySeconds
        for attempt in 1...attempts {
            let last = attempt == attempts
            do {
                let (response, responseBody) = try await next(request, bytes.map { HTTPBody($0) }, baseURL)
                if last || !(response.status.code == 503 || response.status.code == 429) { return (response, responseBody) }
                if let after = response.headerFields[.retryAfter].flatMap(Double.init) { delay = min(max(delay, after), maxDelaySeconds) }
            } catch let error as MyDataClientError {
                guard !last, error.isTransient else { throw error }
                if case .problem(_, let after?) = error { delay = min(max(delay, Double(after)), maxDelaySeconds) }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // A connection refused, reset or timed out: the request may not have arrived.
                if last { throw error }
            }
            try await Task.sleep(nanoseconds: UInt64(delay * Double.random(in: 0.5...1.0) * 1e9))
            delay = min(delay * 2, maxDelaySeconds)
        }
        throw MyDataClientError.unexpected("no attempt was made")
    }
}
