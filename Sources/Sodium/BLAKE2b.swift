import CSodium

/// BLAKE2b hashing (libsodium's `crypto_generichash`).
public enum BLAKE2b {
    /// BLAKE2b with a 32-byte output over `message`.
    public static func hash256(_ message: [UInt8]) -> [UInt8] {
        hash(message, outputBytes: 32)
    }

    /// BLAKE2b with `outputBytes` (16...64) of output, optionally keyed.
    public static func hash(_ message: [UInt8], outputBytes: Int, key: [UInt8] = []) -> [UInt8] {
        precondition(outputBytes >= Int(crypto_generichash_bytes_min()), "BLAKE2b output too short")
        precondition(outputBytes <= Int(crypto_generichash_bytes_max()), "BLAKE2b output too long")
        var out = [UInt8](repeating: 0, count: outputBytes)
        out.withUnsafeMutableBufferPointer { op in
            message.withUnsafeBufferPointer { mp in
                key.withUnsafeBufferPointer { kp in
                    _ = crypto_generichash(op.baseAddress!, outputBytes, mp.baseAddress, UInt64(mp.count), kp.baseAddress, kp.count)
                }
            }
        }
        return out
    }
}
