import ArgumentParser
import Broker
import Foundation
import Ledger
import Sodium

struct ReceiptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt", abstract: "Get a signed receipt of a consent, or verify one offline.",
        subcommands: [ReceiptShow.self, ReceiptVerify.self], defaultSubcommand: ReceiptShow.self)
}

struct ReceiptShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print the broker-signed receipt (JSON, ISO/IEC TS 27560 fields) of one of your consents.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The consent id.")
    var consentID: String
    @Option(name: [.short, .long], help: ArgumentHelp("Write the receipt to this file instead of stdout.", valueName: "file"))
    var output: String?

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            let receipt = try await broker.session { try await broker.receipt(consentID: consentID, subject: subject) }
            let data = try receipt.json()
            if let output {
                try data.write(to: URL(fileURLWithPath: output), options: .atomic)
                print("Wrote \(output). Check it any time with: mydata receipt verify \(output) --broker-key <broker.pub>")
            } else {
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }
}

struct ReceiptVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check a receipt offline with the broker's public key alone.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The receipt file.")
    var file: String
    @Option(name: .long, help: ArgumentHelp("The broker's public key file (default: keys/broker.pub in the data directory).", valueName: "file"))
    var brokerKey: String?
    @OptionGroup var logTrust: LogTrustOptions

    func run() async throws {
        try await reportingErrors {
            let keyURL = brokerKey.map { URL(fileURLWithPath: $0) } ?? DataDirectory(global.resolvedDataDir).brokerPublicKeyURL
            let key = try DataDirectory.readPublicKeys(keyURL).verifyingKey()
            guard let data = try InputFile.read(file, bytesMax: InputLimits.receiptFileBytesMax) else {
                throw CLIError(message: "cannot read \(file)", exitCode: ExitCodes.failure)
            }
            let trust = try logTrust.trust(dataDir: global.resolvedDataDir)
            let verified = try ReceiptVerifier.verify(data, brokerKey: key, trust: trust)
            let r = verified.signed.receipt
            // With --broker: the broker's log today must still be an extension of the checkpoints
            // the receipt's proofs rest on (a broker that rewrote its history fails here).
            var today: UInt64?
            if global.resolvedBroker != nil {
                let monitor = LogMonitor(baseURL: try global.requiredBrokerURL(), configDirectory: global.resolvedConfigDir, trust: trust)
                for (checkpoint, proof) in [
                    (verified.grantCheckpoint, r.evidence.logProof), (verified.revocationCheckpoint, r.revocation?.logProof),
                ] {
                    guard let checkpoint, let proof, let text = TlogProof.parse(proof)?.checkpoint.encoded else { continue }
                    let verifier = NoteVerifier(name: checkpoint.origin, key: key)
                    guard let (currentText, _, current) = try await monitor.current(verifier: verifier, remembered: text) else {
                        throw LogInconsistency("the broker serves no log checkpoint at all", remembered: text, current: nil)
                    }
                    try await monitor.requireExtension(of: checkpoint, evidence: text, by: current, evidence: currentText)
                    today = current.size
                }
            }
            if global.json {
                struct Verified: Encodable {
                    var valid = true; var consent: String; var status: String; var statusAt: String
                    var logSize: UInt64?; var logOrigin: String?; var cosigners: [String]
                }
                try Terminal.printJSON(
                    Verified(
                        consent: r.recordID, status: r.status, statusAt: r.statusAt, logSize: verified.grantCheckpoint?.size,
                        logOrigin: verified.grantCheckpoint?.origin, cosigners: verified.cosigners))
            } else {
                print(
                    "Valid receipt: consent \(r.recordID) by \(r.piiPrincipalID) to \(r.piiController.id) for \(r.purposes.map(\.id).joined(separator: ",")),"
                )
                print("signed by the person and by the broker; status \(r.status) at \(r.statusAt).")
                if let checkpoint = verified.grantCheckpoint {
                    let witnessed =
                        verified.cosigners.isEmpty ? "" : ", cosigned by \(verified.cosigners.joined(separator: ", "))"
                    print("The grant is in the log \(checkpoint.origin) (entry \(r.evidence.ledgerSequence - 1) of \(checkpoint.size)\(witnessed)).")
                    if let revoked = verified.revocationCheckpoint, let revocation = r.revocation {
                        print("The revocation is in it too (entry \(revocation.ledgerSequence - 1) of \(revoked.size)).")
                    }
                    if let today { print("The broker's log today (\(today) entries) is a consistent extension of it.") }
                } else {
                    print("It carries no log proof: it was made before the broker had a transparency log.")
                }
            }
        }
    }
}

/// Which log and witnesses a proof must be signed by (`receipt verify`, `access-log verify`).
struct LogTrustOptions: ParsableArguments {
    @Option(
        name: .customLong("log-vkey"),
        help: ArgumentHelp(
            "The broker's log verifier key, as text or a file (default: keys/broker.vkey in the data directory, if there is one).",
            valueName: "vkey"))
    var logVKey: String?
    @Option(
        name: .customLong("witness"),
        help: ArgumentHelp("A witness's cosignature verifier key, as text or a file; repeat for more witnesses.", valueName: "vkey"))
    var witnesses: [String] = []
    @Option(
        name: .long,
        help: ArgumentHelp("How many of the --witness keys must have cosigned (default: 1 when any is given).", valueName: "n"))
    var witnessQuorum: Int?

    func validate() throws {
        if let witnessQuorum, witnessQuorum < 0 || witnessQuorum > witnesses.count {
            throw ValidationError("--witness-quorum is between 0 and the number of --witness keys (\(witnesses.count))")
        }
    }

    /// The trust the options give, each falling back to its environment variable
    /// (`MYDATA_LOG_VKEY`, `MYDATA_WITNESSES` with vkeys or files separated by commas,
    /// `MYDATA_WITNESS_QUORUM`) and the log key to `keys/broker.vkey` in the data directory when
    /// `dataDir` is given and has one.
    func trust(dataDir: String?) throws -> ReceiptVerifier.LogTrust {
        try Self.trust(logVKey: logVKey, witnesses: witnesses, quorum: witnessQuorum, dataDir: dataDir)
    }

    static func trust(logVKey: String?, witnesses: [String], quorum: Int?, dataDir: String?) throws -> ReceiptVerifier.LogTrust {
        let env = ProcessInfo.processInfo.environment
        var log: NoteVerifier?
        if let given = logVKey ?? env["MYDATA_LOG_VKEY"].flatMap({ $0.isEmpty ? nil : $0 }) {
            log = try read(given, kind: .ed25519, what: "--log-vkey")
        } else if let dataDir {
            let url = DataDirectory(dataDir).brokerVKeyURL
            if FileManager.default.fileExists(atPath: url.path) { log = try read(url.path, kind: .ed25519, what: url.path) }
        }
        let listed = witnesses.isEmpty ? (env["MYDATA_WITNESSES"] ?? "").split(separator: ",").map(String.init) : witnesses
        var seen = Set<String>()
        let witnessKeys = try listed.map { try read($0, kind: .cosignature, what: "--witness") }.filter { seen.insert($0.vkey).inserted }
        let quorum =
            try quorum
            ?? env["MYDATA_WITNESS_QUORUM"].map {
                guard let n = Int($0), (0...witnessKeys.count).contains(n) else {
                    throw CLIError(
                        message: "MYDATA_WITNESS_QUORUM is between 0 and the number of witnesses (\(witnessKeys.count))", exitCode: ExitCodes.failure)
                }
                return n
            }
        return ReceiptVerifier.LogTrust(log: log, witnesses: witnessKeys, quorum: quorum ?? (witnessKeys.isEmpty ? 0 : 1))
    }

    /// A vkey given as its text, or as a file holding it on its first line.
    static func read(_ argument: String, kind: NoteVerifier.Kind, what: String) throws -> NoteVerifier {
        var text = argument
        if NoteVerifier(vkey: argument) == nil {
            guard let data = try InputFile.read(argument, bytesMax: 4096) else {
                throw CLIError(message: "\(what) \(argument) is neither a vkey nor a readable file", exitCode: ExitCodes.failure)
            }
            text = String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        }
        guard let verifier = NoteVerifier(vkey: text.trimmingCharacters(in: .whitespaces)), verifier.kind == kind else {
            let expected = kind == .ed25519 ? "an Ed25519 note vkey (type 0x01)" : "a cosignature vkey (type 0x04)"
            throw CLIError(message: "\(what) \(argument) is not \(expected): name+keyID+base64", exitCode: ExitCodes.failure)
        }
        return verifier
    }
}
