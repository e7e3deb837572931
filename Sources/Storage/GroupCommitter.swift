import Consent
import Foundation
import Ledger

/// A batch waiting for a commit, with the projection changes of each event computed by the
/// appender (in parallel, before the write lock).
struct PendingAppend: Sendable {
    let batch: AppendBatch
    let changes: [[ProjectionChange]]

    /// Checks `batch` and computes its projection changes. Decoding is the costly part of a
    /// projection; done here, it runs on the appender's thread, and an event that does not
    /// decode never reaches the commit queue.
    init(checking batch: AppendBatch) throws {
        try batch.validate()
        self.batch = batch
        changes = try batch.projectionChanges()
    }
}

/// The store side of `EventStore.append`: both stores queue appends the same way.
extension GroupCommitter where Item == PendingAppend, Output == [RecordedEvent] {
    func append(_ batch: AppendBatch) async throws -> [RecordedEvent] {
        let pending = try PendingAppend(checking: batch)
        guard !batch.events.isEmpty else { return [] }
        return try await submit(pending)
    }

    /// Batches in order and never split between commits; a batch refused before the queue takes
    /// no place in it.
    func append(batches: [AppendBatch]) async -> [Result<[RecordedEvent], any Error>] {
        let prepared = batches.map { batch in Result { try PendingAppend(checking: batch) } }
        var queued = await submitAll(prepared.compactMap { try? $0.get() }).makeIterator()
        return prepared.map { p in p.flatMap { _ in queued.next()! } }
    }
}

/// Gathers the work that arrives while a commit is running and writes it all in the next
/// commit, so concurrent writers share one fsync (group commit). Each item still succeeds or
/// fails on its own.
actor GroupCommitter<Item: Sendable, Output: Sendable> {
    typealias Writer = @Sendable ([Item]) async -> [Result<Output, any Error>]

    /// Waiting items; `joinsNext` keeps an item in the same commit as the one after it (the
    /// items of one `submitAll`, whose conditions may count on each other).
    private var pending: [(item: Item, done: @Sendable (Result<Output, any Error>) -> Void, joinsNext: Bool)] = []
    private var flushing = false
    private let write: Writer
    private let weight: @Sendable (Item) -> Int
    private let groupWeightMax: Int
    /// Commits made and items they carried: their ratio is the group-commit factor.
    private(set) var commits = 0
    private(set) var batches = 0

    /// - Parameters:
    ///   - groupWeightMax: a commit carries items up to this total weight (at least one item).
    ///   - weight: an item's weight (events in a batch; 1 for a nonce).
    init(groupWeightMax: Int, weight: @escaping @Sendable (Item) -> Int, write: @escaping Writer) {
        self.groupWeightMax = groupWeightMax
        self.weight = weight
        self.write = write
    }

    /// Queues `work` and waits for its commit. A caller that is cancelled (its request's deadline
    /// passed while the store did not answer) is answered at once; its work stays queued and may
    /// still be committed, so it is told to check.
    func submit(_ work: Item) async throws -> Output {
        let reply = OnceContinuation<Output>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                reply.set(continuation)
                enqueue([(work, { reply.resume(with: $0) }, false)])
            }
        } onCancel: {
            reply.resume(
                with: .failure(
                    LedgerError(
                        .storeUnavailable,
                        "the store did not commit in time; the append may or may not be stored — check before retrying")))
        }
    }

    /// Queues `items` together, in order (no other submission comes between them), and waits for
    /// all of them; each succeeds or fails on its own.
    func submitAll(_ items: [Item]) async -> [Result<Output, any Error>] {
        guard !items.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let collector = ResultCollector<Output>(count: items.count) { continuation.resume(returning: $0) }
            enqueue(
                items.enumerated().map { index, item in
                    let done: @Sendable (Result<Output, any Error>) -> Void = { collector.set(index, $0) }
                    return (item, done, index < items.count - 1)
                })
        }
    }

    private func enqueue(_ items: [(item: Item, done: @Sendable (Result<Output, any Error>) -> Void, joinsNext: Bool)]) {
        pending += items
        if !flushing {
            flushing = true
            Task { await self.flushLoop() }
        }
    }

    private func flushLoop() async {
        while !pending.isEmpty {
            var take = 0
            var total = 0
            // Up to the weight limit, but never between items that must commit together.
            while take < pending.count, take == 0 || pending[take - 1].joinsNext || total + weight(pending[take].item) <= groupWeightMax {
                total += weight(pending[take].item)
                take += 1
            }
            let group = Array(pending.prefix(take))
            pending.removeFirst(take)
            let results = await write(group.map(\.item))
            commits += 1
            batches += group.count
            precondition(results.count == group.count, "one result per item")
            for (entry, result) in zip(group, results) { entry.done(result) }
        }
        flushing = false
    }
}

/// Gathers results that arrive one by one (possibly from several commits) and hands them over
/// once all are in.
final class ResultCollector<Output: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<Output, any Error>?]
    private var missing: Int
    private let done: @Sendable ([Result<Output, any Error>]) -> Void

    init(count: Int, done: @escaping @Sendable ([Result<Output, any Error>]) -> Void) {
        results = Array(repeating: nil, count: count)
        missing = count
        self.done = done
    }

    func set(_ index: Int, _ result: Result<Output, any Error>) {
        let complete: [Result<Output, any Error>]? = lock.withLock {
            results[index] = result
            missing -= 1
            return missing == 0 ? results.map { $0! } : nil
        }
        if let complete { done(complete) }
    }
}
