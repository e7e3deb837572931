import CSodium

/// Secret key material that is zeroed when the last reference goes away.
///
/// Kept in its own allocation (never copied into Swift arrays by this module) so that zeroing
/// covers every byte that held the secret.
public final class SecretBytes: @unchecked Sendable {
    // Immutable after init; the buffer is only written in init and deinit.
    private let buffer: UnsafeMutableRawBufferPointer
    private let length: Int

    /// The number of secret bytes.
    public var count: Int { length }

    /// Copies `bytes` into a fresh secret buffer and zeroes the caller's copy.
    public init(consuming bytes: inout [UInt8]) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress { storage.baseAddress!.copyMemory(from: base, byteCount: src.count) }
        }
        buffer = storage
        length = bytes.count
        Sodium.zero(&bytes)
    }

    /// Allocates `count` bytes and lets `fill` write them (for keys that libsodium generates).
    init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        do {
            try fill(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
        } catch {
            sodium_memzero(storage.baseAddress!, storage.count)
            storage.deallocate()
            throw error
        }
        buffer = storage
        length = count
    }

    deinit {
        sodium_memzero(buffer.baseAddress!, buffer.count)
        buffer.deallocate()
    }

    /// Gives `body` read access to the secret bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
    }

    /// Copies the secret out, for writing an encrypted key file; the caller must zero the copy.
    public func copyBytes() -> [UInt8] {
        withUnsafeBytes { [UInt8]($0) }
    }
}
