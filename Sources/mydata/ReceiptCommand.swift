import ArgumentParser
import Broker
import Foundation
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

    func run() async throws {
        try await reportingErrors {
            let keyURL = brokerKey.map { URL(fileURLWithPath: $0) } ?? DataDirectory(global.resolvedDataDir).brokerPublicKeyURL
            let key = try DataDirectory.readPublicKeys(keyURL).verifyingKey()
            guard let data = try InputFile.read(file, bytesMax: InputLimits.receiptFileBytesMax) else {
                throw CLIError(message: "cannot read \(file)", exitCode: ExitCodes.failure)
            }
            let signed = try ReceiptVerifier.verify(data, brokerKey: key)
            let r = signed.receipt
            if global.json {
                struct Verified: Encodable { var valid = true; var consent: String; var status: String; var statusAt: String }
                try Terminal.printJSON(Verified(consent: r.recordID, status: r.status, statusAt: r.statusAt))
            } else {
                print(
                    "Valid receipt: consent \(r.recordID) by \(r.piiPrincipalID) to \(r.piiController.id) for \(r.purposes.map(\.id).joined(separator: ",")),"
                )
                print("signed by the person and by the broker; status \(r.status) at \(r.statusAt).")
            }
        }
    }
}
