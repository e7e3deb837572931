import Foundation

/// Whether this machine's `python3` imports some modules (the independent clients' packages).
public enum PythonModules {
    public static func available(_ modules: [String]) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import " + modules.joined(separator: ", ")]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}

/// The Python clients in `Tests/MydataCLITests/Clients`, which talk to a running broker
/// without the broker's code.
public enum PythonClient {
    /// Runs `script` with `arguments`, stopped with the test if it outlives it; its exit status
    /// and what it wrote (standard output and error together).
    public static func run(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Repository.root.appendingPathComponent("Tests/MydataCLITests/Clients/\(script)").path] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try ChildProcesses.start(process)
        defer { ChildProcesses.stop(process) }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}
