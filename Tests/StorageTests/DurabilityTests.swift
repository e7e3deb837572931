import Foundation
import GRDB
import Ledger
import Storage
import TestSupport
import Testing

/// Acknowledged means durable: what the connection that writes actually does, read back from it.
struct DurabilityTests {
    @Test("the SQLite connection that writes commits with synchronous = FULL, also after GRDB switched it to WAL")
    func sqliteWriterIsFull() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("ledger.sqlite").path
        let store = try SQLiteStore(path: path)
        #expect(try await store.writerSynchronous() == DurableSQLite.synchronousFull)
        // GRDB's own pool, opened the way the store used to open it, reports NORMAL: the reason
        // this check exists. If GRDB ever stops doing so, this line tells.
        var config = Configuration()
        config.prepareDatabase { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        let plain = try DatabasePool(path: dir.file("plain.sqlite").path, configuration: config)
        #expect(try DurableSQLite.writerSynchronous(plain) == 1, "GRDB sets NORMAL when it switches the writer to WAL")
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.writerSynchronous() == DurableSQLite.synchronousFull)
    }

    @Test("the PostgreSQL sessions that append run with fsync, synchronous_commit and full_page_writes on")
    func postgresSessionsAreDurable() async throws {
        guard Backend.postgresURL != nil else { return }
        let url = try await TestDatabases.create()
        let store = try await PostgresStore.connect(url: url)
        defer { store.close() }
        let durability = try await store.durability()
        #expect(durability.problem == nil, "\(durability)")
        #expect(durability.synchronousCommit == "on")
    }

    @Test("a PostgreSQL server that would lose acknowledged commits is named as such")
    func postgresProblemNamed() {
        #expect(PostgresStore.Durability(fsync: "off", synchronousCommit: "on", fullPageWrites: "on").problem == "fsync is off")
        #expect(
            PostgresStore.Durability(fsync: "on", synchronousCommit: "off", fullPageWrites: "off").problem
                == "synchronous_commit is off, full_page_writes is off")
        #expect(PostgresStore.Durability(fsync: "on", synchronousCommit: "local", fullPageWrites: "on").problem == nil)
    }
}
