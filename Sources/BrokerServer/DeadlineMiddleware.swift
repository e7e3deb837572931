import Hummingbird
import Ledger

/// Answers `503 storeUnavailable` when a request's handler has not answered within
/// `APILimits.requestSecondsMax`, instead of letting the client wait for as long as the store is
/// unreachable (PostgreSQL's pool waits for a connection without end). The handler is cancelled,
/// which gives up its wait for a connection; a write it had already handed to the store may still
/// land, so the answer says to check before retrying. Streamed bodies are written after the
/// handler returned and are not cut.
public struct DeadlineMiddleware<Context: RequestContext>: RouterMiddleware {
    let seconds: Double

    public init(seconds: Double = APILimits.requestSecondsMax) { self.seconds = seconds }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let seconds = self.seconds
        // The handler runs in a child task of a group that `withDeadline` awaits to its end, so
        // `next` does not outlive the call.
        return try await withoutActuallyEscaping(next) { next in
            let handler = UncheckedSendable(next)
            return try await withDeadline(
                seconds: seconds, "the broker's store",
                consequence: "; a write may or may not have taken effect — check before retrying"
            ) {
                try await handler.value(request, context)
            }
        }
    }
}

/// A value the compiler cannot prove `Sendable`, handed to a child task that ends before the
/// caller returns.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
