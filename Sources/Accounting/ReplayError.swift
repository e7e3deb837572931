/// Why `Book.replay` could not rebuild a book: an account or a transfer of the log was refused,
/// so the log is not one that a book produced.
public struct ReplayError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    /// The refused account's or transfer's id.
    public let id: String
    /// The account's or transfer's position in the input.
    public let index: Int
    /// The result it got: a rejection's code, or `exists` for a repeated id.
    public let result: String

    public init(id: String, index: Int, result: String) {
        self.id = id
        self.index = index
        self.result = result
    }

    public var description: String { "replay refused #\(index) (\(id)): \(result)" }
}
