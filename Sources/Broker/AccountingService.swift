import Accounting
import Consent
import Foundation
import Ports
import Synchronization
import Ledger
import Metrics

/// The double-entry book of this broker process: the pure `Book`, kept in memory, decided on
/// and then made durable as ledger events on the one `accounting` stream.
///
/// Every commit is decided on the live book, under a savepoint, and appended under a condition
/// that the `accounting` stream holds exactly the events this book has seen (the fence),
/// together with whatever events the money belongs to (a grant, a delivery, a revocation) and
/// their own conditions: all of it or none. What cannot be made durable is rolled back.
///
/// Commits are queued and decided one after another, so a commit decides on the effects of the
/// ones before it while they are still being written:
/// - money that belongs to no other event (deposits, vouchers, redemptions) is appended as one
///   batch per group (group commit);
/// - money with other events (a delivery's charge, a grant's reward) goes as one batch per
///   request, all queued together in order, each fenced at the version the ones before it
///   leave. When one fails, those after it fail their fence too; they are rolled back and
///   decided again. When another broker process moved the accounts, the book is reloaded from
///   the projections first.
public actor AccountingService {
    let store: any BrokerStore
    let clock: any Clock
    /// What this process knows of the book. A group commit takes the book out (`takeBook`),
    /// decides on it, and puts it back only when it knows what the store holds; otherwise the
    /// next group reads it again from the projections.
    private var state = BookState.unloaded
    private var queue: [Queued] = []
    private var draining = false

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

    /// Opens `accounts` that do not exist yet and applies `transfers` that belong to no other
    /// event (deposits, vouchers, redemptions, a client's transfers).
    ///
    /// - Parameter allOrNothing: refuse the whole request when one of its transfers is
    ///   refused; otherwise refused transfers are reported in `results` and the rest committed.
    /// - Throws: `ConsentError.transferRejected` (all-or-nothing, or an account refused), or a
    ///   store error.
    public func commit(opening accounts: [Account] = [], transfers: [Transfer], allOrNothing: Bool) async throws -> Outcome {
        guard transfers.count <= BrokerLimits.transfersPerCommitMax else {
            throw ConsentError(
                .transferRejected, "at most \(BrokerLimits.transfersPerCommitMax) transfers in one commit, got \(transfers.count); split them")
        }
        return try await enqueue(events: [], conditions: [], allOrNothing: allOrNothing, size: transfers.count) { _, _ in
            MoneyRules.Movement(accounts: accounts, transfers: transfers)
        }
    }

    /// Appends `events` with the money `plan` decides on the book as it stands at the moment of
    /// the commit (so a revocation voids exactly what is still reserved, even if a delivery just
    /// paid it), all or nothing.
    ///
    /// - Throws: what `plan` throws; `ConsentError.transferRejected`; `LedgerError`, including
    ///   `streamVersionConflict` when one of the caller's `conditions` failed.
    ///
    /// - Parameter transfersMax: the most transfers `plan` may move (an analysis pays each person
    ///   it used); more than `BrokerLimits.transfersPerCommitMax` go in several `transfers.posted`
    ///   events of the same append.
    public func commit(
        with events: [(DomainEvent, NewEvent)], conditions: [StreamCondition], allOrNothing: Bool,
        transfersMax: Int = BrokerLimits.transfersPerCommitMax,
        plan: @escaping @Sendable (Book, Timestamp) throws -> MoneyRules.Movement
    ) async throws -> Outcome {
        try await enqueue(events: events, conditions: conditions, allOrNothing: allOrNothing, size: transfersMax, plan: plan)
    }

    // MARK: The queue

    private struct Queued {
        let events: [(DomainEvent, NewEvent)]
        let conditions: [StreamCondition]
        let allOrNothing: Bool
        let plan: @Sendable (Book, Timestamp) throws -> MoneyRules.Movement
        let continuation: OnceContinuation<Outcome>
        /// Transfers it carries, when known before deciding (money-only requests).
        let size: Int
        var attempts = 0
        /// Money only: several go in one append batch.
        var moneyOnly: Bool { events.isEmpty && conditions.isEmpty }
    }

    private func enqueue(
        events: [(DomainEvent, NewEvent)], conditions: [StreamCondition], allOrNothing: Bool, size: Int,
        plan: @escaping @Sendable (Book, Timestamp) throws -> MoneyRules.Movement
    ) async throws -> Outcome {
        let reply = OnceContinuation<Outcome>()
        // A caller that gives up (its request's deadline passed while the store did not answer) is
        // answered at once; what it queued may still be committed, so it is told to check.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                reply.set(continuation)
                queue.append(Queued(events: events, conditions: conditions, allOrNothing: allOrNothing, plan: plan, continuation: reply, size: size))
                if !draining {
                    draining = true
                    Task { await self.drain() }
                }
            }
        } onCancel: {
            reply.resume(
                with: .failure(
                    LedgerError(
                        .storeUnavailable,
                        "the accounts could not be committed in time; the change may or may not have taken effect — check before retrying")))
        }
    }

    private func drain() async {
        while !queue.isEmpty {
            // A run of requests of one kind, up to the group limits.
            let kind = queue[0].moneyOnly
            var group: [Queued] = []
            var transfers = 0
            // Money-only requests share one append batch: at most two events each, within its limit.
            while let next = queue.first, next.moneyOnly == kind,
                group.isEmpty
                    || (kind
                        ? transfers < BrokerLimits.accountingGroupTransfersMax && group.count < Limits.appendBatchEventsMax / 2
                        : group.count < BrokerLimits.accountingGroupRequestsMax)
            {
                group.append(queue.removeFirst())
                transfers += next.size
            }
            let outcomes: [Disposition]
            // Neither commit throws once anything of the group may be stored.
            do { outcomes = kind ? try await commitMoneyOnly(group) : try await commitWithEvents(group) } catch {
                outcomes = group.map { _ in .done(.failure(error)) }
            }
            var again: [Queued] = []
            for (var request, outcome) in zip(group, outcomes) {
                switch outcome {
                case .done(let result):
                    request.continuation.resume(with: result)
                case .retry(let counted) where counted && request.attempts + 1 >= BrokerLimits.accountingFenceRetriesMax:
                    request.continuation.resume(
                        with: .failure(LedgerError(.streamVersionConflict, "other brokers kept moving the accounts; try again")))
                case .retry(let counted):
                    if counted { request.attempts += 1 }
                    again.append(request)
                }
            }
            queue.insert(contentsOf: again, at: 0)
        }
        draining = false
    }

    /// The book of this process, or none.
    private enum BookState {
        /// Not read yet; or dropped because another process moved the accounts, or because a
        /// commit's outcome is unknown.
        case unloaded
        /// The book as of `version` events of the `accounting` stream.
        case loaded(Book, version: Int)
    }

    /// What becomes of a request after a commit: answered, or decided again (`counted` when it
    /// is its own retry, not one forced by an earlier request's failure).
    private enum Disposition {
        case done(Result<Outcome, any Error>)
        case retry(counted: Bool)
    }

    // MARK: Deciding

    /// What deciding one request on the live book gave: its results and the events of its money.
    private struct Decision {
        var results: [TransferResult]
        var money: [DomainEvent]
    }

    /// Decides `request` on the live book: opens its accounts, applies its transfers, and returns
    /// the `accounts.opened` / `transfers.posted` events. Leaves the book changed; the caller
    /// holds a savepoint.
    private func decide(_ request: Queued, on book: inout Book, now: Timestamp) throws -> Decision {
        let movement = try request.plan(book, now)
        let limit = request.moneyOnly ? BrokerLimits.transfersPerCommitMax : max(request.size, BrokerLimits.transfersPerCommitMax)
        guard movement.transfers.count <= limit else {
            throw ConsentError(.transferRejected, "at most \(limit) transfers in one commit, got \(movement.transfers.count); split them")
        }
        let wanted = AccountNames.brokerAccounts.filter { book.accounts[$0.id] == nil } + movement.accounts
        var opened: [Account] = []
        for (account, result) in zip(wanted, book.createAccounts(wanted)) {
            switch result {
            case .ok: opened.append(account)
            case .exists: break
            case .rejected(let rejection): throw ConsentError(.transferRejected, "account \(account.id) cannot be opened: \(rejection.rawValue)")
            }
        }
        var money: [DomainEvent] = []
        // An analysis opens an account for each person it pays: one `accounts.opened` per
        // `accountsPerEventMax`, each under the payload limit.
        for start in stride(from: 0, to: opened.count, by: BrokerLimits.accountsPerEventMax) {
            money.append(
                .accountsOpened(AccountsOpened(accounts: Array(opened[start..<min(start + BrokerLimits.accountsPerEventMax, opened.count)]))))
        }
        // One `transfers.posted` event per `transfersPerCommitMax` transfers, each with the
        // balances its own transfers leave, so that each stays under the payload limit. A chunk
        // never ends inside a linked chain: the book applies a chain whole or not at all.
        var results: [TransferResult] = []
        var start = 0
        repeat {
            var end = min(start + BrokerLimits.transfersPerCommitMax, movement.transfers.count)
            while end < movement.transfers.count, movement.transfers[end - 1].flags.contains(.linked) { end += 1 }
            let chunk = Array(movement.transfers[start..<end])
            let before = book.log.count
            let chunkResults = book.apply(chunk, at: now.milliseconds)
            if request.allOrNothing, let (index, refused) = chunkResults.enumerated().first(where: { !$0.element.isApplied }) {
                throw ConsentError(.transferRejected, "transfer \(chunk[index].id) was refused: \(refused.code)")
            }
            results += chunkResults
            let applied = Array(book.log[before...])
            if !applied.isEmpty {
                let touched = Set(applied.flatMap { [$0.debitAccountID, $0.creditAccountID] }).sorted()
                money.append(.transfersPosted(TransfersPosted(transfers: applied, balances: touched.compactMap { book.accounts[$0] })))
            }
            start += chunk.count
        } while start < movement.transfers.count
        return Decision(results: results, money: money)
    }

    private func typed(_ money: [DomainEvent], at now: Timestamp) throws -> [(DomainEvent, NewEvent)] {
        try money.map { ($0, try $0.newEvent(authorID: AuthorID.broker, time: now)) }
    }

    /// Money-only requests: decided one after another (each under its own savepoint, so a
    /// refused all-or-nothing request leaves no trace) and appended as one batch.
    private func commitMoneyOnly(_ group: [Queued]) async throws -> [Disposition] {
        var (book, version) = try await takeBook()
        let now = clock.now()
        var decided: [Result<Decision, any Error>] = []
        for request in group {
            book.savepoint()
            do {
                decided.append(.success(try decide(request, on: &book, now: now)))
                book.releaseSavepoint()
            } catch {
                book.rollBackToSavepoint()
                decided.append(.failure(error))
            }
        }
        let money = decided.flatMap { (try? $0.get().money) ?? [] }
        guard !money.isEmpty else {
            state = .loaded(book, version: version)
            return decided.map { .done($0.map { Outcome(results: $0.results, recorded: []) }) }
        }
        let fence = StreamCondition(streamID: StreamName.accounting, expectedVersion: version)
        do {
            let recorded = try await store.append(AppendBatch(typed: try typed(money, at: now), conditions: [fence]))
            version += money.count
            state = .loaded(book, version: version)
            Counter(label: "mydata_transfers_posted_total").increment(
                by: money.reduce(0) { if case .transfersPosted(let e) = $1 { $0 + e.transfers.count } else { $0 } })
            var offset = 0
            return decided.map { result in
                .done(
                    result.map { decision in
                        defer { offset += decision.money.count }
                        return Outcome(results: decision.results, recorded: Array(recorded[offset..<offset + decision.money.count]))
                    })
            }
        } catch let error as LedgerError where error.code == .streamVersionConflict {
            // Another process moved the accounts: the book stays unloaded, is read again and
            // every request decided again.
            return decided.map { if case .failure(let own) = $0 { .done(.failure(own)) } else { .retry(counted: true) } }
        } catch {
            // A failed COMMIT may or may not have stored it: the book stays unloaded and is read
            // back from what is there.
            return decided.map { if case .failure(let own) = $0 { .done(.failure(own)) } else { .done(.failure(error)) } }
        }
    }

    /// Requests with other events: each its own batch, queued together in order, each fenced
    /// at the version the batches before it leave.
    private func commitWithEvents(_ group: [Queued]) async throws -> [Disposition] {
        var (book, version) = try await takeBook()
        let now = clock.now()
        var outcomes: [Disposition] = Array(repeating: .retry(counted: false), count: group.count)
        var batches: [AppendBatch] = []
        var pending: [(request: Int, results: [TransferResult], money: Int)] = []  // holds a savepoint each, in stack order
        var expected = version
        for (index, request) in group.enumerated() {
            book.savepoint()
            do {
                let decision = try decide(request, on: &book, now: now)
                let events = request.events + (try typed(decision.money, at: now))
                guard !events.isEmpty else {
                    book.releaseSavepoint()
                    outcomes[index] = .done(.success(Outcome(results: decision.results, recorded: [])))
                    continue
                }
                batches.append(
                    AppendBatch(
                        typed: events,
                        conditions: request.conditions
                            + [StreamCondition(streamID: StreamName.accounting, expectedVersion: expected)]))
                expected += decision.money.count
                pending.append((index, decision.results, decision.money.count))
            } catch {
                book.rollBackToSavepoint()
                outcomes[index] = .done(.failure(error))
            }
        }
        let results = await store.append(batches: batches)
        guard let failed = results.firstIndex(where: { if case .failure = $0 { true } else { false } }) else {
            for _ in pending { book.releaseSavepoint() }
            for (position, entry) in pending.enumerated() {
                version += entry.money
                outcomes[entry.request] = .done(.success(Outcome(results: entry.results, recorded: try results[position].get())))
            }
            state = .loaded(book, version: version)
            return outcomes
        }
        // Whether this process still knows what the store holds; when not, the book stays
        // unloaded and is read back before the next decision.
        var known = !results[failed...].contains { if case .success = $0 { true } else { false } }
        if known {
            // Undo the failed batch and every one after it (innermost first), keep the rest.
            for _ in pending[failed...] { book.rollBackToSavepoint() }
            for _ in pending[..<failed] { book.releaseSavepoint() }
        }
        // Otherwise a batch with no money of its own, which does not move the fence, succeeded
        // after a failure: the stack of savepoints cannot express that.
        for (position, entry) in pending.enumerated() {
            guard case .success(let recorded) = results[position] else { continue }
            version += entry.money
            outcomes[entry.request] = .done(.success(Outcome(results: entry.results, recorded: recorded)))
        }
        guard case .failure(let error) = results[failed] else { return outcomes }
        let later = pending[(failed + 1)...].filter { entry in
            if case .failure = results[pending.firstIndex { $0.request == entry.request }!] { true } else { false }
        }
        guard let ledger = error as? LedgerError, ledger.code == .streamVersionConflict else {
            // A failed COMMIT may or may not have stored this batch and those after it: each of
            // them is told so (a retry could charge twice), and the book is read back.
            outcomes[pending[failed].request] = .done(.failure(error))
            for entry in later { outcomes[entry.request] = .done(.failure(error)) }
            return outcomes
        }
        // A conflict is the caller's own when the accounts did not move; the batches after it
        // only failed their fence and are decided again without counting it against them.
        do {
            let store = self.store
            let stored = try await withDeadline(seconds: BrokerLimits.accountingStoreReadSecondsMax) {
                try await store.streamVersion(StreamName.accounting)
            }
            known = known && stored == version
        } catch {
            outcomes[pending[failed].request] = .done(.failure(error))
            return outcomes
        }
        if known {
            state = .loaded(book, version: version)
            outcomes[pending[failed].request] = .done(.failure(error))
        } else {
            outcomes[pending[failed].request] = .retry(counted: true)  // another process moved the accounts: reload, then decide again
        }
        return outcomes
    }

    /// Takes the book out of `state` for a group commit (leaving it unloaded), reading it from
    /// the projections when this process has none, and checking that replaying its transfers
    /// gives the stored balances.
    private func takeBook() async throws -> (Book, version: Int) {
        if case .loaded(let book, let version) = state {
            state = .unloaded
            return (book, version)
        }
        Counter(label: "mydata_accounting_reloads_total").increment()
        let snapshot = try await store.accountingSnapshot()
        let replayed: Book
        do { replayed = try Book.replay(accounts: snapshot.accounts, transfers: snapshot.transfers) } catch {
            throw LedgerError(.corruptRecord, "the stored transfers do not replay: \(error); run `mydata admin verify`")
        }
        for account in snapshot.accounts where replayed.accounts[account.id] != account {
            throw LedgerError(.corruptRecord, "account \(account.id) does not hold what its transfers give; run `mydata admin verify`")
        }
        return (replayed, snapshot.version)
    }

}
