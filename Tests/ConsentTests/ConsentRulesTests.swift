import Consent
import Ledger
import Testing

/// The grant, request, revoke and withdraw rules, one case per rejection code.
struct ConsentRulesTests {
    static let t0 = Timestamp(milliseconds: 1_796_169_600_000)

    static let policySet = PolicySet(
        version: "1",
        categories: [
            DataCategory(
                id: "vehicle", title: "Vehicle", sensitive: false, maxConsentDays: 365,
                items: [
                    DataItem(
                        id: "vehicle.driving", title: "Driving", updateFrequency: "trip",
                        fields: [FieldSpec(name: "km", type: .number, unit: "km", required: true)]),
                    DataItem(
                        id: "vehicle.parts", title: "Parts", updateFrequency: "day",
                        fields: [FieldSpec(name: "part", type: .string, unit: nil, required: true)]),
                ]),
            DataCategory(
                id: "health", title: "Health", sensitive: true, maxConsentDays: 90,
                items: [
                    DataItem(
                        id: "health.vitals", title: "Vitals", updateFrequency: "m",
                        fields: [FieldSpec(name: "bpm", type: .integer, unit: "bpm", required: false)])
                ]),
        ],
        purposes: [
            Purpose(id: "insurance", title: "Insurance", categories: ["vehicle"]),
            Purpose(id: "care", title: "Care", categories: ["health"]),
        ])
    static let policy = ActivePolicy(version: "1", hash: "ph", policy: policySet, activatedAt: t0)
    static let recipient = Party(id: "safedrive", role: .recipient, name: "S", signingKey: "", boxKey: "", status: .active, registeredAt: t0)

    static let terms = ConsentTerms(
        category: "vehicle", items: ["vehicle.driving"], purpose: "insurance",
        dataFrom: t0.adding(days: -10), dataTo: t0.adding(days: 10), durationDays: 30,
        onceOff: false, retentionDays: 30, incentiveKRW: 500)

    static func request(_ terms: ConsentTerms = terms, subject: String? = nil) -> ConsentRequest {
        ConsentRequest(
            id: "req_1", recipient: "safedrive", subject: subject, terms: terms, offerExpiresAt: t0.adding(days: 5),
            policyVersion: "1", createdAt: t0, requestHash: "rh", withdrawnAt: nil)
    }

    static func grant(_ r: ConsentRequest = request(), subject: String = "sub_a", at now: Timestamp = t0) -> ConsentGranted {
        ConsentGranted(
            consentID: Identifiers.consentID(requestID: r.id, subject: subject), requestID: r.id, requestHash: r.requestHash,
            subject: subject, recipient: r.recipient, terms: r.terms, grantedAt: now,
            expiresAt: ConsentRules.expiry(of: r.terms, grantedAt: now), policyVersion: "1", policyHash: "ph",
            sensitiveConfirmed: false)
    }

    // MARK: Terms

    struct TermsCase: Sendable, CustomTestStringConvertible {
        let name: String
        let change: @Sendable (inout ConsentTerms) -> Void
        let expected: ConsentError.Code
        var testDescription: String { name }
    }

    static let termsCases: [TermsCase] = [
        TermsCase(name: "no items", change: { $0.items = [] }, expected: .invalidTerms),
        TermsCase(name: "an item twice", change: { $0.items = ["vehicle.driving", "vehicle.driving"] }, expected: .invalidTerms),
        TermsCase(name: "an empty data window", change: { $0.dataTo = $0.dataFrom }, expected: .invalidTerms),
        TermsCase(
            name: "a window starting one millisecond before 1970", change: { $0.dataFrom = Timestamp(milliseconds: -1) },
            expected: .invalidTerms),
        TermsCase(
            name: "a window ending one millisecond after 9999",
            change: { $0.dataTo = Timestamp(milliseconds: ConsentLimits.dataWindowMilliseconds.upperBound + 1) }, expected: .invalidTerms),
        TermsCase(name: "negative retention", change: { $0.retentionDays = -1 }, expected: .invalidTerms),
        TermsCase(name: "negative incentive", change: { $0.incentiveKRW = -5 }, expected: .invalidTerms),
        TermsCase(name: "an unknown category", change: { $0.category = "spaceship" }, expected: .unknownCategory),
        TermsCase(name: "an unknown item", change: { $0.items = ["vehicle.warp"] }, expected: .unknownItem),
        TermsCase(name: "an item outside its category", change: { $0.items = ["health.vitals"] }, expected: .itemNotInCategory),
        TermsCase(name: "an unknown purpose", change: { $0.purpose = "marketing" }, expected: .unknownPurpose),
        TermsCase(name: "a purpose not allowed for the category", change: { $0.purpose = "care" }, expected: .purposeNotAllowed),
        TermsCase(name: "a duration over the category's limit", change: { $0.durationDays = 366 }, expected: .durationOverLimit),
        TermsCase(name: "a zero duration", change: { $0.durationDays = 0 }, expected: .durationOverLimit),
        TermsCase(
            name: "health beyond its 90 days",
            change: {
                $0.category = "health"; $0.items = ["health.vitals"]; $0.purpose = "care"; $0.durationDays = 91
            }, expected: .durationOverLimit),
        TermsCase(
            name: "a once-off consent over 24 hours",
            change: {
                $0.onceOff = true; $0.durationDays = 2
            }, expected: .onceOffTooLong),
    ]

    @Test("terms the policy does not allow are refused", arguments: termsCases)
    func termsRejected(_ c: TermsCase) {
        var t = Self.terms
        c.change(&t)
        #expect(throws: ConsentError.self) { try ConsentRules.checkTerms(t, policy: Self.policySet) }
        do { try ConsentRules.checkTerms(t, policy: Self.policySet) } catch { #expect(error.code == c.expected) }
    }

    @Test("terms within the policy pass, at the category limit too")
    func termsAccepted() throws {
        try ConsentRules.checkTerms(Self.terms, policy: Self.policySet)
        var t = Self.terms
        t.durationDays = 365
        try ConsentRules.checkTerms(t, policy: Self.policySet)
        t.onceOff = true
        t.durationDays = 1
        try ConsentRules.checkTerms(t, policy: Self.policySet)
        t.dataFrom = Timestamp(milliseconds: ConsentLimits.dataWindowMilliseconds.lowerBound)
        t.dataTo = Timestamp(milliseconds: ConsentLimits.dataWindowMilliseconds.upperBound)
        try ConsentRules.checkTerms(t, policy: Self.policySet)
    }

    @Test("a once-off consent ends 24 hours after the grant; a periodic one after its days")
    func expiry() {
        var t = Self.terms
        #expect(ConsentRules.expiry(of: t, grantedAt: Self.t0) == Self.t0.adding(days: 30))
        t.onceOff = true
        t.durationDays = 1
        #expect(ConsentRules.expiry(of: t, grantedAt: Self.t0) == Self.t0.adding(seconds: 86_400))
    }

    // MARK: Grants

    struct GrantCase: Sendable, CustomTestStringConvertible {
        let name: String
        let expected: ConsentError.Code
        let grant: ConsentGranted
        var author = "sub_a"
        var request: ConsentRequest? = ConsentRulesTests.request()
        var recipient: Party? = ConsentRulesTests.recipient
        var existing: Consent? = nil
        var policy: ActivePolicy? = ConsentRulesTests.policy
        var now = ConsentRulesTests.t0
        var testDescription: String { name }
    }

    static let grantCases: [GrantCase] = {
        var cases: [GrantCase] = []
        let g = grant()
        cases.append(GrantCase(name: "no active policy", expected: .noActivePolicy, grant: g, policy: nil))
        cases.append(GrantCase(name: "no such request", expected: .requestNotFound, grant: g, request: nil))
        cases.append(GrantCase(name: "signed by someone else", expected: .badSignature, grant: g, author: "sub_mallory"))
        var badID = g
        badID.consentID = "con_chosen"
        cases.append(GrantCase(name: "a consent id not derived from request and person", expected: .invalidTerms, grant: badID))
        var withdrawn = request()
        withdrawn.withdrawnAt = t0
        cases.append(GrantCase(name: "a withdrawn request", expected: .requestWithdrawn, grant: g, request: withdrawn))
        cases.append(GrantCase(name: "an expired request", expected: .requestExpired, grant: grant(at: t0.adding(days: 6)), now: t0.adding(days: 6)))
        cases.append(
            GrantCase(name: "a request addressed to someone else", expected: .requestNotForSubject, grant: g, request: request(subject: "sub_b")))
        var suspended = recipient
        suspended.status = .suspended
        cases.append(GrantCase(name: "a suspended recipient", expected: .partySuspended, grant: g, recipient: suspended))
        let existing = Consent(
            id: g.consentID, requestID: "req_1", requestHash: "rh", subject: "sub_a", recipient: "safedrive", terms: terms,
            grantedAt: t0, expiresAt: t0.adding(days: 30), policyVersion: "1", policyHash: "ph",
            sensitiveConfirmed: false, revokedAt: t0, grantSequence: 3)
        cases.append(GrantCase(name: "a request already answered", expected: .consentExists, grant: g, existing: existing))
        var otherTerms = g
        otherTerms.terms.durationDays = 60
        cases.append(GrantCase(name: "terms that differ from the request", expected: .termsMismatch, grant: otherTerms))
        var otherHash = g
        otherHash.requestHash = "other"
        cases.append(GrantCase(name: "another request's hash", expected: .termsMismatch, grant: otherHash))
        var oldPolicy = g
        oldPolicy.policyHash = "old"
        cases.append(GrantCase(name: "a grant under a replaced policy", expected: .policyChanged, grant: oldPolicy))
        var healthTerms = terms
        healthTerms.category = "health"; healthTerms.items = ["health.vitals"]; healthTerms.purpose = "care"
        cases.append(
            GrantCase(
                name: "sensitive data without explicit confirmation", expected: .sensitiveNotConfirmed,
                grant: grant(request(healthTerms)), request: request(healthTerms)))
        cases.append(GrantCase(name: "a clock more than 300 s off", expected: .clockSkew, grant: grant(at: t0.adding(seconds: 301))))
        var longer = g
        longer.expiresAt = g.expiresAt.adding(days: 1)
        cases.append(GrantCase(name: "an expiry that does not follow from the terms", expected: .invalidTerms, grant: longer))
        return cases
    }()

    @Test("grants that break a rule are refused with its code", arguments: grantCases)
    func grantRejected(_ c: GrantCase) {
        do {
            try ConsentRules.checkGrant(
                c.grant, author: c.author, request: c.request, recipient: c.recipient, existing: c.existing,
                policy: c.policy, now: c.now)
            Issue.record("expected \(c.expected)")
        } catch {
            #expect(error.code == c.expected, "\(error.message)")
        }
    }

    @Test("a grant of an open offer, or of a request addressed to the person, passes")
    func grantAccepted() throws {
        try ConsentRules.checkGrant(
            Self.grant(), author: "sub_a", request: Self.request(), recipient: Self.recipient, existing: nil,
            policy: Self.policy, now: Self.t0)
        let addressed = Self.request(subject: "sub_a")
        try ConsentRules.checkGrant(
            Self.grant(addressed), author: "sub_a", request: addressed, recipient: Self.recipient, existing: nil,
            policy: Self.policy, now: Self.t0.adding(seconds: 299))
    }

    // MARK: Revocations and withdrawals

    static let active = Consent(
        id: "con_1", requestID: "req_1", requestHash: "rh", subject: "sub_a", recipient: "safedrive", terms: terms,
        grantedAt: t0, expiresAt: t0.adding(days: 30), policyVersion: "1", policyHash: "ph",
        sensitiveConfirmed: false, revokedAt: nil, grantSequence: 3)

    @Test("revocations: missing, by someone else, twice, after expiry")
    func revokeRules() {
        func code(_ body: () throws -> Void) -> ConsentError.Code? {
            do { try body(); return nil } catch { return (error as? ConsentError)?.code }
        }
        let r = ConsentRevoked(consentID: "con_1", subject: "sub_a")
        #expect(code { try ConsentRules.checkRevoke(r, author: "sub_a", consent: Self.active, now: Self.t0) } == nil)
        #expect(code { try ConsentRules.checkRevoke(r, author: "sub_a", consent: nil, now: Self.t0) } == .consentNotFound)
        #expect(code { try ConsentRules.checkRevoke(r, author: "sub_b", consent: Self.active, now: Self.t0) } == .notConsentSubject)
        #expect(
            code {
                try ConsentRules.checkRevoke(
                    ConsentRevoked(consentID: "con_1", subject: "sub_b"), author: "sub_b", consent: Self.active, now: Self.t0)
            } == .notConsentSubject)
        var revoked = Self.active
        revoked.revokedAt = Self.t0
        #expect(code { try ConsentRules.checkRevoke(r, author: "sub_a", consent: revoked, now: Self.t0) } == .consentAlreadyRevoked)
        #expect(code { try ConsentRules.checkRevoke(r, author: "sub_a", consent: Self.active, now: Self.t0.adding(days: 30)) } == .consentExpired)
    }

    @Test(
        "an author's time at either end of Int64 is refused as clock skew, not an overflow (found by fuzzing)",
        arguments: [Int64.min, Int64.min + 1, Int64.max, -1, 0])
    func clockAtTheEdges(_ claimed: Int64) {
        let late = #expect(throws: ConsentError.self) { try ConsentRules.checkClock(Timestamp(milliseconds: claimed), now: Self.t0) }
        #expect(late?.code == .clockSkew)
        let early = #expect(throws: ConsentError.self) { try ConsentRules.checkClock(Self.t0, now: Timestamp(milliseconds: claimed)) }
        #expect(early?.code == .clockSkew)
    }

    @Test("the clock check accepts exactly 300 s either way")
    func clockSkewBoundary() throws {
        try ConsentRules.checkClock(Self.t0.adding(seconds: 300), now: Self.t0)
        try ConsentRules.checkClock(Self.t0.adding(seconds: -300), now: Self.t0)
        #expect(throws: ConsentError.self) { try ConsentRules.checkClock(Timestamp(milliseconds: Self.t0.milliseconds + 300_001), now: Self.t0) }
        #expect(throws: ConsentError.self) { try ConsentRules.checkClock(Timestamp(milliseconds: Self.t0.milliseconds - 300_001), now: Self.t0) }
    }

    @Test("withdrawals: missing, by another recipient, twice")
    func withdrawRules() {
        func code(_ body: () throws -> Void) -> ConsentError.Code? {
            do { try body(); return nil } catch { return (error as? ConsentError)?.code }
        }
        let w = RequestWithdrawn(requestID: "req_1")
        #expect(code { try ConsentRules.checkWithdraw(w, author: "safedrive", request: Self.request()) } == nil)
        #expect(code { try ConsentRules.checkWithdraw(w, author: "safedrive", request: nil) } == .requestNotFound)
        #expect(code { try ConsentRules.checkWithdraw(w, author: "other", request: Self.request()) } == .notRequestOwner)
        var withdrawn = Self.request()
        withdrawn.withdrawnAt = Self.t0
        #expect(code { try ConsentRules.checkWithdraw(w, author: "safedrive", request: withdrawn) } == .requestWithdrawn)
    }

    @Test("consent ids derive from request and person; subject ids from the key")
    func identifiers() {
        #expect(Identifiers.consentID(requestID: "req_1", subject: "sub_a") == Identifiers.consentID(requestID: "req_1", subject: "sub_a"))
        #expect(Identifiers.consentID(requestID: "req_1", subject: "sub_a") != Identifiers.consentID(requestID: "req_1", subject: "sub_b"))
        #expect(Identifiers.isValidPartyID("safedrive-insurance"))
        #expect(!Identifiers.isValidPartyID("broker"))
        #expect(!Identifiers.isValidPartyID("sub_x1"))
        #expect(!Identifiers.isValidPartyID("Big Corp"))
    }
}

struct FieldValueTests {
    @Test("record values decode to their JSON kinds, and records are checked against their item's schema")
    func decodeAndCheck() throws {
        let values = try CanonicalJSON.decode([String: FieldValue].self, from: Array(#"{"a":true,"b":12,"c":1.5,"d":"x","e":-3}"#.utf8))
        #expect(values == ["a": .boolean(true), "b": .integer(12), "c": .number(1.5), "d": .string("x"), "e": .integer(-3)])
        #expect(FieldValue.integer(2) == .number(2.0))
        let policy = ConsentRulesTests.policySet
        let t = Timestamp(milliseconds: 0)
        #expect(
            RecordRules.problem(with: TelemetryRecord(device: "car", item: "vehicle.driving", time: t, values: ["km": .number(3.5)]), policy: policy)
                == nil)
        #expect(
            RecordRules.problem(with: TelemetryRecord(device: "car", item: "vehicle.driving", time: t, values: [:]), policy: policy)?.code
                == .invalidRecord)
        #expect(
            RecordRules.problem(
                with: TelemetryRecord(device: "car", item: "vehicle.driving", time: t, values: ["km": .string("far")]), policy: policy)?.code
                == .invalidRecord)
        #expect(
            RecordRules.problem(
                with: TelemetryRecord(device: "car", item: "vehicle.driving", time: t, values: ["km": .number(1), "x": .integer(1)]), policy: policy)?
                .code == .invalidRecord)
        #expect(
            RecordRules.problem(with: TelemetryRecord(device: "car", item: "vehicle.warp", time: t, values: [:]), policy: policy)?.code
                == .unknownItem)
        #expect(
            RecordRules.problem(with: TelemetryRecord(device: "a b", item: "vehicle.driving", time: t, values: ["km": .number(1)]), policy: policy)?
                .code == .invalidIdentifier)
    }
}
