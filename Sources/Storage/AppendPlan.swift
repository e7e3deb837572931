import Consent
import Ledger

/// The pure step of a group commit, the same for both stores: each batch's stream conditions are
/// checked against the versions the batches before it left, its events are chained onto the
/// head, and what the store must then write is gathered (the records, the stream increments, the
/// projection changes in sequence order). The store reads the head and the watched versions
/// before, inside its transaction, and writes `accepted` after; nothing here does I/O.
struct AppendPlan {
    /// The head after the last accepted event.
    private(set) var head: ChainHead
    /// Every accepted event, in sequence order, with its projection changes.
    private(set) var accepted: [(record: RecordedEvent, changes: [ProjectionChange])] = []
    /// Events added to each stream by the accepted batches.
    private(set) var increments: [String: Int] = [:]
    /// Stream versions as the accepted batches left them (watched streams and those written).
    private var versions: [String: Int]

    /// - Parameters:
    ///   - head: the chain head read under the store's write lock.
    ///   - versions: the stored versions of `watchedStreams(batches)` (a stream not there is at 0).
    init(head: ChainHead, versions: [String: Int]) {
        self.head = head
        self.versions = versions
    }

    /// The streams whose versions the conditions of `batches` name: what the store reads first.
    static func watchedStreams(_ batches: [PendingAppend]) -> [String] {
        Array(Set(batches.flatMap { $0.batch.conditions.map(\.streamID) })).sorted()
    }

    /// Adds `pending` when its conditions hold; otherwise refuses it with a version conflict and
    /// leaves the plan as it was (each batch succeeds or fails on its own).
    mutating func add(_ pending: PendingAppend) -> Result<[RecordedEvent], any Error> {
        if let failed = pending.batch.conditions.first(where: { versions[$0.streamID, default: 0] != $0.expectedVersion }) {
            return .failure(
                LedgerError(
                    .streamVersionConflict,
                    "stream \(failed.streamID) changed while this was decided (version \(versions[failed.streamID, default: 0]), expected \(failed.expectedVersion)); try again"
                ))
        }
        var recorded: [RecordedEvent] = []
        recorded.reserveCapacity(pending.batch.events.count)
        for (event, changes) in zip(pending.batch.events, pending.changes) {
            let record = RecordedEvent.chained(event, after: head)
            precondition(record.sequence == head.sequence + 1, "sequence numbers have no gaps")
            precondition(record.previousHash == head.hash, "each event links to the head")
            head = record.head
            recorded.append(record)
            accepted.append((record, changes))
            versions[event.streamID, default: 0] += 1
            increments[event.streamID, default: 0] += 1
        }
        return .success(recorded)
    }
}
