import ArgumentParser
import Foundation
import Ledger

struct AdminRebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Drop every projection and the log's tiles and rebuild them from the ledger; report whether anything differed.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            let before = try await broker.store.dumpProjections()
            try await broker.store.rebuildProjections()
            let after = try await broker.store.dumpProjections()
            // The Merkle tree's tiles: checked against the events, then built again from them.
            let tilesIdentical = try await LogAudit.check(store: broker.store) == nil
            try await broker.store.rebuildLogTiles()
            let events = try await broker.store.head().sequence
            if global.json {
                struct Rebuilt: Encodable { var events: UInt64; var identical: Bool; var tilesIdentical: Bool }
                try Terminal.printJSON(Rebuilt(events: events, identical: before == after, tilesIdentical: tilesIdentical))
            } else {
                print(
                    before == after
                        ? "Rebuilt projections from \(events) events: identical to the live ones."
                        : "Rebuilt projections from \(events) events: the live ones differed and were replaced.")
                print(
                    tilesIdentical
                        ? "Rebuilt the log's Merkle tree tiles: identical to the stored ones."
                        : "Rebuilt the log's Merkle tree tiles: the stored ones differed and were replaced.")
            }
        }
    }
}
