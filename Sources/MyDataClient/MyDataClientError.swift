import Foundation
import MyDataWire

/// What a `MyDataClient` call throws besides transport errors.
public enum MyDataClientError: Error, Sendable, CustomStringConvertible {
    /// The broker refused with `application/problem+json`: its stable `code`, status and detail.
    case problem(ProblemDetails, retryAfterSeconds: Int?)
    /// An answer that claims to come from the broker but is not signed by the broker key given to
    /// the client (or that does not open with the client's box key, or names another consent).
    case notFromBroker(String)
    /// An answer the document does not describe.
    case unexpected(String)

    /// The broker's error code (`consentRevoked`, `paymentRequired`, …), when it gave one.
    public var code: String? {
        if case .problem(let problem, _) = self { problem.code } else { nil }
    }

    /// The broker could not take the request now; the same request may succeed later.
    public var isTransient: Bool {
        if case .problem(let problem, _) = self { problem.status == 503 || problem.status == 429 } else { false }
    }

    public var description: String {
        switch self {
        case .problem(let p, _): "\(p.status) \(p.code): \(p.detail)"
        case .notFromBroker(let why): "not from the broker: \(why)"
        case .unexpected(let why): why
        }
    }

    /// The error a generated call threw, without OpenAPIRuntime's `ClientError` around it.
    static func unwrap(_ error: any Error) -> any Error {
        var error = error
        while let wrapped = (error as? ClientErrorWrapping)?.wrapped { error = wrapped }
        return error
    }
}

/// OpenAPIRuntime's `ClientError` hides the middleware's error in `underlyingError`.
protocol ClientErrorWrapping { var wrapped: any Error { get } }
