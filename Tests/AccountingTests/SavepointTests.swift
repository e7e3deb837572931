import Accounting
import Testing

/// A broker decides on its live book and rolls back what it cannot make durable: savepoints
/// must restore the book exactly, nested or not.
struct SavepointTests {
    static let more = [
        Fixture.transfer("sp:1", Fixture.cash, Fixture.maker, 700, .charge),
        Fixture.transfer("sp:2", Fixture.fund, Fixture.rewards, 300, .reward, flags: .pending, timeoutAt: Fixture.t0 + Fixture.day),
        Fixture.transfer("sp:3", Fixture.cash, Fixture.clearing, 0, .charge, flags: .postPending, pendingID: Fixture.hold.id),
    ]

    @Test("rolling back a savepoint restores accounts opened, transfers applied and pending transfers settled")
    func rollBack() {
        let original = Fixture.book()
        var book = original
        book.savepoint()
        #expect(book.createAccounts([Account(id: "new:1", owner: Fixture.broker, kind: .cash)]) == [.ok])
        #expect(book.apply(Self.more, at: Fixture.now) == [.ok, .ok, .ok])
        #expect(book != original)
        book.rollBackToSavepoint()
        #expect(book == original)
        #expect(book.apply(Self.more, at: Fixture.now) == [.ok, .ok, .ok], "the same ids apply again: nothing of them was left")
    }

    @Test("an inner savepoint released into an outer one is undone by the outer's rollback; an inner rollback keeps the outer's work")
    func nested() {
        let original = Fixture.book()
        var book = original
        book.savepoint()
        _ = book.apply([Self.more[0]], at: Fixture.now)
        let afterFirst = book
        book.savepoint()
        _ = book.createAccounts([Account(id: "new:2", owner: Fixture.broker, kind: .cash)])
        _ = book.apply(Array(Self.more[1...]), at: Fixture.now)
        book.rollBackToSavepoint()
        #expect(book == afterFirst)
        book.savepoint()
        _ = book.apply(Array(Self.more[1...]), at: Fixture.now)
        book.releaseSavepoint()
        book.rollBackToSavepoint()
        #expect(book == original)
    }
}
