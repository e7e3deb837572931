import Consent
import Ledger

/// Builds the events people and parties sign, from what the broker shows them. Clients call
/// these; the broker re-checks everything when the signed event arrives.
public enum ConsentDrafts {
    /// The grant of `request` by `subject` under the active policy, at `now`.
    public static func grant(
        of request: ConsentRequest, by subject: String, policy: ActivePolicy,
        now: Timestamp, sensitiveConfirmed: Bool
    ) -> DomainEvent {
        .consentGranted(
            ConsentGranted(
                consentID: Identifiers.consentID(requestID: request.id, subject: subject),
                requestID: request.id, requestHash: request.requestHash, subject: subject, recipient: request.recipient,
                terms: request.terms, grantedAt: now, expiresAt: ConsentRules.expiry(of: request.terms, grantedAt: now),
                policyVersion: policy.version, policyHash: policy.hash, sensitiveConfirmed: sensitiveConfirmed))
    }

    /// The registration of a person's key.
    public static func registration(of identity: Identity) -> DomainEvent {
        .subjectRegistered(SubjectRegistered(subjectID: identity.id, signingKey: identity.publicKeys.signingKey))
    }
}
