import Accounting
import Testing

/// Planning a charge: vouchers first, then cash, into clearing, then the split.
struct ChargePlanTests {
    typealias F = Fixture

    static let payees = ChargePlan.Payees(
        clearingAccountID: F.clearing.id, manufacturerAccountID: F.maker.id,
        personAccountID: F.rewards.id, brokerFeesAccountID: F.fees.id)
    static let split = ChargePlan.Split(manufacturer: 6_000, person: 3_000, brokerFee: 1_000)
    static let soon = Account(id: "voucher:safedrive:2", owner: F.recipient, kind: .voucher, flags: F.limited, expiresAt: F.t0 + 10 * F.day)
    static let lapsed = Account(id: "voucher:safedrive:0", owner: F.recipient, kind: .voucher, flags: F.limited, expiresAt: F.now)

    /// The fixture with two more vouchers: 3,000 expiring in ten days, 2,000 already lapsed.
    static func book() -> Book {
        var book = Fixture.book()
        #expect(book.createAccounts([soon, lapsed]) == [.ok, .ok])
        let issues = [F.transfer("i-1", F.fund, soon, 3_000, .voucherIssue), F.transfer("i-2", F.fund, lapsed, 2_000, .voucherIssue)]
        #expect(book.apply(issues, at: F.t0) == [.ok, .ok])
        return book
    }

    static func plan(_ book: Book, price: Int64, split: ChargePlan.Split = split) throws(ChargeRefusal) -> ChargePlan {
        let vouchers = [F.voucher.id, lapsed.id, soon.id].compactMap { book.accounts[$0] }
        return try ChargePlan.make(
            chargeID: "chg_1", reference: "delivery:dlv_1", price: price, split: split,
            vouchers: vouchers, cash: book.accounts[F.cash.id]!, payees: payees, at: F.now)
    }

    @Test("vouchers pay first, the earliest to expire first, skipping the lapsed one, then cash")
    func order() throws {
        var book = Self.book()
        let price: Int64 = 60_000
        let plan = try Self.plan(book, price: price, split: .init(manufacturer: 36_000, person: 18_000, brokerFee: 6_000))
        let legs = plan.transfers.map { "\($0.debitAccountID)>\($0.creditAccountID):\($0.amount)" }
        #expect(
            legs == [
                "voucher:safedrive:2>clearing:3000", "voucher:safedrive:1>clearing:50000", "cash:safedrive>clearing:7000",
                "clearing>revenue:hyundai:36000", "clearing>rewards:sub_a:18000", "clearing>fees:6000",
            ])
        #expect((plan.fromVouchers, plan.fromCash) == (53_000, 7_000))
        #expect(plan.transfers.dropLast().allSatisfy { $0.flags == .linked })
        #expect(plan.transfers.last?.flags == [])
        #expect(plan.transfers.map(\.id) == ["chg_1:voucher:1", "chg_1:voucher:2", "chg_1:cash", "chg_1:manufacturer", "chg_1:person", "chg_1:fee"])

        #expect(book.apply(plan.transfers, at: F.now).allSatisfy { $0 == .ok })
        #expect(book.accounts[F.clearing.id]?.balance == 5_000, "clearing is back to what the seed's post left")
        #expect(book.accounts[Self.lapsed.id]?.balance == 2_000)
        #expect(book.accounts[F.cash.id]?.available == 83_000)
        #expect(book.violations().isEmpty)
    }

    @Test("a price the vouchers cover takes no cash")
    func vouchersOnly() throws {
        let plan = try Self.plan(Self.book(), price: 10_000)
        #expect((plan.fromVouchers, plan.fromCash) == (10_000, 0))
        #expect(!plan.transfers.contains { $0.debitAccountID == F.cash.id })
    }

    @Test("the split sums to the price and zero shares are left out")
    func split() throws {
        let plan = try Self.plan(Self.book(), price: 10_000, split: .init(manufacturer: 7_000, person: 0, brokerFee: 3_000))
        let shares = plan.transfers.filter { $0.debitAccountID == F.clearing.id }
        #expect(shares.map(\.code) == [.chargeSplitManufacturer, .brokerFee])
        #expect(shares.map(\.amount).reduce(0, +) == 10_000)
        let paid = plan.transfers.filter { $0.creditAccountID == F.clearing.id }.map(\.amount).reduce(0, +)
        #expect(paid == 10_000)
    }

    @Test("too little is refused with insufficient_funds and the shortfall")
    func insufficient() {
        // 53,000 in usable vouchers and 90,000 available cash.
        #expect(throws: ChargeRefusal(.insufficientFunds, shortfall: 7)) {
            try Self.plan(Self.book(), price: 143_007, split: .init(manufacturer: 143_007, person: 0, brokerFee: 0))
        }
    }

    @Test(
        "bad inputs are refused by name",
        arguments: [
            (ChargePlan.Split(manufacturer: 6_000, person: 3_000, brokerFee: 999), Int64(10_000), ChargeRefusal.Code.splitMustSumToPrice),
            (ChargePlan.Split(manufacturer: 11_000, person: -1_000, brokerFee: 0), 10_000, .splitMustSumToPrice),
            (ChargePlan.Split(manufacturer: .max, person: .max, brokerFee: 2), 0, .priceMustBePositive),
            (ChargePlan.Split(manufacturer: .max, person: .max, brokerFee: 2), .max, .splitMustSumToPrice),
        ])
    func refusals(split: ChargePlan.Split, price: Int64, expected: ChargeRefusal.Code) {
        #expect(throws: ChargeRefusal(expected)) { try Self.plan(Self.book(), price: price, split: split) }
    }

    @Test("a charge id too long to derive transfer ids is refused")
    func longChargeID() {
        let book = Self.book()
        #expect(throws: ChargeRefusal(.chargeIDInvalid)) {
            try ChargePlan.make(
                chargeID: String(repeating: "c", count: 113), reference: "r", price: 1, split: .init(manufacturer: 1, person: 0, brokerFee: 0),
                vouchers: [], cash: book.accounts[F.cash.id]!, payees: Self.payees, at: F.now)
        }
    }

    @Test("a plan applied twice answers exists throughout")
    func retried() throws {
        var book = Self.book()
        let plan = try Self.plan(book, price: 10_000)
        #expect(book.apply(plan.transfers, at: F.now).allSatisfy { $0 == .ok })
        #expect(book.apply(plan.transfers, at: F.now + 1).allSatisfy { $0 == .exists })
    }
}
