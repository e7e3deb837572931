import Accounting
import Broker
import Consent
import Foundation
import Ledger
import Sodium
import TestSupport
import Testing
import Vault

/// Money tied to consent and delivery, on a real store: rewards reserved at the grant and paid
/// at the first delivery, deliveries charged (vouchers first) in the same commit as their access
/// event, revocations voiding or clawing back, vouchers never becoming cash.
struct AccountingFlowTests {
    /// A world with one confirmed car of `person` holding `records` records of vehicle.driving.
    struct World {
        let f: BrokerFixture
        let transfer: TransferService
        let person: Identity
        let payer: Identity

        init(_ backend: Backend, records: Int = 10, cash: Int64 = 0) async throws {
            f = try await BrokerFixture(backend)
            transfer = TransferService(broker: f.broker, vault: Vault(kek: try SymmetricKey(), store: f.store))
            person = try await f.person()
            // A recipient with no money of its own: each test gives it what it needs.
            payer = try Identity.generate(id: "paying-startup")
            try await f.broker.registerParty(id: payer.id, role: .recipient, name: "Paying", keys: payer.publicKeys)
            if cash > 0 { try await f.broker.deposit(cash, to: AccountNames.cashAccount(payer.id), id: "cash-1") }
            try await f.broker.deposit(1_000_000, to: AccountNames.fundAccount("programme"), id: "budget")
            try await f.broker.submit(
                f.manufacturer.sign(
                    .deviceAttested(DeviceAttested(deviceID: "car", manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
            try await f.broker.submit(
                person.sign(
                    .deviceConfirmed(DeviceConfirmed(deviceID: "car", manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
            try await pushRecords(records)
        }

        /// `count` records of the person's car.
        func pushRecords(_ count: Int) async throws {
            let now = f.clock.now()
            let batch = (0..<count).map { i in
                TelemetryRecord(
                    device: "car", item: "vehicle.driving", time: now.adding(seconds: Int64(-i - 1)),
                    values: ["distance": .integer(Int64(i)), "duration": .integer(60), "average_speed": .integer(30)])
            }
            _ = try await transfer.push(batch, manufacturer: f.manufacturer.id, idempotencyKey: nil, digest: "push-\(count)-\(now)")
        }

        func consent(days: Int = 90) async throws -> Consent {
            try await f.grant(try await f.request(terms: f.vehicleTerms(days: days), subject: person.id, by: payer), by: person)
        }

        func account(_ id: String) async throws -> Account { try #require(try await f.store.account(id)) }

        /// The invariants after every step: money conserved, no limit broken, the ledger replays
        /// to the projections.
        func checkBooks() async throws {
            let accounts = try await f.store.accounts(owner: nil)
            #expect(accounts.reduce(Int64(0)) { $0 + $1.creditsPosted - $1.debitsPosted } == 0, "the balances sum to zero")
            #expect(accounts.reduce(Int64(0)) { $0 + $1.creditsPending - $1.debitsPending } == 0, "pending amounts sum to zero")
            #expect(accounts.filter(\.isViolatingLimits).isEmpty, "no limited account is overdrawn")
            guard case .success = try await AccountingAudit.verify(store: f.store) else {
                Issue.record("the accounting events do not replay to the projections"); return
            }
        }
    }

    @Test(
        "a grant reserves the reward, the first delivery pays it and is charged vouchers first, split to maker, person and broker",
        arguments: Backend.available)
    func grantDeliverCharge(_ backend: Backend) async throws {
        let w = try await World(backend, records: 10, cash: 1_000)
        _ = try await w.f.broker.issueVoucher(id: "v1", recipient: w.payer.id, amount: 25, expiresAt: w.f.clock.now().adding(days: 30))
        let consent = try await w.consent(days: 90)
        let rewards = try await w.account(AccountNames.rewards(w.person.id))
        #expect(rewards.creditsPending == 3_000, "90 days of vehicle data: 3 started months × 1,000 won, reserved")
        #expect(rewards.balance == 0)

        let delivery = try await w.transfer.pull(consentID: consent.id, recipient: w.payer.id, limit: 100)
        #expect(delivery.records.count == 10)
        // 10 won per pull + 2 won per record = 30 won: 25 from the voucher, 5 from cash.
        #expect(try await w.account(AccountNames.voucher(w.payer.id, "v1")).balance == 0)
        #expect(try await w.account(AccountNames.cash(w.payer.id)).balance == 995)
        #expect(try await w.account(AccountNames.revenue(w.f.manufacturer.id)).balance == 15, "50% to the maker")
        #expect(try await w.account(AccountNames.fees).balance == 6, "20% to the broker")
        #expect(try await w.account(AccountNames.clearing).balance == 0, "clearing is empty after a charge")
        let paid = try await w.account(AccountNames.rewards(w.person.id))
        #expect(paid.creditsPending == 0)
        #expect(paid.balance == 3_000 + 9, "the reward is paid at the first delivery, plus the person's 30% share")

        // The charge is in the same commit as the access event: right after it in the ledger.
        let events = try await w.f.store.events(from: try #require(delivery.ledgerSequence), limit: 3).map(\.event.type)
        #expect(
            events == [DomainEvent.TypeName.dataDelivered, DomainEvent.TypeName.accountsOpened, DomainEvent.TypeName.transfersPosted],
            "the maker's revenue account is opened by its first charge")

        // A second delivery (of new records) pays nothing more to the person's reward, only the share.
        try await w.pushRecords(10)
        _ = try await w.transfer.pull(
            consentID: consent.id, recipient: w.payer.id, after: try #require(RecordCursor(delivery.nextCursor)), limit: 100)
        #expect(try await w.account(AccountNames.rewards(w.person.id)).balance == 3_009 + 9)
        try await w.checkBooks()
    }

    @Test(
        "a consent is charged the price its standard contract states, whatever a later policy sets; a consent granted under the new policy pays the new one",
        arguments: Backend.available)
    func agreedPrice(_ backend: Backend) async throws {
        let w = try await World(backend, records: 10, cash: 1_000)
        let agreed = try await w.consent()
        #expect(agreed.terms.contract != nil)
        // The operator raises the vehicle price tenfold.
        let files = try PolicyLoader.files(in: Repository.policies).map { name, text in
            (name, name == "accounting.yaml" ? text.replacingOccurrences(of: "perPullKRW: 10\n", with: "perPullKRW: 100\n") : text)
        }
        try await w.f.broker.activatePolicy(try PolicyLoader.load(files: files))
        _ = try await w.transfer.pull(consentID: agreed.id, recipient: w.payer.id, limit: 100)
        #expect(try await w.account(AccountNames.cash(w.payer.id)).balance == 1_000 - 30, "the contract's 10 won per pull + 10 × 2 won")

        let later = try await w.consent()
        #expect(later.policyHash != agreed.policyHash)
        _ = try await w.transfer.pull(consentID: later.id, recipient: w.payer.id, limit: 100)
        #expect(try await w.account(AccountNames.cash(w.payer.id)).balance == 970 - 120, "the new policy's 100 won per pull + 10 × 2 won")
        try await w.checkBooks()
    }

    @Test("a pull the recipient cannot pay for is refused with paymentRequired, delivers nothing and logs nothing", arguments: Backend.available)
    func unpaidPull(_ backend: Backend) async throws {
        let w = try await World(backend, records: 10, cash: 29)
        let consent = try await w.consent()
        let head = try await w.f.store.head()
        await #expect(throws: ConsentError.self) {
            do { _ = try await w.transfer.pull(consentID: consent.id, recipient: w.payer.id, limit: 100) } catch let e as ConsentError {
                #expect(e.code == .paymentRequired)
                #expect(e.message.contains("1 won short"), "\(e.message)")
                throw e
            }
        }
        #expect(try await w.f.store.head() == head, "nothing was appended")
        #expect(try await w.f.store.accessLog(subject: w.person.id, limit: 10).isEmpty)
        #expect(try await w.account(AccountNames.cash(w.payer.id)).balance == 29)
        try await w.checkBooks()
    }

    @Test("a revocation voids a reward still reserved, and claws back a paid one within the window", arguments: Backend.available)
    func revocations(_ backend: Backend) async throws {
        let w = try await World(backend, records: 2, cash: 10_000)
        let unpaid = try await w.consent(days: 30)
        try await w.f.revoke(unpaid, by: w.person)
        var rewards = try await w.account(AccountNames.rewards(w.person.id))
        #expect(rewards.creditsPending == 0 && rewards.balance == 0, "the reservation is voided")

        let paid = try await w.consent(days: 30)
        _ = try await w.transfer.pull(consentID: paid.id, recipient: w.payer.id, limit: 100)
        rewards = try await w.account(AccountNames.rewards(w.person.id))
        #expect(rewards.balance == 1_000 + 4, "reward plus the share of a 14-won charge")
        w.f.clock.advance(days: 1)
        try await w.f.revoke(paid, by: w.person)
        rewards = try await w.account(AccountNames.rewards(w.person.id))
        #expect(rewards.balance == 4, "revoked within 7 days: the reward is taken back, the delivery share stays")

        let late = try await w.consent(days: 30)
        _ = try await w.transfer.pull(consentID: late.id, recipient: w.payer.id, limit: 100)
        w.f.clock.advance(days: 8)
        try await w.f.revoke(late, by: w.person)
        #expect(try await w.account(AccountNames.rewards(w.person.id)).balance == 4 + 1_000 + 4, "after the window the reward stays")
        try await w.checkBooks()
    }

    @Test(
        "a reward reserved for a consent that expired undelivered is voided by the sweep, and a revocation after it moves nothing",
        arguments: Backend.available)
    func expiredReservation(_ backend: Backend) async throws {
        let w = try await World(backend, records: 1)
        _ = try await w.consent(days: 1)
        #expect(try await w.account(AccountNames.rewards(w.person.id)).creditsPending == 1_000)
        #expect(try await w.f.broker.voidExpiredReservations() == 0, "not expired yet")
        w.f.clock.advance(days: 2)
        #expect(try await w.f.broker.voidExpiredReservations() == 1)
        #expect(try await w.account(AccountNames.rewards(w.person.id)).creditsPending == 0)
        #expect(try await w.f.broker.voidExpiredReservations() == 0, "voided once")
        try await w.checkBooks()
    }

    @Test("vouchers pay for data only: they cannot be redeemed or moved to cash, and expire back to their fund", arguments: Backend.available)
    func voucherRules(_ backend: Backend) async throws {
        let w = try await World(backend, records: 1)
        _ = try await w.f.broker.issueVoucher(id: "v1", recipient: w.payer.id, amount: 100, expiresAt: w.f.clock.now().adding(days: 1))
        let voucher = AccountNames.voucher(w.payer.id, "v1")
        let sneaky = Transfer(
            id: "to-cash", debitAccountID: voucher, creditAccountID: AccountNames.cash(w.payer.id), amount: 50,
            code: .correction, reference: "manual")
        let outcome = try await w.f.broker.accounting.commit(
            opening: [AccountNames.cashAccount(w.payer.id)], transfers: [sneaky], allOrNothing: false)
        #expect(outcome.results == [.rejected(.voucherDebitNotAllowed)])
        let fund = try await w.account(AccountNames.fund("programme")).balance
        w.f.clock.advance(days: 2)
        #expect(try await w.f.broker.expireVouchers() == 1)
        #expect(try await w.account(voucher).balance == 0)
        #expect(try await w.account(AccountNames.fund("programme")).balance == fund + 100, "what was left returns to the fund")
        #expect(try await w.f.broker.expireVouchers() == 0, "expiring twice moves nothing")
        try await w.checkBooks()
    }

    @Test(
        "two broker processes on one store keep one book: a stale book loses its fence, reloads and decides again",
        arguments: Backend.available)
    func twoBrokers(_ backend: Backend) async throws {
        let w = try await World(backend, records: 3)
        let other = BrokerService(store: try await w.f.handle.open(), identity: w.f.brokerIdentity, clock: w.f.clock)
        let cash = AccountNames.cashAccount(w.payer.id)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<30 {
                group.addTask { try await w.f.broker.deposit(10, to: cash, id: "a\(i)") }
                group.addTask { try await other.deposit(10, to: cash, id: "b\(i)") }
                // The same deposit id through both brokers is counted once.
                group.addTask { _ = try await w.f.broker.deposit(1, to: cash, id: "same\(i)") }
                group.addTask { _ = try await other.deposit(1, to: cash, id: "same\(i)") }
            }
            try await group.waitForAll()
        }
        #expect(try await w.account(cash.id).balance == 30 * 10 * 2 + 30)
        // A delivery charged by one broker right after the other moved the book.
        let consent = try await w.consent()
        _ = try await other.deposit(5, to: cash, id: "late")
        _ = try await w.transfer.pull(consentID: consent.id, recipient: w.payer.id, limit: 100)
        #expect(try await w.account(cash.id).balance == 630 + 5 - 16, "10 won per pull + 3 records × 2 won")
        try await w.checkBooks()
    }

    /// One random operation, with its parameters drawn before the concurrent run.
    enum Operation: Sendable {
        case grant(days: Int)
        case pull(Consent)
        case revoke(Consent)
        case voucher(id: String, amount: Int64, days: Int64)
        case expire(days: Int64)
        case deposit(id: String)
    }

    static func run(_ op: Operation, in w: World) async throws -> Consent? {
        switch op {
        case .grant(let days):
            return try await w.consent(days: days)
        case .pull(let consent):
            do { _ = try await w.transfer.pull(consentID: consent.id, recipient: w.payer.id, limit: 100) } catch let e as ConsentError {
                #expect([.consentRevoked, .consentExpired, .paymentRequired].contains(e.code), "\(e)")
            }
        case .revoke(let consent):
            do { try await w.f.revoke(consent, by: w.person) } catch let e as ConsentError {
                #expect(e.code == .consentAlreadyRevoked || e.code == .consentExpired, "\(e)")
            }
        case .voucher(let id, let amount, let days):
            _ = try await w.f.broker.issueVoucher(id: id, recipient: w.payer.id, amount: amount, expiresAt: w.f.clock.now().adding(days: days))
        case .expire(let days):
            w.f.clock.advance(days: days)
            try await w.f.broker.expireVouchers()
            try await w.f.broker.voidExpiredReservations()
        case .deposit(let id):
            #expect(try await w.f.broker.deposit(40, to: AccountNames.cashAccount(w.payer.id), id: id) == .ok)
        }
        return nil
    }

    @Test(
        "random concurrent grants, deliveries, revocations, vouchers, expiries and retried ids keep the books balanced and rebuildable",
        arguments: Backend.available, [UInt64(7), 8])
    func randomOperations(_ backend: Backend, seed: UInt64) async throws {
        var rng = SplitMix64(state: seed)
        let w = try await World(backend, records: 5, cash: 300)
        var consents: [Consent] = []
        var deposits: [String] = []
        for step in 0..<30 {
            // A retried deposit id, alone: it must change nothing at all.
            if let old = deposits.randomElement(using: &rng), Int.random(in: 0..<4, using: &rng) == 0 {
                let before = try await w.f.store.accounts(owner: nil)
                #expect(try await w.f.broker.deposit(40, to: AccountNames.cashAccount(w.payer.id), id: old) == .exists)
                #expect(try await w.f.store.accounts(owner: nil) == before, "a retried deposit changes nothing")
            }
            // One to four operations at once.
            var ops: [Operation] = []
            for n in 0..<Int.random(in: 1...4, using: &rng) {
                switch Int.random(in: 0..<7, using: &rng) {
                case 0, 1: ops.append(.grant(days: Int.random(in: 1...120, using: &rng)))
                case 2: if let c = consents.randomElement(using: &rng) { ops.append(.pull(c)) }
                case 3: if let c = consents.randomElement(using: &rng) { ops.append(.revoke(c)) }
                case 4:
                    ops.append(
                        .voucher(id: "v\(step)-\(n)", amount: Int64.random(in: 1...60, using: &rng), days: Int64.random(in: 3...5, using: &rng)))
                case 5: ops.append(.expire(days: Int64.random(in: 0...2, using: &rng)))
                default:
                    deposits.append("d\(step)-\(n)")
                    ops.append(.deposit(id: deposits.last!))
                }
            }
            // Moving the clock runs alone: events signed at the old time would be refused as skewed.
            for op in ops { if case .expire = op { _ = try await Self.run(op, in: w) } }
            let operations = ops.filter { if case .expire = $0 { false } else { true } }
            let granted = try await withThrowingTaskGroup(of: Consent?.self) { group in
                for op in operations { group.addTask { try await Self.run(op, in: w) } }
                return try await group.reduce(into: [Consent]()) { if let c = $1 { $0.append(c) } }
            }
            consents += granted
            try await w.checkBooks()
        }
        let live = try await w.f.store.dumpProjections()
        try await w.f.store.rebuildProjections()
        #expect(try await w.f.store.dumpProjections() == live, "a rebuild from the events gives identical balances")
    }
}

/// Records a device produced before its person confirmed it become visible with the
/// confirmation: a recipient that continues from its cursor gets them, once.
struct LateConfirmationTests {
    @Test("records of a device confirmed after the recipient's cursor come after that cursor", arguments: Backend.available)
    func lateConfirmation(_ backend: Backend) async throws {
        let w = try await AccountingFlowTests.World(backend, records: 3, cash: 1_000_000)
        let f = w.f
        try await f.broker.submit(
            f.manufacturer.sign(
                .deviceAttested(DeviceAttested(deviceID: "car-late", manufacturer: f.manufacturer.id, subject: w.person.id)), at: f.clock.now()))
        let now = f.clock.now()
        let late = (0..<2).map { i in
            TelemetryRecord(
                device: "car-late", item: "vehicle.driving", time: now.adding(seconds: Int64(-10 - i)),
                values: ["distance": .integer(Int64(100 + i)), "duration": .integer(60), "average_speed": .integer(30)])
        }
        _ = try await w.transfer.push(late, manufacturer: f.manufacturer.id, idempotencyKey: nil, digest: "01")
        // A later batch of the confirmed car: the recipient's cursor ends past the late device's batch.
        let more = (0..<2).map { i in
            TelemetryRecord(
                device: "car", item: "vehicle.driving", time: now.adding(seconds: Int64(-20 - i)),
                values: ["distance": .integer(Int64(200 + i)), "duration": .integer(60), "average_speed": .integer(30)])
        }
        _ = try await w.transfer.push(more, manufacturer: f.manufacturer.id, idempotencyKey: nil, digest: "02")
        let consent = try await w.consent()
        let first = try await w.transfer.pull(consentID: consent.id, recipient: w.payer.id, limit: 5)
        #expect(first.records.count == 5, "only the confirmed car's records")
        #expect(first.records.allSatisfy { $0.device == "car" })
        let cursor = try #require(RecordCursor(first.nextCursor), "a page hands out its cursor")
        try await f.broker.submit(
            w.person.sign(
                .deviceConfirmed(DeviceConfirmed(deviceID: "car-late", manufacturer: f.manufacturer.id, subject: w.person.id)), at: f.clock.now()))
        let next = try await w.transfer.pull(consentID: consent.id, recipient: w.payer.id, after: cursor, limit: 100)
        #expect(next.records.map(\.device) == ["car-late", "car-late"], "the late device's records come after the cursor, once")
        let again = try await w.transfer.pull(consentID: consent.id, recipient: w.payer.id, after: cursor, limit: 100)
        #expect(again.records.count == 2, "the same cursor gives the same page")
        #expect(again.replayed && again.deliveryID == next.deliveryID && again.digest == next.digest, "as the same delivery")
    }
}
