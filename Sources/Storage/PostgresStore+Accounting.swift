import Accounting
import Consent
import Foundation
import Ledger
import PostgresNIO

/// The accounting projections on PostgreSQL.
extension PostgresStore: AccountingReadModel {
    private static let accountColumns = """
        id, owner_kind, owner_id, kind, flags, expires_ms, debits_pending, debits_posted, credits_pending, credits_posted
        """
    private typealias AccountRow = (String, String, String, String, Int64, Int64?, Int64, Int64, Int64, Int64)
    private static let transferColumns = """
        id, debit_account, credit_account, amount, pending_id, flags, code, reference, timeout_ms, time_ms
        """
    private typealias TransferRow = (String, String, String, Int64, String?, Int64, String, String, Int64?, Int64)

    private static func account(_ r: AccountRow) throws -> Account {
        guard let ownerKind = OwnerKind(rawValue: r.1), let kind = AccountKind(rawValue: r.3) else {
            throw LedgerError(.corruptRecord, "account \(r.0) has an unknown owner kind or kind")
        }
        return Account(
            restoring: r.0, owner: Owner(ownerKind, r.2), kind: kind, flags: AccountFlags(rawValue: UInt16(truncatingIfNeeded: r.4)),
            expiresAt: r.5, debitsPending: r.6, debitsPosted: r.7, creditsPending: r.8, creditsPosted: r.9)
    }

    private static func transfer(_ r: TransferRow) throws -> Transfer {
        guard let code = TransferCode(rawValue: r.6) else { throw LedgerError(.corruptRecord, "transfer \(r.0) has an unknown code") }
        return Transfer(
            id: r.0, debitAccountID: r.1, creditAccountID: r.2, amount: r.3, pendingID: r.4,
            flags: TransferFlags(rawValue: UInt16(truncatingIfNeeded: r.5)), code: code, reference: r.7, timeoutAt: r.8, timestamp: r.9)
    }

    public func accountingSnapshot() async throws -> AccountingSnapshot {
        try await client.withTransaction(logger: logger) { conn in
            try await conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            var accounts: [Account] = [], transfers: [Transfer] = [], version = 0
            for try await r in try await conn.query("SELECT \(unescaped: Self.accountColumns) FROM accounts ORDER BY id", logger: self.logger)
                .decode(AccountRow.self)
            { accounts.append(try Self.account(r)) }
            for try await r in try await conn.query(
                "SELECT \(unescaped: Self.transferColumns) FROM transfers ORDER BY seq, position", logger: self.logger
            )
            .decode(TransferRow.self) { transfers.append(try Self.transfer(r)) }
            for try await v in try await conn.query("SELECT version FROM streams WHERE stream_id = \(StreamName.accounting)", logger: self.logger)
                .decode(Int64.self)
            { version = Int(v) }
            return AccountingSnapshot(accounts: accounts, transfers: transfers, version: version)
        }
    }

    public func accounts(owner: Owner?) async throws -> [Account] {
        let rows =
            if let owner {
                try await client.query(
                    """
                    SELECT \(unescaped: Self.accountColumns) FROM accounts WHERE owner_kind = \(owner.kind.rawValue) AND owner_id = \(owner.id) ORDER BY id
                    """, logger: logger)
            } else {
                try await client.query("SELECT \(unescaped: Self.accountColumns) FROM accounts ORDER BY id", logger: logger)
            }
        var out: [Account] = []
        for try await r in rows.decode(AccountRow.self) { out.append(try Self.account(r)) }
        return out
    }

    public func account(_ id: String) async throws -> Account? {
        let rows = try await client.query("SELECT \(unescaped: Self.accountColumns) FROM accounts WHERE id = \(id)", logger: logger)
        for try await r in rows.decode(AccountRow.self) { return try Self.account(r) }
        return nil
    }

    public func transfers(account: String, after: Int, limit: Int) async throws -> [Transfer] {
        let limit = Int64(max(1, min(limit, ConsentLimits.pageItemsMax))), offset = Int64(max(0, after))
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.transferColumns) FROM transfers WHERE debit_account = \(account) OR credit_account = \(account)
            ORDER BY seq, position LIMIT \(limit) OFFSET \(offset)
            """, logger: logger)
        var out: [Transfer] = []
        for try await r in rows.decode(TransferRow.self) { out.append(try Self.transfer(r)) }
        return out
    }
}
