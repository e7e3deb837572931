/// Hex for test vectors, written without the code under test.
public enum HexString {
    /// Bytes of a hex string (lower or upper case); traps on malformed input.
    public static func bytes(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// Lower-case hex of bytes.
    public static func of(_ b: [UInt8]) -> String { b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}
