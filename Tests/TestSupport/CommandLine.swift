import Foundation

/// Runs the built `mydata` binary as a user would, with its own data and config directories.
public struct MydataCLI: Sendable {
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String

        /// stdout parsed as JSON.
        public func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
    }

    public let dataDir: String
    public let configDir: String
    public var passphrase = "a long test passphrase"

    public init(dataDir: String, configDir: String) {
        self.dataDir = dataDir
        self.configDir = configDir
    }

    /// The `mydata` executable next to the test bundle (both are built by `swift test`).
    public static var executable: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mydata"),
            Bundle.main.bundleURL.appendingPathComponent("mydata"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("mydata"),
            Repository.root.appendingPathComponent(".build/debug/mydata"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }

    /// Runs `mydata args…` from the repository root and waits for it.
    @discardableResult
    public func run(_ args: [String], stdin: String? = nil, environment extra: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = args
        process.currentDirectoryURL = Repository.root
        var env = ProcessInfo.processInfo.environment
        env["MYDATA_DATA_DIR"] = dataDir
        env["MYDATA_CONFIG_DIR"] = configDir
        env["MYDATA_PASSPHRASE"] = passphrase
        for (k, v) in extra { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try ChildProcesses.start(process)
        defer { ChildProcesses.stop(process) }
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}
