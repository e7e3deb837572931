import ArgumentParser
import Broker
import Consent
import Foundation
import MyDataWire
import Ledger

struct ConsentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consents", abstract: "List the consents you gave.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "At most this many consents.")
    var limit = 100

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            let now = broker.now()
            let consents = try await broker.session { try await broker.consents(subject: subject, limit: limit) }
            if global.json {
                // The API's shape (`ConsentItem` in docs/openapi.yaml).
                try Terminal.printJSON(consents.map { ConsentItem(consent: $0, status: $0.status(at: now)) })
                return
            }
            guard !consents.isEmpty else { print("You have not granted any consent."); return }
            print(
                Terminal.table(
                    ["CONSENT", "RECIPIENT", "ITEMS", "PURPOSE", "UNTIL", "STATUS"],
                    consents.map {
                        [
                            $0.id, $0.recipient, $0.terms.items.joined(separator: ","), $0.terms.purpose, $0.expiresAt.description,
                            $0.status(at: now).rawValue,
                        ]
                    }))
        }
    }
}
