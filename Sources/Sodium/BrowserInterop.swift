import CSodium

/// What a browser's WebCrypto and libsodium both offer for a passphrase-protected key export
/// (docs/dashboard.md): WebCrypto has no Argon2id and no XChaCha20-Poly1305, libsodium has no
/// PBKDF2 function and only AES-256-GCM of the AES modes. PBKDF2 (RFC 8018) is therefore built
/// here from libsodium's HMAC-SHA256, and checked against RFC 7914's vectors and the browser.
public enum PBKDF2 {
    /// PBKDF2-HMAC-SHA256 of `password` and `salt`, `iterations` rounds, one 32-byte block.
    public static func sha256(password: [UInt8], salt: [UInt8], iterations: Int) -> SecretBytes {
        precondition(iterations >= 1, "PBKDF2 needs at least one iteration")
        // The keyed state once; each round copies it instead of hashing the password again.
        var keyed = crypto_auth_hmacsha256_state()
        // An empty password still needs a pointer: one byte, of which none is read.
        let keyBytes = password.isEmpty ? [0] : password
        keyBytes.withUnsafeBufferPointer { _ = crypto_auth_hmacsha256_init(&keyed, $0.baseAddress!, password.count) }
        defer { withUnsafeMutableBytes(of: &keyed) { sodium_memzero($0.baseAddress!, $0.count) } }
        var u = [UInt8](repeating: 0, count: 32)
        var block = [UInt8](repeating: 0, count: 32)
        defer { Sodium.zero(&u) }
        var state = keyed
        let first = salt + [0, 0, 0, 1]
        first.withUnsafeBufferPointer { _ = crypto_auth_hmacsha256_update(&state, $0.baseAddress, UInt64($0.count)) }
        u.withUnsafeMutableBufferPointer { _ = crypto_auth_hmacsha256_final(&state, $0.baseAddress!) }
        block = u
        for _ in 1..<iterations {
            state = keyed
            u.withUnsafeBufferPointer { _ = crypto_auth_hmacsha256_update(&state, $0.baseAddress, UInt64($0.count)) }
            u.withUnsafeMutableBufferPointer { _ = crypto_auth_hmacsha256_final(&state, $0.baseAddress!) }
            for i in 0..<32 { block[i] ^= u[i] }
        }
        withUnsafeMutableBytes(of: &state) { sodium_memzero($0.baseAddress!, $0.count) }
        return SecretBytes(consuming: &block)
    }
}

/// AES-256-GCM (libsodium's, which needs the CPU's AES instructions), for the key export the
/// browser reads: WebCrypto offers no other authenticated cipher libsodium has.
public enum AES256GCM {
    public static let nonceBytes = 12
    public static let tagBytes = 16

    /// Whether this CPU can run libsodium's AES-256-GCM.
    public static var isAvailable: Bool { (try? Sodium.ready()) != nil && crypto_aead_aes256gcm_is_available() == 1 }

    /// `plaintext` sealed under `key` (32 bytes) with `nonce` (12, never reused under a key): ciphertext ‖ tag.
    public static func seal(_ plaintext: [UInt8], key: SecretBytes, nonce: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard isAvailable else { throw SodiumError(.invalidInput, "this CPU has no AES instructions, which libsodium's AES-256-GCM needs") }
        precondition(nonce.count == nonceBytes, "nonce length")
        var out = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        var written: UInt64 = 0
        key.withUnsafeBytes { kp in
            out.withUnsafeMutableBufferPointer { op in
                _ = crypto_aead_aes256gcm_encrypt(
                    op.baseAddress!, &written, plaintext, UInt64(plaintext.count), associatedData, UInt64(associatedData.count), nil, nonce,
                    kp.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return out
    }

    /// The plaintext of `sealed` (ciphertext ‖ tag).
    ///
    /// - Throws: `SodiumError.decryptionFailed` when the key, nonce, data or tag do not match.
    public static func open(_ sealed: [UInt8], key: SecretBytes, nonce: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard isAvailable else { throw SodiumError(.invalidInput, "this CPU has no AES instructions, which libsodium's AES-256-GCM needs") }
        guard nonce.count == nonceBytes, sealed.count >= tagBytes else { throw SodiumError(.decryptionFailed, "not an AES-256-GCM ciphertext") }
        var out = [UInt8](repeating: 0, count: sealed.count - tagBytes)
        var written: UInt64 = 0
        let rc = key.withUnsafeBytes { kp in
            out.withUnsafeMutableBufferPointer { op in
                crypto_aead_aes256gcm_decrypt(
                    op.baseAddress, &written, nil, sealed, UInt64(sealed.count), associatedData, UInt64(associatedData.count), nonce,
                    kp.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard rc == 0 else {
            Sodium.zero(&out)
            throw SodiumError(.decryptionFailed, "the passphrase does not open it, or it was changed")
        }
        return out
    }
}
