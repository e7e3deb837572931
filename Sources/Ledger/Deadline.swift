/// Runs `body`, failing with `LedgerError.storeUnavailable` when it has not answered within
/// `seconds`. `body` is cancelled then, which gives up a wait for a database connection (the
/// caller is answered at once only when `body` honours cancellation, as PostgresNIO's waits do).
///
/// The one timeout helper: reads of the store, the readiness probe and `DeadlineMiddleware`'s
/// bound on a request all use it.
///
/// - Throws: what `body` throws, or `storeUnavailable` naming `what`, followed by `consequence`.
public func withDeadline<T: Sendable>(
    seconds: Double, _ what: String = "the store", consequence: String = "",
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            throw LedgerError(.storeUnavailable, "\(what) did not answer within \(seconds.formatted) s\(consequence)")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

private extension Double {
    /// `2` for 2.0, `0.5` for 0.5.
    var formatted: String { self == rounded() ? String(Int(self)) : String(self) }
}
