import Accounting
import Testing

/// One row per rejection code: the setup on top of the seeded book, the transfer, the code.
struct TransferRejectionTests {
    typealias F = Fixture

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var setup: [Transfer] = []
        let transfer: Transfer
        var at: Int64 = Fixture.now
        let expected: TransferRejection
        var testDescription: String { "\(expected.rawValue): \(name)" }
    }

    static let fresh = F.transfer("t-1", F.bank, F.cash, 1_000, .cashDeposit)
    static let almostMax = Int64.max - 10

    static let cases: [Case] = [
        Case(name: "an empty id", transfer: fresh.with { $0.id = "" }, expected: .idInvalid),
        Case(name: "an id with a space", transfer: fresh.with { $0.id = "t 1" }, expected: .idInvalid),
        Case(name: "an id of 129 characters", transfer: fresh.with { $0.id = String(repeating: "x", count: 129) }, expected: .idInvalid),
        Case(name: "pending and post", transfer: fresh.with { $0.flags = [.pending, .postPending] }, expected: .flagsAreMutuallyExclusive),
        Case(name: "post and void", transfer: fresh.with { $0.flags = [.postPending, .voidPending] }, expected: .flagsAreMutuallyExclusive),
        Case(name: "a debit account id with a slash", transfer: fresh.with { $0.debitAccountID = "a/b" }, expected: .debitAccountIDInvalid),
        Case(name: "an empty credit account id", transfer: fresh.with { $0.creditAccountID = "" }, expected: .creditAccountIDInvalid),
        Case(name: "to itself", transfer: fresh.with { $0.creditAccountID = F.bank.id }, expected: .accountsMustBeDifferent),
        Case(name: "a pending id on a plain transfer", transfer: fresh.with { $0.pendingID = F.hold.id }, expected: .pendingIDMustBeEmpty),
        Case(
            name: "a post without a pending id",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = nil
            }, expected: .pendingIDRequired),
        Case(
            name: "a post of a malformed pending id",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = "a b"
            }, expected: .pendingIDInvalid),
        Case(
            name: "a post of itself",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = "t-1"
            }, expected: .pendingIDMustBeDifferent),
        Case(
            name: "a timeout on a plain transfer", transfer: fresh.with { $0.timeoutAt = F.now + F.day }, expected: .timeoutReservedForPendingTransfer
        ),
        Case(name: "a negative amount", transfer: fresh.with { $0.amount = -1 }, expected: .amountMustNotBeNegative),
        Case(
            name: "a negative post",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = F.hold.id; $0.amount = -5
            }, expected: .amountMustNotBeNegative),
        Case(name: "a zero amount", transfer: fresh.with { $0.amount = 0 }, expected: .amountMustNotBeZero),
        Case(
            name: "a zero pending amount",
            transfer: fresh.with {
                $0.amount = 0; $0.flags = .pending
            }, expected: .amountMustNotBeZero),
        Case(name: "an empty reference", transfer: fresh.with { $0.reference = "" }, expected: .referenceInvalid),
        Case(name: "a reference with a space", transfer: fresh.with { $0.reference = "consent con_1" }, expected: .referenceInvalid),
        Case(
            name: "a reference of 201 characters", transfer: fresh.with { $0.reference = String(repeating: "r", count: 201) },
            expected: .referenceInvalid),
        Case(name: "an unknown debit account", transfer: fresh.with { $0.debitAccountID = "nobody" }, expected: .debitAccountNotFound),
        Case(name: "an unknown credit account", transfer: fresh.with { $0.creditAccountID = "nobody" }, expected: .creditAccountNotFound),
        Case(
            name: "a post of an unknown pending transfer",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = "nope"
            }, expected: .pendingTransferNotFound),
        Case(
            name: "a post of a plain transfer",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = F.deposit.id
            }, expected: .pendingTransferNotPending),
        Case(
            name: "a post naming another debit account",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = F.hold.id; $0.debitAccountID = F.bank.id
            },
            expected: .pendingTransferHasDifferentDebitAccountID),
        Case(
            name: "a post naming another credit account",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = F.hold.id; $0.creditAccountID = F.fees.id
            },
            expected: .pendingTransferHasDifferentCreditAccountID),
        Case(
            name: "a post with another code",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = F.hold.id; $0.code = .correction
            },
            expected: .pendingTransferHasDifferentCode),
        Case(
            name: "a post of more than was reserved",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = F.hold.id; $0.amount = 5_001
            },
            expected: .exceedsPendingTransferAmount),
        Case(
            name: "a void of part of a reservation",
            transfer: F.void.with {
                $0.id = "t-1"; $0.pendingID = F.hold.id; $0.amount = 4_999
            },
            expected: .pendingTransferHasDifferentAmount),
        Case(name: "a retry with other flags", transfer: F.deposit.with { $0.flags = .pending }, expected: .existsWithDifferentFlags),
        Case(
            name: "a retry from another account", transfer: F.deposit.with { $0.debitAccountID = F.extA.id },
            expected: .existsWithDifferentDebitAccountID),
        Case(
            name: "a retry to another account", transfer: F.deposit.with { $0.creditAccountID = F.extA.id },
            expected: .existsWithDifferentCreditAccountID),
        Case(name: "a retry of another amount", transfer: F.deposit.with { $0.amount = 99_999 }, expected: .existsWithDifferentAmount),
        Case(
            name: "a post retried for another pending transfer", transfer: F.post.with { $0.pendingID = F.hold.id },
            expected: .existsWithDifferentPendingID),
        Case(
            name: "a pending transfer retried with another timeout", transfer: F.hold.with { $0.timeoutAt = F.t0 + 2 * F.day },
            expected: .existsWithDifferentTimeout),
        Case(name: "a retry with another code", transfer: F.deposit.with { $0.code = .correction }, expected: .existsWithDifferentCode),
        Case(
            name: "a retry with another reference", transfer: F.deposit.with { $0.reference = "deposit:dep_2" },
            expected: .existsWithDifferentReference),
        Case(name: "a post of a posted reservation", transfer: F.post.with { $0.id = "t-1" }, expected: .pendingTransferAlreadyPosted),
        Case(name: "a void of a voided reservation", transfer: F.void.with { $0.id = "t-1" }, expected: .pendingTransferAlreadyVoided),
        Case(
            name: "a post at the timeout",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = F.hold.id
            }, at: F.t0 + F.day,
            expected: .pendingTransferExpired),
        Case(
            name: "a voucher charged to the recipient's own cash", transfer: F.transfer("t-1", F.voucher, F.cash, 1_000, .charge),
            expected: .voucherDebitNotAllowed),
        Case(
            name: "a voucher redeemed to the bank", transfer: F.transfer("t-1", F.voucher, F.bank, 1_000, .redemption),
            expected: .voucherDebitNotAllowed),
        Case(
            name: "a voucher corrected into cash", transfer: F.transfer("t-1", F.voucher, F.cash, 1_000, .correction),
            expected: .voucherDebitNotAllowed),
        Case(
            name: "a voucher topped up from cash", transfer: F.transfer("t-1", F.cash, F.voucher, 1_000, .correction),
            expected: .voucherCreditNotAllowed),
        Case(
            name: "a voucher issued from the bank", transfer: F.transfer("t-1", F.bank, F.voucher, 1_000, .voucherIssue),
            expected: .voucherCreditNotAllowed),
        Case(
            name: "a charge from an expired voucher", transfer: F.transfer("t-1", F.voucher, F.clearing, 1_000, .charge), at: F.t0 + 30 * F.day,
            expected: .accountExpired),
        Case(
            name: "an issue into an expired voucher", transfer: F.transfer("t-1", F.fund, F.voucher, 1_000, .voucherIssue), at: F.t0 + 31 * F.day,
            expected: .accountExpired),
        Case(
            name: "an expiry before the voucher expires", transfer: F.transfer("t-1", F.voucher, F.fund, 50_000, .voucherExpiry),
            expected: .voucherNotExpired),
        Case(
            name: "an expiry of an account that never expires", transfer: F.transfer("t-1", F.cash, F.fund, 1_000, .voucherExpiry),
            expected: .voucherNotExpired),
        Case(
            name: "a reservation that times out at once",
            transfer: fresh.with {
                $0.flags = .pending; $0.timeoutAt = F.now
            },
            expected: .timeoutMustBeInFuture),
        Case(
            name: "pending debits past Int64", setup: [F.transfer("s-1", F.extA, F.extB, almostMax, flags: .pending)],
            transfer: F.transfer("t-1", F.extA, F.extC, 11, flags: .pending), expected: .overflowsDebitsPending),
        Case(
            name: "pending credits past Int64", setup: [F.transfer("s-1", F.extA, F.extB, almostMax, flags: .pending)],
            transfer: F.transfer("t-1", F.extC, F.extB, 11, flags: .pending), expected: .overflowsCreditsPending),
        Case(
            name: "posted debits past Int64", setup: [F.transfer("s-1", F.extA, F.extB, almostMax)],
            transfer: F.transfer("t-1", F.extA, F.extC, 11), expected: .overflowsDebitsPosted),
        Case(
            name: "posted credits past Int64", setup: [F.transfer("s-1", F.extA, F.extB, almostMax)],
            transfer: F.transfer("t-1", F.extC, F.extB, 11), expected: .overflowsCreditsPosted),
        Case(
            name: "pending plus posted debits past Int64", setup: [F.transfer("s-1", F.extA, F.extB, almostMax, flags: .pending)],
            transfer: F.transfer("t-1", F.extA, F.extC, 11), expected: .overflowsDebits),
        Case(
            name: "pending plus posted credits past Int64", setup: [F.transfer("s-1", F.extA, F.extB, almostMax, flags: .pending)],
            transfer: F.transfer("t-1", F.extC, F.extB, 11), expected: .overflowsCredits),
        Case(
            name: "a debit the balance covers but its reservations do not", transfer: F.transfer("t-1", F.cash, F.clearing, 90_001, .charge),
            expected: .exceedsCredits),
        Case(
            name: "a reservation beyond what is not yet reserved", transfer: F.transfer("t-1", F.cash, F.clearing, 90_001, .charge, flags: .pending),
            expected: .exceedsCredits),
        Case(name: "a capped account credited beyond its debits", transfer: F.transfer("t-1", F.bank, F.capped, 1_001), expected: .exceedsDebits),
    ]

    @Test("each rejection code, and the rejected transfer changes nothing", arguments: cases)
    func rejects(_ c: Case) {
        var book = Fixture.book()
        #expect(book.apply(c.setup, at: Fixture.now).allSatisfy { $0 == .ok })
        let before = book
        #expect(book.apply([c.transfer], at: c.at) == [.rejected(c.expected)])
        #expect(book == before)
    }

    @Test("every rejection code has a row here or in the linked-chain tests")
    func everyCodeIsCovered() {
        let covered = Set(Self.cases.map(\.expected)).union([.linkedEventFailed, .linkedEventChainOpen])
        #expect(Set(TransferRejection.allCases).subtracting(covered).isEmpty)
    }

    @Test("the boundaries themselves are accepted: all the cash, a capped account filled exactly")
    func boundaries() {
        var book = Fixture.book()
        let exact = [F.transfer("t-1", F.cash, F.clearing, 90_000, .charge), F.transfer("t-2", F.bank, F.capped, 1_000)]
        #expect(book.apply(exact, at: F.now) == [.ok, .ok])
        #expect(book.accounts[F.cash.id]?.available == 0)
        #expect(book.violations().isEmpty)
    }

    // MARK: Order

    static let orderCases: [Case] = [
        Case(
            name: "a bad id and a zero amount: the id",
            transfer: fresh.with {
                $0.id = ""; $0.amount = 0
            }, expected: .idInvalid),
        Case(
            name: "to itself and a bad reference: the accounts",
            transfer: fresh.with {
                $0.creditAccountID = F.bank.id; $0.reference = ""
            },
            expected: .accountsMustBeDifferent),
        Case(
            name: "a bad reference and unknown accounts: the reference",
            transfer: fresh.with {
                $0.debitAccountID = "x"; $0.reference = ""
            },
            expected: .referenceInvalid),
        Case(
            name: "unknown debit and credit accounts: the debit",
            transfer: fresh.with {
                $0.debitAccountID = "x"; $0.creditAccountID = "y"
            },
            expected: .debitAccountNotFound),
        Case(
            name: "a retry of another amount, beyond the cash: the existing transfer", transfer: F.hold.with { $0.amount = 10_000_000 },
            expected: .existsWithDifferentAmount),
        Case(
            name: "another flag and another amount: the flags",
            transfer: F.deposit.with {
                $0.flags = .pending; $0.amount = 1
            },
            expected: .existsWithDifferentFlags),
        Case(
            name: "a voucher to cash after expiry: the voucher rule", transfer: F.transfer("t-1", F.voucher, F.cash, 1, .charge),
            at: F.t0 + 40 * F.day, expected: .voucherDebitNotAllowed),
        Case(
            name: "an overflow beyond a cap: the overflow", setup: [F.transfer("s-1", F.extA, F.extB, almostMax)],
            transfer: F.transfer("t-1", F.extA, F.capped, 2_000), expected: .overflowsDebitsPosted),
        Case(
            name: "a post with another code after the timeout: the code",
            transfer: F.post.with {
                $0.id = "t-1"; $0.pendingID = F.hold.id; $0.code = .reward
            },
            at: F.t0 + 2 * F.day, expected: .pendingTransferHasDifferentCode),
        Case(
            name: "a post of a posted reservation after its timeout: already posted", transfer: F.post.with { $0.id = "t-1" },
            at: F.t0 + 2 * F.day, expected: .pendingTransferAlreadyPosted),
    ]

    @Test("a transfer with two faults gets the earlier code", arguments: orderCases)
    func order(_ c: Case) {
        rejects(c)
    }
}
