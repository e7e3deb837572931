import CSodium

/// SHA-256 and SHA-512, for HTTP Content-Digest (RFC 9530), where interoperability asks for them.
public enum SHA2 {
    /// SHA-256 of `message`.
    public static func sha256(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_bytes()))
        out.withUnsafeMutableBufferPointer { op in
            message.withUnsafeBufferPointer { mp in _ = crypto_hash_sha256(op.baseAddress!, mp.baseAddress, UInt64(mp.count)) }
        }
        return out
    }

    /// SHA-512 of `message`.
    public static func sha512(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha512_bytes()))
        out.withUnsafeMutableBufferPointer { op in
            message.withUnsafeBufferPointer { mp in _ = crypto_hash_sha512(op.baseAddress!, mp.baseAddress, UInt64(mp.count)) }
        }
        return out
    }
}
