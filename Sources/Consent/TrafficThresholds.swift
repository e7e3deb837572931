/// What one party may ask of the broker, per role, in the manner of the Consumer Data Right's
/// traffic thresholds: a steady request rate with a burst, and a number of records a day. Set in
/// `Policies/policy.yaml` under `traffic:`; a party over its share is answered 429 with
/// `Retry-After`, and nothing it asked for is done.
public struct TrafficThresholds: Codable, Sendable, Equatable {
    /// One role's limits.
    public struct Share: Codable, Sendable, Equatable {
        /// Requests per second a party may make, on average.
        public var requestsPerSecond: Int
        /// Requests a party may make at once above that rate.
        public var burst: Int
        /// Records a party may push (a manufacturer) or receive (a recipient) per UTC day.
        public var recordsPerDay: Int

        public init(requestsPerSecond: Int, burst: Int, recordsPerDay: Int) {
            self.requestsPerSecond = requestsPerSecond
            self.burst = burst
            self.recordsPerDay = recordsPerDay
        }
    }

    public var manufacturer: Share
    public var recipient: Share

    public init(manufacturer: Share, recipient: Share) {
        self.manufacturer = manufacturer
        self.recipient = recipient
    }

    /// The share of a party with `role`.
    public func share(for role: PartyRole) -> Share {
        switch role {
        case .manufacturer: manufacturer
        case .recipient: recipient
        }
    }

    /// Requests per second at most in a policy.
    public static let requestsPerSecondMax = 100_000
    /// Records per day at most in a policy.
    public static let recordsPerDayMax = 1_000_000_000_000
}
