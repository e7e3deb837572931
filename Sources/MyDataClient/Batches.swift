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
        var bodies: [[UInt8]] = [], body: [UInt8] = [], count = 0
        for line in lines {
            guard line.count + 1 <= MyDataClient.requestBodyBytesMax else {
                throw MyDataClientError.unexpected("a record of \(line.count) bytes is over the push limit of \(MyDataClient.requestBodyBytesMax)")
            }
            if count == recordsMax || body.count + line.count + 1 > MyDataClient.requestBodyBytesMax {
                bodies.append(body); body = []; count = 0
            }
            body += line
            body.append(10)
            count += 1
        }
        if count > 0 { bodies.append(body) }
        return bodies
    }
}
