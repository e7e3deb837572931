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
    public func commit(opening accounts: [Account] = [], transfers: [Transfer], with events: [(DomainEvent, NewEvent)],
                       conditions: [StreamCondition] = [], allOrNothing: Bool) async throws -> Outcome {
        try await commit(with: events, conditions: conditions, allOrNothing: allOrNothing) { _, _ in
            MoneyRules.Movement(accounts: accounts, transfers: transfers)
        }
    }

    /// Opens `accounts` and applies `transfers` that belong to no other event (deposits,
    /// vouchers, redemptions, a client's transfers). Requests that arrive while a commit is in
    /// flight are decided one after another and appended together, each as its own
    /// `transfers.posted` event (group commit): one fsync for many requests.
    ///
    /// - Parameter allOrNothing: refuse the whole request when one of its transfers is refused.
    public func commit(opening accounts: [Account] = [], transfers: [Transfer], allOrNothing: Bool) async throws -> Outcome {
        guard transfers.count <= Self.transfersPerCommitMax else {
            throw ConsentError(.transferRejected, "at most \(Self.transfersPerCommitMax) transfers in one commit, got \(transfers.count); split them")
        }
        return try await withCheckedThrowingContinuation { continuation in
            queue.append(Queued(accounts: accounts, transfers: transfers, allOrNothing: allOrNothing, continuation: continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private struct Queued {
        let accounts: [Account]
        let transfers: [Transfer]
        let allOrNothing: Bool
        let continuation: CheckedContinuation<Outcome, any Error>
    }

    /// Requests waiting for the next group commit.
    private var queue: [Queued] = []
    private var draining = false
    /// Transfers decided into one group commit.
    static let groupTransfersMax = 6_000

    private func drain() async {
        while !queue.isEmpty {
            var group: [Queued] = []
            var count = 0
            while let next = queue.first, group.isEmpty || count + next.transfers.count <= Self.groupTransfersMax {
                group.append(queue.removeFirst())
                count += next.transfers.count
            }
            await acquire()
            let outcomes: [Result<Outcome, any Error>]
            do { outcomes = try await commitGroup(group) } catch { outcomes = group.map { _ in .failure(error) } }
            release()
            for (request, outcome) in zip(group, outcomes) { request.continuation.resume(with: outcome) }
        }
        draining = false
    }

    /// Decides each request on the live book (each under its own savepoint, so a refused
    /// all-or-nothing request leaves no trace) and appends all their events at once.
    private func commitGroup(_ group: [Queued]) async throws -> [Result<Outcome, any Error>] {
        for _ in 1...Self.conflictRetriesMax {
            _ = try await loaded()
            let now = clock.now()
            book!.savepoint()
            var kept = false
            defer { if kept { book?.releaseSavepoint() } else { book?.rollBackToSavepoint() } }
            var decided: [Result<(results: [TransferResult], events: [DomainEvent]), any Error>] = []
            var applied = 0
            for (index, request) in group.enumerated() {
                book!.savepoint()
                let wanted = (index == 0 ? AccountNames.brokerAccounts.filter { book!.accounts[$0.id] == nil } : []) + request.accounts
                var opened: [Account] = []
                var refusal: ConsentError?
                for (account, result) in zip(wanted, book!.createAccounts(wanted)) {
                    switch result {
                    case .ok: opened.append(account)
                    case .exists: break
                    case .rejected(let rejection):
                        refusal = refusal ?? ConsentError(.transferRejected, "account \(account.id) cannot be opened: \(rejection.rawValue)")
                    }
                }
                let before = book!.log.count
                let results = refusal == nil ? book!.apply(request.transfers, at: now.milliseconds) : []
                if refusal == nil, request.allOrNothing, let (i, refused) = results.enumerated().first(where: { !$0.element.isApplied }) {
                    refusal = ConsentError(.transferRejected, "transfer \(request.transfers[i].id) was refused: \(refused.code)")
                }
                if let refusal {
                    book!.rollBackToSavepoint()
                    decided.append(.failure(refusal))
                    continue
                }
                book!.releaseSavepoint()
                let transfers = Array(book!.log[before...])
                applied += transfers.count
                var events: [DomainEvent] = []
                if !opened.isEmpty { events.append(.accountsOpened(AccountsOpened(accounts: opened))) }
                if !transfers.isEmpty {
                    let touched = Set(transfers.flatMap { [$0.debitAccountID, $0.creditAccountID] }).sorted()
                    events.append(.transfersPosted(TransfersPosted(transfers: transfers, balances: touched.compactMap { book!.accounts[$0] })))
                }
                decided.append(.success((results, events)))
            }
            let money = decided.flatMap { (try? $0.get().events) ?? [] }
            guard !money.isEmpty else {
                kept = true
                return decided.map { $0.map { Outcome(results: $0.results, recorded: []) } }
            }
            let typed = try money.map { ($0, try $0.newEvent(authorID: AuthorID.broker, time: now)) }
            let fence = StreamCondition(streamID: StreamName.accounting, expectedVersion: version)
            do {
                let recorded = try await store.append(AppendBatch(typed: typed, conditions: [fence]))
                kept = true
                version += money.count
                Counter(label: "mydata_transfers_posted_total").increment(by: applied)
                var offset = 0
                return decided.map { result in
                    result.map { decision in
                        defer { offset += decision.events.count }
                        return Outcome(results: decision.results, recorded: Array(recorded[offset..<offset + decision.events.count]))
                    }
                }
            } catch let error as LedgerError where error.code == .streamVersionConflict {
                guard try await store.streamVersion(StreamName.accounting) != version else { throw error }
                book = nil
            } catch {
                book = nil
                throw error
            }
        }
        throw LedgerError(.streamVersionConflict, "other brokers kept moving the accounts; try again")
    }

    /// `commit`, with the money decided by `plan` on the book as it stands at the moment of the
    /// commit (so a revocation voids exactly what is still reserved, even if a delivery just
    /// paid it).
    public func commit(with events: [(DomainEvent, NewEvent)], conditions: [StreamCondition], allOrNothing: Bool,
                       plan: @Sendable (Book, Timestamp) throws -> MoneyRules.Movement) async throws -> Outcome {
        await acquire()
        defer { release() }
        for _ in 1...Self.conflictRetriesMax {
            _ = try await loaded()
            let now = clock.now()
            // Decided on the live book under a savepoint (copying a book with a long log costs more
            // than the commit); rolled back unless the append succeeds.
            let movement = try plan(book!, now)
            let (accounts, transfers) = (movement.accounts, movement.transfers)
            guard transfers.count <= Self.transfersPerCommitMax else {
                throw ConsentError(.transferRejected, "at most \(Self.transfersPerCommitMax) transfers in one commit, got \(transfers.count); split them")
            }
            book!.savepoint()
            var kept = false
            defer { if kept { book?.releaseSavepoint() } else { book?.rollBackToSavepoint() } }
            let wanted = AccountNames.brokerAccounts.filter { book!.accounts[$0.id] == nil } + accounts
            var opened: [Account] = []
            for (account, result) in zip(wanted, book!.createAccounts(wanted)) {
                switch result {
                case .ok: opened.append(account)
                case .exists: break
                case .rejected(let rejection):
                    throw ConsentError(.transferRejected, "account \(account.id) cannot be opened: \(rejection.rawValue)")
                }
            }
            let before = book!.log.count
            let results = book!.apply(transfers, at: now.milliseconds)
            if allOrNothing, let (index, refused) = results.enumerated().first(where: { !$0.element.isApplied }) {
                throw ConsentError(.transferRejected, "transfer \(transfers[index].id) was refused: \(refused.code)")
            }
            let applied = Array(book!.log[before...])
            var money: [DomainEvent] = []
            if !opened.isEmpty { money.append(.accountsOpened(AccountsOpened(accounts: opened))) }
            if !applied.isEmpty {
                let touched = Set(applied.flatMap { [$0.debitAccountID, $0.creditAccountID] }).sorted()
                money.append(.transfersPosted(TransfersPosted(transfers: applied, balances: touched.compactMap { book!.accounts[$0] })))
            }
            guard !money.isEmpty || !events.isEmpty else { kept = true; return Outcome(results: results, recorded: []) }
            let typed = try events + money.map { ($0, try $0.newEvent(authorID: AuthorID.broker, time: now)) }
            let fence = StreamCondition(streamID: StreamName.accounting, expectedVersion: version)
            do {
                let recorded = try await store.append(AppendBatch(typed: typed, conditions: conditions + [fence]))
                kept = true
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
