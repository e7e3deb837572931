import Accounting
import Consent
import Ledger

/// Who holds which account, by a fixed naming scheme, and how each kind of account is opened.
///
/// | account | id | kind | limit |
/// | --- | --- | --- | --- |
/// | a person's rewards | `person:<sub_…>:rewards` | rewards | no overdraft |
/// | a recipient's cash | `recipient:<id>:cash` | cash | no overdraft |
/// | a recipient's voucher | `recipient:<id>:voucher:<voucher id>` | voucher | no overdraft, expires |
/// | a manufacturer's revenue | `manufacturer:<id>:revenue` | revenue | no overdraft |
/// | a programme fund | `fund:<id>` | fund | none: a negative balance is what the programme owes beyond its deposits |
/// | the broker's clearing | `broker:clearing` | revenue | no overdraft; empty after every charge |
/// | the broker's fees | `broker:fees` | fees | no overdraft |
/// | the outside world | `broker:bank` | cash | none: debit-normal mirror of money brought in |
/// | the analyses' payouts | `broker:payouts` | revenue | no overdraft; empty after every analysis |
public enum AccountNames {
    public static let clearing = "broker:clearing"
    public static let fees = "broker:fees"
    public static let bank = "broker:bank"
    /// Where an analysis's charge puts the persons' share before paying each person theirs.
    public static let payouts = "broker:payouts"
    public static let payoutsAccount = Account(
        id: payouts, owner: Owner(.broker, "broker"), kind: .revenue, flags: .debitsMustNotExceedCredits)

    public static func rewards(_ subject: String) -> String { "person:\(subject):rewards" }
    public static func cash(_ recipient: String) -> String { "recipient:\(recipient):cash" }
    public static func voucher(_ recipient: String, _ voucherID: String) -> String { "recipient:\(recipient):voucher:\(voucherID)" }
    public static func revenue(_ manufacturer: String) -> String { "manufacturer:\(manufacturer):revenue" }
    public static func fund(_ id: String) -> String { "fund:\(id)" }

    /// The broker's own accounts, opened with the first commit.
    public static let brokerAccounts = [
        Account(id: clearing, owner: Owner(.broker, "broker"), kind: .revenue, flags: .debitsMustNotExceedCredits),
        Account(id: fees, owner: Owner(.broker, "broker"), kind: .fees, flags: .debitsMustNotExceedCredits),
        Account(id: bank, owner: Owner(.broker, "broker"), kind: .cash),
    ]

    public static func rewardsAccount(_ subject: String) -> Account {
        Account(id: rewards(subject), owner: Owner(.person, subject), kind: .rewards, flags: .debitsMustNotExceedCredits)
    }
    public static func cashAccount(_ recipient: String) -> Account {
        Account(id: cash(recipient), owner: Owner(.recipient, recipient), kind: .cash, flags: .debitsMustNotExceedCredits)
    }
    public static func voucherAccount(_ recipient: String, _ voucherID: String, expiresAt: Timestamp) -> Account {
        Account(
            id: voucher(recipient, voucherID), owner: Owner(.recipient, recipient), kind: .voucher,
            flags: .debitsMustNotExceedCredits, expiresAt: expiresAt.milliseconds)
    }
    public static func revenueAccount(_ manufacturer: String) -> Account {
        Account(id: revenue(manufacturer), owner: Owner(.manufacturer, manufacturer), kind: .revenue, flags: .debitsMustNotExceedCredits)
    }
    public static func fundAccount(_ id: String) -> Account {
        Account(id: fund(id), owner: Owner(.fund, id), kind: .fund)
    }
}
