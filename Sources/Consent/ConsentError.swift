/// A business rejection: the request is refused and nothing is appended.
///
/// Codes are stable and checked in a fixed order of precedence; never renumber, only append.
public struct ConsentError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let value: String
        private init(_ value: String) { self.value = value }

        // Authors and parties.
        public static let unknownParty = Code("unknownParty")
        public static let partySuspended = Code("partySuspended")
        public static let wrongRole = Code("wrongRole")
        public static let unknownSubject = Code("unknownSubject")
        public static let badSignature = Code("badSignature")
        public static let clockSkew = Code("clockSkew")
        public static let partyExists = Code("partyExists")
        public static let invalidIdentifier = Code("invalidIdentifier")
        public static let malformedEvent = Code("malformedEvent")
        public static let subjectExists = Code("subjectExists")
        // Policy.
        public static let noActivePolicy = Code("noActivePolicy")
        public static let policyChanged = Code("policyChanged")
        public static let unknownCategory = Code("unknownCategory")
        public static let unknownItem = Code("unknownItem")
        public static let itemNotInCategory = Code("itemNotInCategory")
        public static let unknownPurpose = Code("unknownPurpose")
        public static let purposeNotAllowed = Code("purposeNotAllowed")
        public static let durationOverLimit = Code("durationOverLimit")
        public static let onceOffTooLong = Code("onceOffTooLong")
        public static let invalidTerms = Code("invalidTerms")
        // Requests.
        public static let requestExists = Code("requestExists")
        public static let requestNotFound = Code("requestNotFound")
        public static let notRequestOwner = Code("notRequestOwner")
        public static let requestWithdrawn = Code("requestWithdrawn")
        public static let requestExpired = Code("requestExpired")
        public static let requestNotForSubject = Code("requestNotForSubject")
        public static let termsMismatch = Code("termsMismatch")
        public static let sensitiveNotConfirmed = Code("sensitiveNotConfirmed")
        // Consents.
        public static let consentExists = Code("consentExists")
        public static let consentNotFound = Code("consentNotFound")
        public static let notConsentSubject = Code("notConsentSubject")
        public static let consentAlreadyRevoked = Code("consentAlreadyRevoked")
        public static let consentExpired = Code("consentExpired")
        public static let consentRevoked = Code("consentRevoked")
        // Access decisions.
        public static let recipientMismatch = Code("recipientMismatch")
        public static let recipientSuspended = Code("recipientSuspended")
        public static let subjectMismatch = Code("subjectMismatch")
        public static let itemNotInScope = Code("itemNotInScope")
        public static let outsideDataWindow = Code("outsideDataWindow")
        public static let deviceNotBound = Code("deviceNotBound")
        // Devices.
        public static let deviceNotFound = Code("deviceNotFound")
        public static let deviceAlreadyConfirmed = Code("deviceAlreadyConfirmed")
        // Telemetry.
        public static let invalidRecord = Code("invalidRecord")
        public static let subjectErased = Code("subjectErased")
        public static let idempotencyKeyReused = Code("idempotencyKeyReused")
        // Accounting.
        /// A delivery's price cannot be covered by the recipient's vouchers and cash.
        public static let paymentRequired = Code("paymentRequired")
        /// The double-entry book refused a transfer; the message names its rejection code.
        public static let transferRejected = Code("transferRejected")
        public static let accountNotFound = Code("accountNotFound")

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
