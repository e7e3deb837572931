import Accounting
import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger

struct AdminAccounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts", abstract: "List every account with its balance; the totals must balance (debits = credits).")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            let accounts = try await broker.store.accounts(owner: nil)
            if global.json { try Terminal.printJSON(accounts.map(AccountView.init)); return }
            guard !accounts.isEmpty else { print("No accounts yet."); return }
            print(
                Terminal.table(
                    ["ACCOUNT", "KIND", "BALANCE", "AVAILABLE", "PENDING IN", "PENDING OUT"],
                    accounts.map {
                        [$0.id, $0.kind.rawValue, "\($0.balance)", "\($0.available)", "\($0.creditsPending)", "\($0.debitsPending)"]
                    }))
            let debits = accounts.reduce(Int64(0)) { $0 + $1.debitsPosted }, credits = accounts.reduce(Int64(0)) { $0 + $1.creditsPosted }
            print("Posted debits \(debits) = credits \(credits) won; the sum of all balances is \(credits - debits).")
        }
    }
}

struct AdminStatement: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statement", abstract: "An account's transfers, oldest first.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The account id (see `mydata admin accounts`).") var account: String
    @Flag(name: .long, help: "Print CSV (RFC 4180) with a header line.") var csv = false
    @Option(name: .long, help: "Skip this many transfers.") var after = 0
    @Option(name: .long, help: "At most this many transfers.") var limit = 1_000

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            let lines = try await broker.service.statement(account: account, owner: nil, after: after, limit: limit)
            if csv {
                print(StatementLine.csvHeader)
                for line in lines { print(line.csvRow) }
            } else if global.json {
                try Terminal.printJSON(lines)
            } else {
                print(
                    Terminal.table(
                        ["TIME", "TRANSFER", "CODE", "AMOUNT", "COUNTERPARTY", "PHASE", "REFERENCE"],
                        lines.map {
                            [
                                Timestamp(milliseconds: $0.time).description, $0.transfer, $0.code.rawValue, RewardsShow.amount($0),
                                $0.counterparty, $0.phase.rawValue, $0.reference,
                            ]
                        }))
            }
        }
    }
}

struct AdminDeposit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deposit", abstract: "Record money received: a recipient's cash top-up, or a programme fund's budget.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "A recipient's party id (its cash account).") var recipient: String?
    @Option(name: .long, help: "A programme fund id (e.g. programme).") var fund: String?
    @Option(name: .long, help: "Won received.") var amount: Int64
    @Option(name: .long, help: "Your reference for this deposit (a bank transfer id); repeating it never deposits twice.") var id: String

    func validate() throws {
        guard (recipient == nil) != (fund == nil) else { throw ValidationError("give --recipient or --fund") }
    }

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            let account: Account
            if let recipient {
                try ConsentRules.checkParty(try await broker.store.party(recipient), id: recipient, role: .recipient)
                account = AccountNames.cashAccount(recipient)
            } else {
                account = AccountNames.fundAccount(fund!)
            }
            let result = try await broker.session { try await $0.service.deposit(amount, to: account, id: id) }
            print(result == .ok ? "Deposited \(amount) won into \(account.id)." : "Deposit \(id) was already recorded; nothing changed.")
        }
    }
}

struct AdminVoucher: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voucher", abstract: "Issue, list and expire data vouchers (spendable on deliveries only, never cash).",
        subcommands: [AdminVoucherIssue.self, AdminVoucherList.self, AdminVoucherExpire.self])
}

struct AdminVoucherIssue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "issue", abstract: "Issue a voucher from the programme fund to a recipient.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "The recipient's party id.") var recipient: String
    @Option(name: .long, help: "Won on the voucher.") var amount: Int64
    @Option(name: .long, help: "Days until it expires (what is left then returns to the fund).") var days = 90
    @Option(name: .long, help: "The voucher id (default: a fresh one).") var id: String?

    func validate() throws {
        guard (1...3_650).contains(days) else { throw ValidationError("--days must be 1 to 3650") }
    }

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            let voucherID = id ?? Identifiers.random(prefix: "vch")
            let voucher = try await broker.session {
                try await $0.service.issueVoucher(
                    id: voucherID, recipient: recipient, amount: amount, expiresAt: $0.service.clock.now().adding(days: Int64(days)))
            }
            if global.json { try Terminal.printJSON(voucher); return }
            print("Issued voucher \(voucher.id) of \(amount) won to \(recipient), expiring \(voucher.expiresAt).")
        }
    }
}

struct AdminVoucherList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List vouchers with what is left on them.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Only this recipient's.") var recipient: String?

    func run() async throws {
        try await reportingErrors {
            let vouchers = try await LocalBroker.open(global).service.vouchers(recipient: recipient)
            if global.json { try Terminal.printJSON(vouchers); return }
            guard !vouchers.isEmpty else { print("No vouchers."); return }
            print(
                Terminal.table(
                    ["VOUCHER", "RECIPIENT", "ISSUED", "LEFT", "EXPIRES", "STATUS"],
                    vouchers.map {
                        [$0.id, $0.recipient, "\($0.issued)", "\($0.available)", $0.expiresAt.description, $0.expired ? "expired" : "active"]
                    }))
        }
    }
}

struct AdminVoucherExpire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire", abstract: "Return what is left on expired vouchers to the fund (`serve` also does it every minute).")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let count = try await LocalBroker.open(global).session { try await $0.service.expireVouchers() }
            print(count == 0 ? "No expired voucher holds money." : "Returned what was left on \(count) expired voucher(s) to the fund.")
        }
    }
}
