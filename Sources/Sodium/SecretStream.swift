import CSodium

/// libsodium's `crypto_secretstream_xchacha20poly1305`: a sequence of messages under one key,
/// each authenticated and bound to its position, the last one marked final. Dropping,
/// reordering, changing or truncating messages is detected by the reader.
public enum SecretStream {
    /// Bytes of the stream header the reader needs first.
    public static var headerBytes: Int { Int(crypto_secretstream_xchacha20poly1305_headerbytes()) }
    /// Bytes each message adds to its plaintext.
    public static var overheadBytes: Int { Int(crypto_secretstream_xchacha20poly1305_abytes()) }
    /// Bytes of a stream key.
    public static var keyBytes: Int { Int(crypto_secretstream_xchacha20poly1305_keybytes()) }

    /// A fresh random stream key.
    public static func generateKey() throws -> SymmetricKey {
        try Sodium.ready()
        return SymmetricKey(
            secret: SecretBytes(count: keyBytes) { buf in
                crypto_secretstream_xchacha20poly1305_keygen(buf.baseAddress!.assumingMemoryBound(to: UInt8.self))
            })
    }

    /// The key-holding state; zeroed when released.
    final class State {
        let pointer = UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>.allocate(capacity: 1)
        deinit {
            sodium_memzero(pointer, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
            pointer.deallocate()
        }
    }

    /// Encrypts a stream, message by message.
    public final class Writer {
        private let state = State()
        /// Send this first.
        public let header: [UInt8]
        private var finished = false

        public init(key: SymmetricKey) throws {
            try Sodium.ready()
            guard key.secret.count == SecretStream.keyBytes else {
                throw SodiumError(.invalidKeyLength, "a stream key has \(SecretStream.keyBytes) bytes")
            }
            var header = [UInt8](repeating: 0, count: SecretStream.headerBytes)
            let pointer = state.pointer
            let rc = key.secret.withUnsafeBytes { k in
                header.withUnsafeMutableBufferPointer {
                    crypto_secretstream_xchacha20poly1305_init_push(pointer, $0.baseAddress!, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            guard rc == 0 else { throw SodiumError(.invalidInput, "crypto_secretstream init_push failed") }
            self.header = header
        }

        /// Encrypts the next message; `final` marks the last one, after which nothing more can be written.
        public func seal(_ message: [UInt8], final: Bool = false) throws -> [UInt8] {
            guard !finished else { throw SodiumError(.invalidInput, "the stream was already finished") }
            var out = [UInt8](repeating: 0, count: message.count + SecretStream.overheadBytes)
            let tag = final ? UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL) : UInt8(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
            let rc = out.withUnsafeMutableBufferPointer { op in
                message.withUnsafeBufferPointer { mp in
                    crypto_secretstream_xchacha20poly1305_push(state.pointer, op.baseAddress!, nil, mp.baseAddress, UInt64(mp.count), nil, 0, tag)
                }
            }
            guard rc == 0 else { throw SodiumError(.invalidInput, "crypto_secretstream push failed") }
            finished = final
            return out
        }
    }

    /// Decrypts a stream written by `Writer`, in order.
    public final class Reader {
        private let state = State()
        /// True once the final message was read.
        public private(set) var finished = false

        /// - Throws: `SodiumError` when the header is malformed.
        public init(key: SymmetricKey, header: [UInt8]) throws {
            try Sodium.ready()
            guard header.count == SecretStream.headerBytes, key.secret.count == SecretStream.keyBytes else {
                throw SodiumError(.decryptionFailed, "a stream header has \(SecretStream.headerBytes) bytes and its key \(SecretStream.keyBytes)")
            }
            let rc = key.secret.withUnsafeBytes { k in
                header.withUnsafeBufferPointer {
                    crypto_secretstream_xchacha20poly1305_init_pull(
                        state.pointer, $0.baseAddress!, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            guard rc == 0 else { throw SodiumError(.decryptionFailed, "the stream header is not valid") }
        }

        /// Decrypts the next message and tells whether it was the final one.
        ///
        /// - Throws: `SodiumError.decryptionFailed` when the message was changed, dropped,
        ///   reordered, or follows the final one.
        public func open(_ sealed: [UInt8]) throws -> (message: [UInt8], final: Bool) {
            guard !finished else { throw SodiumError(.decryptionFailed, "a message follows the stream's final one") }
            guard sealed.count >= SecretStream.overheadBytes else {
                throw SodiumError(.decryptionFailed, "a stream message has at least \(SecretStream.overheadBytes) bytes")
            }
            var out = [UInt8](repeating: 0, count: sealed.count - SecretStream.overheadBytes)
            var tag: UInt8 = 0
            let rc = out.withUnsafeMutableBufferPointer { op in
                sealed.withUnsafeBufferPointer { sp in
                    crypto_secretstream_xchacha20poly1305_pull(state.pointer, op.baseAddress, nil, &tag, sp.baseAddress!, UInt64(sp.count), nil, 0)
                }
            }
            guard rc == 0 else { throw SodiumError(.decryptionFailed, "a stream message was changed, dropped or reordered") }
            finished = tag == UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL)
            return (out, finished)
        }
    }
}
