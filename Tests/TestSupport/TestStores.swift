import Broker
import Consent
import Foundation
import Ledger
import Logging
import PostgresNIO
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
    public static let postgresSkipped = "PostgreSQL store suite skipped: no server. Run `.ci/with-postgres make test` (or set MYDATA_TEST_POSTGRES_URL=postgres://user@127.0.0.1:5432/postgres)"

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
        let location = try PostgresLocation(url: admin)
        let name = "mydata_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let config = PostgresClient.Configuration(host: location.host, port: location.port, username: location.username,
                                                  password: location.password, database: location.database, tls: .disable)
        let client = PostgresClient(configuration: config)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            group.cancelAll()
        }
        var url = URLComponents(string: admin)!
        url.path = "/" + name
        return url.string!
    }
}
