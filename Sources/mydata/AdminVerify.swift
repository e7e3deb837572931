import ArgumentParser
import Broker
import Foundation
import Consent
import Ledger

struct AdminVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute every hash, check every signature and checkpoint; name the first bad event.",
        discussion: "Exits 0 when the ledger is intact and 4 when it is not. Signature checks use every core.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: ArgumentHelp("The broker public key to trust (default: keys/broker.pub in the data directory).", valueName: "file"))
    var brokerKey: String?

    func run() async throws {
        try await reportingErrors {
            let broker = try LocalBroker.open(global)
            let keyURL = brokerKey.map { URL(fileURLWithPath: $0) } ?? broker.directory.brokerPublicKeyURL
            let key = try DataDirectory.readPublicKeys(keyURL).verifyingKey()
            let result = try await LedgerAudit.verify(store: broker.store, brokerKey: key) { done, total in
                Terminal.progress("verified \(done)/\(total) events")
            }
            Terminal.progress("", final: true)
            switch result {
            case .success(let report):
                if global.json {
                    try Terminal.printJSON(VerifyView(ok: true, events: report.events, signatures: report.signatures,
                                                      checkpoints: report.checkpoints, headHash: Hex.encode(report.head.hash)))
                } else {
                    print("Ledger intact: \(report.events) events, \(report.signatures) author signatures, \(report.checkpoints) broker checkpoints.")
                    print("Head: event \(report.head.sequence), hash \(Hex.encode(report.head.hash))")
                }
            case .failure(let failure):
                if global.json {
                    try Terminal.printJSON(VerifyView(ok: false, firstBadEvent: failure.sequence, problem: failure.kind.rawValue, detail: failure.detail))
                } else {
                    print("LEDGER NOT INTACT: \(failure)")
                }
                throw ExitCode(ExitCodes.verificationFailed)
            }
        }
    }
}

struct VerifyView: Encodable {
    var ok: Bool
    var events: UInt64?
    var signatures: Int?
    var checkpoints: Int?
    var headHash: String?
    var firstBadEvent: UInt64?
    var problem: String?
    var detail: String?
}
