import Foundation
import Ledger
import PostgresNIO

/// Server-level chores: creating a database for a new deployment, a test or a benchmark.
public enum PostgresAdmin {
    /// Creates a database with a fresh name starting with `prefix` on the server `adminURL`
    /// points at (its user must be allowed to create databases), and returns its URL.
    public static func createDatabase(adminURL: String, prefix: String) async throws -> String {
        let location = try PostgresLocation(url: adminURL)
        let name = prefix + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let client = PostgresClient(
            configuration: .init(
                host: location.host, port: location.port, username: location.username,
                password: location.password, database: location.database, tls: .disable))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            group.cancelAll()
        }
        var url = URLComponents(string: adminURL)!
        url.path = "/" + name
        return url.string!
    }
}
