import Accounting
import Foundation
import Testing

/// Wire and storage forms: flags as names, results as codes, a book as accounts and its log.
struct CodableTests {
    typealias F = Fixture

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(json.utf8))
    }

    @Test("flags are arrays of names, and an unknown name does not decode")
    func flags() throws {
        #expect(try Self.json(TransferFlags([.linked, .pending])) == #"["linked","pending"]"#)
        #expect(try Self.json(AccountFlags.debitsMustNotExceedCredits) == #"["debits_must_not_exceed_credits"]"#)
        #expect(try Self.decode(TransferFlags.self, #"["void_pending","linked"]"#) == [.voidPending, .linked])
        #expect(throws: DecodingError.self) { try Self.decode(TransferFlags.self, #"["reserved"]"#) }
    }

    @Test("results are single codes")
    func results() throws {
        let results: [TransferResult] = [.ok, .exists, .rejected(.exceedsCredits)]
        #expect(try Self.json(results) == #"["ok","exists","exceeds_credits"]"#)
        #expect(try Self.decode([TransferResult].self, #"["ok","exists","exceeds_credits"]"#) == results)
        #expect(try Self.json([AccountResult.rejected(.idInvalid)]) == #"["id_invalid"]"#)
        #expect(throws: DecodingError.self) { try Self.decode(TransferResult.self, #""maybe""#) }
    }

    @Test("a post decodes with amount and flags defaulted")
    func transferDefaults() throws {
        let t = try Self.decode(
            Transfer.self, #"{"id":"p-1","debitAccountID":"a","creditAccountID":"b","pendingID":"r-1","code":"charge","reference":"x"}"#)
        #expect(t.amount == 0 && t.flags == [] && t.timestamp == 0 && t.pendingID == "r-1")
        #expect(try Self.decode(Transfer.self, Self.json(F.hold)) == F.hold)
    }

    @Test("a book round-trips through its accounts and log")
    func bookRoundTrip() throws {
        let book = Fixture.book()
        let decoded = try Self.decode(Book.self, Self.json(book))
        #expect(decoded == book)
    }

    @Test("a stored book whose balances or log were altered does not decode")
    func tamperedBook() throws {
        let text = try Self.json(Fixture.book())
        let balance = text.replacingOccurrences(of: #""creditsPosted":100000"#, with: #""creditsPosted":100001"#)
        let amount = text.replacingOccurrences(of: #""amount":1000000"#, with: #""amount":1000001"#)
        #expect(balance != text && amount != text)
        #expect(throws: DecodingError.self) { try Self.decode(Book.self, balance) }
        #expect(throws: DecodingError.self) { try Self.decode(Book.self, amount) }
    }

    @Test("replay names the first transfer that does not apply again")
    func replayError() {
        var log = Fixture.book().log
        log.swapAt(0, 4)
        #expect(throws: ReplayError(id: F.hold.id, index: 0, result: "exceeds_credits")) {
            try Book.replay(accounts: F.accounts, transfers: log)
        }
    }
}
