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
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A checkpoint kept outside the database (from `mydata admin checkpoint`): the ledger must reach and match it.", valueName: "file"))
    var trustedCheckpoint: String?
    @Option(
        name: .customLong("log-checkpoint"),
        help: ArgumentHelp(
            "A log checkpoint kept outside the database: a signed note (a witness's GET /<origin hash>/checkpoint) or a .tlog-proof file holding one; the ledger's tree must be the one it signs. Repeatable.",
            valueName: "file"))
    var logCheckpoints: [String] = []

    func run() async throws {
        try await reportingErrors {
            let trusted = try trustedCheckpoint.map { path -> Checkpoint in
                guard let data = try InputFile.read(path, bytesMax: InputLimits.checkpointFileBytesMax) else {
                    throw CLIError(message: "cannot read \(path)", exitCode: ExitCodes.failure)
                }
                do {
                    return try JSONDecoder().decode(CheckpointFile.self, from: data).checkpoint()
                } catch {
                    throw CLIError(message: "\(path) is not a checkpoint file from `mydata admin checkpoint` (\(error))", exitCode: ExitCodes.failure)
                }
            }
            let notes = try logCheckpoints.map { path -> SignedNote in
                guard let data = try InputFile.read(path, bytesMax: Limits.noteBytesMax * 2) else {
                    throw CLIError(message: "cannot read \(path)", exitCode: ExitCodes.failure)
                }
                let text = String(decoding: data, as: UTF8.self)
                guard let note = TlogProof.parse(text)?.checkpoint ?? SignedNote.parse(Array(data)) else {
                    throw CLIError(message: "\(path) is neither a signed checkpoint note nor a tlog-proof", exitCode: ExitCodes.failure)
                }
                return note
            }
            let broker: LocalBroker
            do {
                broker = try await LocalBroker.open(global, checkOwnership: false)
            } catch let error as LedgerIdentityError {
                // What the ledger must reach, when somebody kept a checkpoint of it.
                guard let trusted else { throw error }
                throw LedgerIdentityError(
                    error.message + ". The trusted checkpoint says it held at least \(trusted.sequence) events, "
                        + "with head hash \(Hex.encode(trusted.headHash))")
            }
            let keyURL = brokerKey.map { URL(fileURLWithPath: $0) } ?? broker.directory.brokerPublicKeyURL
            let key = try DataDirectory.readPublicKeys(keyURL).verifyingKey()
            let result = try await LedgerAudit.verify(store: broker.store, brokerKey: key, trusted: trusted, trustedLogCheckpoints: notes) {
                done, total in
                Terminal.progress("verified \(done)/\(total) events")
            }
            Terminal.progress("", final: true)
            // The money is checked only on a ledger whose chain is intact.
            let money = try await result.flatMap { _ in try await AccountingAudit.verify(store: broker.store) }
            switch (result, money) {
            case (.success(let report), .success(let accounts)):
                if global.json {
                    try Terminal.printJSON(
                        VerifyView(
                            ok: true, events: report.events, signatures: report.signatures,
                            checkpoints: report.checkpoints, headHash: Hex.encode(report.head.hash),
                            accounts: accounts.accounts, transfers: accounts.transfers, postedKRW: accounts.posted,
                            pendingKRW: accounts.pending))
                } else {
                    print("Ledger intact: \(report.events) events, \(report.signatures) author signatures, \(report.checkpoints) broker checkpoints.")
                    print("Head: event \(report.head.sequence), hash \(Hex.encode(report.head.hash))")
                    print(
                        "Accounts add up: \(accounts.accounts) accounts, \(accounts.transfers) transfers replayed to their recorded balances; "
                            + "debits = credits = \(accounts.posted) won posted, \(accounts.pending) won pending.")
                }
            case (.failure(let failure), _), (_, .failure(let failure)):
                if global.json {
                    try Terminal.printJSON(
                        VerifyView(ok: false, firstBadEvent: failure.sequence, problem: failure.kind.rawValue, detail: failure.detail))
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
    var accounts: Int?
    var transfers: Int?
    var postedKRW: Int64?
    var pendingKRW: Int64?
    var firstBadEvent: UInt64?
    var problem: String?
    var detail: String?
}

struct AdminCheckpoint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Sign a checkpoint of the current head and print it, to keep or publish outside the broker's host.",
        discussion: "Anyone who later runs `mydata admin verify --trusted-checkpoint FILE` proves the ledger was not rewritten or cut behind it.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: ArgumentHelp("Write it to this file instead of stdout.", valueName: "file"))
    var output: String?

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            try await broker.service.close()
            guard let latest = try await broker.store.checkpoints().last else {
                throw CLIError(message: "the ledger is empty; nothing to checkpoint", exitCode: ExitCodes.failure)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(CheckpointFile(latest))
            if let output {
                try data.write(to: URL(fileURLWithPath: output), options: .atomic)
                print("Wrote the checkpoint at event \(latest.sequence) to \(output).")
            } else {
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }
}
