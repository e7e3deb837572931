import Accounting
import Consent
import Foundation
import Ledger
import Metrics

/// The double-entry book of this broker process: the pure `Book`, kept in memory, decided on
/// and then made durable as ledger events on the one `accounting` stream.
///
/// Each commit is decided on the book as the last commit left it and appended under the
/// condition that the `accounting` stream has not moved since, together with whatever events
/// the money belongs to (a grant, a delivery, a revocation) and their own conditions: all of it
/// or none. Another broker process that appended money first makes the condition fail; the book
/// is then reloaded from the projections and the commit decided again. Commits of one process
/// go one at a time.
public actor AccountingService {
    let store: any BrokerStore
    let clock: any Clock
    private var book: Book?
    private var version = 0
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Transfers in one commit: one `transfers.posted` event stays well under the payload limit.
    public static let transfersPerCommitMax = 300
    static let conflictRetriesMax = 8

    init(store: any BrokerStore, clock: any Clock) {
        self.store = store
        self.clock = clock
    }

    /// What a commit did.
    public struct Outcome: Sendable {
        /// One per transfer given, in order.
        public var results: [TransferResult]
        /// The events appended, companions first.
        public var recorded: [RecordedEvent]
    }

    /// Opens `accounts` that do not exist yet, applies `transfers`, and appends the resulting
    /// `accounts.opened` and `transfers.posted` events after `events`, all at once.
    ///
    /// - Parameter allOrNothing: when true, any refused transfer refuses the whole commit (a
    ///   delivery is never recorded without its charge); when false, refused transfers are
    ///   reported in `results` and the others are committed.
    /// - Throws: `ConsentError.transferRejected` (all-or-nothing, or an account refused);
    ///   `LedgerError` from the store, including `streamVersionConflict` when one of the
    ///   caller's `conditions` failed.
    public func commit(opening accounts: [Account] = [], transfers: [Transfer], with events: [(DomainEvent, NewEvent)] = [],
                       conditions: [StreamCondition] = [], allOrNothing: Bool) async throws -> Outcome {
        try await commit(with: events, conditions: conditions, allOrNothing: allOrNothing) { _, _ in
            MoneyRules.Movement(accounts: accounts, transfers: transfers)
        }
    }

    /// `commit`, with the money decided by `plan` on the book as it stands at the moment of the
    /// commit (so a revocation voids exactly what is still reserved, even if a delivery just
    /// paid it).
    public func commit(with events: [(DomainEvent, NewEvent)], conditions: [StreamCondition], allOrNothing: Bool,
                       plan: @Sendable (Book, Timestamp) throws -> MoneyRules.Movement) async throws -> Outcome {
        await acquire()
        defer { release() }
        for _ in 1...Self.conflictRetriesMax {
            let current = try await loaded()
            var next = current
            let now = clock.now()
            let movement = try plan(current, now)
            let (accounts, transfers) = (movement.accounts, movement.transfers)
            guard transfers.count <= Self.transfersPerCommitMax else {
                throw ConsentError(.transferRejected, "at most \(Self.transfersPerCommitMax) transfers in one commit, got \(transfers.count); split them")
            }
            let wanted = AccountNames.brokerAccounts.filter { current.accounts[$0.id] == nil } + accounts
            var opened: [Account] = []
            for (account, result) in zip(wanted, next.createAccounts(wanted)) {
                switch result {
                case .ok: opened.append(account)
                case .exists: break
                case .rejected(let rejection):
                    throw ConsentError(.transferRejected, "account \(account.id) cannot be opened: \(rejection.rawValue)")
                }
            }
            let before = next.log.count
            let results = next.apply(transfers, at: now.milliseconds)
            if allOrNothing, let (index, refused) = results.enumerated().first(where: { !$0.element.isApplied }) {
                throw ConsentError(.transferRejected, "transfer \(transfers[index].id) was refused: \(refused.code)")
            }
            let applied = Array(next.log[before...])
            var money: [DomainEvent] = []
            if !opened.isEmpty { money.append(.accountsOpened(AccountsOpened(accounts: opened))) }
            if !applied.isEmpty {
                let touched = Set(applied.flatMap { [$0.debitAccountID, $0.creditAccountID] }).sorted()
                money.append(.transfersPosted(TransfersPosted(transfers: applied, balances: touched.compactMap { next.accounts[$0] })))
            }
            guard !money.isEmpty || !events.isEmpty else { return Outcome(results: results, recorded: []) }
            let typed = try events + money.map { ($0, try $0.newEvent(authorID: AuthorID.broker, time: now)) }
            let fence = StreamCondition(streamID: StreamName.accounting, expectedVersion: version)
            do {
                let recorded = try await store.append(AppendBatch(typed: typed, conditions: conditions + [fence]))
                book = next
                version += money.count
                Counter(label: "mydata_transfers_posted_total").increment(by: applied.count)
                return Outcome(results: results, recorded: recorded)
            } catch let error as LedgerError where error.code == .streamVersionConflict {
                // Our book is stale if the accounting stream moved; otherwise a caller's condition failed.
                guard try await store.streamVersion(StreamName.accounting) != version else { throw error }
                book = nil
            } catch {
                book = nil  // a failed COMMIT may or may not have stored it: read back what is there
                throw error
            }
        }
        throw LedgerError(.streamVersionConflict, "other brokers kept moving the accounts; try again")
    }

    /// The book as this process last committed or loaded it.
    public func snapshot() async throws -> Book {
        await acquire()
        defer { release() }
        return try await loaded()
    }

    /// Reads the book from the projections and checks that replaying its transfers gives the
    /// stored balances.
    private func loaded() async throws -> Book {
        if let book { return book }
        let snapshot = try await store.accountingSnapshot()
        let replayed: Book
        do { replayed = try Book.replay(accounts: snapshot.accounts, transfers: snapshot.transfers) } catch {
            throw LedgerError(.corruptRecord, "the stored transfers do not replay: \(error); run `mydata admin verify`")
        }
        for account in snapshot.accounts where replayed.accounts[account.id] != account {
            throw LedgerError(.corruptRecord, "account \(account.id) does not hold what its transfers give; run `mydata admin verify`")
        }
        book = replayed
        version = snapshot.version
        return replayed
    }

    private func acquire() async {
        guard busy else { busy = true; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
