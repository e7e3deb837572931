import ArgumentParser
import Broker
import Consent
import Foundation

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Withdraw a consent (or all of them), effective at once.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The consent id, from `mydata consents`.")
    var consentID: String?
    @Flag(name: .long, help: "Revoke every consent that is still active.")
    var all = false

    func validate() throws {
        guard (consentID != nil) != all else { throw ValidationError("name one consent id, or pass --all") }
    }

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            try await broker.session {
                let now = broker.now()
                let ids: [String]
                if all {
                    ids = try await broker.consents(subject: subject, limit: ConsentLimits.pageItemsMax)
                        .filter { $0.status(at: now) == .active }.map(\.id)
                } else {
                    ids = [consentID!]
                }
                guard !ids.isEmpty else { print("You have no active consent to revoke."); return }
                let identity = try broker.signer ?? Person.identity(global)
                let events = try ids.map { id in
                    try identity.sign(.consentRevoked(ConsentRevoked(consentID: id, subject: subject)), at: broker.now())
                }
                // Over HTTP each revocation goes to its consent's own endpoint; locally they are one batch.
                var recorded: [UInt64] = []
                if broker is RemoteBroker {
                    for (id, event) in zip(ids, events) { recorded += try await broker.submit([event], as: .revoke(consentID: id)) }
                } else {
                    recorded = try await broker.submit(events, as: .revoke(consentID: ids[0]))
                }
                if global.json {
                    try Terminal.printJSON(ids)
                } else {
                    for id in ids { print("Revoked \(id).") }
                    print("From now on no data is delivered under \(ids.count == 1 ? "it" : "them") (ledger event \(recorded.last!)).")
                }
            }
        }
    }
}
