import Foundation
import Ledger

/// A clock that stands still until a test moves it.
public final class TestClock: Clock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Timestamp

    /// Starts at 2026-12-02T00:00:00Z unless told otherwise.
    public init(_ start: Timestamp = Timestamp(milliseconds: 1_796_169_600_000)) { current = start }

    public func now() -> Timestamp { lock.withLock { current } }

    /// Moves the clock forward.
    public func advance(seconds: Int64) { lock.withLock { current = current.adding(seconds: seconds) } }

    public func advance(days: Int64) { advance(seconds: days * 86_400) }
}
