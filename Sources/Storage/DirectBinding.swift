import Foundation
import GRDB
import GRDBSQLite
import Ledger
import Vault

/// Executes a prepared statement with values bound through SQLite's C API, for the few
/// statements on the append path that run once per event: GRDB's `StatementArguments` cost more
/// than SQLite's own insert there.
struct DirectBinding {
    private let handle: OpaquePointer
    private var index: Int32 = 1

    /// SQLite copies the bound bytes before the call returns (SQLITE_TRANSIENT).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Resets `statement`, lets `bind` set its parameters in order, and steps it to completion.
    ///
    /// - Throws: `DatabaseError` with SQLite's code and message.
    static func execute(_ statement: Statement, _ bind: (inout DirectBinding) -> Void) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        var binding = DirectBinding(handle: handle)
        bind(&binding)
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            let message = String(cString: sqlite3_errmsg(sqlite3_db_handle(handle)))
            sqlite3_reset(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
        }
        sqlite3_reset(handle)
    }

    /// Reads events with SQLite's C API from a statement selecting, in order: seq, time_ms,
    /// stream_id, type, schema_version, author_id, signature, payload, prev_hash, hash, and
    /// taking the first sequence and a limit as parameters.
    ///
    /// - Throws: `LedgerError.corruptRecord` for a row that cannot be an event.
    static func events(_ statement: Statement, from sequence: Int64, limit: Int) throws -> [RecordedEvent] {
        let h = statement.sqliteStatement
        sqlite3_reset(h)
        defer { sqlite3_reset(h) }
        sqlite3_bind_int64(h, 1, sequence)
        sqlite3_bind_int64(h, 2, Int64(limit))
        var out: [RecordedEvent] = []
        out.reserveCapacity(limit)
        while try nextRow(h) {
            let seq = sqlite3_column_int64(h, 0)
            let prev = blob(h, 8), hash = blob(h, 9)
            guard seq > 0, prev.count == 32, hash.count == 32, let version = UInt16(exactly: sqlite3_column_int64(h, 4)) else {
                throw LedgerError(.corruptRecord, "event \(seq) has a malformed sequence, hash or schema version column")
            }
            let event = NewEvent(
                streamID: text(h, 2), type: text(h, 3), schemaVersion: version,
                time: Timestamp(milliseconds: sqlite3_column_int64(h, 1)), authorID: text(h, 5),
                payload: blob(h, 7), signature: blob(h, 6))
            out.append(RecordedEvent(sequence: UInt64(seq), event: event, previousHash: prev, hash: hash))
        }
        return out
    }

    /// Reads sealed records with SQLite's C API from a statement selecting, in order: id,
    /// batch_id, manufacturer, device_id, subject, item, time_ms, sealed, batch_seq, with
    /// parameters bound by `bind`. A text equal to the previous row's in the same column is the
    /// same string again: a page is mostly one person's few devices and items.
    ///
    /// - Throws: `DatabaseError` with SQLite's code and message.
    static func records(_ statement: Statement, _ bind: (inout DirectBinding) -> Void) throws -> [SealedRecord] {
        let h = statement.sqliteStatement
        sqlite3_reset(h)
        defer { sqlite3_reset(h) }
        var binding = DirectBinding(handle: h)
        bind(&binding)
        var out: [SealedRecord] = []
        var last = ["", "", "", "", ""]
        func interned(_ column: Int32, _ slot: Int) -> String {
            guard let base = sqlite3_column_text(h, column) else { return "" }
            let bytes = UnsafeBufferPointer(start: base, count: Int(sqlite3_column_bytes(h, column)))
            let same =
                last[slot].utf8.count == bytes.count
                && (bytes.isEmpty
                    || last[slot].utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 } == true)
            if same { return last[slot] }
            last[slot] = String(decoding: bytes, as: UTF8.self)
            return last[slot]
        }
        while try nextRow(h) {
            var record = SealedRecord(
                id: sqlite3_column_int64(h, 0), batchID: interned(1, 0), manufacturer: interned(2, 1), deviceID: interned(3, 2),
                subject: interned(4, 3), item: interned(5, 4), time: Timestamp(milliseconds: sqlite3_column_int64(h, 6)), sealed: blob(h, 7))
            record.batchSequence = sqlite3_column_int64(h, 8)
            out.append(record)
        }
        return out
    }

    /// Steps a query: true on a row, false when done.
    ///
    /// - Throws: `DatabaseError` with SQLite's code and message.
    private static func nextRow(_ h: OpaquePointer) throws -> Bool {
        let code = sqlite3_step(h)
        if code == SQLITE_DONE { return false }
        guard code == SQLITE_ROW else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(h))))
        }
        return true
    }

    private static func blob(_ h: OpaquePointer, _ column: Int32) -> [UInt8] {
        // SQLite asks for the pointer first, then the size.
        guard let base = sqlite3_column_blob(h, column) else { return [] }
        let count = Int(sqlite3_column_bytes(h, column))
        return [UInt8](UnsafeRawBufferPointer(start: base, count: count))
    }

    private static func text(_ h: OpaquePointer, _ column: Int32) -> String {
        guard let base = sqlite3_column_text(h, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: base, count: Int(sqlite3_column_bytes(h, column))), as: UTF8.self)
    }

    mutating func int(_ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
        index += 1
    }

    mutating func int(_ value: Int64?) {
        if let value { int(value) } else { sqlite3_bind_null(handle, index); index += 1 }
    }

    mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { buffer in
            _ = sqlite3_bind_text(
                handle, index, UnsafeRawPointer(buffer.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) },
                Int32(buffer.count), Self.transient)
        }
        index += 1
    }

    mutating func blob(_ value: [UInt8]) {
        value.withUnsafeBytes { buffer in
            // A zero-length blob still needs a non-null pointer, or SQLite stores NULL.
            let base = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
            _ = sqlite3_bind_blob(handle, index, base, Int32(buffer.count), Self.transient)
        }
        index += 1
    }
}
