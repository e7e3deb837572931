/// A failure reported by libsodium or by a check on its inputs.
///
/// Codes are a struct over a private enum so that new codes never break callers.
public struct SodiumError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case initialisationFailed
            case invalidKeyLength
            case invalidSignatureLength
            case invalidSignature
            case invalidNonceLength
            case decryptionFailed
            case keyDerivationFailed
            case invalidInput
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// libsodium could not initialise (no entropy source).
        public static let initialisationFailed = Code(.initialisationFailed)
        /// A key had the wrong number of bytes.
        public static let invalidKeyLength = Code(.invalidKeyLength)
        /// A signature had the wrong number of bytes.
        public static let invalidSignatureLength = Code(.invalidSignatureLength)
        /// A signature did not verify.
        public static let invalidSignature = Code(.invalidSignature)
        /// A nonce had the wrong number of bytes.
        public static let invalidNonceLength = Code(.invalidNonceLength)
        /// Authenticated decryption failed: wrong key, or the ciphertext was changed.
        public static let decryptionFailed = Code(.decryptionFailed)
        /// Argon2id could not derive a key (usually: not enough memory).
        public static let keyDerivationFailed = Code(.keyDerivationFailed)
        /// An input was malformed.
        public static let invalidInput = Code(.invalidInput)

        public var description: String { value.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What happened and what to do about it.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
