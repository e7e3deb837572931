import Accounting

/// The accounts and the seeded book the tests start from.
enum Fixture {
    static let t0: Int64 = 1_796_169_600_000
    static let day: Int64 = 86_400_000
    /// The instant the tables apply their transfer: after the seed, before any timeout.
    static let now = t0 + 1_000

    static let broker = Owner(.broker, "broker")
    static let recipient = Owner(.recipient, "safedrive")
    static let limited: AccountFlags = .debitsMustNotExceedCredits

    /// The broker's bank mirror: debit-normal, no limit, the source of deposits.
    static let bank = Account(id: "bank", owner: broker, kind: .cash)
    static let fund = Account(id: "fund:ai-2026", owner: Owner(.fund, "ai-2026"), kind: .fund, flags: limited)
    static let voucher = Account(id: "voucher:safedrive:1", owner: recipient, kind: .voucher, flags: limited, expiresAt: t0 + 30 * day)
    static let cash = Account(id: "cash:safedrive", owner: recipient, kind: .cash, flags: limited)
    static let clearing = Account(id: "clearing", owner: broker, kind: .revenue, flags: limited)
    static let maker = Account(id: "revenue:hyundai", owner: Owner(.manufacturer, "hyundai"), kind: .revenue, flags: limited)
    static let rewards = Account(id: "rewards:sub_a", owner: Owner(.person, "sub_a"), kind: .rewards, flags: limited)
    static let fees = Account(id: "fees", owner: broker, kind: .fees, flags: limited)
    /// A debit-normal account that may not be credited beyond its debits.
    static let capped = Account(id: "capped", owner: broker, kind: .cash, flags: .creditsMustNotExceedDebits)
    /// Unlimited accounts for the overflow cases.
    static let extA = Account(id: "ext:a", owner: broker, kind: .cash)
    static let extB = Account(id: "ext:b", owner: broker, kind: .cash)
    static let extC = Account(id: "ext:c", owner: broker, kind: .cash)

    static let accounts = [bank, fund, voucher, cash, clearing, maker, rewards, fees, capped, extA, extB, extC]

    static let deposit = transfer("seed:cash", bank, cash, 100_000, .cashDeposit, reference: "deposit:dep_1")
    static let budget = transfer("seed:fund", bank, fund, 1_000_000, .cashDeposit, reference: "budget:2026")
    static let issue = transfer("seed:voucher", fund, voucher, 50_000, .voucherIssue, reference: "voucher:vch_1")
    static let capping = transfer("seed:capped", capped, bank, 1_000)
    /// An open reservation of 5,000 on the recipient's cash.
    static let hold = transfer("seed:hold", cash, clearing, 5_000, .charge, flags: .pending, timeoutAt: t0 + day)
    static let heldToPost = transfer("seed:hold-2", cash, clearing, 5_000, .charge, flags: .pending, timeoutAt: t0 + day)
    static let post = transfer("seed:post", cash, clearing, 0, .charge, flags: .postPending, pendingID: heldToPost.id)
    static let heldToVoid = transfer("seed:hold-3", cash, clearing, 5_000, .charge, flags: .pending, timeoutAt: t0 + day)
    static let void = transfer("seed:void", cash, clearing, 0, .charge, flags: .voidPending, pendingID: heldToVoid.id)

    static let seed = [deposit, budget, issue, capping, hold, heldToPost, post, heldToVoid, void]

    /// The accounts, with the seed applied at `t0`.
    static func book() -> Book {
        var book = Book()
        precondition(book.createAccounts(accounts).allSatisfy { $0 == .ok })
        precondition(book.apply(seed, at: t0).allSatisfy { $0 == .ok })
        return book
    }

    static func transfer(
        _ id: String, _ debit: Account, _ credit: Account, _ amount: Int64, _ code: TransferCode = .correction,
        flags: TransferFlags = [], pendingID: String? = nil, timeoutAt: Int64? = nil,
        reference: String = "test:1"
    ) -> Transfer {
        Transfer(
            id: id, debitAccountID: debit.id, creditAccountID: credit.id, amount: amount, pendingID: pendingID,
            flags: flags, code: code, reference: reference, timeoutAt: timeoutAt)
    }
}

extension Transfer {
    /// A copy with a change, for table rows.
    func with(_ change: (inout Transfer) -> Void) -> Transfer {
        var copy = self
        change(&copy)
        return copy
    }
}
