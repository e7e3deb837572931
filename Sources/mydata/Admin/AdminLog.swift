import ArgumentParser
import Broker
import Foundation
import Ledger
import Sodium

/// `mydata admin log`: the broker's transparency log ([transparency.md](../../../docs/transparency.md)).
struct AdminLog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "The broker's transparency log: its note verifier key.", subcommands: [AdminLogVKey.self])
}

struct AdminLogVKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vkey",
        abstract: "Print the broker's note verifier key (C2SP vkey): what verifies its log checkpoints.",
        discussion: "Publish it beside broker.pub (Keys/README.md); witnesses and monitors are configured with it.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            let vkey = try await broker.session { broker in try await LogVerifierKey.vkey(of: broker.service) }
            print(vkey)
        }
    }
}

/// The broker's log verifier key: its Ed25519 key under the log's origin, as a C2SP vkey.
enum LogVerifierKey {
    static func vkey(of service: BrokerService) async throws -> String { try await service.logVerifier().vkey }
}
