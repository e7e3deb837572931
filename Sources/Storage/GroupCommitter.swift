import Consent
import Ledger

/// A batch waiting for a commit, with the projection changes of each event computed by the
/// appender (in parallel, before the write lock).
struct PendingAppend: Sendable {
    let batch: AppendBatch
    let changes: [[ProjectionChange]]
}

/// Gathers the batches that arrive while a commit is running and writes them all in the next
/// commit, so concurrent appenders share one fsync (group commit). Each batch still succeeds or
/// fails on its own.
actor GroupCommitter {
    typealias Writer = @Sendable ([PendingAppend]) async -> [Result<[RecordedEvent], any Error>]

    private var pending: [(PendingAppend, CheckedContinuation<[RecordedEvent], any Error>)] = []
    private var flushing = false
    private let write: Writer
    private let groupEventsMax: Int
    /// Commits made and batches they carried: their ratio is the group-commit factor.
    private(set) var commits = 0
    private(set) var batches = 0

    init(groupEventsMax: Int, write: @escaping Writer) {
        self.groupEventsMax = groupEventsMax
        self.write = write
    }

    func submit(_ work: PendingAppend) async throws -> [RecordedEvent] {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((work, continuation))
            if !flushing {
                flushing = true
                Task { await self.flushLoop() }
            }
        }
    }

    private func flushLoop() async {
        while !pending.isEmpty {
            var take = 0
            var events = 0
            while take < pending.count, take == 0 || events + pending[take].0.batch.events.count <= groupEventsMax {
                events += pending[take].0.batch.events.count
                take += 1
            }
            let group = Array(pending.prefix(take))
            pending.removeFirst(take)
            let results = await write(group.map(\.0))
            commits += 1
            batches += group.count
            precondition(results.count == group.count, "one result per batch")
            for ((_, continuation), result) in zip(group, results) { continuation.resume(with: result) }
        }
        flushing = false
    }
}
