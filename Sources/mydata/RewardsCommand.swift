import Accounting
import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger

struct RewardsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewards", abstract: "See what you earned for sharing, and redeem it with a manufacturer.",
        subcommands: [RewardsShow.self, RewardsRedeem.self], defaultSubcommand: RewardsShow.self)
}

struct RewardsShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Your rewards balance and statement (reserved rewards are paid at a consent's first delivery).")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Show this many of the newest statement lines.") var limit = 100
    static let pageLines = 500

    func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1 to 10000") }
    }

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            let (accounts, lines) = try await broker.session {
                let accounts = try await broker.accounts(subject: subject)
                var lines: [StatementLine] = []
                // The newest lines: read the statement page by page (at most 20 pages), keep the last.
                for account in accounts where account.kind == .rewards {
                    var after = 0
                    for _ in 0..<20 {
                        let page = try await broker.statement(account: account.id, subject: subject, after: after, limit: Self.pageLines)
                        lines = Array((lines + page).suffix(limit))
                        after += page.count
                        if page.count < Self.pageLines { break }
                    }
                }
                return (accounts, lines)
            }
            if global.json { try Terminal.printJSON(RewardsView(accounts: accounts, statement: lines)); return }
            guard let rewards = accounts.first(where: { $0.kind == .rewards }) else {
                print("No rewards yet: you earn them when you grant a consent (see `mydata requests`).")
                return
            }
            print("Rewards: \(rewards.available) won to redeem, \(rewards.pendingIn) won reserved (paid at each consent's first delivery).")
            guard !lines.isEmpty else { return }
            print(
                Terminal.table(
                    ["TIME", "AMOUNT", "WHAT", "PHASE", "REFERENCE"],
                    lines.map {
                        [Timestamp(milliseconds: $0.time).description, Self.amount($0), $0.code.rawValue, $0.phase.rawValue, $0.reference]
                    }))
        }
    }
}

extension RewardsShow {
    /// A line's amount as a person reads it: money in or out, or a reservation released.
    static func amount(_ line: StatementLine) -> String {
        switch line.phase {
        case .void: "(\(line.amount) released)"
        case .pending: "(\(line.amount) reserved)"
        case .posted, .post: (line.direction == .in ? "+" : "-") + "\(line.amount)"
        }
    }
}

extension RedemptionKind: ExpressibleByArgument {}

struct RewardsView: Encodable { var accounts: [AccountView]; var statement: [StatementLine] }

struct RewardsRedeem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redeem", abstract: "Redeem rewards with a manufacturer, as a purchase subsidy or consumables.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "The manufacturer's party id.") var manufacturer: String
    @Option(name: .long, help: "Won to redeem.") var amount: Int64
    @Option(name: .long, help: "purchase-subsidy or consumables.") var kind: RedemptionKind = .purchaseSubsidy
    @Option(name: .long, help: "Your id for this redemption; repeating it never redeems twice (default: a fresh one).") var id: String?

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            let redemption = id ?? Identifiers.random(prefix: "rdm")
            let result = try await broker.session {
                try await broker.redeem(subject: subject, amount: amount, manufacturer: manufacturer, kind: kind, id: redemption)
            }
            if global.json { try Terminal.printJSON(["result": result.rawValue, "id": redemption]); return }
            switch result {
            case .redeemed: print("Redeemed \(amount) won with \(manufacturer) as \(kind.rawValue) (redemption \(redemption)).")
            case .alreadyRedeemed: print("Redemption \(redemption) was already made; nothing changed.")
            }
        }
    }
}
