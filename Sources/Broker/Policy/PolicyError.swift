/// A policy file that cannot be used: names the file, the line and what to change.
public struct PolicyError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file, relative to the policies directory.
    public let file: String
    /// The 1-based line, when known.
    public let line: Int?
    public let message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
