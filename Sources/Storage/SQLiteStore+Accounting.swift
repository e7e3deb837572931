import Accounting
import Consent
import Foundation
import GRDB

/// The accounting projections on SQLite.
extension SQLiteStore: AccountingReadModel {
    public func accountingSnapshot() async throws -> AccountingSnapshot {
        try await read { db in
            AccountingSnapshot(
                accounts: try Row.fetchAll(db, sql: "SELECT * FROM accounts ORDER BY id").map(Self.account(from:)),
                transfers: try Row.fetchAll(db, sql: "SELECT * FROM transfers ORDER BY seq, position").map(Self.transfer(from:)),
                version: try ProjectionSQL.streamVersion(StreamName.accounting, db: db))
        }
    }

    public func accounts(owner: Owner?) async throws -> [Account] {
        try await read { db in
            if let owner {
                return try Row.fetchAll(
                    db, sql: "SELECT * FROM accounts WHERE owner_kind = ? AND owner_id = ? ORDER BY id",
                    arguments: [owner.kind.rawValue, owner.id]
                ).map(Self.account(from:))
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM accounts ORDER BY id").map(Self.account(from:))
        }
    }

    public func account(_ id: String) async throws -> Account? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM accounts WHERE id = ?", arguments: [id]).map(Self.account(from:)) }
    }

    public func transfers(account: String, after: Int, limit: Int) async throws -> [Transfer] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM transfers WHERE debit_account = ? OR credit_account = ? ORDER BY seq, position LIMIT ? OFFSET ?
                    """, arguments: [account, account, max(1, min(limit, ConsentLimits.pageItemsMax)), max(0, after)]
            ).map(Self.transfer(from:))
        }
    }

    static func account(from row: Row) throws -> Account {
        guard let ownerKind = OwnerKind(rawValue: row["owner_kind"]), let kind = AccountKind(rawValue: row["kind"]) else {
            throw DatabaseError(message: "account \(row["id"] as String? ?? "?") has an unknown owner kind or kind")
        }
        return Account(
            restoring: row["id"], owner: Owner(ownerKind, row["owner_id"]), kind: kind,
            flags: AccountFlags(rawValue: UInt16(truncatingIfNeeded: row["flags"] as Int64)), expiresAt: row["expires_ms"],
            debitsPending: row["debits_pending"], debitsPosted: row["debits_posted"],
            creditsPending: row["credits_pending"], creditsPosted: row["credits_posted"])
    }

    static func transfer(from row: Row) throws -> Transfer {
        guard let code = TransferCode(rawValue: row["code"]) else {
            throw DatabaseError(message: "transfer \(row["id"] as String? ?? "?") has an unknown code")
        }
        return Transfer(
            id: row["id"], debitAccountID: row["debit_account"], creditAccountID: row["credit_account"], amount: row["amount"],
            pendingID: row["pending_id"], flags: TransferFlags(rawValue: UInt16(truncatingIfNeeded: row["flags"] as Int64)),
            code: code, reference: row["reference"], timeoutAt: row["timeout_ms"], timestamp: row["time_ms"])
    }
}
