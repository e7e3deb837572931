import Ledger

/// Gathers the batches that arrive while a commit is running and writes them all in the next
/// commit, so concurrent appenders share one fsync (group commit). Each batch still succeeds or
/// fails on its own.
actor GroupCommitter {
    typealias Writer = @Sendable ([AppendBatch]) async -> [Result<[RecordedEvent], any Error>]

    private var pending: [(AppendBatch, CheckedContinuation<[RecordedEvent], any Error>)] = []
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

    func submit(_ work: AppendBatch) async throws -> [RecordedEvent] {
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
            while take < pending.count, take == 0 || events + pending[take].0.events.count <= groupEventsMax {
                events += pending[take].0.events.count
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
