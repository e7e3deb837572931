import ArgumentParser
import Broker
import Consent
import Foundation
import MyDataClient
import Sodium

/// The commands of a manufacturer or a startup: a party key file, pushes, pulls and the rest,
/// against a broker over HTTP with `MyDataClient`.
struct PartyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "party",
        abstract: "For manufacturers and startups: push telemetry, ask for consent, pull what it covers.",
        discussion: """
            Signs with a party key file (--key FILE or $MYDATA_PARTY_KEY; make one with `mydata party key init`) against the broker at --broker URL ($MYDATA_BROKER). Pulls check deliveries against the broker's public key (--broker-key FILE or $MYDATA_BROKER_KEY: a trusted copy of its broker.pub).
            """,
        subcommands: [
            PartyKey.self, PartyPush.self, PartyDevices.self, PartyRequest.self, PartyRequests.self, PartyPull.self,
            PartyReconcile.self, PartyAccounts.self, PartyCallbacks.self, PartyAnalysis.self,
        ])
}

/// The options every party command that talks to the broker takes.
struct PartyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The party's key file (default: $MYDATA_PARTY_KEY).", valueName: "file"))
    var key: String?

    @Option(
        name: .long,
        help: ArgumentHelp("A trusted copy of the broker's broker.pub, to check deliveries (default: $MYDATA_BROKER_KEY).", valueName: "file"))
    var brokerKey: String?

    var keyPath: String? { key ?? ProcessInfo.processInfo.environment["MYDATA_PARTY_KEY"].flatMap { $0.isEmpty ? nil : $0 } }
    var brokerKeyPath: String? { brokerKey ?? ProcessInfo.processInfo.environment["MYDATA_BROKER_KEY"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The party's identity from its key file (a passphrase only when the file has one).
    func identity() throws -> Identity {
        guard let keyPath else {
            throw CLIError(
                message: "give the party's key file with --key FILE or MYDATA_PARTY_KEY (make one with `mydata party key init`)",
                exitCode: ExitCodes.keyProblem)
        }
        return try KeyFile.read(URL(fileURLWithPath: keyPath)) { try Terminal.passphrase() }
    }

    /// A client signing as the party, checking deliveries against the broker key when one is given.
    func client(_ global: GlobalOptions, needBrokerKey: Bool = false) throws -> MyDataClient {
        guard let text = global.resolvedBroker, let url = URL(string: text), url.host != nil else {
            throw CLIError(
                message: "give the broker's URL with --broker URL or MYDATA_BROKER (e.g. http://127.0.0.1:8080)", exitCode: ExitCodes.failure)
        }
        var brokerKey: VerifyingKey?
        if let brokerKeyPath {
            brokerKey = try DataDirectory.readPublicKeys(URL(fileURLWithPath: brokerKeyPath), id: "broker").verifyingKey()
        } else if needBrokerKey {
            throw CLIError(
                message: "give a trusted copy of the broker's broker.pub with --broker-key FILE or MYDATA_BROKER_KEY, to check what it delivers",
                exitCode: ExitCodes.keyProblem)
        }
        return MyDataClient(baseURL: url, identity: try identity(), brokerKey: brokerKey)
    }
}

struct PartyKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "A party's key pair.", subcommands: [PartyKeyInit.self])
}

struct PartyKeyInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a party's key pair: <id>.key (private, mode 0600) and <id>.pub (for the broker's operator).",
        discussion: """
            <id>.pub is what `mydata admin party add --public-key-file` and the Keys/ trust store take as it is. The private key is unprotected by default (a service starts unattended); --protect asks for a passphrase ($MYDATA_PASSPHRASE).
            """)
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "The party id: 3-64 of a-z, 0-9 and '-'.") var id: String
    @Option(name: .long, help: "manufacturer or recipient.") var role: PartyRole
    @Option(name: .long, help: "The party's name as people will see it.") var name: String
    @Option(name: .long, help: ArgumentHelp("Where to write the two files.", valueName: "dir")) var out = "."
    @Flag(name: .long, help: "Protect the private key with a passphrase.") var protect = false
    @Flag(name: .long, help: "Replace existing files.") var force = false

    func run() async throws {
        try await reportingErrors {
            guard Identifiers.isValidPartyID(id) else {
                throw CLIError(message: "a party id is 3 to 64 of a-z, 0-9 and '-', starting with a letter: \(id)", exitCode: ExitCodes.failure)
            }
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            let keyURL = directory.appendingPathComponent("\(id).key"), pubURL = directory.appendingPathComponent("\(id).pub")
            for url in [keyURL, pubURL] where FileManager.default.fileExists(atPath: url.path) && !force {
                throw CLIError(message: "\(url.path) exists; use --force to replace it", exitCode: ExitCodes.keyProblem)
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let identity = try Identity.generate(id: id)
            var passphrase: [UInt8]? = protect ? try Terminal.passphrase(prompt: "New passphrase: ", confirm: true) : nil
            try KeyFile.write(identity, to: keyURL, passphrase: &passphrase)
            var keys = identity.publicKeys
            keys.role = role.rawValue
            keys.name = name
            try DataDirectory.writePublicKeys(keys, to: pubURL)
            if global.json {
                try Terminal.printJSON(["id": id, "role": role.rawValue, "keyFile": keyURL.path, "publicKeyFile": pubURL.path])
            } else {
                print("Created \(keyURL.path) (private: keep it) and \(pubURL.path) (public).")
                print(
                    "Next: the broker's operator registers you with `mydata admin party add --id \(id) --role \(role.rawValue) --name \"\(name)\" --public-key-file \(pubURL.lastPathComponent)`."
                )
            }
        }
    }
}
