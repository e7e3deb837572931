import Broker
import BrokerServer
import Consent
import Foundation

extension FuzzTarget {
    /// A push body through `BrokerAPI.pushItems` (as `POST /v1/telemetry` decodes it), each record
    /// through `RecordRules` against the real policy, and each accepted record through the
    /// canonical JSON the vault seals and a pull returns, which must decode to the same record.
    static func telemetry(_ input: [UInt8], contentType: String) throws {
        let items = try BrokerAPI.pushItems(body: Data(input), contentType: contentType)
        var canonical: [[UInt8]] = []
        for item in items.prefix(TelemetryLimits.batchRecordsMax) {
            guard case .record(let record) = item, RecordRules.problem(with: record, policy: FuzzPolicy.active) == nil else { continue }
            let bytes = try CanonicalJSON.encode(record)
            try FuzzCheck.require(
                CanonicalJSON.decode(TelemetryRecord.self, from: bytes) == record,
                "an accepted record survives its canonical JSON: \(String(decoding: bytes, as: UTF8.self))")
            canonical.append(bytes)
        }
        _ = TransferService.digest(ofCanonical: canonical)
    }
}
