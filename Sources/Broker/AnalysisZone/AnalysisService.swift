import Accounting
import Analysis
import Consent
import Foundation
import Ledger
import Metrics
import Ports
import Sodium
import Vault

/// The analysis zone: a recipient's aggregate query runs over the records of the persons whose
/// analysis consent covers them now, opened only inside this process; only the protected result
/// leaves, signed, with its privacy cost and the persons it counted on the ledger.
public struct AnalysisService: Sendable {
    public let broker: BrokerService
    public let vault: Vault
    var store: any BrokerStore { broker.store }

    public init(broker: BrokerService, vault: Vault) {
        self.broker = broker
        self.vault = vault
    }

    /// What a recipient may still spend under one request.
    public struct Budget: Codable, Sendable, Equatable {
        public var requestID: String
        public var periodStart: Timestamp
        public var periodEnd: Timestamp
        public var budgetEpsilon: Double
        public var spentEpsilon: Double
        public var remainingEpsilon: Double
        public var epsilonMaxPerAnalysis: Double
    }

    /// Runs `query` for `recipient` and records it: the `analysis.ran` event with its
    /// `analysis.included` events and its charge, in one append that also checks that the
    /// budget's stream, the policy and every included consent are as they were read. A
    /// revocation acknowledged before that append removes the person, or makes the analysis run
    /// again without them.
    ///
    /// - Throws: `ConsentError` (requestNotFound, notRequestOwner, accessNotAllowed,
    ///   invalidQuery, privacyBudgetExhausted, paymentRequired, …); nothing is recorded then.
    public func run(_ query: AnalysisQuery, recipient: String) async throws -> SignedAnalysis {
        try await retryingOnConflict { _ in try await attempt(query, recipient: recipient) }
    }

    private func attempt(_ query: AnalysisQuery, recipient: String) async throws -> SignedAnalysis {
        let budgetStream = StreamName.analyses(query.requestID)
        let budgetVersion = try await store.streamVersion(budgetStream)
        let policyVersion = try await store.streamVersion(StreamName.policy)
        guard let active = try await broker.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        let (request, rule) = try await admit(query.requestID, recipient: recipient, policy: active)
        let compiled = try CompiledQuery.compile(query, terms: request.terms, rule: rule, policy: active.policy)
        let now = broker.clock.now()
        let period = rule.period(at: now)
        let spent = try await store.analysisSpent(requestID: request.id, periodStart: period.start)
        guard spent + compiled.epsilonMilli <= rule.budgetEpsilonMilli else {
            throw ConsentError(
                .privacyBudgetExhausted,
                "request \(request.id) has ε \(Self.epsilon(rule.budgetEpsilonMilli - spent)) left until \(period.end) and this analysis asks for \(query.epsilon); ask for less or wait"
            )
        }
        // Who is included: every consent under the request active now.
        let consents = try await store.activeConsents(requestID: request.id, at: now, limit: AnalysisLimits.personsMax + 1)
        guard consents.count <= AnalysisLimits.personsMax else {
            throw ConsentError(
                .invalidQuery,
                "request \(request.id) has more than \(AnalysisLimits.personsMax) active consents; one analysis includes at most that many")
        }
        // The price goes by the persons included, never by whose records the query used (that
        // would tell who matched its filters); nothing is charged when no one is included.
        // Every consent of the request agreed to the same contract, so to the same price.
        var pinned: PriceRule?
        if let first = consents.first, let money = active.policy.accounting { pinned = try await broker.price(of: first, active: money) }
        let agreed = pinned
        let price = consents.isEmpty ? 0 : agreed?.analysisPrice(persons: consents.count) ?? 0
        // Whether the recipient can pay is checked before any record is read (the charge itself
        // is decided again at the commit, on the book as it then stands).
        if price > 0 {
            let spendable = try await store.accounts(owner: Owner(.recipient, recipient))
                .filter { $0.kind == .cash || ($0.kind == .voucher && !$0.isExpired(at: now.milliseconds)) }
                .reduce(Int64(0)) { $0 + max($1.available, 0) }
            guard spendable >= price else {
                throw ConsentError(
                    .paymentRequired,
                    "this analysis of \(consents.count) persons costs \(price) won and \(recipient)'s vouchers and cash are \(price - spendable) won short; top up cash or ask for a voucher"
                )
            }
        }
        let standing = try await store.party(recipient)?.status
        var aggregate = Aggregate(cells: compiled.cellCount, sums: compiled.sums.count)
        for contribution in try await contributions(of: consents, query: compiled, rule: rule, standing: standing, now: now) {
            aggregate.add(contribution)
        }
        var random = SodiumRandom()
        let release = try Aggregation.release(
            aggregate, query: compiled, rule: rule, deltaExponent: active.policy.analysis?.deltaExponent ?? 9, random: &random)
        let analysisID = Identifiers.random(prefix: "anl")
        let ran = AnalysisRan(
            analysisID: analysisID, requestID: request.id, recipient: recipient, category: request.terms.category,
            purpose: request.terms.purpose, query: query, queryHash: try SignedAnalysis.hash(of: query), policyVersion: active.version,
            policyHash: active.hash, epsilonMilli: compiled.epsilonMilli, periodStart: period.start, periodEnd: period.end,
            protection: release.protection, persons: consents.count, cells: release.cells,
            released: release.released, suppressed: release.suppressed, resultDigest: try SignedAnalysis.digest(of: release.cells),
            priceKRW: price)
        var events: [DomainEvent] = [.analysisRan(ran)]
        let subjects = consents.map(\.subject).sorted()
        for start in stride(from: 0, to: subjects.count, by: AnalysisLimits.personsPerInclusionEventMax) {
            let part = Array(subjects[start..<min(start + AnalysisLimits.personsPerInclusionEventMax, subjects.count)])
            events.append(
                .analysisIncluded(
                    AnalysisIncluded(
                        analysisID: analysisID, requestID: request.id, recipient: recipient, purpose: request.terms.purpose, subjects: part)))
        }
        // An active consent's stream holds its grant alone: a revocation since makes it 2.
        let conditions =
            [
                StreamCondition(streamID: budgetStream, expectedVersion: budgetVersion),
                StreamCondition(streamID: StreamName.policy, expectedVersion: policyVersion),
            ] + consents.map { StreamCondition(streamID: StreamName.consent($0.id), expectedVersion: 1) }
        let recorded: [RecordedEvent]
        if active.policy.accounting != nil {
            // Everyone included is paid their share, whatever the query used of their records.
            let byManufacturer = aggregate.byManufacturer
            let payees = consents.map { (subject: $0.subject, consentID: $0.id) }
            recorded = try await broker.appendBrokerEvents(events, conditions: conditions, transfersMax: 2 * payees.count + 10_000) { book, at in
                try MoneyRules.analysis(
                    analysisID: analysisID, recipient: recipient, included: payees, records: byManufacturer, at: at, price: agreed, book: book)
            }
        } else {
            recorded = try await broker.appendBrokerEvents(events, conditions: conditions)
        }
        Counter(label: "mydata_analyses_total").increment()
        Counter(label: "mydata_analysis_cells_total", dimensions: [("result", "released")]).increment(by: release.released)
        Counter(label: "mydata_analysis_cells_total", dimensions: [("result", "suppressed")]).increment(by: release.suppressed)
        // The analysis is recorded and paid: a proof that cannot be made now leaves the result without one.
        let proof = try? await broker.loggedEventProof(recorded[0])
        return try SignedAnalysis.make(ran, sequence: recorded[0].sequence, time: recorded[0].event.time, identity: broker.identity, logProof: proof)
    }

    /// The request `requestID` if `recipient` made it and the policy lets its consents be analysed.
    private func admit(_ requestID: String, recipient: String, policy: ActivePolicy) async throws -> (ConsentRequest, AnalysisRule) {
        try ConsentRules.checkParty(try await store.party(recipient), id: recipient, role: .recipient)
        let request = try await ownRequest(requestID, recipient: recipient)
        guard let rule = policy.policy.analysis?.rule(category: request.terms.category, purpose: request.terms.purpose) else {
            throw ConsentError(
                .accessNotAllowed, "policy \(policy.version) allows no analysis of \(request.terms.category) data for \(request.terms.purpose)")
        }
        guard request.terms.accessMode == .analysis || rule.analysisUnderDelivery else {
            throw ConsentError(
                .accessNotAllowed,
                "request \(requestID) asked for delivery consent, and policy \(policy.version) allows analyses of \(request.terms.category) data for \(request.terms.purpose) only under analysis consent"
            )
        }
        return (request, rule)
    }

    /// The request `requestID`, if `recipient` made it.
    private func ownRequest(_ requestID: String, recipient: String) async throws -> ConsentRequest {
        guard let request = try await store.request(requestID) else {
            throw ConsentError(.requestNotFound, "request \(requestID) does not exist; list yours with `mydata party requests`")
        }
        guard request.recipient == recipient else {
            throw ConsentError(.notRequestOwner, "request \(requestID) was made by another recipient")
        }
        return request
    }

    /// Each consent's records in the query's items and window, opened here and bounded. Persons
    /// are read 64 at a time in one store read, a few such groups in parallel, each person with
    /// their own random stream.
    private func contributions(
        of consents: [Consent], query: CompiledQuery, rule: AnalysisRule, standing: Party.Status?, now: Timestamp
    ) async throws -> [Contribution] {
        let groups = stride(from: 0, to: consents.count, by: 64).map { Array(consents[$0..<min($0 + 64, consents.count)]) }
        let width = max(2, ProcessInfo.processInfo.activeProcessorCount * 2)
        return try await withThrowingTaskGroup(of: (Int, [Contribution]).self) { group in
            var results = [[Contribution]?](repeating: nil, count: groups.count)
            var next = 0
            func start() {
                guard next < groups.count else { return }
                let index = next, members = groups[index]
                next += 1
                group.addTask { (index, try await contributions(ofGroup: members, query: query, rule: rule, standing: standing, now: now)) }
            }
            for _ in 0..<width { start() }
            while let (index, done) = try await group.next() {
                results[index] = done
                start()
            }
            return results.flatMap { $0 ?? [] }
        }
    }

    private func contributions(
        ofGroup consents: [Consent], query: CompiledQuery, rule: AnalysisRule, standing: Party.Status?, now: Timestamp
    ) async throws -> [Contribution] {
        func page(_ consent: Consent, after: RecordCursor) -> RecordQuery {
            let from = max(query.query.from, consent.terms.dataFrom), to = min(query.query.to, consent.terms.dataTo)
            // An empty window reads nothing: no items.
            return RecordQuery(
                subject: consent.subject, items: from < to ? query.query.items : [], from: from, to: max(from, to), after: after,
                through: .end, limit: BrokerLimits.deliveryRecordsMax)
        }
        let firstPages = try await vault.store.records(consents.map { page($0, after: .start) })
        var covered: [[SealedRecord]] = []
        for (consent, first) in zip(consents, firstPages) {
            var sealed = first
            var last = first
            // The rare person with more than a page: the rest of theirs, page by page.
            while last.count == BrokerLimits.deliveryRecordsMax, let cursor = last.last?.cursor {
                last = try await vault.store.records(page(consent, after: cursor))
                sealed += last
            }
            // What the one decision function lets this recipient have now, as for a pull.
            covered.append(
                sealed.filter { record in
                    AccessDecision.denial(
                        consent: consent, recipientStatus: standing,
                        query: AccessQuery(
                            recipient: consent.recipient, subject: record.subject, item: record.item, recordTime: record.time,
                            deviceConfirmed: true, now: now)) == nil
                })
        }
        // A person without a key (an erasure destroyed it) has nothing that can be opened.
        let keys = try await vault.existingDataKeys(for: zip(consents, covered).filter { !$1.isEmpty }.map(\.0.subject))
        return try zip(consents, covered).map { consent, records in
            guard let key = keys[consent.subject], !records.isEmpty else { return Contribution() }
            return try contribution(of: records, key: key, query: query, rule: rule)
        }
    }

    /// One person's records opened with their key and bounded.
    private func contribution(of covered: [SealedRecord], key: SymmetricKey, query: CompiledQuery, rule: AnalysisRule) throws -> Contribution {
        var rows: [AnalysisRow] = []
        rows.reserveCapacity(covered.count)
        for record in covered {
            let fields = try vault.withOpenedValues(record, key: key) { bytes in
                // The fast reader, or the full decoder for what it leaves (escapes, exponents).
                try query.fields(fromCanonical: bytes)
                    ?? query.row(
                        item: record.item, manufacturer: record.manufacturer,
                        values: try CanonicalJSON.decode([String: FieldValue].self, from: Array(bytes))
                    ).fields
            }
            rows.append(AnalysisRow(item: record.item, manufacturer: record.manufacturer, fields: fields))
        }
        var random = SodiumRandom()
        return Aggregation.contribution(
            of: rows, query: query, recordsPerCell: rule.recordsPerPersonPerCell, cellsMax: rule.cellsPerPerson, random: &random)
    }

    /// An analysis run before, for the recipient that ran it: the same result, not spent again.
    public func result(_ analysisID: String, recipient: String) async throws -> SignedAnalysis {
        guard let record = try await store.analysis(analysisID), record.recipient == recipient else {
            throw ConsentError(.analysisNotFound, "no analysis \(analysisID) of yours; run one with POST /v1/analyses")
        }
        let ran = try CanonicalJSON.decode(AnalysisRan.self, from: record.payload)
        var proof: TlogProof?
        if let recorded = try await store.events(from: record.sequence, limit: 1).first, recorded.sequence == record.sequence {
            proof = try? await broker.loggedEventProof(recorded)
        }
        return try SignedAnalysis.make(ran, sequence: record.sequence, time: record.time, identity: broker.identity, logProof: proof)
    }

    /// One analysis in a listing: enough to find it again (`result`) and to see what it cost.
    public struct Summary: Codable, Sendable, Equatable {
        public var analysisID: String
        public var ledgerSequence: UInt64
        public var time: Timestamp
        public var queryHash: String
        public var epsilon: Double
        public var persons: Int
        public var released: Int
        public var suppressed: Int
        public var priceKRW: Int64
    }

    /// The analyses `recipient` ran under its request `requestID`, newest first: a result whose
    /// answer was lost on the way is found here and fetched again, never run (and paid) twice.
    public func analyses(requestID: String, recipient: String, limit: Int, before: UInt64?) async throws -> [Summary] {
        let request = try await ownRequest(requestID, recipient: recipient)
        return try await store.analyses(requestID: request.id, limit: limit, before: before).map { record in
            let a = try CanonicalJSON.decode(AnalysisRan.self, from: record.payload)
            return Summary(
                analysisID: a.analysisID, ledgerSequence: record.sequence, time: record.time, queryHash: a.queryHash,
                epsilon: Self.epsilon(a.epsilonMilli), persons: a.persons, released: a.released, suppressed: a.suppressed, priceKRW: a.priceKRW)
        }
    }

    /// What `recipient` has left to spend under `requestID` in the current period.
    public func budget(requestID: String, recipient: String) async throws -> Budget {
        guard let active = try await broker.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        let (request, rule) = try await admit(requestID, recipient: recipient, policy: active)
        let period = rule.period(at: broker.clock.now())
        let spent = try await store.analysisSpent(requestID: request.id, periodStart: period.start)
        return Budget(
            requestID: request.id, periodStart: period.start, periodEnd: period.end, budgetEpsilon: Self.epsilon(rule.budgetEpsilonMilli),
            spentEpsilon: Self.epsilon(spent), remainingEpsilon: Self.epsilon(max(rule.budgetEpsilonMilli - spent, 0)),
            epsilonMaxPerAnalysis: Self.epsilon(rule.epsilonMaxPerAnalysisMilli))
    }

    static func epsilon(_ milli: Int64) -> Double { Double(milli) / 1000 }
}
