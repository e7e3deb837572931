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
            if global.json {
                try Terminal.printJSON(
                    entries.map {
                        AccessView(
                            time: $0.time.description, recipient: $0.recipient, consent: $0.consentID, items: $0.items,
                            records: $0.records, digest: $0.digest, ledgerSequence: $0.sequence)
                    })
                return
            }
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

struct AccessView: Encodable {
    let time: String, recipient: String, consent: String, items: [String], records: Int, digest: String, ledgerSequence: UInt64
}
