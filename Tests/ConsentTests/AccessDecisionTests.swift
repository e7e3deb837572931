import Consent
import Ledger
import Testing

/// "May recipient R receive item I of subject S for time t under consent C now?" — a table.
struct AccessDecisionTests {
    static let t0 = Timestamp(milliseconds: 1_796_169_600_000)

    static let consent = Consent(
        id: "con_1", requestID: "req_1", requestHash: "h", subject: "sub_a", recipient: "safedrive",
        terms: ConsentTerms(
            category: "vehicle", items: ["vehicle.driving", "vehicle.context"], purpose: "usage-based-insurance",
            dataFrom: t0.adding(days: -10), dataTo: t0.adding(days: 10), durationDays: 30, onceOff: false,
            retentionDays: 30, incentiveKRW: 0),
        grantedAt: t0, expiresAt: t0.adding(days: 30), policyVersion: "1", policyHash: "p", sensitiveConfirmed: false,
        revokedAt: nil, grantSequence: 7)

    static let allowed = AccessQuery(
        recipient: "safedrive", subject: "sub_a", item: "vehicle.driving",
        recordTime: t0.adding(days: -1), deviceConfirmed: true, now: t0.adding(days: 1))

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let consent: Consent?
        let recipientStatus: Party.Status?
        let query: AccessQuery
        let expected: ConsentError.Code?
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        var out: [Case] = [Case(name: "everything in scope is allowed", consent: consent, recipientStatus: .active, query: allowed, expected: nil)]
        func with(
            _ name: String, _ code: ConsentError.Code, consent c: Consent? = consent, status: Party.Status? = .active,
            _ change: (inout AccessQuery) -> Void = { _ in }
        ) {
            var q = allowed
            change(&q)
            out.append(Case(name: name, consent: c, recipientStatus: status, query: q, expected: code))
        }
        with("no consent", .consentNotFound, consent: nil)
        with("another recipient", .recipientMismatch) { $0.recipient = "other" }
        with("a suspended recipient", .recipientSuspended, status: .suspended)
        with("an unknown recipient", .recipientSuspended, status: nil)
        with("another person's record", .subjectMismatch) { $0.subject = "sub_b" }
        var revoked = consent
        revoked.revokedAt = t0.adding(seconds: 60)
        with("a revoked consent", .consentRevoked, consent: revoked)
        var revokedLater = consent
        revokedLater.revokedAt = t0.adding(days: 5)
        with("a revocation stamped ahead of the clock still counts at once", .consentRevoked, consent: revokedLater)
        with("at the expiry instant", .consentExpired) { $0.now = t0.adding(days: 30) }
        with("after expiry", .consentExpired) { $0.now = t0.adding(days: 31) }
        with("an item outside the consent", .itemNotInScope) { $0.item = "vehicle.parts" }
        with("a record before the data window", .outsideDataWindow) { $0.recordTime = t0.adding(days: -11) }
        with("a record at the window's end", .outsideDataWindow) { $0.recordTime = t0.adding(days: 10) }
        with("an unconfirmed device", .deviceNotBound) { $0.deviceConfirmed = false }
        with("revoked and out of scope: revocation comes first", .consentRevoked, consent: revoked) { $0.item = "vehicle.parts" }
        with("wrong recipient and expired: recipient comes first", .recipientMismatch) {
            $0.recipient = "x"; $0.now = t0.adding(days: 99)
        }
        return out
    }()

    @Test("access decisions", arguments: cases)
    func decide(_ c: Case) {
        let denial = AccessDecision.denial(consent: c.consent, recipientStatus: c.recipientStatus, query: c.query)
        #expect(denial?.code == c.expected)
    }
}
