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

    /// Whether `text` is this time as `description` writes it, or as brokers before December
    /// 2026 wrote it (see `legacyDescription`), so that their receipts still verify.
    public func isDescribed(by text: String) -> Bool { text == description || text == legacyDescription }

    /// The seconds from whole-second arithmetic, the milliseconds appended as digits: exact for
    /// every millisecond (Foundation's fractional seconds of a `Double` can come out one early).
    private static func format(_ t: Timestamp) -> String {
        let (seconds, milli) = t.milliseconds.floorDivided(by: 1000)
        let whole = Date(timeIntervalSince1970: Double(seconds)).formatted(Date.ISO8601FormatStyle())
        let digits = String(milli)
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    /// Foundation's formatting of the `Double` seconds: sometimes one millisecond early
    /// (`…00.122Z` for 123 ms). What receipts made before the exact `format` hold.
    var legacyDescription: String { date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }

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

extension Int64 {
    /// The quotient rounded down and the remainder, 0 ≤ remainder < divisor.
    fileprivate func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let q = self / divisor, r = self % divisor
        return r < 0 ? (q - 1, r + divisor) : (q, r)
    }
}
