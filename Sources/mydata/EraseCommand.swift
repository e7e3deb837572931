import ArgumentParser
import Broker
import Consent
import Foundation

struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase your data: revoke every consent and destroy your data key, so none of your telemetry can be read again.",
        discussion: "The ledger keeps the pseudonymous facts (that consents existed and were revoked) and still verifies. Asks first unless --yes.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "Erase without asking.") var yes = false

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            try await broker.session {
                let now = broker.now()
                let active = try await broker.consents(subject: subject, limit: ConsentLimits.pageItemsMax).filter { $0.status(at: now) == .active }
                if !yes {
                    guard Terminal.stdinIsTTY else {
                        throw CLIError(message: "not at a terminal: re-run with --yes to erase without a prompt", exitCode: ExitCodes.aborted)
                    }
                    let answer = Terminal.ask(
                        "This revokes \(active.count) consent(s) and destroys all your data at the broker. Type 'erase' to go on: ")
                    guard answer == "erase" else { throw CLIError(message: "nothing was erased", exitCode: ExitCodes.aborted) }
                }
                let identity = try broker.signer ?? Person.identity(global)
                var events = try active.map {
                    try identity.sign(.consentRevoked(ConsentRevoked(consentID: $0.id, subject: subject)), at: broker.now())
                }
                events.append(try identity.sign(.subjectErased(SubjectErased(subjectID: subject)), at: broker.now()))
                let sequences = try await broker.submit(events, as: .erasure)
                if global.json {
                    struct Erased: Encodable { var subject: String; var revoked: Int; var ledgerSequence: UInt64 }
                    try Terminal.printJSON(Erased(subject: subject, revoked: active.count, ledgerSequence: sequences.last ?? 0))
                } else {
                    print("Erased. \(active.count) consent(s) revoked; your data key is destroyed, so your data can no longer be read.")
                }
            }
        }
    }
}
