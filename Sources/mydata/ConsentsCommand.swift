import ArgumentParser
import Broker
import Consent
import Foundation
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
                try Terminal.printJSON(consents.map { ConsentView($0, now: now) })
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

/// A consent as `--json` prints it.
struct ConsentView: Encodable {
    let id: String, requestID: String, recipient: String, category: String, items: [String], purpose: String
    let grantedAt: String, expiresAt: String, revokedAt: String?, dataFrom: String, dataTo: String
    let policyVersion: String, status: String, ledgerSequence: UInt64

    init(_ c: Consent, now: Timestamp) {
        id = c.id; requestID = c.requestID; recipient = c.recipient; category = c.terms.category; items = c.terms.items
        purpose = c.terms.purpose; grantedAt = c.grantedAt.description; expiresAt = c.expiresAt.description
        revokedAt = c.revokedAt?.description; dataFrom = c.terms.dataFrom.description; dataTo = c.terms.dataTo.description
        policyVersion = c.policyVersion; status = c.status(at: now).rawValue; ledgerSequence = c.grantSequence
    }
}
