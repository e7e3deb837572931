/// A business rejection: the request is refused and nothing is appended.
///
/// Codes are stable and checked in a fixed order of precedence; never renumber, only append.
public struct ConsentError: Error, Sendable, CustomStringConvertible, Equatable {
    /// An enum, so that every place that maps codes (the HTTP statuses in `ErrorTable`, the CLI's
    /// exit codes) is checked by the compiler for a new one.
    public enum Code: String, Sendable, CaseIterable, CustomStringConvertible {
        // Authors and parties.
        case unknownParty
        case partySuspended
        case wrongRole
        case unknownSubject
        case badSignature
        case clockSkew
        case partyExists
        case invalidIdentifier
        case malformedEvent
        case subjectExists
        // Policy.
        case noActivePolicy
        case policyChanged
        case unknownCategory
        case unknownItem
        case itemNotInCategory
        case unknownPurpose
        case purposeNotAllowed
        case durationOverLimit
        case onceOffTooLong
        case invalidTerms
        // Requests.
        case requestExists
        case requestNotFound
        case notRequestOwner
        case requestWithdrawn
        case requestExpired
        case requestNotForSubject
        case termsMismatch
        case sensitiveNotConfirmed
        // Consents.
        case consentExists
        case consentNotFound
        case notConsentSubject
        case consentAlreadyRevoked
        case consentExpired
        case consentRevoked
        // Access decisions.
        case recipientMismatch
        case recipientSuspended
        case subjectMismatch
        case itemNotInScope
        case outsideDataWindow
        case deviceNotBound
        /// A pull's `after` falls inside a delivery already made: pull from that delivery's start
        /// to receive it again, or from its end to continue.
        case cursorInsideDelivery
        // Devices.
        case deviceNotFound
        case deviceAlreadyConfirmed
        // Telemetry.
        case invalidRecord
        case subjectErased
        case idempotencyKeyReused
        // Accounting.
        /// A delivery's price cannot be covered by the recipient's vouchers and cash.
        case paymentRequired
        /// The double-entry book refused a transfer; the message names its rejection code.
        case transferRejected
        case accountNotFound
        // The analysis zone.
        /// A pull under a consent that allows analysis only: its records are never delivered.
        case analysisOnly
        /// The policy does not allow this access (delivery or analysis) for the category and purpose.
        case accessNotAllowed
        /// An analysis query the broker cannot run as asked; the message says what to change.
        case invalidQuery
        /// The analysis would spend more ε than the request's budget has left in this period.
        case privacyBudgetExhausted
        case analysisNotFound
        // Quality.
        /// A quality period that is not whole past days, or is longer than a year.
        case invalidPeriod
        /// The active policy has no quality rules (`Policies/quality.yaml`): nothing is graded or certified.
        case qualityNotGraded
        /// A request's standard contract names no template of the policy, a template its access
        /// or category may not use, a parameter the template does not allow, or a hash that is not
        /// its text's.
        case invalidContract
        case certificateNotFound
        /// No policy with that hash was ever activated.
        case policyNotFound

        public var description: String { rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
