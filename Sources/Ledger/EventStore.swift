/// Where the ledger's events and checkpoints live. Every implementation must pass the shared
/// store suite in Tests/StorageTests.
///
/// Appends are atomic per batch, durable before they return, and never reorder or renumber
/// stored events.
public protocol EventStore: Sendable {
    /// Appends a batch after the current head if every condition holds, and returns the events
    /// with their sequence numbers and hashes once they are durable.
    ///
    /// - Throws: `LedgerError.streamVersionConflict` when a condition fails (nothing is
    ///   appended), or a store error.
    func append(_ batch: AppendBatch) async throws -> [RecordedEvent]

    /// Appends batches in this order, each on its own (one failing does not stop the others);
    /// a store queues them together, so that a later batch may count on an earlier one's events
    /// (its conditions can expect the versions they leave).
    func append(batches: [AppendBatch]) async -> [Result<[RecordedEvent], any Error>]

    /// Up to `limit` events with sequence ≥ `sequence`, in order.
    func events(from sequence: UInt64, limit: Int) async throws -> [RecordedEvent]

    /// The last event's sequence and hash, or `ChainHead.genesis` for an empty ledger.
    func head() async throws -> ChainHead

    /// How many events `streamID` holds.
    func streamVersion(_ streamID: String) async throws -> Int

    /// Stores a checkpoint signed by the broker.
    func appendCheckpoint(_ checkpoint: Checkpoint) async throws

    /// All checkpoints, oldest first.
    func checkpoints() async throws -> [Checkpoint]
}

extension EventStore {
    /// One batch after another, for stores without a queue of their own.
    public func append(batches: [AppendBatch]) async -> [Result<[RecordedEvent], any Error>] {
        var results: [Result<[RecordedEvent], any Error>] = []
        for batch in batches {
            do { results.append(.success(try await append(batch))) } catch { results.append(.failure(error)) }
        }
        return results
    }
}
