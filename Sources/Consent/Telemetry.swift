import Foundation
import Ledger

/// A JSON value inside a telemetry record.
public enum FieldValue: Codable, Sendable, Equatable {
    case integer(Int64)
    case number(Double)
    case string(String)
    case boolean(Bool)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        // Numbers first: they are most values, and every failed attempt throws, which is slow.
        if let d = try? c.decode(Double.self) {
            if d == d.rounded(), abs(d) < 9e15, let i = try? c.decode(Int64.self) { self = .integer(i) } else { self = .number(d) }
            return
        }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let b = try? c.decode(Bool.self) { self = .boolean(b); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "a field value is a number, a string or a boolean")
    }

    /// JSON does not tell 2 from 2.0: a number equals an integer of the same value.
    public static func == (a: FieldValue, b: FieldValue) -> Bool {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.integer(let x), .number(let y)), (.number(let y), .integer(let x)): Double(x) == y
        case (.string(let x), .string(let y)): x == y
        case (.boolean(let x), .boolean(let y)): x == y
        default: false
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .integer(let v): try c.encode(v)
        case .number(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .boolean(let v): try c.encode(v)
        }
    }
}

/// One record a manufacturer pushes: what one device produced at one time.
public struct TelemetryRecord: Codable, Sendable, Equatable {
    /// The manufacturer's pseudonymous device id.
    public var device: String
    /// The data item, e.g. `vehicle.driving`.
    public var item: String
    /// When the device produced it, milliseconds since the epoch.
    public var time: Timestamp
    public var values: [String: FieldValue]

    public init(device: String, item: String, time: Timestamp, values: [String: FieldValue]) {
        self.device = device; self.item = item; self.time = time; self.values = values
    }
}

/// Limits on what one record may hold.
public enum TelemetryLimits {
    public static let fieldsMax = 64
    public static let stringBytesMax = 1_024
    public static let batchRecordsMax = 1_000
}

/// Checks records against their item's schema in the policy.
public enum RecordRules {
    /// The first problem with `record`, or nil when it follows its item's schema.
    public static func problem(with record: TelemetryRecord, policy: PolicySet) -> ConsentError? {
        guard Identifiers.isValidReference(record.device) else {
            return ConsentError(.invalidIdentifier, "device id must be 1 to 128 letters, digits or -_.:")
        }
        guard let item = policy.item(record.item) else {
            return ConsentError(.unknownItem, "data item '\(record.item)' is not in policy \(policy.version)")
        }
        guard record.values.count <= TelemetryLimits.fieldsMax else {
            return ConsentError(.invalidRecord, "a record has at most \(TelemetryLimits.fieldsMax) fields")
        }
        for name in record.values.keys.sorted() where !item.fields.contains(where: { $0.name == name }) {
            return ConsentError(.invalidRecord, "field '\(name)' is not in the schema of \(item.id)")
        }
        for field in item.fields {
            guard let value = record.values[field.name] else {
                if field.required { return ConsentError(.invalidRecord, "required field '\(field.name)' of \(item.id) is missing") }
                continue
            }
            if !matches(value, field.type) {
                return ConsentError(.invalidRecord, "field '\(field.name)' of \(item.id) must be \(field.type.rawValue)")
            }
            if case .string(let s) = value, s.utf8.count > TelemetryLimits.stringBytesMax {
                return ConsentError(.invalidRecord, "field '\(field.name)' is longer than \(TelemetryLimits.stringBytesMax) bytes")
            }
        }
        return nil
    }

    private static func matches(_ value: FieldValue, _ type: FieldSpec.FieldType) -> Bool {
        switch (value, type) {
        case (.integer, .integer), (.integer, .number), (.number, .number), (.string, .string), (.boolean, .boolean), (.integer, .timestamp): true
        case (.number(let d), .integer): d == d.rounded() && abs(d) < 9e15
        default: false
        }
    }
}

/// A manufacturer's batch was stored: counts and a digest, never the records.
public struct TelemetryPushed: Codable, Sendable, Equatable {
    /// The broker's id for the stored batch; its records carry it.
    public var batchID: String
    /// The manufacturer's `Idempotency-Key`, if it sent one: the same key never stores twice.
    public var idempotencyKey: String?
    public var manufacturer: String
    public var accepted: Int
    public var rejected: Int
    /// BLAKE2b-256 (hex) of the batch as received.
    public var digest: String
    /// What the batch showed of its records' quality, per item (version 2). Absent in version 1
    /// events, from before quality was measured, and when measurement is off: such batches count
    /// in no quality figure.
    public var quality: PushQuality?
    public init(
        batchID: String, idempotencyKey: String?, manufacturer: String, accepted: Int, rejected: Int, digest: String,
        quality: PushQuality? = nil
    ) {
        self.batchID = batchID; self.idempotencyKey = idempotencyKey; self.manufacturer = manufacturer
        self.accepted = accepted; self.rejected = rejected; self.digest = digest; self.quality = quality
    }
}
