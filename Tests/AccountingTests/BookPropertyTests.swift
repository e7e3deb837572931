import Accounting
import Testing

/// Thousands of random operations (plain, pending, post, void, linked chains, overdrafts,
/// overflows, retries of old ids) with the book's promises checked after every step.
struct BookPropertyTests {
    typealias F = Fixture

    static let lateVoucher = Account(id: "voucher:safedrive:late", owner: F.recipient, kind: .voucher, flags: F.limited, expiresAt: F.t0 + 90 * F.day)
    static let accounts = F.accounts + [lateVoucher]

    /// Flows the rules allow, then two they do not.
    static let flows: [(Account, Account, TransferCode)] = [
        (F.bank, F.cash, .cashDeposit), (F.bank, F.fund, .cashDeposit), (F.fund, F.voucher, .voucherIssue),
        (F.fund, lateVoucher, .voucherIssue), (F.voucher, F.clearing, .charge), (lateVoucher, F.clearing, .charge),
        (F.cash, F.clearing, .charge), (F.clearing, F.maker, .chargeSplitManufacturer), (F.clearing, F.rewards, .chargeSplitPerson),
        (F.clearing, F.fees, .brokerFee), (F.voucher, F.fund, .voucherExpiry), (F.rewards, F.bank, .redemption),
        (F.cash, F.rewards, .reward), (F.rewards, F.cash, .rewardClawback), (F.capped, F.bank, .correction),
        (F.bank, F.capped, .correction), (F.extA, F.extB, .correction), (F.extB, F.extC, .correction),
        (F.voucher, F.cash, .charge), (F.cash, F.voucher, .correction),
    ]

    /// Makes the random transfers, remembering what it submitted so it can retry and settle.
    struct Generator {
        var rng: SplitMix64
        var count = 0
        var submitted: [Transfer] = []
        var pendings: [Transfer] = []

        mutating func amount(gentle: Bool) -> Int64 {
            if gentle { return Int64(rng.below(3_000) + 1) }
            switch rng.below(20) {
            case 0: return Int64.max - Int64(rng.below(1_000))
            case 1: return 0
            case 2: return -Int64(rng.below(10) + 1)
            case 3...5: return Int64(rng.below(300_000) + 1)
            default: return Int64(rng.below(5_000) + 1)
            }
        }

        /// A new transfer; a gentle one follows an allowed flow with a small amount, so that
        /// chains of them often succeed.
        mutating func fresh(gentle: Bool) -> Transfer {
            count += 1
            let (debit, credit, code) =
                gentle || rng.chance(85)
                ? rng.pick(BookPropertyTests.flows.dropLast(2))
                : (rng.pick(BookPropertyTests.accounts), rng.pick(BookPropertyTests.accounts), rng.pick(TransferCode.allCases))
            return Transfer(
                id: "g\(count)", debitAccountID: debit.id, creditAccountID: credit.id, amount: amount(gentle: gentle),
                code: code, reference: "random:\(count)")
        }

        /// A post or void, usually of a reservation the book holds.
        mutating func settle(_ book: Book) -> Transfer {
            let held = pendings.filter { book.transfer(id: $0.id) != nil }
            let pending = held.isEmpty || rng.chance(10) ? rng.pick(pendings) : rng.pick(held)
            let amounts: [Int64] = [0, pending.amount, pending.amount + 1, max(1, pending.amount / 2)]
            count += 1
            return Transfer(
                id: "g\(count)", debitAccountID: pending.debitAccountID, creditAccountID: pending.creditAccountID,
                amount: rng.pick(amounts), pendingID: pending.id, flags: rng.chance(60) ? .postPending : .voidPending,
                code: pending.code, reference: "settle:\(count)")
        }

        mutating func transfer(_ book: Book, now: Int64, gentle: Bool) -> Transfer {
            switch rng.below(12) {
            case 0..<5:
                return fresh(gentle: gentle)
            case 5, 6:
                var t = fresh(gentle: gentle)
                t.flags = .pending
                t.timeoutAt = rng.chance(10) ? nil : now + Int64(rng.below(Int(2 * F.day)))
                pendings.append(t)
                return t
            case 7..<10 where !pendings.isEmpty:
                return settle(book)
            case 10 where !submitted.isEmpty:
                return rng.pick(submitted)
            case 11 where !submitted.isEmpty:
                return rng.pick(submitted).with { $0.amount += 1 }
            default:
                return fresh(gentle: gentle)
            }
        }

        mutating func batch(_ book: Book, now: Int64) -> [Transfer] {
            var batch: [Transfer]
            if rng.chance(30) {
                let gentle = rng.chance(70)
                batch = (0..<(2 + rng.below(3))).map { _ in transfer(book, now: now, gentle: gentle).with { $0.flags.insert(.linked) } }
                if !rng.chance(10) { batch[batch.count - 1].flags.remove(.linked) }
            } else {
                batch = (0..<(1 + rng.below(3))).map { _ in transfer(book, now: now, gentle: false) }
            }
            submitted += batch
            return batch
        }
    }

    /// The chains of a batch, as index ranges, the way `Book.apply` groups them.
    static func chains(_ batch: [Transfer]) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        var start = 0
        for (index, t) in batch.enumerated() where !t.flags.contains(.linked) || index == batch.count - 1 {
            ranges.append(start...index)
            start = index + 1
        }
        return ranges
    }

    /// The applied chain around `index` in a log.
    static func segment(of log: [Transfer], around index: Int) -> [Transfer] {
        var start = index
        while start > 0, log[start - 1].flags.contains(.linked) { start -= 1 }
        var end = index
        while log[end].flags.contains(.linked) { end += 1 }
        return Array(log[start...end])
    }

    @Test("money is conserved, limits hold, retries change nothing and the log rebuilds the book", arguments: [UInt64(1), 20_260_101])
    func randomOperations(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var generator = Generator(rng: SplitMix64(seed: seed ^ 0xA5A5))
        var book = Book()
        #expect(book.createAccounts(Self.accounts).allSatisfy { $0 == .ok })
        #expect(book.apply(F.seed, at: F.t0).allSatisfy { $0 == .ok })
        var seen: [String: Int] = [:]
        var wholeChains = 0
        var now = F.t0

        for step in 0..<1_000 {
            now += Int64(rng.chance(2) ? rng.below(Int(10 * F.day)) : rng.below(3_600_000))
            let batch = generator.batch(book, now: now)
            let before = book
            let results = book.apply(batch, at: now)
            for result in results { seen[result.code, default: 0] += 1 }

            try #require(results.count == batch.count)
            // Only `ok` transfers enter the log, and the rebuild below shows the log is all that changed.
            try #require(book.log.count == before.log.count + results.filter { $0 == .ok }.count, "step \(step)")
            if !results.contains(.ok) { try #require(book == before, "step \(step): nothing applied, yet the book changed") }
            for (t, result) in zip(batch, results) where result == .ok {
                try #require(book.transfer(id: t.id)?.timestamp == now, "step \(step): \(t.id) is ok but not in the log")
            }
            for chain in Self.chains(batch) where chain.count > 1 || batch[chain.lowerBound].flags.contains(.linked) {
                let refused = results[chain].contains { !$0.isApplied }
                try #require(!refused || !results[chain].contains(.ok), "step \(step): a chain applied in part")
                if results[chain].allSatisfy({ $0 == .ok }) { wholeChains += 1 }
            }
            try #require(book.totals.isBalanced, "step \(step): debits and credits differ")
            try #require(book.violations().isEmpty, "step \(step): \(book.violations().map(\.id)) broke their limits")

            let retry = Self.segment(of: book.log, around: rng.below(book.log.count))
            let snapshot = book
            try #require(book.apply(retry, at: now) == Array(repeating: .exists, count: retry.count), "step \(step): a retry was not exists")
            try #require(book == snapshot, "step \(step): a retry changed the book")

            let rebuilt = try Book.replay(accounts: Array(book.accounts.values), transfers: book.log)
            try #require(rebuilt == book, "step \(step): the log does not rebuild the book")
        }

        // The run must have reached the interesting places, or it proves little.
        for code in [
            "ok", "exists", "exceeds_credits", "exceeds_debits", "overflows_debits_posted", "linked_event_failed",
            "linked_event_chain_open", "pending_transfer_already_posted", "pending_transfer_already_voided",
            "pending_transfer_expired", "voucher_debit_not_allowed", "account_expired", "exists_with_different_amount",
        ] {
            #expect(seen[code, default: 0] >= 3, "\(code) came up \(seen[code, default: 0]) times")
        }
        #expect(seen.values.reduce(0, +) >= 2_000, "at least 2,000 operations")
        #expect(wholeChains >= 20, "only \(wholeChains) chains applied whole")
        #expect(book.log.contains { $0.flags.contains(.postPending) } && book.log.contains { $0.flags.contains(.voidPending) })
    }
}
