import Ledger

/// The rules for requests, grants, revocations and withdrawals: pure functions of the event and
/// the current state. Each throws the first rule broken, in a fixed order, and decides nothing
/// else; the service appends only what passes.
public enum ConsentRules {
    /// How far an author's clock may differ from the broker's.
    public static let clockSkewSecondsMax: Int64 = 300

    /// When a consent granted at `grantedAt` under `terms` ends.
    public static func expiry(of terms: ConsentTerms, grantedAt: Timestamp) -> Timestamp {
        terms.onceOff
            ? grantedAt.adding(seconds: Int64(ConsentLimits.onceOffDurationHoursMax) * 3_600)
            : grantedAt.adding(days: Int64(terms.durationDays))
    }

    /// Checks terms against the policy.
    public static func checkTerms(_ terms: ConsentTerms, policy: PolicySet) throws(ConsentError) {
        guard !terms.items.isEmpty, terms.items.count <= ConsentLimits.requestItemsMax else {
            throw ConsentError(.invalidTerms, "a request names 1 to \(ConsentLimits.requestItemsMax) data items")
        }
        guard Set(terms.items).count == terms.items.count else {
            throw ConsentError(.invalidTerms, "a data item is named twice")
        }
        guard terms.dataFrom < terms.dataTo else {
            throw ConsentError(.invalidTerms, "the data window must start before it ends")
        }
        guard ConsentLimits.dataWindowMilliseconds.contains(terms.dataFrom.milliseconds),
            ConsentLimits.dataWindowMilliseconds.contains(terms.dataTo.milliseconds)
        else {
            throw ConsentError(.invalidTerms, "the data window must lie within the years 1970 to 9999")
        }
        guard (0...ConsentLimits.retentionDaysMax).contains(terms.retentionDays) else {
            throw ConsentError(.invalidTerms, "retention must be 0 to \(ConsentLimits.retentionDaysMax) days")
        }
        guard (0...ConsentLimits.incentiveKRWMax).contains(terms.incentiveKRW) else {
            throw ConsentError(.invalidTerms, "the incentive must be 0 to \(ConsentLimits.incentiveKRWMax) won")
        }
        guard let category = policy.category(terms.category) else {
            throw ConsentError(.unknownCategory, "category '\(terms.category)' is not in policy \(policy.version); see the catalogue")
        }
        for item in terms.items {
            guard let owner = policy.category(ofItem: item) else {
                throw ConsentError(.unknownItem, "data item '\(item)' is not in policy \(policy.version)")
            }
            guard owner.id == category.id else {
                throw ConsentError(
                    .itemNotInCategory, "data item '\(item)' belongs to '\(owner.id)', not '\(category.id)'; ask for it in a separate request")
            }
        }
        guard let purpose = policy.purpose(terms.purpose) else {
            throw ConsentError(.unknownPurpose, "purpose '\(terms.purpose)' is not in policy \(policy.version)")
        }
        guard purpose.categories.contains(category.id) else {
            throw ConsentError(.purposeNotAllowed, "purpose '\(purpose.id)' may not use \(category.id) data under policy \(policy.version)")
        }
        let maxDays = min(category.maxConsentDays, ConsentLimits.consentDurationDaysMax)
        guard terms.durationDays >= 1, terms.durationDays <= maxDays else {
            throw ConsentError(.durationOverLimit, "a \(category.id) consent lasts 1 to \(maxDays) days, asked for \(terms.durationDays)")
        }
        guard terms.accessAllowed(by: policy) else {
            let allowed = policy.analysis?.rule(category: category.id, purpose: purpose.id)?.access.map(\.rawValue) ?? ["delivery"]
            throw ConsentError(
                .accessNotAllowed,
                "\(terms.accessMode.rawValue) access to \(category.id) data for \(purpose.id) is not allowed under policy \(policy.version); ask for \(allowed.joined(separator: " or "))"
            )
        }
        if let grade = terms.minQuality {
            guard grade != .none else {
                throw ConsentError(.invalidTerms, "minQuality is A, B or C; leave it out to accept data of any quality")
            }
            guard policy.quality != nil else {
                throw ConsentError(.qualityNotGraded, "policy \(policy.version) grades no quality; leave minQuality out")
            }
            guard terms.accessMode == .delivery else {
                throw ConsentError(.invalidTerms, "minQuality applies to deliveries; an analysis-only request cannot name one")
            }
        }
        guard !terms.onceOff || terms.durationDays == 1 else {
            throw ConsentError(
                .onceOffTooLong, "a once-off consent lasts at most \(ConsentLimits.onceOffDurationHoursMax) hours: set the duration to 1 day")
        }
    }

    /// Checks a recipient's new request.
    public static func checkRequest(
        _ e: ConsentRequested, author: String, recipient: Party?, requestExists: Bool,
        policy: ActivePolicy?, now: Timestamp
    ) throws(ConsentError) {
        guard let policy else { throw ConsentError(.noActivePolicy, "no policy set is active; the operator must run `mydata admin policy activate`") }
        try checkParty(recipient, id: e.recipient, role: .recipient)
        guard author == e.recipient else {
            throw ConsentError(.badSignature, "a request must be signed by the recipient it names")
        }
        guard Identifiers.isValidReference(e.requestID) else {
            throw ConsentError(.invalidIdentifier, "request id '\(e.requestID)' must be 1 to 128 letters, digits or -_.:")
        }
        guard !requestExists else { throw ConsentError(.requestExists, "request \(e.requestID) already exists; choose a new id") }
        guard e.policyVersion == policy.version else {
            throw ConsentError(.policyChanged, "the request names policy \(e.policyVersion) but \(policy.version) is active")
        }
        try checkTerms(e.terms, policy: policy.policy)
        try StandardContract.check(e.terms.contract, terms: e.terms, recipient: e.recipient, policy: policy.policy)
        guard e.offerExpiresAt > now, e.offerExpiresAt <= now.adding(days: Int64(ConsentLimits.offerDaysMax)) else {
            throw ConsentError(.invalidTerms, "an offer must expire within \(ConsentLimits.offerDaysMax) days from now")
        }
    }

    /// Checks a person's grant.
    public static func checkGrant(
        _ g: ConsentGranted, author: String, request: ConsentRequest?, recipient: Party?,
        existing: Consent?, policy: ActivePolicy?, now: Timestamp
    ) throws(ConsentError) {
        guard let policy else { throw ConsentError(.noActivePolicy, "no policy set is active; the operator must run `mydata admin policy activate`") }
        guard let request else {
            throw ConsentError(.requestNotFound, "request \(g.requestID) does not exist; list open requests with `mydata requests`")
        }
        guard author == g.subject else {
            throw ConsentError(.badSignature, "a grant must be signed by the person it names")
        }
        guard g.consentID == Identifiers.consentID(requestID: request.id, subject: g.subject) else {
            throw ConsentError(.invalidTerms, "the consent id does not derive from the request and the person")
        }
        guard request.withdrawnAt == nil else { throw ConsentError(.requestWithdrawn, "the recipient withdrew request \(request.id)") }
        guard now < request.offerExpiresAt else { throw ConsentError(.requestExpired, "request \(request.id) expired at \(request.offerExpiresAt)") }
        if let addressee = request.subject, addressee != g.subject {
            throw ConsentError(.requestNotForSubject, "request \(request.id) is addressed to someone else")
        }
        try checkParty(recipient, id: request.recipient, role: .recipient)
        if let existing {
            throw ConsentError(
                .consentExists,
                "you already answered request \(request.id) (consent \(existing.id), \(existing.status(at: now).rawValue)); ask the recipient for a new request"
            )
        }
        guard g.requestHash == request.requestHash, g.recipient == request.recipient, g.terms == request.terms else {
            throw ConsentError(.termsMismatch, "the grant's terms differ from request \(request.id); fetch the request again")
        }
        guard g.policyVersion == policy.version, g.policyHash == policy.hash else {
            throw ConsentError(.policyChanged, "policy \(policy.version) is now active; review the request again under it")
        }
        try checkTerms(g.terms, policy: policy.policy)
        // The text the person signs the hash of is the active policy's: a template changed since
        // the request makes the hash differ, and the person must see the new text.
        try StandardContract.check(g.terms.contract, terms: g.terms, recipient: g.recipient, policy: policy.policy)
        if let category = policy.policy.category(g.terms.category), category.sensitive, !g.sensitiveConfirmed {
            throw ConsentError(.sensitiveNotConfirmed, "\(category.id) data is sensitive: confirm explicitly (`--confirm-sensitive`)")
        }
        try checkClock(g.grantedAt, now: now)
        guard g.expiresAt == expiry(of: g.terms, grantedAt: g.grantedAt) else {
            throw ConsentError(.invalidTerms, "the grant's expiry does not follow from its terms")
        }
    }

    /// Checks a person's revocation.
    public static func checkRevoke(_ r: ConsentRevoked, author: String, consent: Consent?, now: Timestamp) throws(ConsentError) {
        guard let consent else { throw ConsentError(.consentNotFound, "consent \(r.consentID) does not exist; list yours with `mydata consents`") }
        guard author == r.subject, r.subject == consent.subject else {
            throw ConsentError(.notConsentSubject, "only the person who granted consent \(consent.id) can revoke it")
        }
        guard consent.revokedAt == nil else { throw ConsentError(.consentAlreadyRevoked, "consent \(consent.id) is already revoked") }
        guard now < consent.expiresAt else { throw ConsentError(.consentExpired, "consent \(consent.id) already expired at \(consent.expiresAt)") }
    }

    /// Checks a recipient's withdrawal of its request.
    public static func checkWithdraw(_ w: RequestWithdrawn, author: String, request: ConsentRequest?) throws(ConsentError) {
        guard let request else { throw ConsentError(.requestNotFound, "request \(w.requestID) does not exist") }
        guard author == request.recipient else {
            throw ConsentError(.notRequestOwner, "only \(request.recipient) can withdraw request \(request.id)")
        }
        guard request.withdrawnAt == nil else { throw ConsentError(.requestWithdrawn, "request \(request.id) is already withdrawn") }
    }

    /// Checks that `party` is registered, active, and plays `role`.
    public static func checkParty(_ party: Party?, id: String, role: PartyRole) throws(ConsentError) {
        guard let party else { throw ConsentError(.unknownParty, "party '\(id)' is not registered") }
        guard party.status == .active else { throw ConsentError(.partySuspended, "party '\(id)' is suspended") }
        guard party.role == role else { throw ConsentError(.wrongRole, "party '\(id)' is a \(party.role.rawValue), not a \(role.rawValue)") }
    }

    /// Checks that an author's claimed time is within `clockSkewSecondsMax` of the broker's.
    public static func checkClock(_ claimed: Timestamp, now: Timestamp) throws(ConsentError) {
        // The claimed time is whatever the author signed, Int64.min included: a difference that
        // overflows is a skew like any other, not a trap.
        let (difference, overflow) = claimed.milliseconds.subtractingReportingOverflow(now.milliseconds)
        guard !overflow, difference.magnitude <= UInt64(clockSkewSecondsMax * 1000) else {
            throw ConsentError(.clockSkew, "your clock differs from the broker's by more than \(clockSkewSecondsMax) s; set it right and retry")
        }
    }
}
