import ArgumentParser
import Broker
import Consent
import Foundation

struct AdminDevice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device", abstract: "Device bindings on a manufacturer's behalf (until the HTTP API exists).",
        subcommands: [AdminDeviceAttest.self])
}

struct AdminDeviceAttest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest", abstract: "Attest, signed with the manufacturer's key, that a device belongs to a person.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var key: PartyKeyOption
    @Option(name: .long, help: "The manufacturer party id.") var manufacturer: String
    @Option(name: .long, help: "The manufacturer's pseudonymous device id (never a serial number or VIN).") var device: String
    @Option(name: .long, help: "The person's id (sub_…).") var subject: String

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            try await broker.session { broker in
                let signer = try key.identity(for: manufacturer, in: broker.directory)
                let event = DomainEvent.deviceAttested(DeviceAttested(deviceID: device, manufacturer: manufacturer, subject: subject))
                try await broker.service.submit(signer.sign(event, at: broker.service.clock.now()))
                print("Attested \(manufacturer) device \(device); the person confirms with `mydata devices confirm \(manufacturer) \(device)`.")
            }
        }
    }
}
