import Broker
import Consent
import Foundation
import Ledger
import Logging
import Ports
import Storage

/// The store backends a suite runs on: SQLite always, PostgreSQL when `MYDATA_TEST_POSTGRES_URL`
/// names a server (`.ci/with-postgres` starts one and sets it).
public enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// The PostgreSQL server for tests, if any.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["MYDATA_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The backends this run can use.
    public static var available: [Backend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// Why the PostgreSQL runs are skipped, for the test report.
    public static let postgresSkipped =
        "PostgreSQL store suite skipped: no server. Run `.ci/with-postgres make test` (or set MYDATA_TEST_POSTGRES_URL=postgres://user@127.0.0.1:5432/postgres)"

    /// A fresh, empty store of this backend.
    public func fresh(_ directory: TemporaryDirectory) async throws -> StoreHandle {
        switch self {
        case .sqlite:
            return StoreHandle(backend: self, location: directory.file("ledger.sqlite").path)
        case .postgres:
            return StoreHandle(backend: self, location: try await TestDatabases.create())
        }
    }
}

/// Where a test store lives; opens it (again) on demand.
public struct StoreHandle: Sendable {
    public let backend: Backend
    /// A file path for SQLite, a URL for PostgreSQL.
    public let location: String

    public func open() async throws -> any BrokerStore {
        switch backend {
        case .sqlite: try SQLiteStore(path: location)
        case .postgres: try await PostgresStore.connect(url: location)
        }
    }
}

/// Creates one database per test on the test server, so tests run in parallel without meeting.
public enum TestDatabases {
    public static func create() async throws -> String {
        guard let admin = Backend.postgresURL else { throw LedgerError(.storeUnavailable, Backend.postgresSkipped) }
        return try await PostgresAdmin.createDatabase(adminURL: admin, prefix: "mydata_test_")
    }
}
