/// Writes the big-endian, length-prefixed fields of the canonical encodings.
///
/// The layout is specified byte for byte in docs/ledger-format.md.
public struct ByteWriter {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Raw bytes, no length prefix.
    public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff))
    }

    public mutating func u32(_ v: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((v >> UInt32(shift)) & 0xff)) }
    }

    public mutating func u64(_ v: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((v >> UInt64(shift)) & 0xff)) }
    }

    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    /// A u32 length followed by the bytes.
    public mutating func lengthPrefixed(_ b: [UInt8]) {
        precondition(b.count <= Int(UInt32.max), "field too long for a u32 length")
        u32(UInt32(b.count)); bytes.append(contentsOf: b)
    }

    /// A u32 length followed by the UTF-8 bytes.
    public mutating func string(_ s: String) { lengthPrefixed(Array(s.utf8)) }
}
