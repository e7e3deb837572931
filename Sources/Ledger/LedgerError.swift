/// A ledger or store failure, with a stable code and a message that says what to do.
public struct LedgerError: Error, CustomStringConvertible, Sendable {
    /// Stable codes; never renumbered, only appended.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case streamVersionConflict
            case batchTooLarge
            case payloadTooLarge
            case storeUnavailable
            case corruptRecord
            case unknownSchemaVersion
            case invalidEvent
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Another append changed a stream this batch depends on; reload and decide again.
        public static let streamVersionConflict = Code(.streamVersionConflict)
        /// A batch had more events than `Limits.appendBatchEventsMax`.
        public static let batchTooLarge = Code(.batchTooLarge)
        /// A payload had more bytes than `Limits.eventPayloadBytesMax`.
        public static let payloadTooLarge = Code(.payloadTooLarge)
        /// The store could not be opened or written.
        public static let storeUnavailable = Code(.storeUnavailable)
        /// A stored row could not be read as an event.
        public static let corruptRecord = Code(.corruptRecord)
        /// An event's schema version has no upcaster to the current version.
        public static let unknownSchemaVersion = Code(.unknownSchemaVersion)
        /// An event is malformed (empty type, stream or author).
        public static let invalidEvent = Code(.invalidEvent)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String
    public let underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }
}

/// An error of a store's driver that means the database cannot be reached (a lost connection, a
/// closed pool), as opposed to a refused or malformed query. The API answers it `503`.
public protocol StoreUnavailability: Error {
    var isStoreUnavailable: Bool { get }
}
