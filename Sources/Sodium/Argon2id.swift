import CSodium

/// Argon2id key derivation from a passphrase, for protecting key files.
public enum Argon2id {
    /// The least memory Argon2id accepts, in bytes.
    public static var memoryBytesMin: UInt64 { UInt64(crypto_pwhash_memlimit_min()) }

    /// The salt length in bytes.
    public static var saltBytes: Int { Int(crypto_pwhash_saltbytes()) }

    /// Cost parameters; stored in key files so they can be raised later without breaking old files.
    public struct Cost: Sendable, Equatable, Codable {
        /// Number of passes.
        public var opsLimit: UInt64
        /// Memory in bytes.
        public var memLimit: UInt64

        public init(opsLimit: UInt64, memLimit: UInt64) {
            self.opsLimit = opsLimit
            self.memLimit = memLimit
        }

        /// libsodium's interactive limits (2 passes, 64 MiB): a fraction of a second.
        public static var interactive: Cost {
            Cost(opsLimit: UInt64(crypto_pwhash_opslimit_interactive()), memLimit: UInt64(crypto_pwhash_memlimit_interactive()))
        }

        /// libsodium's moderate limits (3 passes, 256 MiB): about a second.
        public static var moderate: Cost {
            Cost(opsLimit: UInt64(crypto_pwhash_opslimit_moderate()), memLimit: UInt64(crypto_pwhash_memlimit_moderate()))
        }
    }

    /// Derives a 32-byte symmetric key from `passphrase` and `salt`.
    ///
    /// - Throws: `SodiumError.invalidInput` for a wrong salt length, `.keyDerivationFailed` when
    ///   Argon2id cannot run (usually out of memory).
    public static func deriveKey(passphrase: [UInt8], salt: [UInt8], cost: Cost) throws -> SymmetricKey {
        try Sodium.ready()
        guard cost.opsLimit >= UInt64(crypto_pwhash_opslimit_min()), cost.opsLimit <= UInt64(crypto_pwhash_opslimit_max()),
            cost.memLimit >= memoryBytesMin, cost.memLimit <= UInt64(crypto_pwhash_memlimit_max()), cost.memLimit <= UInt64(Int.max)
        else {
            throw SodiumError(.invalidInput, "Argon2id cannot run \(cost.opsLimit) passes over \(cost.memLimit) bytes")
        }
        guard salt.count == saltBytes else {
            throw SodiumError(.invalidInput, "an Argon2id salt has \(saltBytes) bytes, got \(salt.count)")
        }
        let secret = try SecretBytes(count: SymmetricKey.byteCount) { out in
            // A non-empty buffer, so that the base address is never nil.
            let input = passphrase.isEmpty ? [0] : passphrase
            let rc = input.withUnsafeBufferPointer { pp in
                salt.withUnsafeBufferPointer { sp in
                    pp.withMemoryRebound(to: CChar.self) { cp in
                        crypto_pwhash(
                            out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(out.count),
                            cp.baseAddress!, UInt64(passphrase.count), sp.baseAddress!,
                            cost.opsLimit, Int(cost.memLimit), crypto_pwhash_alg_argon2id13())
                    }
                }
            }
            guard rc == 0 else {
                throw SodiumError(.keyDerivationFailed, "Argon2id failed; the machine may lack the \(cost.memLimit / 1_048_576) MiB it needs")
            }
        }
        return SymmetricKey(secret: secret)
    }
}
