/// A condition on a stream that must hold when a batch is appended, or the batch is refused
/// with `streamVersionConflict`: optimistic concurrency, so two deciders can never both win.
public struct StreamCondition: Sendable, Equatable {
    /// The stream.
    public let streamID: String
    /// How many events the stream must hold; 0 means it must not exist yet.
    public let expectedVersion: Int

    public init(streamID: String, expectedVersion: Int) {
        self.streamID = streamID
        self.expectedVersion = expectedVersion
    }
}

/// Events appended together, all or none, under conditions on the streams they were decided on.
public struct AppendBatch: Sendable {
    public var events: [NewEvent]
    public var conditions: [StreamCondition]
    /// What the domain already computed from these events (its projection changes), so a store
    /// need not decode the payloads again. Opaque to the ledger; a store that does not
    /// recognise it derives the same from `events`.
    public var derived: (any Sendable)?

    public init(events: [NewEvent], conditions: [StreamCondition] = [], derived: (any Sendable)? = nil) {
        self.events = events
        self.conditions = conditions
        self.derived = derived
    }

    /// Checks sizes and identifiers before anything touches the store.
    ///
    /// - Throws: `LedgerError` with `batchTooLarge`, `payloadTooLarge` or `invalidEvent`.
    public func validate() throws {
        guard events.count <= Limits.appendBatchEventsMax else {
            throw LedgerError(.batchTooLarge, "a batch holds at most \(Limits.appendBatchEventsMax) events, got \(events.count); split it")
        }
        for event in events {
            guard event.payload.count <= Limits.eventPayloadBytesMax else {
                throw LedgerError(.payloadTooLarge, "an event payload holds at most \(Limits.eventPayloadBytesMax) bytes, got \(event.payload.count)")
            }
            for (name, value) in [("stream id", event.streamID), ("type", event.type), ("author id", event.authorID)] {
                guard !value.isEmpty, value.utf8.count <= Limits.identifierBytesMax else {
                    throw LedgerError(.invalidEvent, "an event's \(name) must have 1 to \(Limits.identifierBytesMax) bytes")
                }
            }
        }
    }
}
