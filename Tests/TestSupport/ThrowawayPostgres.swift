import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of one test's own, on a free loopback port: for tests that stop, restart
/// or reconfigure the server, which the shared test server must never be. Stopped and deleted
/// when released (and its postmaster killed when the test process exits).
public final class ThrowawayPostgres: @unchecked Sendable {
    public let port: Int
    private let work: TemporaryDirectory
    private let binaries: URL
    private var dataDir: String { work.file("data").path }

    /// The URL of the cluster's `postgres` database, as user `mydata`.
    public var url: String { "postgres://mydata@127.0.0.1:\(port)/postgres" }

    /// Whether this machine has PostgreSQL's server programs (`.ci/with-postgres` installs them).
    public static var available: Bool { findBinaries() != nil }

    /// Creates and starts the cluster; `settings` are extra `-c name=value` server settings.
    public init(settings: [String: String] = [:]) throws {
        guard let binaries = Self.findBinaries() else { throw ThrowawayPostgresError("no initdb: install PostgreSQL (.ci/with-postgres does)") }
        self.binaries = binaries
        work = TemporaryDirectory("mydata-pg")
        port = 20_000 + Int.random(in: 0..<20_000)
        try Self.ownedByPostgres(work.path)
        try run("initdb", ["-D", dataDir, "-U", "mydata", "--auth=trust", "-E", "UTF8", "--no-sync"])
        var conf = "listen_addresses = '127.0.0.1'\nport = \(port)\nunix_socket_directories = '\(work.path)'\nmax_connections = 100\n"
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) { conf += "\(name) = \(value)\n" }
        let confFile = URL(fileURLWithPath: dataDir).appendingPathComponent("postgresql.auto.conf")
        try conf.write(to: confFile, atomically: false, encoding: .utf8)
        try Self.ownedByPostgres(confFile.path)
        try start()
    }

    /// Starts the server and waits until it accepts connections.
    public func start() throws {
        try run("pg_ctl", ["-D", dataDir, "-l", work.file("server.log").path, "-w", "-t", "60", "start"])
        if let text = try? String(contentsOfFile: dataDir + "/postmaster.pid", encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0) })
        {
            ChildProcesses.adopt(pid)
        }
    }

    /// Stops the server at once, as a crash would: no checkpoint, connections dropped.
    public func stopImmediately() throws {
        try run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"])
    }

    /// Runs SQL as the superuser through psql; returns its output.
    @discardableResult
    public func psql(_ sql: String) throws -> String {
        try run("psql", ["-X", "-q", "-t", "-A", "-h", "127.0.0.1", "-p", "\(port)", "-U", "mydata", "-d", "postgres", "-c", sql])
    }

    deinit {
        _ = try? run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"])
    }

    @discardableResult
    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let local = binaries.appendingPathComponent(tool).path
        let executable = FileManager.default.isExecutableFile(atPath: local) ? local : "/usr/bin/\(tool)"
        // PostgreSQL refuses to run as root.
        let argv = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments : [executable] + arguments
        // A file, not a pipe: the server that `pg_ctl start` leaves running would inherit a pipe's
        // write end and keep it open, so reading it to its end would never return.
        let outputPath = work.file("\(tool)-\(UUID().uuidString).out").path
        let status = try Spawn.wait(argv, output: outputPath)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else { throw ThrowawayPostgresError("\(tool) failed (\(status)): \(text)") }
        return text
    }

    private static func findBinaries() -> URL? {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: >) {
            let bin = URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin")
            if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) { return bin }
        }
        return nil
    }

    /// When running as root the server runs as `postgres`, which must own its files.
    private static func ownedByPostgres(_ path: String) throws {
        guard getuid() == 0 else { return }
        guard let user = getpwnam("postgres") else { throw ThrowawayPostgresError("no 'postgres' user: install PostgreSQL (.ci/with-postgres does)") }
        chmod(path, 0o700)
        chown(path, user.pointee.pw_uid, user.pointee.pw_gid)
    }
}

public struct ThrowawayPostgresError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
