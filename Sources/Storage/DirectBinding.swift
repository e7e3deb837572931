import Foundation
import GRDB
import GRDBSQLite

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

    mutating func int(_ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
        index += 1
    }

    mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { buffer in
            _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(buffer.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) },
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
