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

    /// SHA-256 of one byte followed by `parts`, without concatenating them (a Merkle tree's
    /// leaf and node hashes, RFC 9162: `0x00 ‖ entry`, `0x01 ‖ left ‖ right`).
    public static func sha256(prefix: UInt8, _ parts: [UInt8]...) -> [UInt8] {
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        var first = prefix
        crypto_hash_sha256_update(&state, &first, 1)
        for part in parts { part.withUnsafeBufferPointer { _ = crypto_hash_sha256_update(&state, $0.baseAddress, UInt64($0.count)) } }
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_bytes()))
        out.withUnsafeMutableBufferPointer { _ = crypto_hash_sha256_final(&state, $0.baseAddress!) }
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
