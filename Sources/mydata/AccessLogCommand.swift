import ArgumentParser
import Broker
import Consent
import Foundation

struct AccessLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-log", abstract: "See who received which of your data, when, and under which consent.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "At most this many entries.")
    var limit = 100

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            let entries = try await broker.session { try await broker.accessLog(subject: subject, limit: limit) }
            // The API's shape (`AccessLogEntry` in docs/openapi.yaml), as `GET /v1/access-log` lists it.
            if global.json { try Terminal.printJSON(entries); return }
            guard !entries.isEmpty else { print("No data of yours has been delivered."); return }
            print(
                Terminal.table(
                    ["TIME", "RECIPIENT", "CONSENT", "ITEMS", "RECORDS"],
                    entries.map {
                        [$0.time.description, $0.recipient, $0.consentID, $0.items.joined(separator: ","), "\($0.records)"]
                    }))
        }
    }
}
