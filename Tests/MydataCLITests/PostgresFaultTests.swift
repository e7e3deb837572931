import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
import Ledger
import Sodium
import Storage
import Synchronization
import TestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Two broker processes on one PostgreSQL server under a write load, while the server is stopped
/// at once and restarted, and while every connection is cut: they answer 503 while it is gone,
/// reconnect by themselves, lose and duplicate no acknowledged write, and /readyz tells the truth.
struct PostgresFaultTests {
    /// Whether the load acknowledges a grant after outcome `start`; gives up after 300 polls (a
    /// bound on the wait, not a measure of speed).
    /// Bounded by PostgresNIO's reconnection back-off, which grows to 60 s per connection after
    /// repeated failures (as during the outage): 90 s, so that a loaded machine does not fail a
    /// broker that does reconnect (30 s was once too little beside a fuzzer and a build).
    static func acknowledgesAgain(_ load: GrantLoad, since start: Int) async throws -> Bool {
        for _ in 0..<900 {
            if load.since(start).contains(where: { $0.status == 201 }) { return true }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        return false
    }

    static func readiness(_ broker: URL) async -> Int {
        var request = URLRequest(url: broker.appendingPathComponent("readyz"))
        request.timeoutInterval = 5
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return -1 }
        return (response as? HTTPURLResponse)?.statusCode ?? -1
    }

    @Test(
        "brokers on PostgreSQL answer 503 while the server is down or cut off, reconnect, and lose or duplicate no acknowledged grant",
        .enabled(if: ThrowawayPostgres.available, "needs PostgreSQL's server programs (.ci/with-postgres installs them)"))
    func serverStoppedAndConnectionsCut() async throws {
        let postgres = try ThrowawayPostgres()
        let first = try RunningBroker(store: postgres.url)
        let second = try RunningBroker(store: postgres.url, sharing: first)
        let brokers = [first.baseURL, second.baseURL]
        let anyone = BrokerHTTPClient(baseURL: first.baseURL, identity: try Identity.generateSubject())
        let list = try await anyone.send("GET", "/v1/consent-requests").decode(RequestList.self)
        let request = try #require(list.requests.first { $0.request.recipient == "safedrive-insurance" }?.request)
        let load = GrantLoad(brokers: brokers, request: request, policy: try await first.policy())
        // Some grants in before the server goes, however slow the machine is today.
        for _ in 0..<300 where load.since(0).filter({ $0.status == 201 }).count < 3 { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(load.since(0).filter { $0.status == 201 }.count >= 3, "grants were acknowledged before the outage")

        // The server stops at once, as in a crash.
        try postgres.stopImmediately()
        try await Task.sleep(nanoseconds: 500_000_000)
        let duringOutage = load.count
        var probes: [Int] = []
        for _ in 0..<4 {
            for broker in brokers { probes.append(await Self.readiness(broker)) }
            try await Task.sleep(nanoseconds: 300_000_000)
        }
        let outage = load.since(duringOutage).filter { $0.status != -1 }
        #expect(probes.allSatisfy { $0 == 503 }, "/readyz says not ready while the server is down: \(probes)")
        #expect(!outage.isEmpty && outage.allSatisfy { $0.status == 503 }, "writes answer 503 while it is gone: \(Set(outage.map(\.status)))")

        try postgres.start()
        var ready: [Int] = []
        for _ in 0..<150 {
            ready = []
            for broker in brokers { ready.append(await Self.readiness(broker)) }
            if ready.allSatisfy({ $0 == 200 }) { break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        #expect(ready == [200, 200], "both brokers reconnected by themselves")
        let afterRestart = load.count
        let recovered = try await Self.acknowledgesAgain(load, since: afterRestart)
        // On failure, what the brokers logged (their warnings), to tell a stuck commit from a lost connection.
        #expect(
            recovered,
            "grants are acknowledged again after the restart; the brokers logged:\n\(first.log.suffix(3000))\n---\n\(second.log.suffix(3000))")

        // Every connection is cut from the server's side; the brokers connect again by themselves.
        try postgres.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
        let afterCut = load.count
        let reconnected = try await Self.acknowledgesAgain(load, since: afterCut)
        #expect(reconnected, "grants are acknowledged again after the cut")
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let outcomes = await load.stop()
        print(
            "postgres faults: \(outcomes.count) grants tried, \(outcomes.filter { $0.status == 201 }.count) acknowledged, "
                + "\(outcomes.filter { $0.status == 503 }.count) answered 503")
        #expect(outcomes.allSatisfy { [201, 503, -1].contains($0.status) }, "every answer is 201 or 503: \(Set(outcomes.map(\.status)))")
        // Known: a request in flight at the instant the server dies is sometimes not answered
        // within the deadline (seen in about half the runs, for a request started just before the stop).
        let unanswered = outcomes.enumerated().filter { $0.element.status == -1 }
        withKnownIssue("a request in flight when the server dies may go unanswered past the deadline", isIntermittent: true) {
            #expect(
                unanswered.isEmpty,
                "unanswered: grants \(unanswered.map(\.offset)) of \(outcomes.count), \(duringOutage) answered half a second after the stop")
        }
        let errors = (first.log + second.log).split(separator: "\n")
        #expect(
            errors.allSatisfy { !$0.contains("internalError") },
            "\(errors.filter { $0.contains("internalError") }.suffix(10).joined(separator: "\n"))")

        // Every acknowledged grant is in the ledger exactly once; nothing is in it twice.
        let store = try await PostgresStore.connect(url: postgres.url)
        defer { store.close() }
        let granted = try await GrantLoad.grantedConsents(in: store)
        let acknowledged = outcomes.filter { $0.status == 201 }.map(\.consentID)
        #expect(
            acknowledged.count >= 5,
            "the load did real work (3 before the outage, 1 after the restart, 1 after the cut): \(acknowledged.count) grants")
        #expect(acknowledged.allSatisfy { granted[$0] == 1 }, "every acknowledged grant is stored once")
        #expect(granted.values.allSatisfy { $0 == 1 }, "no grant is stored twice")

        first.stop()
        second.stop()
        let verify = try first.cli.run(["admin", "verify", "--store", postgres.url])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let rebuild = try first.cli.run(["admin", "rebuild", "--store", postgres.url])
        #expect(rebuild.stdout.contains("identical"), "\(rebuild.stdout)\(rebuild.stderr)")
    }

    @Test(
        "a PostgreSQL server with fsync off is refused unless --allow-async-commit is given",
        .enabled(if: ThrowawayPostgres.available, "needs PostgreSQL's server programs (.ci/with-postgres installs them)"))
    func fsyncOffRefused() throws {
        let postgres = try ThrowawayPostgres(settings: ["fsync": "off"])
        let dir = TemporaryDirectory("mydata-async")
        let cli = MydataCLI(dataDir: dir.file("data").path, configDir: dir.file("config").path)
        let refused = try cli.run(["admin", "init", "--store", postgres.url])
        #expect(refused.status == 6, "\(refused.stderr)")
        #expect(refused.stderr.contains("fsync is off") && refused.stderr.contains("--allow-async-commit"), "\(refused.stderr)")
        let allowed = try cli.run(["admin", "init", "--store", postgres.url, "--allow-async-commit"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
    }
}
