import Accounting
import Consent
import Ledger
import Ports

/// The money half of `mydata admin verify`: replays every `accounts.opened` and
/// `transfers.posted` event into a fresh `Book` and checks that each transfer is accepted again,
/// that each event's recorded balances are what the replay gives, that debits equal credits over
/// all accounts, that no limited account is overdrawn, and that the projections hold the same
/// balances.
public enum AccountingAudit {
    public struct Report: Sendable, Equatable {
        public var accounts: Int
        public var transfers: Int
        /// Posted debits over all accounts (equal to posted credits).
        public var posted: Int64
        /// Pending debits over all accounts (equal to pending credits).
        public var pending: Int64
    }

    /// Events read per page.
    static let pageEvents = 2_000

    public static func verify(store: any BrokerStore) async throws -> Result<Report, VerificationFailure> {
        // The projections first, with the accounting stream's version they reflect: brokers may
        // keep appending while this runs, so they are compared with the replay at that version.
        let projected = try await store.accountingSnapshot()
        func compareProjections(_ book: Book, at sequence: UInt64) -> VerificationFailure? {
            for account in projected.accounts where book.accounts[account.id] != account {
                return VerificationFailure(
                    sequence: sequence, kind: .accountsDoNotAddUp,
                    detail: "the projection's balance of \(account.id) differs from the replay; run `mydata admin rebuild`")
            }
            guard projected.accounts.count == book.accounts.count else {
                return VerificationFailure(
                    sequence: sequence, kind: .accountsDoNotAddUp,
                    detail: "the projections hold \(projected.accounts.count) accounts, the ledger \(book.accounts.count); run `mydata admin rebuild`"
                )
            }
            return nil
        }
        var book = Book()
        var transfers = 0
        var replayed = 0
        var compared = false
        if projected.version == 0, let failure = compareProjections(book, at: 0) { return .failure(failure) }
        var next: UInt64 = 1
        while true {
            let page = try await store.events(from: next, limit: pageEvents)
            guard let last = page.last else { break }
            for recorded in page where recorded.event.streamID == StreamName.accounting {
                func fail(_ detail: String) -> Result<Report, VerificationFailure> {
                    .failure(VerificationFailure(sequence: recorded.sequence, kind: .accountsDoNotAddUp, detail: detail))
                }
                switch try? DomainEvent.decode(recorded.event) {
                case .accountsOpened(let e)?:
                    for (account, result) in zip(e.accounts, book.createAccounts(e.accounts)) where result != .ok {
                        return fail("account \(account.id) cannot be opened again: \(result.code)")
                    }
                case .transfersPosted(let e)?:
                    guard let first = e.transfers.first else { return fail("a transfers.posted event holds no transfer") }
                    for (transfer, result) in zip(e.transfers, book.apply(e.transfers, at: first.timestamp)) where result != .ok {
                        return fail("transfer \(transfer.id) is not accepted again: \(result.code)")
                    }
                    transfers += e.transfers.count
                    for balance in e.balances where book.accounts[balance.id] != balance {
                        return fail("the recorded balance of \(balance.id) is not what its transfers give")
                    }
                default:
                    return fail("an event of type \(recorded.event.type) on the accounting stream")
                }
                replayed += 1
                if replayed == projected.version {
                    if let failure = compareProjections(book, at: recorded.sequence) { return .failure(failure) }
                    compared = true
                }
            }
            next = last.sequence + 1
        }
        let totals = book.totals
        guard totals.isBalanced else {
            return .failure(
                VerificationFailure(
                    sequence: next - 1, kind: .accountsDoNotAddUp,
                    detail: "debits and credits over all accounts differ: \(totals)"))
        }
        if let overdrawn = book.violations().first {
            return .failure(VerificationFailure(sequence: next - 1, kind: .accountsDoNotAddUp, detail: "account \(overdrawn.id) is beyond its limit"))
        }
        guard compared || projected.version == 0 else {
            return .failure(
                VerificationFailure(
                    sequence: next - 1, kind: .accountsDoNotAddUp,
                    detail: "the projections count \(projected.version) accounting events, the ledger \(replayed); run `mydata admin rebuild`"))
        }
        return .success(Report(accounts: book.accounts.count, transfers: transfers, posted: totals.debitsPosted, pending: totals.debitsPending))
    }
}

extension Result where Failure == VerificationFailure {
    /// Runs `next` only after a success.
    public func flatMap<T>(_ next: (Success) async throws -> Result<T, VerificationFailure>) async rethrows -> Result<T, VerificationFailure> {
        switch self {
        case .success(let value): try await next(value)
        case .failure(let failure): .failure(failure)
        }
    }
}
