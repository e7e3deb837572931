import Ledger

/// The push path's JSON without Foundation's coders: a reader for the shape nearly every pushed
/// record has, and the canonical writer of a record's values.
///
/// The reader is a fast path, not a second definition of the format. It reads
/// `{"device":"…","item":"…","time":…,"values":{…}}` (keys in any order, JSON whitespace anywhere)
/// with string values, booleans, integers and plain decimal numbers as values, and returns nil
/// for anything else: an escape or a control character in a string, an exponent, an integral
/// value written with a fraction (`2.0`, which `FieldValue` reads as an integer), more than 15
/// digits, `null`, a nested value, an unknown or repeated key, text after the end. The caller then
/// decodes with `JSONDecoder`, which stays the reference for what is accepted and for every
/// error message. Whatever the reader accepts, `JSONDecoder` accepts as the same value (the
/// `telemetry` and `ndjson` fuzz targets check it on every input).
public enum TelemetryJSON {
    /// One record, alone in `bytes` (JSON whitespace around it allowed); nil when the reader
    /// leaves it to `JSONDecoder`.
    public static func record(_ bytes: UnsafeRawBufferPointer) -> TelemetryRecord? {
        var reader = Reader(bytes: bytes)
        guard let record = reader.record(), reader.atEnd() else { return nil }
        return record
    }

    /// The records of a `{"records":[…]}` body; nil when the reader leaves the whole body to
    /// `JSONDecoder` (any record it cannot read, any other key).
    public static func records(_ bytes: UnsafeRawBufferPointer) -> [TelemetryRecord]? {
        var reader = Reader(bytes: bytes)
        guard reader.take(.openBrace), reader.string() == "records", reader.take(.colon), reader.take(.openBracket) else { return nil }
        var records: [TelemetryRecord] = []
        if !reader.take(.closeBracket) {
            repeat {
                guard let record = reader.record() else { return nil }
                records.append(record)
            } while reader.take(.comma)
            guard reader.take(.closeBracket) else { return nil }
        }
        guard reader.take(.closeBrace), reader.atEnd() else { return nil }
        return records
    }

    /// A record's values object alone (what the vault seals); nil when the reader leaves it to
    /// `JSONDecoder`.
    public static func values(_ bytes: UnsafeRawBufferPointer) -> [String: FieldValue]? {
        var reader = Reader(bytes: bytes)
        guard let values = reader.values(), reader.atEnd() else { return nil }
        return values
    }

    /// The canonical JSON of a record's values: what `CanonicalJSON.encode(values)` writes (keys
    /// in the order of their UTF-8 bytes, no whitespace, `/` unescaped, numbers as Swift prints
    /// them without a trailing `.0`), byte for byte, without building `JSONEncoder`'s values.
    public static func canonical(_ values: [String: FieldValue]) -> [UInt8] {
        var out: [UInt8] = [.openBrace]
        out.reserveCapacity(values.count * 24 + 2)
        for (index, field) in values.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
            if index > 0 { out.append(.comma) }
            appendString(field.key, to: &out)
            out.append(.colon)
            switch field.value {
            case .integer(let v): out += String(v).utf8
            case .number(let v):
                var text = v.description
                if text.hasSuffix(".0") { text.removeLast(2) }
                out += text.utf8
            case .string(let v): appendString(v, to: &out)
            case .boolean(let v): out += (v ? "true" : "false").utf8
            }
        }
        out.append(.closeBrace)
        return out
    }

    /// A JSON string as `JSONEncoder` writes it: `"` and `\` escaped, the control characters as
    /// `\b \t \n \f \r` or `\u00xx` (lower-case hex), everything else as it is.
    private static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(.quote)
        for byte in text.utf8 {
            switch byte {
            case .quote: out += [.backslash, .quote]
            case .backslash: out += [.backslash, .backslash]
            case 0x08: out += [.backslash, UInt8(ascii: "b")]
            case 0x09: out += [.backslash, UInt8(ascii: "t")]
            case 0x0A: out += [.backslash, UInt8(ascii: "n")]
            case 0x0C: out += [.backslash, UInt8(ascii: "f")]
            case 0x0D: out += [.backslash, UInt8(ascii: "r")]
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [.backslash, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(.quote)
    }

    /// The most digits a number the reader reads may have: every integer of 15 digits is below
    /// `FieldValue`'s 9e15 and exact in a `Double`.
    static let digitsMax = 15

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        mutating func skipSpace() {
            while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
        }

        /// Takes `byte` (after any whitespace) when it comes next.
        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard at < bytes.count, bytes[at] == byte else { return false }
            at += 1
            return true
        }

        mutating func atEnd() -> Bool {
            skipSpace()
            return at == bytes.count
        }

        mutating func peek() -> UInt8? {
            skipSpace()
            return at < bytes.count ? bytes[at] : nil
        }

        /// A string without escapes or control characters, valid UTF-8.
        mutating func string() -> String? {
            guard take(.quote) else { return nil }
            let start = at
            var ascii = true
            while at < bytes.count, bytes[at] != .quote {
                let byte = bytes[at]
                guard byte >= 0x20, byte != .backslash else { return nil }
                if byte >= 0x80 { ascii = false }
                at += 1
            }
            guard at < bytes.count else { return nil }
            let text = UnsafeRawBufferPointer(rebasing: bytes[start..<at])
            at += 1
            return ascii ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
        }

        /// A number: `-?(0|[1-9][0-9]*)(.[0-9]+)?`, at most `digitsMax` digits, no exponent.
        /// Returns its text and whether it has a fraction.
        mutating func number() -> (text: String, fraction: Bool)? {
            skipSpace()
            let start = at
            if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
            let integerStart = at
            while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
            let integerDigits = at - integerStart
            guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return nil }
            var digits = integerDigits, fraction = false
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                let fractionStart = at
                while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
                guard at > fractionStart else { return nil }
                digits += at - fractionStart
                fraction = true
            }
            guard digits <= TelemetryJSON.digitsMax else { return nil }
            if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") { return nil }
            return (String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self), fraction)
        }

        mutating func literal(_ word: String) -> Bool {
            let end = at + word.utf8.count
            guard end <= bytes.count, bytes[at..<end].elementsEqual(word.utf8) else { return false }
            at = end
            return true
        }

        /// A field value as `FieldValue.init(from:)` reads it.
        mutating func value() -> FieldValue? {
            switch peek() {
            case .quote: return string().map(FieldValue.string)
            case UInt8(ascii: "t"): return literal("true") ? .boolean(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .boolean(false) : nil
            default:
                guard let number = number() else { return nil }
                guard number.fraction else { return Int64(number.text).map(FieldValue.integer) }
                // An integral value with a fraction (`2.0`) is an integer to `FieldValue`; left to it.
                guard let d = Double(number.text), d != d.rounded() else { return nil }
                return .number(d)
            }
        }

        mutating func values() -> [String: FieldValue]? {
            guard take(.openBrace) else { return nil }
            var values: [String: FieldValue] = [:]
            if take(.closeBrace) { return values }
            repeat {
                guard let name = string(), take(.colon), let value = value(), values.updateValue(value, forKey: name) == nil else { return nil }
            } while take(.comma)
            return take(.closeBrace) ? values : nil
        }

        mutating func record() -> TelemetryRecord? {
            guard take(.openBrace) else { return nil }
            var device: String?, item: String?, time: Int64?, values: [String: FieldValue]?
            repeat {
                guard let key = string(), take(.colon) else { return nil }
                switch key {
                case "device" where device == nil: guard let text = string() else { return nil }; device = text
                case "item" where item == nil: guard let text = string() else { return nil }; item = text
                case "time" where time == nil:
                    guard let number = number(), !number.fraction else { return nil }
                    time = Int64(number.text)
                case "values" where values == nil: guard let read = self.values() else { return nil }; values = read
                default: return nil
                }
            } while take(.comma)
            guard take(.closeBrace), let device, let item, let time, let values else { return nil }
            return TelemetryRecord(device: device, item: item, time: Timestamp(milliseconds: time), values: values)
        }
    }
}

extension UInt8 {
    fileprivate static let openBrace = UInt8(ascii: "{")
    fileprivate static let closeBrace = UInt8(ascii: "}")
    fileprivate static let openBracket = UInt8(ascii: "[")
    fileprivate static let closeBracket = UInt8(ascii: "]")
    fileprivate static let comma = UInt8(ascii: ",")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let quote = UInt8(ascii: "\"")
    fileprivate static let backslash = UInt8(ascii: "\\")
}
