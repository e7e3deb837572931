import CSodium

/// An Ed25519 public key: it can only check signatures.
public struct VerifyingKey: Hashable, Sendable {
    /// The 32 public key bytes.
    public let bytes: [UInt8]

    /// Wraps 32 public key bytes.
    ///
    /// - Throws: `SodiumError.invalidKeyLength` for any other length.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == Int(crypto_sign_publickeybytes()) else {
            throw SodiumError(.invalidKeyLength, "an Ed25519 public key has \(crypto_sign_publickeybytes()) bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// Whether `signature` is a valid detached signature of `message` by this key.
    public func isValidSignature(_ signature: Signature, for message: [UInt8]) -> Bool {
        guard (try? Sodium.ready()) != nil else { return false }
        return signature.bytes.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                bytes.withUnsafeBufferPointer { pk in
                    crypto_sign_verify_detached(sig.baseAddress!, msg.baseAddress, UInt64(msg.count), pk.baseAddress!) == 0
                }
            }
        }
    }

    /// Checks a detached signature.
    ///
    /// - Throws: `SodiumError.invalidSignature` when it does not verify.
    public func verify(_ signature: Signature, for message: [UInt8]) throws {
        guard isValidSignature(signature, for: message) else {
            throw SodiumError(.invalidSignature, "the Ed25519 signature does not match this key and message")
        }
    }
}

/// A detached Ed25519 signature.
public struct Signature: Hashable, Sendable {
    /// The 64 signature bytes.
    public let bytes: [UInt8]

    /// Wraps 64 signature bytes.
    ///
    /// - Throws: `SodiumError.invalidSignatureLength` for any other length.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == Int(crypto_sign_bytes()) else {
            throw SodiumError(.invalidSignatureLength, "an Ed25519 signature has \(crypto_sign_bytes()) bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }
}

/// An Ed25519 secret key: it signs. Its secret bytes are zeroed when it is released.
public struct SigningKey: Sendable {
    private let secret: SecretBytes
    /// The matching public key.
    public let verifyingKey: VerifyingKey

    /// Generates a fresh key pair from libsodium's CSPRNG.
    public init() throws {
        try Sodium.ready()
        var pk = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
        secret = try SecretBytes(count: Int(crypto_sign_secretkeybytes())) { sk in
            let rc = pk.withUnsafeMutableBufferPointer { crypto_sign_keypair($0.baseAddress!, sk.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
            guard rc == 0 else { throw SodiumError(.invalidInput, "crypto_sign_keypair failed") }
        }
        verifyingKey = try VerifyingKey(bytes: pk)
    }

    /// Derives the key pair from a 32-byte seed (RFC 8032 private key); zeroes the caller's seed.
    ///
    /// - Throws: `SodiumError.invalidKeyLength` unless the seed has 32 bytes.
    public init(seed: inout [UInt8]) throws {
        try Sodium.ready()
        guard seed.count == Int(crypto_sign_seedbytes()) else {
            Sodium.zero(&seed)
            throw SodiumError(.invalidKeyLength, "an Ed25519 seed has \(crypto_sign_seedbytes()) bytes, got \(seed.count)")
        }
        defer { Sodium.zero(&seed) }
        var pk = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
        let seedCopy = seed
        secret = try SecretBytes(count: Int(crypto_sign_secretkeybytes())) { sk in
            let rc = pk.withUnsafeMutableBufferPointer { pkp in
                seedCopy.withUnsafeBufferPointer { sp in
                    crypto_sign_seed_keypair(pkp.baseAddress!, sk.baseAddress!.assumingMemoryBound(to: UInt8.self), sp.baseAddress!)
                }
            }
            guard rc == 0 else { throw SodiumError(.invalidInput, "crypto_sign_seed_keypair failed") }
        }
        verifyingKey = try VerifyingKey(bytes: pk)
    }

    /// Signs `message`, returning a detached signature.
    public func sign(_ message: [UInt8]) -> Signature {
        var sig = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
        secret.withUnsafeBytes { sk in
            sig.withUnsafeMutableBufferPointer { sp in
                message.withUnsafeBufferPointer { mp in
                    _ = crypto_sign_detached(
                        sp.baseAddress!, nil, mp.baseAddress, UInt64(mp.count), sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        // The length is fixed by libsodium, so this cannot fail.
        return try! Signature(bytes: sig)
    }

    /// The 32-byte seed, for writing an encrypted key file. The caller must zero the copy.
    public func exportSeed() -> [UInt8] {
        var seed = [UInt8](repeating: 0, count: Int(crypto_sign_seedbytes()))
        secret.withUnsafeBytes { sk in
            seed.withUnsafeMutableBufferPointer { sp in
                _ = crypto_sign_ed25519_sk_to_seed(sp.baseAddress!, sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return seed
    }
}
