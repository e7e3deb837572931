import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Prompts, passphrases, tables and progress for people at a terminal.
enum Terminal {
    static var stdinIsTTY: Bool { isatty(STDIN_FILENO) == 1 }
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }

    /// Reads a line after a prompt on stderr; nil at end of input.
    static func ask(_ prompt: String) -> String? {
        FileHandle.standardError.write(Data(prompt.utf8))
        return readLine()
    }

    /// The passphrase from $MYDATA_PASSPHRASE, or asked without echo at a terminal.
    static func passphrase(prompt: String = "Passphrase: ", confirm: Bool = false, environment: String = "MYDATA_PASSPHRASE") throws -> [UInt8] {
        if let env = ProcessInfo.processInfo.environment[environment] { return Array(env.utf8) }
        guard stdinIsTTY else {
            throw CLIError(message: "a passphrase is needed: set \(environment) or run at a terminal", exitCode: ExitCodes.keyProblem)
        }
        let first = readSecret(prompt)
        if confirm {
            let second = readSecret("Repeat passphrase: ")
            guard first == second else { throw CLIError(message: "the passphrases differ; nothing was written", exitCode: ExitCodes.keyProblem) }
        }
        return first
    }

    private static func readSecret(_ prompt: String) -> [UInt8] {
        guard let p = getpass(prompt) else { return [] }
        let length = strlen(p)
        let bytes = p.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
        memset(p, 0, length)
        return bytes
    }

    /// Columns padded to their widest cell.
    static func table(_ headers: [String], _ rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }

    /// Prints `value` as pretty JSON on stdout.
    static func printJSON<T: Encodable>(_ value: T) throws {
        print(String(decoding: try jsonData(value), as: UTF8.self))
    }

    /// `value` as indented JSON with sorted keys.
    static func jsonData<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// A progress line on stderr, rewritten in place at a terminal.
    static func progress(_ text: String, final: Bool = false) {
        guard stderrIsTTY else { return }
        FileHandle.standardError.write(Data("\r\(text)\(final ? "\n" : "")".utf8))
    }
}
