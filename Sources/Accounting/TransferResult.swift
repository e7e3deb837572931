/// The outcome of one transfer in `Book.apply`.
///
/// Encoded as one string: `"ok"`, `"exists"` or the rejection's code.
public enum TransferResult: Sendable, Codable, Equatable, Hashable {
    /// Applied now.
    case ok
    /// Applied before with identical fields; nothing changed. Treat it as `ok` when retrying.
    case exists
    /// Refused; nothing changed.
    case rejected(TransferRejection)

    /// `ok`, `exists` or the rejection's code.
    public var code: String {
        switch self {
        case .ok: "ok"
        case .exists: "exists"
        case .rejected(let rejection): rejection.rawValue
        }
    }

    /// Whether the transfer is in the book after the call (applied now or before).
    public var isApplied: Bool {
        switch self {
        case .ok, .exists: true
        case .rejected: false
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let code = try container.decode(String.self)
        switch code {
        case "ok": self = .ok
        case "exists": self = .exists
        default:
            guard let rejection = TransferRejection(rawValue: code) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown transfer result \"\(code)\"")
            }
            self = .rejected(rejection)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}
