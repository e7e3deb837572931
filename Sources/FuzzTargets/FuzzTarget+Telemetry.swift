import Broker
import BrokerServer
import Consent
import Foundation

extension FuzzTarget {
    /// A push body through `BrokerAPI.pushItems` (as `POST /v1/telemetry` decodes it), each record
    /// through `RecordRules` against the real policy, and each accepted record through the
    /// canonical JSON the vault seals and a pull returns, which must decode to the same record.
    /// The fast reader (`TelemetryJSON`) must give exactly what `JSONDecoder` alone gives, and
    /// its canonical writer exactly what `JSONEncoder` writes.
    static func telemetry(_ input: [UInt8], contentType: String) throws {
        let reference = Result { try BrokerAPI.pushItems(body: Data(input), contentType: contentType, reference: true) }
        let items = try BrokerAPI.pushItems(body: Data(input), contentType: contentType)
        guard case .success(let expected) = reference else {
            preconditionFailure("fuzz property broken: the fast reader took a body JSONDecoder refuses")
        }
        FuzzCheck.require(items.count == expected.count, "the fast reader read \(items.count) entries, JSONDecoder \(expected.count)")
        var canonical: [[UInt8]] = []
        for (item, expectedItem) in zip(items, expected).prefix(TelemetryLimits.batchRecordsMax) {
            switch (item, expectedItem) {
            case (.malformed, .malformed):
                // Not compared word for word: JSONDecoder names the first bad field in its own
                // dictionary's order, which differs from one decoding of the same bytes to the next.
                continue
            case (.record(let record), .record(let expectedRecord)):
                try FuzzCheck.require(
                    CanonicalJSON.encode(record) == CanonicalJSON.encode(expectedRecord),
                    "the fast reader read \(record), JSONDecoder \(expectedRecord)")
                try FuzzCheck.require(
                    TelemetryJSON.canonical(record.values) == CanonicalJSON.encode(record.values),
                    "the canonical writer differs from JSONEncoder for \(record.values)")
                guard RecordRules.problem(with: record, policy: FuzzPolicy.active) == nil else { continue }
                let bytes = try CanonicalJSON.encode(record)
                try FuzzCheck.require(
                    CanonicalJSON.decode(TelemetryRecord.self, from: bytes) == record,
                    "an accepted record survives its canonical JSON: \(String(decoding: bytes, as: UTF8.self))")
                canonical.append(bytes)
            default: preconditionFailure("fuzz property broken: the fast reader and JSONDecoder disagree on \(item) / \(expectedItem)")
            }
        }
        _ = TransferService.digest(ofCanonical: canonical)
    }
}
