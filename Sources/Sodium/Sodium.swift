import CSodium

/// Entry point to libsodium: initialisation, randomness and constant-time helpers.
public enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    /// Makes sure libsodium is initialised; every primitive calls this first.
    ///
    /// - Throws: `SodiumError.initialisationFailed` when libsodium cannot start.
    static func ready() throws {
        guard initialised else {
            throw SodiumError(.initialisationFailed, "libsodium failed to initialise; check that /dev/urandom is readable")
        }
    }

    /// Returns `count` bytes from libsodium's CSPRNG.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        precondition(initialised, "libsodium is not initialised")
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return bytes
    }

    /// Fills `buffer` from libsodium's CSPRNG (`randombytes_buf`).
    public static func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        precondition(initialised, "libsodium is not initialised")
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        randombytes_buf(base, buffer.count)
    }

    /// `count` bytes that depend only on `seed` (libsodium's `randombytes_buf_deterministic`,
    /// ChaCha20): for reproducible tests of code that draws randomness, never for secrets.
    public static func deterministicRandomBytes(_ count: Int, seed: [UInt8]) -> [UInt8] {
        precondition(initialised, "libsodium is not initialised")
        precondition(seed.count == Int(randombytes_SEEDBYTES), "a seed has \(randombytes_SEEDBYTES) bytes")
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        bytes.withUnsafeMutableBytes { out in seed.withUnsafeBufferPointer { randombytes_buf_deterministic(out.baseAddress!, count, $0.baseAddress!) }
        }
        return bytes
    }

    /// Compares two byte strings in time independent of where they differ.
    ///
    /// Returns false for strings of different lengths (the length is not secret).
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in sodium_memcmp(pa.baseAddress!, pb.baseAddress!, a.count) == 0 }
        }
    }

    /// Overwrites bytes with zeros in a way the compiler cannot remove.
    public static func zero(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        let count = bytes.count
        bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress!, count) }
    }

    /// The libsodium version string, for benchmark reports.
    public static var versionString: String {
        String(cString: sodium_version_string())
    }
}
