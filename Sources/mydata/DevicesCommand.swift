import ArgumentParser
import Broker
import Consent
import Foundation

struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "See the devices makers say are yours, and confirm them.",
        subcommands: [DevicesList.self, DevicesConfirm.self], defaultSubcommand: DevicesList.self)
}

struct DevicesList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List devices attested to be yours.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            let bindings = try await broker.session { try await broker.deviceBindings(subject: subject) }
            if global.json {
                // The API's shape (`DeviceBinding` in docs/openapi.yaml).
                try Terminal.printJSON(bindings)
                return
            }
            guard !bindings.isEmpty else { print("No maker has attested a device of yours."); return }
            print(
                Terminal.table(
                    ["MANUFACTURER", "DEVICE", "ATTESTED", "CONFIRMED"],
                    bindings.map {
                        [$0.manufacturer, $0.deviceID, $0.attestedAt.description, $0.confirmedAt?.description ?? "no: mydata devices confirm"]
                    }))
        }
    }
}

struct DevicesConfirm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confirm", abstract: "Confirm that a device is yours; only then can its data be delivered.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The manufacturer's party id.")
    var manufacturer: String
    @Argument(help: "The device id the manufacturer attested.")
    var deviceID: String

    func run() async throws {
        try await reportingErrors {
            let (_, broker) = try await Personal.open(global)
            try await broker.session {
                let identity = try broker.signer ?? Person.identity(global)
                let event = DomainEvent.deviceConfirmed(DeviceConfirmed(deviceID: deviceID, manufacturer: manufacturer, subject: identity.id))
                _ = try await broker.submit(broker.withRegistration(identity, [try identity.sign(event, at: broker.now())]), as: .deviceConfirmation)
                print("Confirmed \(manufacturer) device \(deviceID) as yours.")
            }
        }
    }
}
