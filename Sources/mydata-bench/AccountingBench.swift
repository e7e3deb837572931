import Accounting
import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger
import Sodium
import Storage

/// Durable double-entry transfers through the broker's book (decided in memory, each commit a
/// `transfers.posted` ledger event with its projections, fsynced), single and linked, from
/// concurrent clients; against the raw SQLite batched insert rate and the pure in-memory `Book`
/// measured in the same run.
struct AccountingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounting", abstract: "Durable transfers/s, single and linked, against raw SQLite.")

    @Option(help: "Transfers per scenario.") var transfers = 120_000
    @Option(help: "Concurrent clients.") var clients = 8
    @Option(help: "Transfers per client request (at most 300).") var batch = 300
    @Option(help: "The policy directory.") var policies = "Policies"

    func run() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mydata-acctbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var figures: [Figure] = []

        log("baseline: raw SQLite batched inserts…")
        let (raw, rawSynchronous) = try Baselines.sqliteInsertRate(directory: work)
        figures.append(
            Figure(
                name: "raw SQLite insert, 1,000 rows per durable commit", value: raw, unit: "rows/s",
                durability: synchronousName(rawSynchronous)))

        log("baseline: the pure Book in memory…")
        let memory = try pureBookRate()
        figures.append(Figure(name: "Book.apply in memory (no storage)", value: memory, unit: "transfers/s"))

        for linked in [false, true] {
            let store = try SQLiteStore(path: work.appendingPathComponent("ledger-\(linked).sqlite").path)
            let synchronous = synchronousName(try await store.writerSynchronous())
            let service = BrokerService(store: store, identity: try Identity.generate(id: "broker"))
            try await service.initialise()
            try await service.activatePolicy(try PolicyLoader.load(directory: URL(fileURLWithPath: policies, isDirectory: true)))
            let payers = (0..<64).map { AccountNames.cashAccount("payer-\($0)") }
            let payees = (0..<16).map { AccountNames.revenueAccount("maker-\($0)") }
            _ = try await service.accounting.commit(
                opening: payers + payees,
                transfers: payers.map {
                    Transfer(
                        id: "seed:\($0.id)", debitAccountID: AccountNames.bank, creditAccountID: $0.id, amount: 1_000_000_000_000,
                        code: .cashDeposit, reference: "bench")
                }, allOrNothing: true)
            let label = linked ? "linked (chains of 3: payer → clearing → maker, fee)" : "single"
            log("durable \(label) transfers, \(clients) clients × \(batch) per request…")
            let counter = BatchCounter(total: transfers / batch)
            let accounting = service.accounting
            let batchSize = batch
            let seconds = try await measure {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in 0..<clients {
                        group.addTask {
                            while let b = await counter.take() {
                                let list = Self.transfers(batch: b, size: batchSize, client: client, linked: linked, payers: payers, payees: payees)
                                let outcome = try await accounting.commit(transfers: list, allOrNothing: true)
                                guard outcome.results.allSatisfy({ $0 == .ok }) else { throw ValidationError("a transfer was refused") }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let rate = Double(transfers / batch * batch) / seconds
            figures.append(
                Figure(
                    name: "durable \(label) transfers, \(clients) clients", value: rate, unit: "transfers/s",
                    goal: "≥ 50,000/s", ratio: rate / raw, baseline: "raw SQLite insert", met: rate >= 50_000,
                    durability: synchronous))
            guard case .success = try await AccountingAudit.verify(store: store) else { throw ValidationError("the books do not add up") }
        }
        printFigures(figures)
    }

    /// Request `b`'s transfers: single payer → maker, or chains payer → clearing → maker + fee.
    static func transfers(batch b: Int, size: Int, client: Int, linked: Bool, payers: [Account], payees: [Account]) -> [Transfer] {
        var out: [Transfer] = []
        out.reserveCapacity(size)
        var i = 0
        while out.count < size {
            let payer = payers[(b * 7 + i) % payers.count].id, payee = payees[(b + i) % payees.count].id
            let id = "t:\(b):\(i)"
            if linked {
                guard out.count + 3 <= size else { break }
                out.append(
                    Transfer(
                        id: "\(id):pay", debitAccountID: payer, creditAccountID: AccountNames.clearing, amount: 10, flags: .linked,
                        code: .charge, reference: "bench:\(b)"))
                out.append(
                    Transfer(
                        id: "\(id):maker", debitAccountID: AccountNames.clearing, creditAccountID: payee, amount: 8, flags: .linked,
                        code: .chargeSplitManufacturer, reference: "bench:\(b)"))
                out.append(
                    Transfer(
                        id: "\(id):fee", debitAccountID: AccountNames.clearing, creditAccountID: AccountNames.fees, amount: 2,
                        code: .brokerFee, reference: "bench:\(b)"))
            } else {
                out.append(Transfer(id: id, debitAccountID: payer, creditAccountID: payee, amount: 3, code: .charge, reference: "bench:\(b)"))
            }
            i += 1
        }
        return out
    }

    /// Transfers per second through `Book.apply` alone.
    private func pureBookRate() throws -> Double {
        var book = Book()
        let payers = (0..<64).map { AccountNames.cashAccount("payer-\($0)") }, payees = (0..<16).map { AccountNames.revenueAccount("maker-\($0)") }
        _ = book.createAccounts(AccountNames.brokerAccounts + payers + payees)
        _ = book.apply(
            payers.map {
                Transfer(
                    id: "seed:\($0.id)", debitAccountID: AccountNames.bank, creditAccountID: $0.id, amount: 1_000_000_000_000,
                    code: .cashDeposit, reference: "bench")
            }, at: 1)
        let batches = (0..<400).map { Self.transfers(batch: $0, size: 300, client: 0, linked: false, payers: payers, payees: payees) }
        let start = DispatchTime.now()
        for list in batches { _ = book.apply(list, at: 2) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return Double(batches.count * 300) / seconds
    }

    private func log(_ text: String) { FileHandle.standardError.write(Data("\(text)\n".utf8)) }
}
