/// Why a request's signature was not accepted; every one of these is a 401 and changes nothing.
public struct HTTPSignatureError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let value: String
        private init(_ value: String) { self.value = value }
        public static let missingSignature = Code("missingSignature")
        public static let malformed = Code("malformedSignature")
        public static let unsupportedComponent = Code("unsupportedComponent")
        public static let missingField = Code("missingField")
        public static let insufficientCoverage = Code("insufficientCoverage")
        public static let staleSignature = Code("staleSignature")
        public static let replayedNonce = Code("replayedNonce")
        public static let unknownKey = Code("unknownKey")
        public static let suspendedKey = Code("suspendedKey")
        public static let digestMismatch = Code("digestMismatch")
        public static let badSignature = Code("badSignature")
        public var description: String { value }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
