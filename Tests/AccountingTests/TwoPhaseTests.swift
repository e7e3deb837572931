import Accounting
import Testing

/// Pending transfers: reserve, then post all or part, or void; and what happens after.
struct TwoPhaseTests {
    typealias F = Fixture

    static let reserve = F.transfer("r-1", F.cash, F.clearing, 10_000, .charge, flags: .pending, timeoutAt: F.now + F.day)

    static func settle(_ id: String, _ flag: TransferFlags, _ amount: Int64 = 0, pending: String = reserve.id) -> Transfer {
        F.transfer(id, F.cash, F.clearing, amount, .charge, flags: flag, pendingID: pending, reference: "delivery:dlv_1")
    }

    static func reserved() -> Book {
        var book = Fixture.book()
        #expect(book.apply([reserve], at: F.now) == [.ok])
        return book
    }

    @Test("a reservation moves only pending counters and lowers what is available")
    func reservation() {
        let book = Self.reserved()
        let cash = book.accounts[F.cash.id]
        #expect(cash?.debitsPending == 15_000)
        #expect(cash?.balance == 95_000)
        #expect(cash?.available == 80_000)
        #expect(book.accounts[F.clearing.id]?.creditsPending == 15_000)
        #expect(book.pendingStatus(of: Self.reserve.id, at: F.now) == .pending)
    }

    @Test("a post of 0 posts the whole reservation and is kept with the amount it moved")
    func fullPost() {
        var book = Self.reserved()
        #expect(book.apply([Self.settle("p-1", .postPending)], at: F.now + 1) == [.ok])
        #expect(book.accounts[F.cash.id]?.debitsPending == 5_000)
        #expect(book.accounts[F.cash.id]?.debitsPosted == 15_000)
        #expect(book.accounts[F.clearing.id]?.creditsPosted == 15_000)
        #expect(book.transfer(id: "p-1")?.amount == 10_000)
        #expect(book.transfer(id: "p-1")?.timestamp == F.now + 1)
        #expect(book.pendingStatus(of: Self.reserve.id, at: F.now + 1) == .posted)
    }

    @Test("a partial post posts that much and releases the rest")
    func partialPost() {
        var book = Self.reserved()
        #expect(book.apply([Self.settle("p-1", .postPending, 7_500)], at: F.now + 1) == [.ok])
        let cash = book.accounts[F.cash.id]
        #expect(cash?.debitsPending == 5_000)
        #expect(cash?.debitsPosted == 12_500)
        #expect(cash?.available == 82_500)
        #expect(book.accounts[F.clearing.id]?.creditsPending == 5_000)
        #expect(book.totals.isBalanced)
    }

    @Test("a void releases the whole reservation, with 0 or the exact amount")
    func void() {
        for amount in [Int64(0), 10_000] {
            var book = Self.reserved()
            #expect(book.apply([Self.settle("v-1", .voidPending, amount)], at: F.now + 1) == [.ok])
            #expect(book.accounts[F.cash.id]?.available == 90_000)
            #expect(book.accounts[F.clearing.id]?.creditsPending == 5_000)
            #expect(book.pendingStatus(of: Self.reserve.id, at: F.now + 1) == .voided)
        }
    }

    @Test("a post after a void is refused, and a void after a post")
    func settledOnce() {
        var voided = Self.reserved()
        #expect(voided.apply([Self.settle("v-1", .voidPending)], at: F.now + 1) == [.ok])
        #expect(voided.apply([Self.settle("p-1", .postPending)], at: F.now + 2) == [.rejected(.pendingTransferAlreadyVoided)])
        var posted = Self.reserved()
        #expect(posted.apply([Self.settle("p-1", .postPending, 1)], at: F.now + 1) == [.ok])
        #expect(posted.apply([Self.settle("v-1", .voidPending)], at: F.now + 2) == [.rejected(.pendingTransferAlreadyPosted)])
        #expect(posted.apply([Self.settle("p-2", .postPending, 1)], at: F.now + 2) == [.rejected(.pendingTransferAlreadyPosted)])
    }

    @Test("an expired reservation cannot be posted, stays reserved, and a void releases it")
    func expired() {
        var book = Self.reserved()
        let timeout = F.now + F.day
        #expect(book.pendingStatus(of: Self.reserve.id, at: timeout - 1) == .pending)
        #expect(book.pendingStatus(of: Self.reserve.id, at: timeout) == .expired)
        #expect(book.apply([Self.settle("p-1", .postPending)], at: timeout) == [.rejected(.pendingTransferExpired)])
        #expect(book.accounts[F.cash.id]?.debitsPending == 15_000)
        #expect(book.apply([Self.settle("v-1", .voidPending)], at: timeout) == [.ok])
        #expect(book.accounts[F.cash.id]?.debitsPending == 5_000)
        #expect(book.pendingStatus(of: Self.reserve.id, at: timeout) == .voided)
    }

    @Test("a reservation made before a voucher expires can be posted after")
    func postAfterVoucherExpiry() {
        var book = Fixture.book()
        let expiry = F.voucher.expiresAt!
        let hold = F.transfer("r-1", F.voucher, F.clearing, 20_000, .charge, flags: .pending, timeoutAt: expiry + F.day)
        #expect(book.apply([hold], at: expiry - 1) == [.ok])
        let post = F.transfer("p-1", F.voucher, F.clearing, 0, .charge, flags: .postPending, pendingID: hold.id)
        #expect(book.apply([post], at: expiry + 1) == [.ok])
        // What was not reserved returns to the fund.
        let sweep = F.transfer("x-1", F.voucher, F.fund, 30_000, .voucherExpiry)
        #expect(book.apply([sweep.with { $0.amount = 30_001 }], at: expiry + 1) == [.rejected(.exceedsCredits)])
        #expect(book.apply([sweep], at: expiry + 1) == [.ok])
        #expect(book.accounts[F.voucher.id]?.balance == 0)
        #expect(book.accounts[F.fund.id]?.balance == 980_000)
    }

    @Test("the pending status of what is not a pending transfer is nil")
    func notPending() {
        let book = Fixture.book()
        #expect(book.pendingStatus(of: F.deposit.id, at: F.now) == nil)
        #expect(book.pendingStatus(of: "nope", at: F.now) == nil)
    }
}
