import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
import Ledger
import Sodium
import Storage
import TestSupport
import Testing

/// `mydata serve` under a signed write load, cut off as a power cut would cut it: every write
/// to the ledger's files that was not fsynced is lost, or kept in part with one torn at a random
/// byte (`Tests/PowerLoss/`). After the restart, every acknowledged grant must be there exactly
/// once, the ledger must verify, and projections rebuilt from it must equal the live ones.
@Suite(.serialized)
struct PowerLossTests {
    /// The shim and the restore program, built once per test run with the system's C compiler.
    static let harness: (shim: String, apply: String)? = {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("mydata-powercut-\(getpid())")
        try? FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let source = Repository.root.appendingPathComponent("Tests/PowerLoss")
        let shim = out.appendingPathComponent("powercut.so").path, apply = out.appendingPathComponent("powercut-apply").path
        let builds = [
            [
                "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o", shim, source.appendingPathComponent("powercut.c").path, "-ldl",
                "-lpthread",
            ],
            ["-O2", "-Wall", "-Wextra", "-Werror", "-o", apply, source.appendingPathComponent("powercut-apply.c").path],
        ]
        for arguments in builds {
            guard let run = try? Self.run("/usr/bin/cc", arguments), run.status == 0 else { return nil }
        }
        return (shim, apply)
    }()

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try ChildProcesses.start(process)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        ChildProcesses.forget(process)
        return (process.terminationStatus, text)
    }

    /// What the cycles saw.
    struct Tally { var cycles = 0; var acknowledged = 0; var lossCycles = 0; var damagedCycles = 0; var cuts: [String] = [] }

    /// Runs `cycles` power cuts on one data directory; with `lyingDisk`, fsync makes nothing durable.
    static func cycles(_ count: Int, lyingDisk: Bool, seed: UInt64) async throws -> Tally {
        let harness = try #require(Self.harness, "cc builds the power-cut harness")
        let dir = TemporaryDirectory("mydata-powerloss")
        let cli = MydataCLI(dataDir: dir.file("data").path, configDir: dir.file("config").path)
        #expect(try cli.run(["admin", "init"]).status == 0)
        var generator = SplitMix64(state: seed)
        var tally = Tally()
        var everAcknowledged: [String] = []
        for cycle in 0..<count {
            let journal = dir.file("journal-\(cycle)").path
            var environment = ProcessInfo.processInfo.environment
            environment["LD_PRELOAD"] = harness.shim
            environment["POWERCUT_PREFIX"] = dir.file("data/ledger.sqlite").path
            environment["POWERCUT_JOURNAL"] = journal
            if lyingDisk { environment["POWERCUT_IGNORE_FSYNC"] = "1" }
            let server = try ServerUnderTest(dataDir: cli.dataDir, environment: environment)
            let anyone = BrokerHTTPClient(baseURL: server.baseURL, identity: try Identity.generateSubject())
            let list = try await anyone.send("GET", "/v1/consent-requests").decode(RequestList.self)
            let request = try #require(list.requests.first { $0.request.recipient == "safedrive-insurance" }?.request)
            let policy = try await RunningBrokerPolicy.fetch(server.baseURL)
            let load = GrantLoad(brokers: [server.baseURL], request: request, policy: policy)
            try await Task.sleep(nanoseconds: 200_000_000 + generator.next() % 1_300_000_000)
            server.powerCut()
            let outcomes = await load.stop()
            let cutSeed = generator.next() % 1_000_000
            let cut = try Self.run(harness.apply, [journal, "--seed", "\(cutSeed)", "--mode", "torn"], environment: [:])
            #expect(cut.status == 0, "\(cut.output)")
            tally.cuts.append(cut.output.trimmingCharacters(in: .whitespacesAndNewlines))
            try? FileManager.default.removeItem(atPath: journal)
            everAcknowledged += outcomes.filter { $0.status == 201 }.map(\.consentID)
            tally.cycles += 1
            tally.acknowledged = everAcknowledged.count

            // The restart: the ledger must open, verify, and hold every acknowledged grant once.
            let verify = try cli.run(["admin", "verify"])
            guard verify.status == 0 else {
                tally.damagedCycles += 1
                if !lyingDisk { Issue.record("cycle \(cycle) (cut seed \(cutSeed)): verify failed: \(verify.stdout)\(verify.stderr)") }
                break
            }
            let granted = try await GrantLoad.grantedConsents(in: try SQLiteStore(path: dir.file("data/ledger.sqlite").path))
            let missing = everAcknowledged.filter { granted[$0] != 1 }
            if !missing.isEmpty {
                tally.lossCycles += 1
                if !lyingDisk { Issue.record("cycle \(cycle) (cut seed \(cutSeed)): \(missing.count) acknowledged grants lost") }
                if lyingDisk { break }
            }
            #expect(granted.values.allSatisfy { $0 == 1 }, "no grant is stored twice")
            let rebuild = try cli.run(["admin", "rebuild"])
            #expect(rebuild.stdout.contains("identical"), "cycle \(cycle): \(rebuild.stdout)\(rebuild.stderr)")
        }
        return tally
    }

    static var cycleCount: Int { ProcessInfo.processInfo.environment["MYDATA_POWERLOSS_CYCLES"].flatMap(Int.init) ?? 12 }

    @Test(
        "after power cuts at random moments of a signed write load, every acknowledged grant is there once, the ledger verifies and rebuilds identically",
        .enabled(if: Self.harness != nil, "needs a C compiler (cc) for Tests/PowerLoss"))
    func acknowledgedWritesSurvivePowerCuts() async throws {
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        let tally = try await Self.cycles(Self.cycleCount, lyingDisk: false, seed: seed)
        print("power loss: \(tally.cycles) cycles, \(tally.acknowledged) acknowledged grants, \(tally.lossCycles) cycles lost some, seed \(seed)")
        for cut in tally.cuts { print("  \(cut)") }
        #expect(tally.cycles == Self.cycleCount)
        #expect(tally.acknowledged > 0, "the load was acknowledged at all")
    }

    @Test(
        "the harness catches a disk that acknowledges writes it never made durable",
        .enabled(if: Self.harness != nil, "needs a C compiler (cc) for Tests/PowerLoss"))
    func harnessCatchesALyingDisk() async throws {
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        let tally = try await Self.cycles(Self.cycleCount, lyingDisk: true, seed: seed)
        print(
            "lying disk: \(tally.cycles) cycles, \(tally.lossCycles) lost acknowledged grants, \(tally.damagedCycles) left a damaged ledger, seed \(seed)"
        )
        #expect(tally.lossCycles + tally.damagedCycles > 0, "with fsync ignored, a cut loses acknowledged writes")
    }
}

/// `mydata serve` in its own environment (the power-cut shim preloaded), cut off with SIGKILL.
final class ServerUnderTest: @unchecked Sendable {
    let process = Process()
    let baseURL: URL

    init(dataDir: String, environment: [String: String]) throws {
        process.executableURL = MydataCLI.executable
        process.arguments = ["serve", "--port", "0", "--data-dir", dataDir, "--trust-store", "none"]
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try ChildProcesses.start(process)
        (baseURL, _) = try ServeOutput.listening(out)
    }

    /// SIGKILL: the page cache survives it; the power-cut restore then throws away what was not synced.
    func powerCut() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        ChildProcesses.forget(process)
    }

    deinit { ChildProcesses.stop(process) }
}

/// The active policy as a client learns it.
enum RunningBrokerPolicy {
    static func fetch(_ baseURL: URL) async throws -> ActivePolicy {
        struct View: Decodable { var version: String; var hash: String; var policy: PolicySet }
        let (data, _) = try await URLSession.shared.data(from: baseURL.appendingPathComponent("v1/policy"))
        let v = try JSONDecoder().decode(View.self, from: data)
        return ActivePolicy(version: v.version, hash: v.hash, policy: v.policy, activatedAt: Timestamp(milliseconds: 0))
    }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
