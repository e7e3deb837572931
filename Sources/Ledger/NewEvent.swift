/// Who wrote an event: the broker itself, or a party or person who signed it.
public enum AuthorID {
    /// The author id of events the broker writes; such events carry no signature of their own
    /// and are covered by the broker's signed checkpoints.
    public static let broker = "broker"
}

/// An event that is about to be appended: everything but its place in the chain.
public struct NewEvent: Sendable, Equatable {
    /// What the event is about: `consent:…`, `request:…`, `party:…`, `subject:…`, `device:…`.
    public var streamID: String
    /// The event type, e.g. `consent.granted`.
    public var type: String
    /// The payload's schema version; old versions are read through upcasters.
    public var schemaVersion: UInt16
    /// When the author made the event.
    public var time: Timestamp
    /// `broker`, a party id, or a subject id.
    public var authorID: String
    /// The canonical payload bytes (JSON with sorted keys, see docs/ledger-format.md).
    public var payload: [UInt8]
    /// The author's Ed25519 signature over `signingInput`; empty for broker events.
    public var signature: [UInt8]

    public init(
        streamID: String, type: String, schemaVersion: UInt16, time: Timestamp,
        authorID: String, payload: [UInt8], signature: [UInt8] = []
    ) {
        self.streamID = streamID
        self.type = type
        self.schemaVersion = schemaVersion
        self.time = time
        self.authorID = authorID
        self.payload = payload
        self.signature = signature
    }

    /// The bytes an author signs: everything about the event except its place in the chain,
    /// which the author cannot know in advance.
    public var signingInput: [UInt8] {
        CanonicalEncoding.signingInput(
            streamID: streamID, type: type, schemaVersion: schemaVersion,
            authorID: authorID, time: time, payload: payload)
    }
}
