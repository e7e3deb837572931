import CSodium

/// An X25519 public key that anyone can seal a box to.
public struct BoxPublicKey: Hashable, Sendable {
    /// The 32 public key bytes.
    public let bytes: [UInt8]

    /// Wraps 32 public key bytes.
    ///
    /// - Throws: `SodiumError.invalidKeyLength` for any other length.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == Int(crypto_box_publickeybytes()) else {
            throw SodiumError(.invalidKeyLength, "an X25519 public key has \(crypto_box_publickeybytes()) bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }
}

/// An X25519 secret key that opens sealed boxes; zeroed when released.
public struct BoxSecretKey: Sendable {
    private let secret: SecretBytes
    /// The matching public key.
    public let publicKey: BoxPublicKey

    /// Generates a fresh key pair.
    public init() throws {
        try Sodium.ready()
        var pk = [UInt8](repeating: 0, count: Int(crypto_box_publickeybytes()))
        secret = try SecretBytes(count: Int(crypto_box_secretkeybytes())) { sk in
            let rc = pk.withUnsafeMutableBufferPointer { crypto_box_keypair($0.baseAddress!, sk.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
            guard rc == 0 else { throw SodiumError(.invalidInput, "crypto_box_keypair failed") }
        }
        publicKey = try BoxPublicKey(bytes: pk)
    }

    /// Restores a key pair from its 32 secret bytes, zeroing the caller's copy.
    ///
    /// - Throws: `SodiumError.invalidKeyLength` for any other length.
    public init(consuming bytes: inout [UInt8]) throws {
        try Sodium.ready()
        guard bytes.count == Int(crypto_box_secretkeybytes()) else {
            Sodium.zero(&bytes)
            throw SodiumError(.invalidKeyLength, "an X25519 secret key has \(crypto_box_secretkeybytes()) bytes, got \(bytes.count)")
        }
        var pk = [UInt8](repeating: 0, count: Int(crypto_box_publickeybytes()))
        let s = SecretBytes(consuming: &bytes)
        s.withUnsafeBytes { sk in
            pk.withUnsafeMutableBufferPointer { _ = crypto_scalarmult_base($0.baseAddress!, sk.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        }
        secret = s
        publicKey = try BoxPublicKey(bytes: pk)
    }

    /// Copies the secret out, for writing an encrypted key file. The caller must zero the copy.
    public func copyBytes() -> [UInt8] { secret.copyBytes() }

    func withUnsafeSecret<R>(_ body: (UnsafePointer<UInt8>) throws -> R) rethrows -> R {
        try secret.withUnsafeBytes { try body($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }
}

/// Anonymous sealed boxes (X25519 + XSalsa20-Poly1305): only the recipient can open them.
public enum SealedBox {
    /// Bytes a sealed box adds to its plaintext.
    public static var overheadBytes: Int { Int(crypto_box_sealbytes()) }

    /// Seals `plaintext` to `recipient`.
    public static func seal(_ plaintext: [UInt8], to recipient: BoxPublicKey) throws -> [UInt8] {
        try Sodium.ready()
        var out = [UInt8](repeating: 0, count: plaintext.count + overheadBytes)
        let rc = out.withUnsafeMutableBufferPointer { op in
            plaintext.withUnsafeBufferPointer { pp in
                recipient.bytes.withUnsafeBufferPointer { kp in
                    crypto_box_seal(op.baseAddress!, pp.baseAddress, UInt64(pp.count), kp.baseAddress!)
                }
            }
        }
        guard rc == 0 else { throw SodiumError(.invalidInput, "crypto_box_seal failed: the recipient key is not a valid X25519 key") }
        return out
    }

    /// Opens a sealed box with the recipient's secret key.
    ///
    /// - Throws: `SodiumError.decryptionFailed` when the box is not for this key or was changed.
    public static func open(_ box: [UInt8], with key: BoxSecretKey) throws -> [UInt8] {
        guard box.count >= overheadBytes else {
            throw SodiumError(.decryptionFailed, "a sealed box has at least \(overheadBytes) bytes, got \(box.count)")
        }
        var out = [UInt8](repeating: 0, count: box.count - overheadBytes)
        let rc = key.withUnsafeSecret { sk in
            out.withUnsafeMutableBufferPointer { op in
                box.withUnsafeBufferPointer { bp in
                    key.publicKey.bytes.withUnsafeBufferPointer { pk in
                        crypto_box_seal_open(op.baseAddress, bp.baseAddress!, UInt64(bp.count), pk.baseAddress!, sk)
                    }
                }
            }
        }
        guard rc == 0 else { throw SodiumError(.decryptionFailed, "the sealed box is not addressed to this key, or it was changed") }
        return out
    }
}
