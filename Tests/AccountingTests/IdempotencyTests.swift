import Accounting
import Testing

/// A transfer id is applied once; a retry with identical fields answers `.exists` and changes
/// nothing, however the book has moved since.
struct IdempotencyTests {
    typealias F = Fixture

    @Test("the same id with identical fields answers exists and changes nothing")
    func retry() {
        var book = Fixture.book()
        let before = book
        #expect(book.apply(Fixture.seed, at: F.now) == Array(repeating: .exists, count: Fixture.seed.count))
        #expect(book == before)
    }

    @Test("a retry within the same batch answers exists")
    func sameBatch() {
        var book = Fixture.book()
        let t = F.transfer("t-1", F.bank, F.cash, 1_000, .cashDeposit)
        #expect(book.apply([t, t], at: F.now) == [.ok, .exists])
        #expect(book.accounts[F.cash.id]?.balance == 96_000)
    }

    @Test("a retry is recognised even when it could no longer be applied")
    func retryAfterTheStateMoved() {
        var book = Fixture.book()
        let spend = F.transfer("t-1", F.cash, F.clearing, 90_000, .charge)
        #expect(book.apply([spend], at: F.now) == [.ok])
        let expiry = F.voucher.expiresAt!
        let charge = F.transfer("t-2", F.voucher, F.clearing, 1_000, .charge)
        #expect(book.apply([charge], at: expiry - 1) == [.ok])
        let before = book
        // The cash is spent and the voucher expired: new, they would be refused.
        #expect(book.apply([spend, charge], at: expiry + F.day) == [.exists, .exists])
        #expect(book.apply([spend.with { $0.id = "t-3" }], at: expiry) == [.rejected(.exceedsCredits)])
        #expect(book.apply([charge.with { $0.id = "t-4" }], at: expiry) == [.rejected(.accountExpired)])
        #expect(book == before)
    }

    @Test("a retried post answers exists whether it names 0 or the amount it moved, even after the timeout")
    func retriedPost() {
        var book = Fixture.book()
        let before = book
        let explicit = F.post.with { $0.amount = 5_000 }
        #expect(book.apply([F.post, explicit], at: F.t0 + 2 * F.day) == [.exists, .exists])
        #expect(book.apply([F.void, F.void.with { $0.amount = 5_000 }], at: F.now) == [.exists, .exists])
        #expect(book == before)
    }

    @Test("the timestamp passed in is ignored: the book stamps the transfer")
    func timestampIgnored() {
        var book = Fixture.book()
        let t = F.transfer("t-1", F.bank, F.cash, 1_000, .cashDeposit).with { $0.timestamp = 42 }
        #expect(book.apply([t], at: F.now) == [.ok])
        #expect(book.transfer(id: "t-1")?.timestamp == F.now)
        #expect(book.apply([t.with { $0.timestamp = 7 }], at: F.now + 5) == [.exists])
    }
}
