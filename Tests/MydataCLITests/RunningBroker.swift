import Broker
import BrokerServer
import Consent
import Foundation
import Ledger
import Sodium
import TestSupport
import Testing

/// `mydata serve` on a fresh demo data directory, on a free loopback port; stopped with SIGTERM
/// (SIGKILL if it does not stop) when released.
final class RunningBroker: @unchecked Sendable {
    let dir = TemporaryDirectory("mydata-http")
    let cli: MydataCLI
    private(set) var process = Process()
    private(set) var baseURL: URL

    /// The lines `serve` printed before it listened (the trust store's summary).
    private(set) var startLines: [String]
    /// What `serve` was started with, for `restart()`.
    private let serveCommand: [String]

    /// - Parameter trustStore: a `Keys/`-like folder to load at start; none by default, so the
    ///   repository's own `Keys/` never leaks into a test.
    /// - Parameters:
    ///   - policies: the policy folder to activate (default: the repository's `Policies/`).
    ///   - store: a PostgreSQL URL for the ledger (default: the data directory's SQLite file).
    ///   - sharing: another broker of the same deployment whose data directory (keys, vault key,
    ///     ledger identity) this one copies instead of running `admin init`.
    ///   - beforeServe: runs after `admin init`, before `serve`, with the data directory; returns
    ///     more `serve` arguments (a witness started for this broker's log, say).
    init(
        trustStore: URL? = nil, serveArguments: [String] = [], policies: URL? = nil, store: String? = nil,
        sharing: RunningBroker? = nil, beforeServe: (String) throws -> [String] = { _ in [] }
    ) throws {
        cli = MydataCLI(dataDir: dir.file("data").path, configDir: dir.file("config").path)
        let storeArguments = store.map { ["--store", $0] } ?? []
        if let sharing {
            try FileManager.default.copyItem(atPath: sharing.cli.dataDir, toPath: cli.dataDir)
        } else {
            let initRun = try cli.run(["admin", "init"] + storeArguments + (policies.map { ["--policies", $0.path] } ?? []))
            guard initRun.status == 0 else { throw TestFailure("admin init failed: \(initRun.stderr)") }
        }
        serveCommand =
            ["serve", "--port", "0", "--data-dir", cli.dataDir, "--trust-store", trustStore?.path ?? "none"]
            + storeArguments + serveArguments + (try beforeServe(cli.dataDir))
        (baseURL, startLines) = (URL(fileURLWithPath: "/"), [])
        try start()
    }

    private func start() throws {
        process = Process()
        process.executableURL = MydataCLI.executable
        process.arguments = serveCommand
        let out = Pipe()
        process.standardOutput = out
        // The server's log (warnings and errors), for a test that needs to say why something failed.
        guard FileManager.default.createFile(atPath: dir.file("serve.log").path, contents: nil) else {
            throw TestFailure("cannot create \(dir.file("serve.log").path)")
        }
        process.standardError = try FileHandle(forWritingTo: dir.file("serve.log"))
        try ChildProcesses.start(process)
        (baseURL, startLines) = try ServeOutput.listening(out)
    }

    /// Stops the server gracefully and waits for it.
    func stop() {
        ChildProcesses.stop(process)
    }

    /// Starts `serve` again on the same data directory (on a new port), after `stop()`.
    func restart() throws {
        stop()
        try start()
    }

    deinit { stop() }

    /// What the server logged (warnings and errors, one per line).
    var log: String { (try? String(contentsOf: dir.file("serve.log"), encoding: .utf8)) ?? "" }

    /// A demo party's identity from the data directory.
    func party(_ id: String) throws -> Identity {
        try KeyFile.read(dir.file("data/keys/\(id).key")) { [] }
    }

    var brokerKey: VerifyingKey {
        get throws { try DataDirectory.readPublicKeys(dir.file("data/keys/broker.pub")).verifyingKey() }
    }

    /// The ledger head the server reports.
    func ledgerHead() async throws -> UInt64 {
        struct Ready: Decodable { var ledgerHead: UInt64 }
        let (data, _) = try await URLSession.shared.data(from: baseURL.appendingPathComponent("readyz"))
        return try JSONDecoder().decode(Ready.self, from: data).ledgerHead
    }

    /// The active policy, as clients learn it.
    func policy() async throws -> ActivePolicy { try await RunningBrokerPolicy.fetch(baseURL) }
}

/// What `mydata serve` prints before it accepts connections.
enum ServeOutput {
    /// Reads `serve`'s stdout up to its "listening on" line: the URL, and the lines before it.
    static func listening(_ out: Pipe) throws -> (url: URL, lines: [String]) {
        var text = ""
        while !text.contains("listening on") || !text.hasSuffix("\n") {
            let chunk = out.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw TestFailure("the server exited before listening: \(text)") }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let lines = text.split(separator: "\n").map(String.init)
        guard let listening = lines.first(where: { $0.contains("listening on") }),
            let url = listening.split(separator: " ").last.flatMap({ URL(string: String($0)) })
        else {
            throw TestFailure("no listening line: \(text)")
        }
        return (url, lines.filter { !$0.contains("listening on") })
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Listing bodies as clients decode them.
struct RequestList: Decodable {
    struct Item: Decodable { var request: ConsentRequest; var status: String }
    var requests: [Item]
}

struct ConsentList: Decodable {
    struct Item: Decodable { var consent: Consent; var status: String }
    var consents: [Item]
}

struct Problem: Decodable { var type: String; var status: Int; var code: String; var detail: String }

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
