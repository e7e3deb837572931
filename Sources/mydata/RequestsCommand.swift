import ArgumentParser
import Broker
import Consent
import Foundation
import MyDataWire
import Ledger

struct RequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests", abstract: "List consent requests addressed to you or open to anyone.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "Include withdrawn and expired requests.")
    var all = false
    @Option(name: .long, help: "At most this many requests.")
    var limit = 100

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            let now = broker.now()
            let requests = try await broker.session { try await broker.requests(for: subject, limit: limit) }
                .filter { all || $0.status(at: now) == .open }
            if global.json {
                // The API's shape (`RequestItem` in docs/openapi.yaml).
                try Terminal.printJSON(requests.map { RequestItem(request: $0, status: $0.status(at: now)) })
                return
            }
            guard !requests.isEmpty else { print("No open requests for you."); return }
            print(
                Terminal.table(
                    ["REQUEST", "RECIPIENT", "ITEMS", "PURPOSE", "ACCESS", "DAYS", "INCENTIVE", "STATUS"],
                    requests.map {
                        [
                            $0.id, $0.recipient, $0.terms.items.joined(separator: ","), $0.terms.purpose,
                            $0.terms.accessMode == .analysis ? "analysis only" : "delivery",
                            $0.terms.onceOff ? "once" : "\($0.terms.durationDays)", "\($0.terms.incentiveKRW) KRW", $0.status(at: now).rawValue,
                        ]
                    }))
            print("\nTo agree: mydata grant <request>   (you will see the details first)")
        }
    }
}
