import ArgumentParser
import Broker
import Foundation
import Hummingbird
import Ledger
import Sodium
import Witness

/// `mydata witness`: a transparency log witness (c2sp.org/tlog-witness) for brokers' logs
/// ([transparency.md](../../docs/transparency.md#running-a-witness)).
struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness", abstract: "Run a transparency log witness that cosigns brokers' checkpoints only if they are consistent.",
        subcommands: [WitnessInit.self, WitnessServe.self])
}

/// A witness's directory: its key, its public verifier key and its state.
struct WitnessDirectory {
    let url: URL
    init(_ path: String) { url = URL(fileURLWithPath: path, isDirectory: true) }
    var keyURL: URL { url.appendingPathComponent("witness.key") }
    var vkeyURL: URL { url.appendingPathComponent("witness.vkey") }
    var statePath: String { url.appendingPathComponent("witness.sqlite").path }

    /// The witness's name and key.
    func identity() throws -> (name: String, key: SigningKey) {
        guard FileManager.default.fileExists(atPath: keyURL.path) else {
            throw CLIError(
                message: "\(url.path) has no witness key; create one with `mydata witness init --data-dir \(url.path) --name <name>`",
                exitCode: ExitCodes.keyProblem)
        }
        let identity = try KeyFile.read(keyURL) { throw CLIError(message: "the witness key is protected", exitCode: ExitCodes.keyProblem) }
        return (identity.id, identity.signingKey)
    }
}

struct WitnessInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a witness: its own Ed25519 key, printed as a cosignature verifier key (vkey).")

    @Option(name: .long, help: ArgumentHelp("The witness's directory.", valueName: "dir"))
    var dataDir: String
    @Option(name: .long, help: ArgumentHelp("The witness's name, as in its cosignatures (witness.example.com/w1).", valueName: "name"))
    var name: String

    func validate() throws {
        guard NoteVerifier.isValidName(name), name.utf8.count <= LogOrigin.bytesMax else {
            throw ValidationError("--name must be 1 to \(LogOrigin.bytesMax) bytes without spaces or '+', like witness.example.com/w1")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let directory = WitnessDirectory(dataDir)
            guard !FileManager.default.fileExists(atPath: directory.keyURL.path) else {
                throw CLIError(
                    message: "\(directory.keyURL.path) already exists; a witness keeps its key for life (its vkey is in \(directory.vkeyURL.path))",
                    exitCode: ExitCodes.refused)
            }
            try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
            let identity = try Identity.generate(id: name)
            var none: [UInt8]? = nil
            try KeyFile.write(identity, to: directory.keyURL, passphrase: &none)
            let vkey = NoteVerifier(name: name, key: identity.signingKey.verifyingKey, kind: .cosignature).vkey
            try Data((vkey + "\n").utf8).write(to: directory.vkeyURL, options: .atomic)
            print(vkey)
        }
    }
}

struct WitnessServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve POST /add-checkpoint and GET /<origin hash>/checkpoint (c2sp.org/tlog-witness) for the logs given.",
        discussion: "Give each log as its note verifier key (`mydata admin log vkey` on the broker). Stops on SIGTERM or SIGINT.")

    @Option(name: .long, help: ArgumentHelp("The witness's directory (`witness init`).", valueName: "dir"))
    var dataDir: String
    @Option(name: .long, help: "Address to listen on.") var host = "127.0.0.1"
    @Option(name: .long, help: "Port to listen on (0 picks a free one).") var port = 8090
    @Option(
        name: .customLong("log"),
        help: ArgumentHelp("A log to witness: its note verifier key, as text or a file; repeat for more logs.", valueName: "vkey"))
    var logs: [String] = []

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard !logs.isEmpty else { throw ValidationError("give at least one --log <vkey> to witness") }
    }

    func run() async throws {
        try await reportingErrors {
            let directory = WitnessDirectory(dataDir)
            let (name, key) = try directory.identity()
            let verifiers = try logs.map { try LogTrustOptions.read($0, kind: .ed25519, what: "--log") }
            let witness = try Witness(
                databasePath: directory.statePath, name: name, key: key, logs: verifiers, logger: LocalBroker.logger("mydata.witness"))
            let host = self.host
            let app = WitnessServer.make(witness, host: host, port: port, logger: LocalBroker.logger("mydata.witness")) { port in
                FileHandle.standardOutput.write(
                    Data("mydata witness \(name) for \(witness.origins.joined(separator: ", ")) listening on http://\(host):\(port)\n".utf8))
            }
            try await app.runService()
        }
    }
}
