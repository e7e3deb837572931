import ArgumentParser
import Broker
import Consent
import Foundation

struct AdminParty: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "party", abstract: "Register, list, suspend and reinstate manufacturers and recipients.",
        subcommands: [
            AdminPartyAdd.self, AdminPartyList.self, AdminPartySuspend.self, AdminPartyReinstate.self, AdminPartyRotate.self, AdminPartyCallback.self,
        ])
}

extension PartyRole: ExpressibleByArgument {}

struct AdminPartyAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Register a party with its public keys.",
        discussion: "Without --public-key-file, fresh keys are generated into the data directory (for demos and tests).")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "The party id: 3-64 of a-z, 0-9 and '-'.")
    var id: String
    @Option(name: .long, help: "manufacturer or recipient.")
    var role: PartyRole
    @Option(name: .long, help: "The party's name as people will see it.")
    var name: String
    @Option(name: .long, help: ArgumentHelp("The party's public key file (JSON with signingKey and boxKey, base64).", valueName: "file"))
    var publicKeyFile: String?

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            var (keys, generated) = try PartyKeys.read(id: id, publicKeyFile: publicKeyFile)
            keys.role = role.rawValue
            try await broker.session { try await $0.service.registerParty(id: id, role: role, name: name, keys: keys) }
            // Only once registered, so a refused registration leaves no key files behind.
            try PartyKeys.save(keys, generated: generated, in: broker.directory)
            print("Registered \(role.rawValue) \(id).")
        }
    }
}

struct AdminPartyList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List registered parties.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let parties = try await LocalBroker.open(global).store.parties()
            if global.json { try Terminal.printJSON(parties); return }
            print(Terminal.table(["PARTY", "ROLE", "STATUS", "NAME"], parties.map { [$0.id, $0.role.rawValue, $0.status.rawValue, $0.name] }))
        }
    }
}

struct AdminPartySuspend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "suspend", abstract: "Suspend a party: it can no longer act or receive data.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The party id.") var id: String

    func run() async throws {
        try await reportingErrors {
            try await LocalBroker.open(global).session { try await $0.service.setSuspended(true, party: id) }
            print("Suspended \(id).")
        }
    }
}

struct AdminPartyReinstate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reinstate", abstract: "Lift a party's suspension.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The party id.") var id: String

    func run() async throws {
        try await reportingErrors {
            try await LocalBroker.open(global).session { try await $0.service.setSuspended(false, party: id) }
            print("Reinstated \(id).")
        }
    }
}

struct AdminPartyRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate", abstract: "Replace a party's public keys (a party.key-rotated event); its old signing key stops working at once.",
        discussion: "Without --public-key-file, fresh keys are generated into the data directory (for demos and tests).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The party id.") var id: String
    @Option(name: .long, help: ArgumentHelp("The party's new public key file (JSON with signingKey and boxKey, base64).", valueName: "file"))
    var publicKeyFile: String?

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            var (keys, generated) = try PartyKeys.read(id: id, publicKeyFile: publicKeyFile)
            guard let party = try await broker.store.party(id) else {
                throw ConsentError(.unknownParty, "party '\(id)' is not registered; add it first")
            }
            keys.role = party.role.rawValue
            keys.name = party.name
            try await broker.session { try await $0.service.rotateKeys(party: id, keys: keys) }
            try PartyKeys.save(keys, generated: generated, in: broker.directory)
            print("Rotated the keys of \(id); requests signed with its old key are refused from now on.")
        }
    }
}

struct AdminPartyCallback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callback", abstract: "Set the URL a recipient is told about revocations at (signed POSTs, retried until acknowledged).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The recipient's party id.") var id: String
    @Option(name: .long, help: "The http(s) URL to POST revocation notices to.") var url: String?
    @Flag(name: .long, help: "Stop sending notices.") var clear = false

    func validate() throws {
        guard (url != nil) != clear else { throw ValidationError("give --url or --clear") }
    }

    func run() async throws {
        try await reportingErrors {
            try await LocalBroker.open(global).session { try await $0.service.setCallback(clear ? nil : url, party: id) }
            print(clear ? "\(id) is no longer told about revocations." : "\(id) is told about revocations at \(url!).")
        }
    }
}

/// A party's public keys for `party add` and `party rotate`: read from the file the party gave,
/// or generated here (demos and tests), and written into the data directory once the ledger
/// took them.
enum PartyKeys {
    static func read(id: String, publicKeyFile: String?) throws -> (keys: PublicKeys, generated: Identity?) {
        if let publicKeyFile {
            var keys = try DataDirectory.readPublicKeys(URL(fileURLWithPath: publicKeyFile), id: id)
            keys.id = id
            return (keys, nil)
        }
        let generated = try Identity.generate(id: id)
        return (generated.publicKeys, generated)
    }

    static func save(_ keys: PublicKeys, generated: Identity?, in directory: DataDirectory) throws {
        if let generated {
            var none: [UInt8]? = nil
            try KeyFile.write(generated, to: directory.partyKeyURL(keys.id), passphrase: &none)
        }
        try DataDirectory.writePublicKeys(keys, to: directory.keysURL.appendingPathComponent("\(keys.id).pub"))
    }
}
