import Foundation
import Ledger
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL store lives, parsed from `postgres://user:password@host:port/database`.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// `disable` (the default), `require` (encrypted, certificate not checked) or `verify-full`
    /// (encrypted, certificate and host name checked), from the URL's `sslmode`.
    public var sslMode: String

    /// Parses a `postgres://` or `postgresql://` URL.
    ///
    /// - Throws: `LedgerError.storeUnavailable` naming what is missing.
    public init(url text: String) throws {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql" else {
            throw LedgerError(.storeUnavailable, "'\(Self.redact(text))' is not a postgres:// URL; use postgres://user:password@host:5432/database")
        }
        guard let host = url.host, !host.isEmpty else {
            throw LedgerError(.storeUnavailable, "the store URL names no host; use postgres://user:password@host:5432/database")
        }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        guard !database.isEmpty else {
            throw LedgerError(.storeUnavailable, "the store URL names no database; end it with /<database>")
        }
        self.host = host
        port = url.port ?? 5432
        username = url.user ?? "postgres"
        password = url.password
        self.database = database
        sslMode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard ["disable", "require", "verify-full"].contains(sslMode) else {
            throw LedgerError(.storeUnavailable, "sslmode must be disable, require or verify-full, got '\(sslMode)'")
        }
    }

    /// TLS for the pool.
    func clientTLS() throws -> PostgresClient.Configuration.TLS {
        switch sslMode {
        case "disable": return .disable
        default: return .require(try tlsConfiguration())
        }
    }

    /// TLS for a single connection.
    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch sslMode {
        case "disable": return .disable
        default: return .require(try NIOSSLContext(configuration: tlsConfiguration()))
        }
    }

    private func tlsConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if sslMode == "require" { tls.certificateVerification = .none }
        return tls
    }

    /// The URL without its password, for messages and logs.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)" + (sslMode == "disable" ? "" : "?sslmode=\(sslMode)")
    }

    static func redact(_ text: String) -> String {
        guard var url = URLComponents(string: text) else { return "<unparseable URL>" }
        if url.password != nil { url.password = "***" }
        return url.string ?? "<unparseable URL>"
    }
}
