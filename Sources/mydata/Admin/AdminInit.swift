import ArgumentParser
import Broker
import Foundation
import Ledger

struct AdminInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a data directory: broker keys, the ledger, the active policy, and demo parties with open offers.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: ArgumentHelp("The policy directory to activate.", valueName: "dir"))
    var policies = "Policies"
    @Flag(name: .long, help: "Do not create demo parties and open offers.")
    var noDemo = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The transparency log's origin, fixed for the ledger's lifetime (default: mydata-broker/ and 16 hex digits of the broker key's hash).",
            valueName: "origin"))
    var logOrigin: String?

    func validate() throws {
        if let logOrigin, !LogOrigin.isValid(logOrigin) {
            throw ValidationError(
                "--log-origin '\(logOrigin)' cannot name a log: give 1 to \(LogOrigin.bytesMax) bytes without spaces or '+', such as example.com/mydata"
            )
        }
    }

    func run() async throws {
        try await reportingErrors {
            let loaded = try PolicyLoader.load(directory: URL(fileURLWithPath: policies, isDirectory: true))
            let directory = DataDirectory(global.resolvedDataDir)
            let fresh = !directory.isInitialised
            if fresh {
                try directory.create()
                let identity = try Identity.generate(id: "broker")
                var none: [UInt8]? = nil
                try KeyFile.write(identity, to: directory.brokerKeyURL, passphrase: &none)
                var keys = identity.publicKeys
                keys.role = "broker"
                try DataDirectory.writePublicKeys(keys, to: directory.brokerPublicKeyURL)
            }
            let broker = try await LocalBroker.open(
                directory, store: global.resolvedStore, purpose: .initialising,
                allowAsyncCommit: global.allowAsyncCommit)
            let head = try await broker.session { broker in
                _ = try directory.vaultKey(create: true)
                try await broker.service.initialise(logOrigin: logOrigin)
                // The log's verifier key beside broker.pub, to publish with it (Keys/README.md).
                try Data((try await LogVerifierKey.vkey(of: broker.service) + "\n").utf8).write(to: directory.brokerVKeyURL, options: .atomic)
                if try LedgerIdentity.read(directory) == nil, let first = try await broker.store.events(from: 1, limit: 1).first {
                    try LedgerIdentity(brokerSigningKey: broker.service.identity.publicKeys.signingKey, firstEventHash: first.hash).write(
                        to: directory)
                }
                try await broker.service.activatePolicy(loaded)
                if !noDemo {
                    try await Demo.seed(broker: broker.service, dataDirectory: directory)
                    try await Demo.seedTelemetry(transfer: try broker.transfer(), dataDirectory: directory)
                }
                return try await broker.store.head()
            }
            if global.json {
                struct Initialised: Encodable { var dataDir: String; var policyVersion: String; var policyHash: String; var events: UInt64 }
                try Terminal.printJSON(
                    Initialised(dataDir: directory.url.path, policyVersion: loaded.policy.version, policyHash: loaded.hash, events: head.sequence))
                return
            }
            print(
                fresh
                    ? "Created broker data directory \(directory.url.path)"
                    : "Data directory \(directory.url.path) already existed; brought it up to date")
            print("Policy \(loaded.policy.version) active (hash \(loaded.hash.prefix(16))…); ledger holds \(head.sequence) events.")
            print(
                """

                Try it (as a person sharing your product data):
                  export MYDATA_DATA_DIR=\(directory.url.path)
                  mydata key init                 # your own signing key, protected by a passphrase
                  mydata requests                 # who asks for what
                  mydata grant <request-id>       # agree, signed with your key
                  mydata consents                 # what you agreed to
                  mydata rewards                  # what you earn for it (paid at the first delivery)
                  mydata receipt <consent-id> -o receipt.json && mydata receipt verify receipt.json
                  mydata revoke <consent-id>      # change your mind, effective at once
                  mydata admin verify             # prove the ledger was not tampered with, and the money adds up
                  mydata admin accounts           # every account; debits equal credits
                """)
        }
    }
}
