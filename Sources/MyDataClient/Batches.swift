import Consent
import Foundation

/// Splits records into push bodies that the broker takes: at most 1,000 records and
/// `MyDataClient.requestBodyBytesMax` bytes of NDJSON each, in order.
public enum Batches {
    public static let recordsMax = 1_000

    /// One record per line, each its canonical JSON.
    public static func ndjson(_ records: [TelemetryRecord]) throws -> [UInt8] {
        var out: [UInt8] = []
        for record in records {
            out += try CanonicalJSON.encode(record)
            out.append(10)
        }
        return out
    }

    /// NDJSON lines (each without its newline) grouped into bodies under both limits.
    ///
    /// - Throws: `MyDataClientError.unexpected` for a line that alone is over the byte limit.
    public static func split(lines: [ArraySlice<UInt8>]) throws -> [[UInt8]] {
        var builder = Builder(), bodies: [[UInt8]] = []
        for line in lines { if let full = try builder.add(line) { bodies.append(full) } }
        if let last = builder.finish() { bodies.append(last) }
        return bodies
    }

    /// Builds bodies one line at a time (for input read as it goes): the one rule for where a
    /// batch ends.
    public struct Builder {
        private var body: [UInt8] = []
        private var count = 0

        public init() {}

        /// Adds a line; returns the body it closed when it did not fit there.
        ///
        /// - Throws: `MyDataClientError.unexpected` for a line that alone is over the byte limit.
        public mutating func add(_ line: some Collection<UInt8>) throws -> [UInt8]? {
            guard line.count + 1 <= MyDataClient.requestBodyBytesMax else {
                throw MyDataClientError.unexpected("a record of \(line.count) bytes is over the push limit of \(MyDataClient.requestBodyBytesMax)")
            }
            var full: [UInt8]?
            if count == recordsMax || body.count + line.count + 1 > MyDataClient.requestBodyBytesMax {
                full = body
                body = []
                count = 0
            }
            body += line
            body.append(10)
            count += 1
            return full
        }

        /// The last body, if any line is in it.
        public mutating func finish() -> [UInt8]? {
            defer { body = []; count = 0 }
            return count > 0 ? body : nil
        }
    }
}
