import Foundation

/// A point in time in whole milliseconds since the Unix epoch, UTC: the ledger's only time unit.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public let milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.milliseconds < b.milliseconds }

    /// This time moved by a number of seconds.
    public func adding(seconds: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds + seconds * 1000) }

    /// This time moved by a number of days.
    public func adding(days: Int64) -> Timestamp { adding(seconds: days * 86_400) }

    /// As a `Date`.
    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-29T02:16:54.123Z`.
    public var description: String { Self.format(self) }

    /// Parses RFC 3339 (with or without fractional seconds).
    public init?(rfc3339 text: String) {
        if let d = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            self.init(milliseconds: Int64((d.timeIntervalSince1970 * 1000).rounded()))
        } else if let d = try? Date(text, strategy: Date.ISO8601FormatStyle()) {
            self.init(milliseconds: Int64((d.timeIntervalSince1970 * 1000).rounded()))
        } else {
            return nil
        }
    }

    private static func format(_ t: Timestamp) -> String {
        t.date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    // Encoded as an integer so payload bytes never depend on date formatting.
    public init(from decoder: Decoder) throws {
        milliseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(milliseconds)
    }
}

/// Where services read the time; tests substitute a clock they move by hand.
public protocol Clock: Sendable {
    /// The current time.
    func now() -> Timestamp
}

/// The wall clock.
public struct SystemClock: Clock {
    public init() {}
    public func now() -> Timestamp { Timestamp.now() }
}
