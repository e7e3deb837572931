/// A position in a person's records: ordered by the ledger sequence of the batch that made them
/// visible, then by record id. A batch committed after another always comes after it, so paging
/// never skips it. Written `<batch sequence>.<record id>`.
public struct RecordCursor: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public var batchSequence: Int64
    public var recordID: Int64

    public static let start = RecordCursor(batchSequence: 0, recordID: 0)
    /// After every record: the bound of a query without one.
    public static let end = RecordCursor(batchSequence: .max, recordID: .max)

    public init(batchSequence: Int64, recordID: Int64) {
        self.batchSequence = batchSequence
        self.recordID = recordID
    }

    /// Parses `<batch sequence>.<record id>` (or a lone `0`).
    public init?(_ text: String) {
        if text == "0" { self = .start; return }
        let parts = text.split(separator: ".")
        guard parts.count == 2, let b = Int64(parts[0]), let r = Int64(parts[1]), b >= 0, r >= 0 else { return nil }
        self.init(batchSequence: b, recordID: r)
    }

    /// `0` for the start (as a first pull writes it), `<batch sequence>.<record id>` otherwise.
    public var description: String { self == .start ? "0" : "\(batchSequence).\(recordID)" }

    public static func < (a: RecordCursor, b: RecordCursor) -> Bool {
        (a.batchSequence, a.recordID) < (b.batchSequence, b.recordID)
    }
}

extension RecordCursor {
    /// As its text, `<batch sequence>.<record id>`, the form every response and query uses.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let cursor = RecordCursor(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a record cursor: \(text)"))
        }
        self = cursor
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
