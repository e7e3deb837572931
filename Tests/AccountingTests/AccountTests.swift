import Accounting
import Foundation
import Testing

/// Creating accounts: one row per rejection code, and idempotent creation.
struct AccountTests {
    typealias F = Fixture

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let account: Account
        let expected: AccountRejection
        var testDescription: String { "\(expected.rawValue): \(name)" }
    }

    /// An account as it might arrive over the wire, counters included.
    static func decoded(_ json: String) -> Account {
        try! JSONDecoder().decode(Account.self, from: Data(json.utf8))
    }

    static let cases: [Case] = [
        Case(name: "an empty id", account: Account(id: "", owner: F.broker, kind: .fees), expected: .idInvalid),
        Case(name: "an id with a slash", account: Account(id: "a/b", owner: F.broker, kind: .fees), expected: .idInvalid),
        Case(
            name: "both limits",
            account: Account(id: "x", owner: F.broker, kind: .fees, flags: [.debitsMustNotExceedCredits, .creditsMustNotExceedDebits]),
            expected: .flagsAreMutuallyExclusive),
        Case(name: "an owner id with a space", account: Account(id: "x", owner: Owner(.person, "sub a"), kind: .rewards), expected: .ownerIDInvalid),
        Case(
            name: "an expiring cash account", account: Account(id: "x", owner: F.recipient, kind: .cash, expiresAt: F.t0),
            expected: .expiresAtReservedForVoucher),
        Case(
            name: "a voucher that may go below zero", account: Account(id: "x", owner: F.recipient, kind: .voucher, expiresAt: F.t0),
            expected: .voucherMustLimitDebits),
        Case(
            name: "pending debits", account: decoded(#"{"id":"x","owner":{"kind":"broker","id":"broker"},"kind":"fees","debitsPending":1}"#),
            expected: .debitsPendingMustBeZero),
        Case(
            name: "posted debits", account: decoded(#"{"id":"x","owner":{"kind":"broker","id":"broker"},"kind":"fees","debitsPosted":1}"#),
            expected: .debitsPostedMustBeZero),
        Case(
            name: "pending credits", account: decoded(#"{"id":"x","owner":{"kind":"broker","id":"broker"},"kind":"fees","creditsPending":1}"#),
            expected: .creditsPendingMustBeZero),
        Case(
            name: "posted credits", account: decoded(#"{"id":"x","owner":{"kind":"broker","id":"broker"},"kind":"fees","creditsPosted":1}"#),
            expected: .creditsPostedMustBeZero),
        Case(
            name: "the cash account again without its limit", account: Account(id: F.cash.id, owner: F.recipient, kind: .cash),
            expected: .existsWithDifferentFlags),
        Case(
            name: "the cash account again for another owner",
            account: Account(id: F.cash.id, owner: Owner(.recipient, "other"), kind: .cash, flags: F.limited),
            expected: .existsWithDifferentOwner),
        Case(
            name: "the cash account again as rewards", account: Account(id: F.cash.id, owner: F.recipient, kind: .rewards, flags: F.limited),
            expected: .existsWithDifferentKind),
        Case(
            name: "the voucher again with another expiry",
            account: Account(id: F.voucher.id, owner: F.recipient, kind: .voucher, flags: F.limited, expiresAt: F.t0),
            expected: .existsWithDifferentExpiresAt),
    ]

    @Test("each account rejection code, and the refused account changes nothing", arguments: cases)
    func rejects(_ c: Case) {
        var book = Fixture.book()
        let before = book
        #expect(book.createAccounts([c.account]) == [.rejected(c.expected)])
        #expect(book == before)
    }

    @Test("every account rejection code has a row")
    func everyCodeIsCovered() {
        #expect(Set(AccountRejection.allCases).subtracting(Self.cases.map(\.expected)).isEmpty)
    }

    @Test("creating the same account twice answers exists and keeps its balance")
    func createTwice() {
        var book = Fixture.book()
        let before = book
        #expect(book.createAccounts([F.cash.asCreated, F.voucher]) == [.exists, .exists])
        #expect(book == before)
        #expect(book.accounts[F.cash.id]?.balance == 95_000)
    }

    @Test("one refused account does not stop the others")
    func independent() {
        var book = Book()
        let good = Account(id: "fees", owner: F.broker, kind: .fees)
        #expect(book.createAccounts([Account(id: "", owner: F.broker, kind: .fees), good]) == [.rejected(.idInvalid), .ok])
        #expect(book.accounts == ["fees": good])
    }

    @Test("impossible counters do not decode")
    func impossibleCounters() {
        let negative = #"{"id":"x","owner":{"kind":"broker","id":"broker"},"kind":"fees","debitsPosted":-1}"#
        let overflowing = #"{"id":"x","owner":{"kind":"broker","id":"broker"},"kind":"fees","creditsPosted":9223372036854775807,"creditsPending":1}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Account.self, from: Data(negative.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Account.self, from: Data(overflowing.utf8)) }
    }
}
