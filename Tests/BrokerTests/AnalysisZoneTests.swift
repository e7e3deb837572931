import Accounting
import Analysis
import Broker
import Consent
import Foundation
import Ledger
import Sodium
import Storage
import TestSupport
import Testing
import Vault

/// The analysis zone on a real store: who is included, what is released, what is spent and paid.
struct AnalysisZoneTests {
    /// The shipped policy with analysis limits a test can reach with a few dozen people: k = 5,
    /// δ = 10⁻³, ε up to 8 per analysis, 20 per period.
    static func testPolicy() throws -> LoadedPolicy {
        var files = try PolicyLoader.files(in: Repository.policies)
        files = files.map { $0.0 == "analysis.yaml" ? ($0.0, AnalysisTestPolicy.yaml) : $0 }
        return try PolicyLoader.load(files: files)
    }

    /// A broker with the test policy, an analysis request for household energy and a transfer
    /// service to push with.
    struct World {
        let f: BrokerFixture
        let transfer: TransferService
        let analyses: AnalysisService
        let request: ConsentRequest
        let t0: Timestamp

        init(_ backend: Backend, access: ConsentAccess = .analysis) async throws {
            f = try await BrokerFixture(backend)
            try await f.broker.activatePolicy(try AnalysisZoneTests.testPolicy())
            let vault = Vault(kek: try SymmetricKey(), store: f.store)
            transfer = TransferService(broker: f.broker, vault: vault)
            analyses = AnalysisService(broker: f.broker, vault: vault)
            t0 = f.clock.now()
            let terms = ConsentTerms(
                category: "energy", items: ["energy.household"], purpose: "energy-saving", dataFrom: t0.adding(days: -30),
                dataTo: t0.adding(days: 30), durationDays: 90, onceOff: false, retentionDays: 0, incentiveKRW: 0, access: access)
            request = try await f.request(terms: terms)
        }

        /// A person with a confirmed meter who grants the request and whose meter pushes
        /// `readings` (kWh) an hour apart.
        func person(readings: [Double], grant: Bool = true) async throws -> (Identity, Consent?) {
            let person = try await f.person()
            let meter = "meter-\(person.id.suffix(8))"
            try await f.broker.submit(
                f.manufacturer.sign(
                    .deviceAttested(DeviceAttested(deviceID: meter, manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
            try await f.broker.submit(
                person.sign(
                    .deviceConfirmed(DeviceConfirmed(deviceID: meter, manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
            if !readings.isEmpty {
                let records = readings.enumerated().map { i, kwh in
                    TelemetryRecord(
                        device: meter, item: "energy.household", time: t0.adding(seconds: -3_600 * Int64(i + 1)),
                        values: ["consumption": .number(kwh), "interval": .integer(900)])
                }
                _ = try await transfer.push(records, manufacturer: f.manufacturer.id, idempotencyKey: nil, digest: "00")
            }
            return (person, grant ? try await f.grant(request, by: person) : nil)
        }

        static let allMeasures = [
            AnalysisMeasure(kind: .persons), AnalysisMeasure(kind: .records), AnalysisMeasure(kind: .mean, field: "consumption", lower: 0, upper: 5),
        ]

        func query(epsilon: Double = 4, bins: [Double] = [0, 1, 2, 100], measures: [AnalysisMeasure] = allMeasures) -> AnalysisQuery {
            AnalysisQuery(
                requestID: request.id, items: ["energy.household"], from: t0.adding(days: -30), to: t0,
                groupBy: [AnalysisGroupBy(field: "consumption", bins: bins)], measures: measures, epsilon: epsilon)
        }

        /// The persons an analysis's `analysis.included` events list.
        func included(_ analysisID: String) async throws -> Set<String> {
            var out = Set<String>()
            for event in try await f.store.events(from: 1, limit: 100_000) {
                if case .analysisIncluded(let e)? = try? DomainEvent.decode(event.event), e.analysisID == analysisID { out.formUnion(e.subjects) }
            }
            return out
        }
    }

    @Test(
        "random worlds: released cells have at least k persons, revoked and erased people are never included",
        arguments: Backend.available, [UInt64(1), 2])
    func randomWorlds(_ backend: Backend, seed: UInt64) async throws {
        var rng = SplitMix64(state: seed)
        let w = try await World(backend)
        var active: [String: Int] = [:]  // person → home bin
        var gone = Set<String>()
        var people: [(Identity, Consent)] = []
        for _ in 0..<40 {
            // Most people's readings fall in bin [2, 100), a few in [0, 1) and [1, 2).
            let home = [2, 2, 2, 2, 2, 2, 2, 2, 0, 1].randomElement(using: &rng)!
            let base = [0.5, 1.5, 3.0][home]
            let readings = (0..<Int.random(in: 1...6, using: &rng)).map { _ in base + Double.random(in: -0.4...0.4, using: &rng) }
            let (person, consent) = try await w.person(readings: readings)
            people.append((person, consent!))
            active[person.id] = home
        }
        for (person, consent) in people.shuffled(using: &rng).prefix(8) {
            if Bool.random(using: &rng) {
                try await w.f.revoke(consent, by: person)
            } else {
                let erasure = try person.sign(.subjectErased(SubjectErased(subjectID: person.id)), at: w.f.clock.now())
                let revocation = try person.sign(.consentRevoked(ConsentRevoked(consentID: consent.id, subject: person.id)), at: w.f.clock.now())
                _ = try await w.transfer.erase([revocation, erasure], subject: person.id)
            }
            active[person.id] = nil
            gone.insert(person.id)
        }
        var released = 0
        for _ in 0..<3 {
            // Persons alone at ε 6: scale 4/6, margin 6, so a cell of 11 noisy persons is released.
            let result = try await w.analyses.run(w.query(epsilon: 6, measures: [AnalysisMeasure(kind: .persons)]), recipient: w.f.recipient.id)
            let included = try await w.included(result.analysis.analysisID)
            #expect(included.isDisjoint(with: gone), "a revoked or erased person was included")
            #expect(included == Set(active.keys))
            for (bin, cell) in result.analysis.cells.enumerated() where !cell.suppressed {
                released += 1
                let persons = active.values.filter { $0 == bin }.count
                #expect(persons >= result.analysis.protection.k, "cell \(cell.key) released with \(persons) persons")
            }
            #expect(result.analysis.persons == active.count)
        }
        #expect(released > 0, "the populous bin should have been released")
    }

    @Test("concurrent analyses never spend more than the budget", arguments: Backend.available)
    func budgetHoldsUnderConcurrency(_ backend: Backend) async throws {
        let w = try await World(backend)
        for _ in 0..<3 { _ = try await w.person(readings: [3]) }
        // A second broker process on the same store, as several PostgreSQL brokers would be.
        let second = AnalysisService(
            broker: BrokerService(store: try await w.f.handle.open(), identity: w.f.brokerIdentity, clock: w.f.clock), vault: w.analyses.vault)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                let service = backend == .postgres && i % 2 == 1 ? second : w.analyses
                group.addTask {
                    do {
                        _ = try await service.run(w.query(epsilon: 6), recipient: w.f.recipient.id)
                        return true
                    } catch let e as ConsentError where e.code == .privacyBudgetExhausted {
                        return false
                    } catch {
                        Issue.record("unexpected \(error)")
                        return false
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        // 20 / 6: three analyses fit, never four.
        #expect(outcomes.filter { $0 }.count == 3)
        let budget = try await w.analyses.budget(requestID: w.request.id, recipient: w.f.recipient.id)
        #expect(budget.spentEpsilon == 18 && budget.remainingEpsilon == 2)
        await #expect(throws: ConsentError.self) { try await w.analyses.run(w.query(epsilon: 3), recipient: w.f.recipient.id) }
        // Refused means nothing recorded: the spend is unchanged.
        #expect(try await w.analyses.budget(requestID: w.request.id, recipient: w.f.recipient.id).spentEpsilon == 18)
    }

    @Test("a result verifies offline, fails after any change, and is fetched again without a second spend", arguments: Backend.available)
    func resultVerifiesAndIsFetchedAgain(_ backend: Backend) async throws {
        let w = try await World(backend)
        for _ in 0..<12 { _ = try await w.person(readings: [3, 3.5]) }
        let result = try await w.analyses.run(w.query(), recipient: w.f.recipient.id)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(result)
        let key = w.f.brokerIdentity.publicKeys.signingKey
        #expect(try SignedAnalysis.verify(data, brokerKey: key) == result)
        // Its log proof puts this very event in the broker's log; another analysis's proof does not.
        let trust = ReceiptVerifier.LogTrust()
        #expect(try SignedAnalysis.verify(data, brokerKey: key, trust: trust) == result)
        let other = try await w.analyses.run(w.query(epsilon: 1), recipient: w.f.recipient.id)
        var swapped = result
        swapped.logProof = other.logProof
        #expect(throws: SignedAnalysis.Failure.self) { try SignedAnalysis.verify(try encoder.encode(swapped), brokerKey: key, trust: trust) }
        var unproven = result
        unproven.logProof = nil
        #expect(throws: SignedAnalysis.Failure.self) { try SignedAnalysis.verify(try encoder.encode(unproven), brokerKey: key, trust: trust) }
        var tampered = result
        tampered.analysis.cells[0].suppressed.toggle()
        #expect(throws: SignedAnalysis.Failure.self) { try SignedAnalysis.verify(try encoder.encode(tampered), brokerKey: key) }
        var spent = result
        spent.analysis.epsilonMilli = 1
        #expect(throws: SignedAnalysis.Failure.self) { try SignedAnalysis.verify(try encoder.encode(spent), brokerKey: key) }
        // Listed under the request, newest first, for the recipient that made it only.
        let listed = try await w.analyses.analyses(requestID: w.request.id, recipient: w.f.recipient.id, limit: 10, before: nil)
        #expect(listed.map(\.analysisID) == [other.analysis.analysisID, result.analysis.analysisID])
        #expect(listed.last?.ledgerSequence == result.ledgerSequence && listed.last?.epsilon == 4)
        #expect(
            try await w.analyses.analyses(requestID: w.request.id, recipient: w.f.recipient.id, limit: 1, before: listed[0].ledgerSequence)
                .map(\.analysisID) == [result.analysis.analysisID])
        await #expect(throws: ConsentError.self) {
            try await w.analyses.analyses(requestID: w.request.id, recipient: w.f.otherRecipient.id, limit: 10, before: nil)
        }
        let again = try await w.analyses.result(result.analysis.analysisID, recipient: w.f.recipient.id)
        #expect(again.analysis == result.analysis && again.signature == result.signature && again.ledgerSequence == result.ledgerSequence)
        #expect(try SignedAnalysis.verify(try encoder.encode(again), brokerKey: key, trust: trust) == again)
        #expect(try await w.analyses.budget(requestID: w.request.id, recipient: w.f.recipient.id).spentEpsilon == 5)
        await #expect(throws: ConsentError(.analysisNotFound, "no analysis \(result.analysis.analysisID) of yours; run one with POST /v1/analyses")) {
            try await w.analyses.result(result.analysis.analysisID, recipient: w.f.otherRecipient.id)
        }
        #expect(result.analysis.protection.mechanism == "discrete-laplace")
        #expect(result.analysis.resultDigest == (try SignedAnalysis.digest(of: result.analysis.cells)))
    }

    @Test("records under an analysis consent are never delivered, and analyses need the access the policy allows", arguments: Backend.available)
    func accessIsKeptApart(_ backend: Backend) async throws {
        let w = try await World(backend)
        let (_, consent) = try await w.person(readings: [1])
        await #expect {
            _ = try await w.transfer.pull(consentID: consent!.id, recipient: w.f.recipient.id, limit: 10)
        } throws: { ($0 as? ConsentError)?.code == .analysisOnly }
        // Vehicle data has no analysis rule: neither a request for analysis nor an analysis of a delivery request.
        var vehicle = w.f.vehicleTerms()
        vehicle.access = .analysis
        await #expect { try await w.f.request(terms: vehicle) } throws: { ($0 as? ConsentError)?.code == .accessNotAllowed }
        let delivery = try await w.f.request()
        var query = w.query()
        query.requestID = delivery.id
        query.items = ["vehicle.driving"]
        await #expect { try await w.analyses.run(query, recipient: w.f.recipient.id) } throws: { ($0 as? ConsentError)?.code == .accessNotAllowed }
        // Energy for saving allows analyses only under analysis consent.
        let energyDelivery = try await World(backend, access: .delivery)
        await #expect {
            try await energyDelivery.analyses.run(energyDelivery.query(), recipient: energyDelivery.f.recipient.id)
        } throws: { ($0 as? ConsentError)?.code == .accessNotAllowed }
        // Another recipient cannot run analyses under this request.
        await #expect {
            try await w.analyses.run(w.query(), recipient: w.f.otherRecipient.id)
        } throws: { ($0 as? ConsentError)?.code == .notRequestOwner }
    }

    @Test("a commit of more transfers than one event holds is split between events, never inside a linked chain", arguments: Backend.available)
    func largeCommitsKeepChainsWhole(_ backend: Backend) async throws {
        let f = try await BrokerFixture(backend)
        let a = AccountNames.cashAccount("chain-a"), b = AccountNames.revenueAccount("chain-b"), c = AccountNames.revenueAccount("chain-c")
        // 299 single transfers, then a chain of two across the 300-transfer boundary of an event.
        var transfers = (0..<299).map {
            Transfer(id: "single:\($0)", debitAccountID: AccountNames.bank, creditAccountID: a.id, amount: 10, code: .cashDeposit, reference: "test")
        }
        transfers.append(
            Transfer(id: "chain:1", debitAccountID: a.id, creditAccountID: b.id, amount: 5, flags: .linked, code: .charge, reference: "test"))
        transfers.append(Transfer(id: "chain:2", debitAccountID: a.id, creditAccountID: c.id, amount: 5, code: .charge, reference: "test"))
        let movement = MoneyRules.Movement(accounts: [a, b, c], transfers: transfers)
        let event = DomainEvent.analysisIncluded(
            AnalysisIncluded(analysisID: "anl_chain", requestID: "req", recipient: "safedrive", purpose: "p", subjects: []))
        let outcome = try await f.broker.accounting.commit(
            with: [(event, try event.newEvent(authorID: AuthorID.broker, time: f.clock.now()))], conditions: [], allOrNothing: true,
            transfersMax: 1_000
        ) { _, _ in movement }
        let posted = outcome.recorded.compactMap { r -> TransfersPosted? in
            if case .transfersPosted(let e)? = try? DomainEvent.decode(r.event) { e } else { nil }
        }
        #expect(posted.map { $0.transfers.count } == [301], "the chain stays in the event it starts in")
        #expect(try await f.store.account(a.id)?.balance == 2_990 - 10)
        #expect(try await f.store.account(c.id)?.balance == 5)
    }

    @Test("an analysis the recipient cannot pay for is refused before any record is read, and spends nothing", arguments: Backend.available)
    func unpaidAnalysisIsRefused(_ backend: Backend) async throws {
        let w = try await World(backend)
        let poor = try Identity.generate(id: "poor-startup")
        try await w.f.broker.registerParty(id: poor.id, role: .recipient, name: "Poor", keys: poor.publicKeys)
        var terms = w.request.terms
        terms.contract = nil  // the contract names its recipient: the fixture makes poor's own
        let request = try await w.f.request(terms: terms, by: poor)
        let person = try await w.person(readings: [3], grant: false).0
        try await w.f.grant(request, by: person)
        var query = w.query()
        query.requestID = request.id
        await #expect {
            try await w.analyses.run(query, recipient: poor.id)
        } throws: { ($0 as? ConsentError)?.code == .paymentRequired && ($0 as? ConsentError)?.message.contains("104 won short") == true }
        #expect(try await w.analyses.budget(requestID: request.id, recipient: poor.id).spentEpsilon == 0)
    }

    @Test("an analysis is paid like a delivery and every person it counted sees it in their access log", arguments: Backend.available)
    func analysisIsPaidAndLogged(_ backend: Backend) async throws {
        let w = try await World(backend)
        var people: [Identity] = []
        for _ in 0..<6 { people.append(try await w.person(readings: [3]).0) }
        let (idle, _) = try await w.person(readings: [])
        let cashBefore = try await w.f.store.account(AccountNames.cash(w.f.recipient.id))!.balance
        let result = try await w.analyses.run(w.query(), recipient: w.f.recipient.id)
        // energy: 100 won per analysis + 4 won per person included (the idle one too: a price that
        // followed whose records the query used would tell who matched its filters).
        #expect(result.analysis.priceKRW == 128)
        #expect(result.analysis.persons == 7)
        let cashAfter = try await w.f.store.account(AccountNames.cash(w.f.recipient.id))!.balance
        #expect(cashBefore - cashAfter == 128)
        // The reward reserved at the grant (700 won a month for 90 days) is paid at the consent's
        // first use, as a first delivery pays it; and the persons' share, 30% of 128 = 38, is 5
        // each and the 3 won left one each to the first three persons by id.
        var shares: [Int64] = []
        for person in people + [idle] {
            let rewards = try #require(try await w.f.store.account(AccountNames.rewards(person.id)))
            shares.append(rewards.balance - 2_100)
        }
        #expect(shares.reduce(0, +) == 38 && shares.sorted() == [5, 5, 5, 5, 6, 6, 6], "\(shares)")
        #expect(try await w.f.store.account(AccountNames.payouts)?.balance == 0)
        for person in people + [idle] {
            let log = try await w.f.store.analysisInclusions(subject: person.id, limit: 10, before: nil)
            #expect(log.map(\.analysisID) == [result.analysis.analysisID])
            #expect(log.first?.purpose == "energy-saving" && log.first?.recipient == w.f.recipient.id)
        }
        // The projections rebuild to what the live path wrote.
        let live = try await w.f.store.dumpProjections()
        try await w.f.store.rebuildProjections()
        #expect(try await w.f.store.dumpProjections() == live)
    }
}
