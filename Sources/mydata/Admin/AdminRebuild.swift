import ArgumentParser
import Foundation

struct AdminRebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild", abstract: "Drop every projection and rebuild it from the ledger; report whether anything differed.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            let before = try await broker.store.dumpProjections()
            try await broker.store.rebuildProjections()
            let after = try await broker.store.dumpProjections()
            let events = try await broker.store.head().sequence
            if global.json {
                struct Rebuilt: Encodable { var events: UInt64; var identical: Bool }
                try Terminal.printJSON(Rebuilt(events: events, identical: before == after))
            } else if before == after {
                print("Rebuilt projections from \(events) events: identical to the live ones.")
            } else {
                print("Rebuilt projections from \(events) events: the live ones differed and were replaced.")
            }
        }
    }
}
