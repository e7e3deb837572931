import Consent

extension CompiledQuery {
    /// The values of `fields` read straight from a record's values as the vault seals them
    /// (canonical JSON: one flat object, sorted keys, no whitespace), without building a
    /// dictionary of every field. Nil for anything this reader leaves to the full decoder: keys
    /// not in strictly ascending byte order (so a repeated key too), an escape in a string, an
    /// exponent, more than 15 significant digits, a nested value, `null`.
    public func fields(fromCanonical bytes: UnsafeRawBufferPointer) -> [FieldValue?]? {
        var out = [FieldValue?](repeating: nil, count: fields.count)
        var r = FlatJSONReader(bytes: bytes)
        guard r.take(UInt8(ascii: "{")) else { return nil }
        if r.take(UInt8(ascii: "}")) { return r.atEnd ? out : nil }
        var previous: Range<Int>?
        repeat {
            guard let key = r.plainString(), r.take(UInt8(ascii: ":")) else { return nil }
            // Canonical JSON sorts its keys: anything else is left to the full decoder.
            if let previous, !bytes[previous].lexicographicallyPrecedes(bytes[key]) { return nil }
            previous = key
            if let index = fieldBytes.firstIndex(where: { $0.elementsEqual(bytes[key]) }) {
                guard let value = r.value() else { return nil }
                out[index] = value
            } else {
                guard r.skipValue() else { return nil }
            }
        } while r.take(UInt8(ascii: ","))
        guard r.take(UInt8(ascii: "}")), r.atEnd else { return nil }
        return out
    }
}

/// A reader of one flat JSON object's scalars, for `fields(fromCanonical:)`.
struct FlatJSONReader {
    let bytes: UnsafeRawBufferPointer
    var at = 0

    var atEnd: Bool { at == bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard at < bytes.count, bytes[at] == byte else { return false }
        at += 1
        return true
    }

    /// The range of a string's bytes without its quotes, when it has no escape or control character.
    mutating func plainString() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = at
        while at < bytes.count {
            let b = bytes[at]
            if b == UInt8(ascii: "\"") {
                at += 1
                return start..<(at - 1)
            }
            guard b != UInt8(ascii: "\\"), b >= 0x20 else { return nil }
            at += 1
        }
        return nil
    }

    mutating func value() -> FieldValue? {
        guard at < bytes.count else { return nil }
        switch bytes[at] {
        case UInt8(ascii: "\""):
            guard let range = plainString() else { return nil }
            return .string(String(decoding: bytes[range], as: UTF8.self))
        case UInt8(ascii: "t"): return literal("true") ? .boolean(true) : nil
        case UInt8(ascii: "f"): return literal("false") ? .boolean(false) : nil
        default: return number()
        }
    }

    mutating func skipValue() -> Bool {
        guard at < bytes.count else { return false }
        switch bytes[at] {
        case UInt8(ascii: "\""): return plainString() != nil
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        default: return number() != nil
        }
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard at + n <= bytes.count else { return false }
        for i in 0..<n where bytes[at + i] != word.utf8Start[i] { return false }
        at += n
        return true
    }

    /// `-?digits(.digits)?` with at most 15 significant digits: an integer without a fraction,
    /// else mantissa / 10^fraction digits, which is the correctly rounded double (both are exact
    /// doubles below 2⁵³ and 10²², and IEEE division rounds once), as the full decoder reads it.
    mutating func number() -> FieldValue? {
        var negative = false
        if take(UInt8(ascii: "-")) { negative = true }
        var mantissa: Int64 = 0, digits = 0, fraction = 0
        var seenPoint = false
        let start = at
        while at < bytes.count {
            let b = bytes[at]
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                digits += 1
                guard digits <= 15 else { return nil }
                mantissa = mantissa * 10 + Int64(b - UInt8(ascii: "0"))
                if seenPoint { fraction += 1 }
            } else if b == UInt8(ascii: "."), !seenPoint, at > start {
                seenPoint = true
            } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                return nil
            } else {
                break
            }
            at += 1
        }
        guard digits > 0, !seenPoint || fraction > 0 else { return nil }
        if !seenPoint { return .integer(negative ? -mantissa : mantissa) }
        var scale = 1.0
        for _ in 0..<fraction { scale *= 10 }
        let value = Double(mantissa) / scale
        return .number(negative ? -value : value)
    }
}
