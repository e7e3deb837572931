import ArgumentParser
import Broker
import Foundation
import Sodium

struct KeyExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write your key sealed under an export passphrase, for the dashboard in your browser (or `mydata key import`).",
        discussion: """
            The export is PBKDF2-HMAC-SHA256 and AES-256-GCM, which a browser's WebCrypto can open \
            (docs/dashboard.md). Its passphrase comes from $MYDATA_EXPORT_PASSPHRASE, or is asked twice; \
            your key file's own passphrase from $MYDATA_PASSPHRASE, or is asked. Carry the file once, then delete it.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: ArgumentHelp("Where to write the export (not overwritten).", valueName: "file")) var out: String

    func run() async throws {
        try await reportingErrors {
            let target = URL(fileURLWithPath: out)
            let exists = CLIError(message: "\(out) exists; choose another file (an export is never overwritten)", exitCode: ExitCodes.failure)
            guard !FileManager.default.fileExists(atPath: target.path) else { throw exists }
            let identity = try KeyFile.read(global.identityKeyURL) { try Terminal.passphrase() }
            var passphrase = try Terminal.passphrase(
                prompt: "Export passphrase (at least 12 characters): ", confirm: true, environment: "MYDATA_EXPORT_PASSPHRASE")
            // Characters (Unicode scalars), not bytes: twelve Korean syllables are 36 bytes but twelve characters.
            guard passphrase.lazy.filter({ $0 & 0xC0 != 0x80 }).count >= 12 else {
                Sodium.zero(&passphrase)
                throw CLIError(
                    message: "an export passphrase has at least 12 characters: PBKDF2 slows guessing far less than Argon2id",
                    exitCode: ExitCodes.keyProblem)
            }
            let export = try KeyExport.make(identity, passphrase: &passphrase)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            do { try DurableFile.create(try encoder.encode(export), at: target) } catch let error as POSIXError where error.code == .EEXIST {
                throw exists
            } catch {
                throw CLIError(message: "cannot write \(out): \(error.localizedDescription)", exitCode: ExitCodes.failure)
            }
            if global.json {
                try Terminal.printJSON(["subject": identity.id, "export": target.path])
            } else {
                print("Exported the key of \(identity.id) to \(target.path).")
                print("Open the dashboard, choose “Bring over a key from the command line”, then delete the file.")
            }
        }
    }
}

struct KeyImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Make your key file from a `mydata key export` file.",
        discussion: """
            The export's passphrase comes from $MYDATA_EXPORT_PASSPHRASE, or is asked; the new key file's \
            passphrase (Argon2id) from $MYDATA_PASSPHRASE, or is asked twice.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The export file.", valueName: "file")) var file: String
    @Flag(name: .long, help: "Replace an existing key file.") var force = false

    func run() async throws {
        try await reportingErrors {
            let url = global.identityKeyURL
            if FileManager.default.fileExists(atPath: url.path), !force {
                throw CLIError(message: "a key already exists at \(url.path); use --force to replace it", exitCode: ExitCodes.keyProblem)
            }
            guard let data = try InputFile.read(file, bytesMax: 65_536) else {
                throw CLIError(message: "cannot read \(file)", exitCode: ExitCodes.failure)
            }
            var exportPassphrase = try Terminal.passphrase(prompt: "Export passphrase: ", environment: "MYDATA_EXPORT_PASSPHRASE")
            let identity = try KeyExport.open(data, passphrase: &exportPassphrase)
            var passphrase: [UInt8]? = try Terminal.passphrase(prompt: "New key file passphrase: ", confirm: true)
            guard passphrase?.isEmpty == false else {
                throw CLIError(message: "an empty passphrase would leave your key unprotected; choose one", exitCode: ExitCodes.keyProblem)
            }
            try KeyFile.write(identity, to: url, passphrase: &passphrase)
            if global.json {
                try Terminal.printJSON(["subject": identity.id, "keyFile": url.path])
            } else {
                print("Imported the key of \(identity.id) into \(url.path).")
            }
        }
    }
}
