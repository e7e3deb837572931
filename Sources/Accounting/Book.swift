/// The double-entry book: accounts, the transfers applied to them, and which pending transfers
/// are settled. A pure, deterministic state machine in the manner of TigerBeetle: the caller
/// supplies the time, and every balance follows from the ordered `log` (see `replay`).
///
/// ```swift
/// var book = Book()
/// _ = book.createAccounts([bank, cash])
/// let results = book.apply([Transfer(id: "dep-1", debitAccountID: bank.id, creditAccountID: cash.id,
///                                    amount: 10_000, code: .cashDeposit, reference: "deposit:d1")], at: now)
/// ```
public struct Book: Sendable, Equatable {
    /// Every account, by id, with its current counters.
    public private(set) var accounts: [String: Account] = [:]
    /// Every applied transfer in the order applied, in its applied form (see `Transfer`).
    public private(set) var log: [Transfer] = []
    /// Where each applied transfer is in `log`.
    private var positions: [String: Int] = [:]
    /// Pending transfers that were posted or voided, by id (read by `decide`).
    private(set) var settled: [String: PendingStatus] = [:]
    /// Account ids by owner, for `accounts(of:)`.
    private var byOwner: [Owner: Set<String>] = [:]
    /// The callers' open savepoints, innermost last: what undoes everything since each.
    private var savepoints: [Undo] = []

    /// An empty book.
    public init() {}

    /// Creates accounts, each on its own: a refused account does not stop the others.
    public mutating func createAccounts(_ newAccounts: [Account]) -> [AccountResult] {
        var results: [AccountResult] = []
        results.reserveCapacity(newAccounts.count)
        for account in newAccounts {
            if let rejection = Self.validate(account) {
                results.append(.rejected(rejection))
            } else if let existing = accounts[account.id] {
                results.append(Self.compare(account, existing))
            } else {
                accounts[account.id] = account
                byOwner[account.owner, default: []].insert(account.id)
                if !savepoints.isEmpty { savepoints[savepoints.count - 1].createdAccounts.append(account.id) }
                results.append(.ok)
            }
        }
        return results
    }

    /// Applies transfers in order at `now` (ms since the epoch), one result per transfer.
    ///
    /// Consecutive transfers flagged `linked`, with the first unflagged one after them, form a
    /// chain that is applied whole or not at all; each member sees the effects of those before it.
    /// When a member is refused, it keeps its code, the others get `linked_event_failed`, and the
    /// book is as before the chain. A batch that ends inside a chain refuses its last transfer with
    /// `linked_event_chain_open`.
    ///
    /// A retried chain answers `.exists` throughout (TigerBeetle would break it at the first
    /// `.exists`). A chain that mixes transfers already applied with new ones is refused as
    /// TigerBeetle refuses it: its first existing member answers `.exists`, the others
    /// `linked_event_failed`. So `log` always holds whole chains.
    public mutating func apply(_ transfers: [Transfer], at now: Int64) -> [TransferResult] {
        var results: [TransferResult] = []
        results.reserveCapacity(transfers.count)
        var start = transfers.startIndex
        while start < transfers.endIndex {
            var end = start
            while end < transfers.endIndex - 1, transfers[end].flags.contains(.linked) { end += 1 }
            results += applyChain(transfers[start...end], at: now)
            start = end + 1
        }
        return results
    }

    /// Applies a chain, or a single transfer (a chain of one).
    private mutating func applyChain(_ chain: ArraySlice<Transfer>, at now: Int64) -> [TransferResult] {
        let open = chain[chain.endIndex - 1].flags.contains(.linked)
        var undo = Undo(logCount: log.count)
        var results: [TransferResult] = []
        for (offset, transfer) in chain.enumerated() {
            let last = offset == chain.count - 1
            let result = open && last ? .rejected(.linkedEventChainOpen) : execute(transfer, at: now, undo: &undo)
            results.append(result)
            let mixed = (result == .ok && results.contains(.exists)) || (result == .exists && results.contains(.ok))
            guard result.isApplied, !mixed else {
                rollBack(undo)
                let kept = mixed ? results.firstIndex(of: .exists)! : offset
                return (0..<chain.count).map { index in
                    if open, index == chain.count - 1 { return .rejected(.linkedEventChainOpen) }
                    return index == kept ? results[kept] : .rejected(.linkedEventFailed)
                }
            }
        }
        return results
    }

    /// The accounts of `owner`, by id.
    public func accounts(of owner: Owner) -> [Account] {
        (byOwner[owner] ?? []).sorted().compactMap { accounts[$0] }
    }

    /// The applied transfer with this id.
    public func transfer(id: String) -> Transfer? {
        positions[id].map { log[$0] }
    }

    /// Where the pending transfer `id` stands at `now`; nil if there is no such pending transfer.
    public func pendingStatus(of id: String, at now: Int64) -> PendingStatus? {
        guard let pending = transfer(id: id), pending.flags.contains(.pending) else { return nil }
        if let status = settled[id] { return status }
        if let timeoutAt = pending.timeoutAt, now >= timeoutAt { return .expired }
        return .pending
    }

    // MARK: Applying one transfer

    /// What a chain changed, so that it can be undone: the log's length before it, and the first
    /// value of every account and settlement it touched.
    struct Undo: Sendable, Equatable {
        let logCount: Int
        var accounts: [String: Account] = [:]
        var settledIDs: [String] = []
        var createdAccounts: [String] = []
    }

    /// Opens a savepoint (they nest): until `releaseSavepoint()`, `rollBackToSavepoint()` undoes
    /// every account opened and transfer applied since, without copying the book (a broker
    /// decides on its live book and rolls back what cannot be made durable).
    public mutating func savepoint() {
        savepoints.append(Undo(logCount: log.count))
    }

    /// Undoes everything since the innermost `savepoint()` and closes it.
    public mutating func rollBackToSavepoint() {
        guard let undo = savepoints.popLast() else { return }
        rollBack(undo)
        for id in undo.createdAccounts.reversed() {
            if let owner = accounts[id]?.owner {
                byOwner[owner]?.remove(id)
                if byOwner[owner]?.isEmpty == true { byOwner[owner] = nil }
            }
            accounts[id] = nil
        }
    }

    /// Keeps everything since the innermost `savepoint()` and closes it; an enclosing savepoint
    /// still undoes it.
    public mutating func releaseSavepoint() {
        guard let inner = savepoints.popLast(), !savepoints.isEmpty else { return }
        let outer = savepoints.count - 1
        for (id, account) in inner.accounts where savepoints[outer].accounts[id] == nil { savepoints[outer].accounts[id] = account }
        savepoints[outer].settledIDs += inner.settledIDs
        savepoints[outer].createdAccounts += inner.createdAccounts
    }

    mutating func execute(_ transfer: Transfer, at now: Int64, undo: inout Undo) -> TransferResult {
        switch decide(transfer, at: now) {
        case .rejected(let rejection):
            return .rejected(rejection)
        case .exists:
            return .exists
        case .apply(let effect):
            commit(effect, undo: &undo)
            return .ok
        }
    }

    private mutating func commit(_ effect: Effect, undo: inout Undo) {
        assert(
            Self.isDoubleEntry(effect, before: accounts), "transfer \(effect.transfer.id) moves as much into one account as it takes from the other")
        for account in [effect.debit, effect.credit] {
            if undo.accounts[account.id] == nil { undo.accounts[account.id] = accounts[account.id] }
            if let last = savepoints.indices.last, savepoints[last].accounts[account.id] == nil {
                savepoints[last].accounts[account.id] = accounts[account.id]
            }
            accounts[account.id] = account
        }
        if let (id, status) = effect.settles {
            settled[id] = status
            undo.settledIDs.append(id)
            if let last = savepoints.indices.last { savepoints[last].settledIDs.append(id) }
        }
        positions[effect.transfer.id] = log.count
        log.append(effect.transfer)
    }

    /// Double entry, per transfer (checked in debug builds): the debit account's debits grow by
    /// exactly what the credit account's credits grow by, pending and posted alike, and neither
    /// account's other side moves. Summed over every transfer this is `totals.isBalanced`.
    static func isDoubleEntry(_ effect: Effect, before accounts: [String: Account]) -> Bool {
        guard effect.debit.id != effect.credit.id, let debit = accounts[effect.debit.id], let credit = accounts[effect.credit.id] else {
            return false
        }
        return effect.debit.debitsPending &- debit.debitsPending == effect.credit.creditsPending &- credit.creditsPending
            && effect.debit.debitsPosted &- debit.debitsPosted == effect.credit.creditsPosted &- credit.creditsPosted
            && effect.debit.creditsPending == debit.creditsPending && effect.debit.creditsPosted == debit.creditsPosted
            && effect.credit.debitsPending == credit.debitsPending && effect.credit.debitsPosted == credit.debitsPosted
    }

    private mutating func rollBack(_ undo: Undo) {
        for transfer in log[undo.logCount...] { positions[transfer.id] = nil }
        log.removeSubrange(undo.logCount...)
        for (id, account) in undo.accounts { accounts[id] = account }
        for id in undo.settledIDs { settled[id] = nil }
    }

    // MARK: Accounts

    private static func validate(_ account: Account) -> AccountRejection? {
        guard AccountingLimits.isValidID(account.id) else { return .idInvalid }
        if account.flags.isSuperset(of: [.debitsMustNotExceedCredits, .creditsMustNotExceedDebits]) {
            return .flagsAreMutuallyExclusive
        }
        guard AccountingLimits.isValidID(account.owner.id) else { return .ownerIDInvalid }
        if account.expiresAt != nil, account.kind != .voucher { return .expiresAtReservedForVoucher }
        if account.kind == .voucher, !account.flags.contains(.debitsMustNotExceedCredits) { return .voucherMustLimitDebits }
        if account.debitsPending != 0 { return .debitsPendingMustBeZero }
        if account.debitsPosted != 0 { return .debitsPostedMustBeZero }
        if account.creditsPending != 0 { return .creditsPendingMustBeZero }
        if account.creditsPosted != 0 { return .creditsPostedMustBeZero }
        return nil
    }

    private static func compare(_ account: Account, _ existing: Account) -> AccountResult {
        if account.flags != existing.flags { return .rejected(.existsWithDifferentFlags) }
        if account.owner != existing.owner { return .rejected(.existsWithDifferentOwner) }
        if account.kind != existing.kind { return .rejected(.existsWithDifferentKind) }
        if account.expiresAt != existing.expiresAt { return .rejected(.existsWithDifferentExpiresAt) }
        return .exists
    }
}
