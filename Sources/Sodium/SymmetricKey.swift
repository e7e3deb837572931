import CSodium

/// A 256-bit secret key for XChaCha20-Poly1305; zeroed when released.
public struct SymmetricKey: Sendable {
    let secret: SecretBytes

    /// The key length in bytes.
    public static var byteCount: Int { Int(crypto_aead_xchacha20poly1305_ietf_keybytes()) }

    /// Generates a random key.
    public init() throws {
        try Sodium.ready()
        secret = SecretBytes(count: Self.byteCount) { buf in
            crypto_aead_xchacha20poly1305_ietf_keygen(buf.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Takes ownership of 32 key bytes and zeroes the caller's copy.
    ///
    /// - Throws: `SodiumError.invalidKeyLength` for any other length.
    public init(consuming bytes: inout [UInt8]) throws {
        guard bytes.count == Self.byteCount else {
            Sodium.zero(&bytes)
            throw SodiumError(.invalidKeyLength, "an XChaCha20-Poly1305 key has \(Self.byteCount) bytes, got \(bytes.count)")
        }
        secret = SecretBytes(consuming: &bytes)
    }

    init(secret: SecretBytes) { self.secret = secret }

    /// Copies the key out, for wrapping under another key. The caller must zero the copy.
    public func copyBytes() -> [UInt8] { secret.copyBytes() }
}

/// XChaCha20-Poly1305 authenticated encryption with associated data.
///
/// The random 24-byte nonce is prepended to the ciphertext, so callers store one blob.
public enum XChaCha20Poly1305 {
    /// The nonce length in bytes.
    public static var nonceBytes: Int { Int(crypto_aead_xchacha20poly1305_ietf_npubbytes()) }
    /// The authentication tag length in bytes.
    public static var tagBytes: Int { Int(crypto_aead_xchacha20poly1305_ietf_abytes()) }

    /// Encrypts `plaintext` under `key`, binding `associatedData`; returns nonce ‖ ciphertext ‖ tag.
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, associatedData: [UInt8] = []) -> [UInt8] {
        seal(plaintext, key: key, associatedData: associatedData, nonce: Sodium.randomBytes(nonceBytes))
    }

    /// Encrypts with a given nonce (for known-answer tests only: never reuse a nonce).
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, associatedData: [UInt8], nonce: [UInt8]) -> [UInt8] {
        precondition(nonce.count == nonceBytes, "nonce length")
        var out = [UInt8](repeating: 0, count: nonceBytes + plaintext.count + tagBytes)
        out.replaceSubrange(0..<nonceBytes, with: nonce)
        var written: UInt64 = 0
        key.secret.withUnsafeBytes { kp in
            out.withUnsafeMutableBufferPointer { op in
                plaintext.withUnsafeBufferPointer { pp in
                    associatedData.withUnsafeBufferPointer { ap in
                        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                            op.baseAddress! + nonceBytes, &written,
                            pp.baseAddress, UInt64(pp.count),
                            ap.baseAddress, UInt64(ap.count),
                            nil, op.baseAddress!, kp.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    }
                }
            }
        }
        precondition(Int(written) == plaintext.count + tagBytes, "AEAD output length")
        return out
    }

    /// Decrypts a blob made by `seal`.
    ///
    /// - Throws: `SodiumError.decryptionFailed` when the key is wrong or any byte was changed.
    public static func open(_ blob: [UInt8], key: SymmetricKey, associatedData: [UInt8] = []) throws -> [UInt8] {
        guard blob.count >= nonceBytes + tagBytes else {
            throw SodiumError(.decryptionFailed, "ciphertext is shorter than nonce and tag (\(blob.count) bytes)")
        }
        var out = [UInt8](repeating: 0, count: blob.count - nonceBytes - tagBytes)
        var written: UInt64 = 0
        let rc = key.secret.withUnsafeBytes { kp in
            out.withUnsafeMutableBufferPointer { op in
                blob.withUnsafeBufferPointer { bp in
                    associatedData.withUnsafeBufferPointer { ap in
                        crypto_aead_xchacha20poly1305_ietf_decrypt(
                            op.baseAddress, &written, nil,
                            bp.baseAddress! + nonceBytes, UInt64(bp.count - nonceBytes),
                            ap.baseAddress, UInt64(ap.count),
                            bp.baseAddress!, kp.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    }
                }
            }
        }
        guard rc == 0 else {
            throw SodiumError(.decryptionFailed, "decryption failed: wrong key, or the data was changed")
        }
        return out
    }
}
