import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import TestSupport
import Testing

/// The transparency log as `mydata serve` publishes it, checked by a client written from the C2SP
/// specifications alone (`Clients/log_client.py`: PyNaCl and hashlib, none of the broker's code).
struct TransparencyLogHTTPTests {
    static let pythonReady = PythonModules.available(["nacl", "requests"])

    @Test(
        "the checkpoint and tiles served over HTTP verify with a client written from the C2SP specifications alone",
        .enabled(if: pythonReady, "needs Python with pynacl and requests (pip install them; .ci/run does)"))
    func independentLogClient() async throws {
        let broker = try RunningBroker()
        // The broker signs its first checkpoint on its first maintenance tick (every 10 s).
        var status = 0
        for _ in 0..<600 {
            let (_, response) = try await URLSession.shared.data(from: broker.baseURL.appendingPathComponent("v1/log/checkpoint"))
            status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if status == 200 { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(status == 200, "no checkpoint was served")
        // The vkey as the operator publishes it: `mydata admin log vkey`, and the file admin init wrote.
        let printed = try broker.cli.run(["admin", "log", "vkey"])
        #expect(printed.status == 0, "\(printed.stderr)")
        let vkey = printed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let key = try broker.brokerKey
        #expect(vkey == NoteVerifier(name: LogOrigin.derived(from: key), key: key).vkey)
        #expect(try String(contentsOf: broker.dir.file("data/keys/broker.vkey"), encoding: .utf8) == vkey + "\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Repository.root.appendingPathComponent("Tests/MydataCLITests/Clients/log_client.py").path,
            broker.baseURL.absoluteString, vkey,
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try ChildProcesses.start(process)
        defer { ChildProcesses.stop(process) }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("log client: ok"), "\(text)")
        // A path that is not a tile, and a vkey for another origin, are refused.
        let (_, bad) = try await URLSession.shared.data(from: broker.baseURL.appendingPathComponent("v1/log/tile/0/1"))
        #expect((bad as? HTTPURLResponse)?.statusCode == 404)
        broker.stop()
        #expect(try broker.cli.run(["admin", "verify"]).status == 0)
    }
}
