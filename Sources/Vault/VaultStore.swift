import Consent
import Ledger

/// A telemetry record as stored: its metadata in the clear (for selection), its values sealed
/// under the person's data key.
public struct SealedRecord: Sendable, Equatable {
    /// Assigned by the store.
    public var id: Int64
    /// The ledger sequence of the batch event that made the record visible (0 until then).
    public var batchSequence: Int64 = 0
    public var batchID: String
    public var manufacturer: String
    public var deviceID: String
    public var subject: String
    public var item: String
    public var time: Timestamp
    /// nonce ‖ XChaCha20-Poly1305 ciphertext of the record's canonical JSON.
    public var sealed: [UInt8]

    /// This record's position, for the next page's cursor.
    public var cursor: RecordCursor { RecordCursor(batchSequence: batchSequence, recordID: id) }

    public init(
        id: Int64 = 0, batchID: String, manufacturer: String, deviceID: String, subject: String, item: String,
        time: Timestamp, sealed: [UInt8]
    ) {
        self.id = id; self.batchID = batchID; self.manufacturer = manufacturer; self.deviceID = deviceID
        self.subject = subject; self.item = item; self.time = time; self.sealed = sealed
    }
}

/// Which records a pull may see: one person's, of some items, in a time window, from devices
/// the person confirmed, after a cursor.
public struct RecordQuery: Sendable, Equatable {
    public var subject: String
    public var items: [String]
    public var from: Timestamp
    public var to: Timestamp
    /// Only records after this position.
    public var after: RecordCursor
    /// Only records at or before this position (`.end`: no bound).
    public var through: RecordCursor
    public var limit: Int

    public init(
        subject: String, items: [String], from: Timestamp, to: Timestamp, after: RecordCursor, through: RecordCursor = .end, limit: Int
    ) {
        self.subject = subject; self.items = items; self.from = from; self.to = to
        self.after = after; self.through = through; self.limit = limit
    }
}

/// Where sealed records and wrapped data keys live. Both stores implement it.
public protocol VaultStore: Sendable {
    /// The wrapped data key of `subject`, creating it from `wrapped` when there is none yet;
    /// returns the one stored (another process may have won the race). Nil once erased.
    func dataKey(subject: String, orCreate wrapped: [UInt8]) async throws -> [UInt8]?
    /// Destroys the data key of `subject` for good; later pushes for them are refused.
    func destroyDataKey(subject: String) async throws
    /// Stores records of a batch (not visible to pulls until the batch's event is projected).
    func storeRecords(_ records: [SealedRecord]) async throws
    /// Removes the records of a batch whose event was never appended.
    func deleteRecords(batchID: String) async throws
    /// Records matching `query`, of committed batches, from devices the subject confirmed, in
    /// cursor order.
    func records(_ query: RecordQuery) async throws -> [SealedRecord]
    /// The answers to several queries (an analysis reads many people's records), in order.
    func records(_ queries: [RecordQuery]) async throws -> [[SealedRecord]]
    /// The wrapped data keys of people who have one: nil for a destroyed key, absent for none.
    func wrappedDataKeys(subjects: [String]) async throws -> [String: [UInt8]?]
    /// The keys of the stored records of `manufacturer`'s devices at times within each device's
    /// span (both ends included): what a push's duplicates are counted against.
    func recordKeys(manufacturer: String, spans: [(device: String, from: Timestamp, through: Timestamp)]) async throws -> Set<RecordKey>
}

extension VaultStore {
    /// One query after another; a store that can answer them in one read does.
    public func records(_ queries: [RecordQuery]) async throws -> [[SealedRecord]] {
        var out: [[SealedRecord]] = []
        for q in queries { out.append(try await records(q)) }
        return out
    }
}
