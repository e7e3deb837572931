import ArgumentParser
import Broker
import Foundation

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Create, show, register, export or import your signing key.",
        subcommands: [KeyInit.self, KeyShow.self, KeyRegister.self, KeyExportCommand.self, KeyImportCommand.self])
}

struct KeyInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create your Ed25519 identity, protected by a passphrase (Argon2id).",
        discussion: "The passphrase comes from $MYDATA_PASSPHRASE, or is asked twice at the terminal.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "Replace an existing key (your old consents stay signed by the old key).")
    var force = false

    func run() async throws {
        try await reportingErrors {
            let url = global.identityKeyURL
            if FileManager.default.fileExists(atPath: url.path), !force {
                throw CLIError(message: "a key already exists at \(url.path); use --force to replace it", exitCode: ExitCodes.keyProblem)
            }
            let identity = try Identity.generateSubject()
            var passphrase: [UInt8]? = try Terminal.passphrase(prompt: "New passphrase: ", confirm: true)
            guard passphrase?.isEmpty == false else {
                throw CLIError(message: "an empty passphrase would leave your key unprotected; choose one", exitCode: ExitCodes.keyProblem)
            }
            try KeyFile.write(identity, to: url, passphrase: &passphrase)
            if global.json {
                try Terminal.printJSON(["subject": identity.id, "keyFile": url.path, "signingKey": identity.publicKeys.signingKey])
            } else {
                print("Created your key: \(url.path)")
                print("Your pseudonymous id: \(identity.id)")
                print("Next: `mydata requests` to see who asks for your data.")
            }
        }
    }
}

struct KeyShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show your id and public key.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let keys = try KeyFile.publicKeys(global.identityKeyURL)
            if global.json {
                try Terminal.printJSON(["subject": keys.id, "signingKey": keys.signingKey, "keyFile": global.identityKeyURL.path])
            } else {
                print("id:          \(keys.id)\npublic key:  \(keys.signingKey)\nkey file:    \(global.identityKeyURL.path)")
            }
        }
    }
}

struct KeyRegister: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Register your public key with the broker, so makers can attest your devices before your first grant.",
        discussion: "Your first grant registers your key anyway; this is only needed to be known before that.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let (_, broker) = try await Personal.open(global)
            try await broker.session {
                let identity = try broker.signer ?? Person.identity(global)
                let events = try await broker.withRegistration(identity, [])
                if events.isEmpty {
                    print("Your key is already registered as \(identity.id).")
                } else {
                    _ = try await broker.submit(events, as: .registration)
                    print("Registered your key as \(identity.id).")
                }
            }
        }
    }
}
