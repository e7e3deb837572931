import Accounting
import Testing

/// Linked chains: all or nothing, and a batch may not end inside one.
struct LinkedChainTests {
    typealias F = Fixture

    static func linked(_ t: Transfer) -> Transfer { t.with { $0.flags.insert(.linked) } }

    static let charge = linked(F.transfer("c-1", F.cash, F.clearing, 10_000, .charge))
    static let toMaker = linked(F.transfer("c-2", F.clearing, F.maker, 6_000, .chargeSplitManufacturer))
    static let toPerson = F.transfer("c-3", F.clearing, F.rewards, 4_000, .chargeSplitPerson)

    @Test("a chain applies whole, each member seeing the ones before it")
    func wholeChain() {
        var book = Fixture.book()
        #expect(book.apply([Self.charge, Self.toMaker, Self.toPerson], at: F.now) == [.ok, .ok, .ok])
        #expect(book.accounts[F.clearing.id]?.balance == 5_000)
        #expect(book.accounts[F.rewards.id]?.balance == 4_000)
    }

    @Test("when one member fails, the others report linked_event_failed and nothing changes")
    func allOrNothing() {
        var book = Fixture.book()
        let before = book
        let tooMuch = Self.toPerson.with { $0.amount = 9_001 }
        #expect(
            book.apply([Self.charge, Self.toMaker, tooMuch], at: F.now)
                == [.rejected(.linkedEventFailed), .rejected(.linkedEventFailed), .rejected(.exceedsCredits)])
        #expect(book == before)
        // The ids are free again.
        #expect(book.apply([Self.charge, Self.toMaker, Self.toPerson], at: F.now) == [.ok, .ok, .ok])
    }

    @Test("members after the failing one are not checked and report linked_event_failed")
    func afterTheFailure() {
        var book = Fixture.book()
        let broken = Self.charge.with { $0.amount = 1_000_000 }
        #expect(
            book.apply([broken, Self.toMaker, Self.toPerson], at: F.now)
                == [.rejected(.exceedsCredits), .rejected(.linkedEventFailed), .rejected(.linkedEventFailed)])
    }

    @Test("a failed chain undoes the posts and voids it made")
    func undoesSettlement() {
        var book = Fixture.book()
        let before = book
        let post = Self.linked(F.transfer("p-1", F.cash, F.clearing, 0, .charge, flags: .postPending, pendingID: F.hold.id))
        let overdraw = F.transfer("c-9", F.clearing, F.fees, 1_000_000, .brokerFee)
        #expect(book.apply([post, overdraw], at: F.now) == [.rejected(.linkedEventFailed), .rejected(.exceedsCredits)])
        #expect(book == before)
        #expect(book.pendingStatus(of: F.hold.id, at: F.now) == .pending)
    }

    @Test("a batch that ends inside a chain refuses the chain with linked_event_chain_open")
    func chainOpen() {
        var book = Fixture.book()
        let before = book
        #expect(book.apply([Self.charge, Self.toMaker], at: F.now) == [.rejected(.linkedEventFailed), .rejected(.linkedEventChainOpen)])
        #expect(book.apply([Self.charge], at: F.now) == [.rejected(.linkedEventChainOpen)])
        #expect(book == before)
    }

    @Test("transfers outside a failed chain are applied")
    func chainsAreIndependent() {
        var book = Fixture.book()
        let alone = F.transfer("a-1", F.bank, F.cash, 1_000, .cashDeposit)
        let after = F.transfer("a-2", F.bank, F.cash, 2_000, .cashDeposit)
        let badChain = [
            Self.charge,
            Self.toMaker.with {
                $0.flags = []; $0.amount = 20_000
            },
        ]
        #expect(
            book.apply([alone] + badChain + [after], at: F.now)
                == [.ok, .rejected(.linkedEventFailed), .rejected(.exceedsCredits), .ok])
        #expect(book.accounts[F.cash.id]?.balance == 98_000)
    }

    @Test("a chain mixing applied transfers with new ones is refused, its first applied member answering exists")
    func mixedChain() {
        var book = Fixture.book()
        #expect(book.apply([Self.charge, Self.toMaker, Self.toPerson], at: F.now) == [.ok, .ok, .ok])
        let before = book
        let newDeposit = Self.linked(F.transfer("c-5", F.bank, F.cash, 1, .cashDeposit))
        #expect(
            book.apply([Self.charge, F.transfer("c-6", F.bank, F.cash, 1, .cashDeposit)], at: F.now)
                == [.exists, .rejected(.linkedEventFailed)])
        #expect(
            book.apply([newDeposit, Self.charge, Self.toMaker, Self.toPerson], at: F.now)
                == [.rejected(.linkedEventFailed), .exists, .rejected(.linkedEventFailed), .rejected(.linkedEventFailed)])
        #expect(book == before)
    }

    @Test("a retried chain answers exists throughout and changes nothing")
    func retriedChain() {
        var book = Fixture.book()
        let chain = [Self.charge, Self.toMaker, Self.toPerson]
        #expect(book.apply(chain, at: F.now) == [.ok, .ok, .ok])
        let before = book
        #expect(book.apply(chain, at: F.now + F.day) == [.exists, .exists, .exists])
        #expect(book == before)
    }
}
