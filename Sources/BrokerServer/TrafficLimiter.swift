import Consent
import Ledger
import Synchronization

/// Each party's share of the broker (`TrafficThresholds` from the active policy): a token bucket
/// of requests, and the records it pushed or received this UTC day. Counted per broker process.
public final class TrafficLimiter: Sendable {
    private struct Usage {
        var tokens: Double
        var refilledMs: Int64
        var day: Int64
        var records: Int
    }

    private let clock: any Clock
    private let thresholds: @Sendable () async throws -> TrafficThresholds?
    private let usage = Mutex<[String: Usage]>([:])
    private let cached = Mutex<(thresholds: TrafficThresholds?, readMs: Int64)?>(nil)
    /// How long a policy's thresholds are used before they are read again.
    static let thresholdsRefreshMs: Int64 = 1_000
    static let dayMs: Int64 = 86_400_000

    /// - Parameter thresholds: reads the active policy's thresholds (nil: no party is limited).
    public init(clock: any Clock, thresholds: @escaping @Sendable () async throws -> TrafficThresholds?) {
        self.clock = clock
        self.thresholds = thresholds
    }

    /// The thresholds in force, read again at most once a second.
    func current() async throws -> TrafficThresholds? {
        let now = clock.now().milliseconds
        if let hit = cached.withLock({ $0 }), now - hit.readMs < Self.thresholdsRefreshMs { return hit.thresholds }
        let fresh = try await thresholds()
        cached.withLock { $0 = (fresh, now) }
        return fresh
    }

    /// Takes one request from `party`'s bucket, or says when it may ask again.
    func admitRequest(party: String, share: TrafficThresholds.Share) -> Refusal? {
        let now = clock.now().milliseconds
        return usage.withLock { all -> Refusal? in
            var u = all[party] ?? Usage(tokens: Double(share.burst), refilledMs: now, day: now / Self.dayMs, records: 0)
            let elapsed = Double(max(0, now - u.refilledMs)) / 1000
            u.tokens = min(Double(share.burst), u.tokens + elapsed * Double(share.requestsPerSecond))
            u.refilledMs = now
            defer { all[party] = u }
            guard u.tokens >= 1 else {
                let wait = (1 - u.tokens) / Double(share.requestsPerSecond)
                return .rateLimited(
                    party: party, detail: "at most \(share.requestsPerSecond) requests per second (bursts of \(share.burst))",
                    retryAfterSeconds: max(1, Int(wait.rounded(.up))))
            }
            u.tokens -= 1
            return nil
        }
    }

    /// Refuses a push or pull when `party` already moved its records for today.
    func admitRecords(party: String, share: TrafficThresholds.Share) -> Refusal? {
        let now = clock.now().milliseconds
        let today = now / Self.dayMs
        let records = usage.withLock { all in all[party].map { $0.day == today ? $0.records : 0 } ?? 0 }
        guard records >= share.recordsPerDay else { return nil }
        let untilMidnight = Int(((today + 1) * Self.dayMs - now + 999) / 1000)
        return .rateLimited(
            party: party, detail: "at most \(share.recordsPerDay) records per UTC day, and \(records) were moved today",
            retryAfterSeconds: max(1, untilMidnight))
    }

    /// Counts records `party` pushed or received.
    public func count(records: Int, party: String) {
        guard records > 0 else { return }
        let now = clock.now().milliseconds
        let today = now / Self.dayMs
        usage.withLock { all in
            var u = all[party] ?? Usage(tokens: 0, refilledMs: now, day: today, records: 0)
            if u.day != today { u.day = today; u.records = 0 }
            u.records += records
            all[party] = u
        }
    }
}
