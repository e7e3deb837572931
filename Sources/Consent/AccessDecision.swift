import Ledger

/// The question every delivery asks: may this recipient receive this record now?
public struct AccessQuery: Sendable, Equatable {
    public var recipient: String
    public var subject: String
    public var item: String
    /// The record's own time (when the product produced it).
    public var recordTime: Timestamp
    /// Whether the record's device is bound to `subject` and confirmed by them.
    public var deviceConfirmed: Bool
    public var now: Timestamp

    public init(recipient: String, subject: String, item: String, recordTime: Timestamp, deviceConfirmed: Bool, now: Timestamp) {
        self.recipient = recipient; self.subject = subject; self.item = item
        self.recordTime = recordTime; self.deviceConfirmed = deviceConfirmed; self.now = now
    }
}

/// Decides access: a pure function of the consent, the recipient's standing and the query.
public enum AccessDecision {
    /// `nil` when access is allowed, else the first reason it is not, in this order:
    /// consentNotFound, recipientMismatch, recipientSuspended, subjectMismatch, consentRevoked,
    /// consentExpired, itemNotInScope, outsideDataWindow, deviceNotBound.
    public static func denial(consent: Consent?, recipientStatus: Party.Status?, query: AccessQuery) -> ConsentError? {
        guard let consent else { return ConsentError(.consentNotFound, "no such consent") }
        guard consent.recipient == query.recipient else {
            return ConsentError(.recipientMismatch, "the consent was given to another recipient")
        }
        guard recipientStatus == .active else {
            return ConsentError(.recipientSuspended, "recipient '\(query.recipient)' is suspended or unknown")
        }
        guard consent.subject == query.subject else { return ConsentError(.subjectMismatch, "the record belongs to another person") }
        // A recorded revocation takes effect at once, whatever time its author's clock gave it.
        if let revokedAt = consent.revokedAt {
            return ConsentError(.consentRevoked, "the consent was revoked at \(revokedAt)")
        }
        guard query.now < consent.expiresAt else { return ConsentError(.consentExpired, "the consent expired at \(consent.expiresAt)") }
        guard consent.terms.items.contains(query.item) else {
            return ConsentError(.itemNotInScope, "data item '\(query.item)' is not covered by the consent")
        }
        guard consent.terms.dataFrom <= query.recordTime, query.recordTime < consent.terms.dataTo else {
            return ConsentError(.outsideDataWindow, "the record's time is outside the consent's data window")
        }
        guard query.deviceConfirmed else {
            return ConsentError(.deviceNotBound, "the record's device is not confirmed as the person's")
        }
        return nil
    }
}
