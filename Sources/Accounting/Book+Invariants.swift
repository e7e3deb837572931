/// The checks that the book keeps its promises, and the rebuild from the log.
extension Book {
    /// The four counters summed over all accounts; `isBalanced` must always hold.
    public var totals: Totals {
        accounts.values.reduce(into: Totals()) { $0.add($1) }
    }

    /// The accounts whose counters break their flags, by id; always empty for a book built only by
    /// `apply`.
    public func violations() -> [Account] {
        accounts.values.filter(\.isViolatingLimits).sorted { $0.id < $1.id }
    }

    /// Rebuilds a book from account definitions (their counters are ignored) and the ordered log
    /// of applied transfers, each applied again at its own `timestamp`. A log from a book gives a
    /// book equal to it.
    ///
    /// - Throws: `ReplayError` naming the first account or transfer that is not `ok` again.
    public static func replay(accounts: [Account], transfers: [Transfer]) throws(ReplayError) -> Book {
        var book = Book()
        for (index, account) in accounts.enumerated() {
            let result = book.createAccounts([account.asCreated])[0]
            guard result == .ok else { throw ReplayError(id: account.id, index: index, result: result.code) }
        }
        for (index, transfer) in transfers.enumerated() {
            var undo = Undo(logCount: book.log.count)
            let result = book.execute(transfer, at: transfer.timestamp, undo: &undo)
            guard result == .ok else { throw ReplayError(id: transfer.id, index: index, result: result.code) }
        }
        return book
    }
}

/// A book is encoded as its accounts (sorted by id) and its log, and decoded by replaying the
/// log, so a decoded book has been checked: its balances must come out as encoded.
extension Book: Codable {
    private enum CodingKeys: String, CodingKey { case accounts, transfers }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(accounts.values.sorted { $0.id < $1.id }, forKey: .accounts)
        try c.encode(log, forKey: .transfers)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let accounts = try c.decode([Account].self, forKey: .accounts)
        let transfers = try c.decode([Transfer].self, forKey: .transfers)
        do {
            self = try Book.replay(accounts: accounts, transfers: transfers)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .transfers, in: c, debugDescription: error.description)
        }
        guard accounts.allSatisfy({ self.accounts[$0.id] == $0 }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .accounts, in: c,
                debugDescription: "the balances differ from those the transfers give")
        }
    }
}
