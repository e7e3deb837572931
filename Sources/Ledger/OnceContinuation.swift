import Synchronization

/// A continuation resumed at most once, by whichever comes first: the answer, or the caller's
/// cancellation.
public final class OnceContinuation<Value: Sendable>: Sendable {
    private enum State {
        case waiting
        case set(CheckedContinuation<Value, any Error>)
        case early(Result<Value, any Error>)
        case done
    }
    private let state = Mutex<State>(.waiting)

    public init() {}

    /// Hands over the continuation to resume; resumes it at once when the answer came first.
    public func set(_ continuation: CheckedContinuation<Value, any Error>) {
        let early: Result<Value, any Error>? = state.withLock { state in
            if case .early(let result) = state { state = .done; return result }
            state = .set(continuation)
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// Resumes with `result` unless something already did.
    public func resume(with result: Result<Value, any Error>) {
        let continuation: CheckedContinuation<Value, any Error>? = state.withLock { state in
            switch state {
            case .waiting: state = .early(result); return nil
            case .set(let c): state = .done; return c
            case .early, .done: return nil
            }
        }
        continuation?.resume(with: result)
    }
}
