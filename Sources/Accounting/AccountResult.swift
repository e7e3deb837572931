/// The outcome of one account in `Book.createAccounts`.
///
/// Encoded as one string: `"ok"`, `"exists"` or the rejection's code.
public enum AccountResult: Sendable, Codable, Equatable, Hashable {
    /// Created now.
    case ok
    /// Created before with identical fields; nothing changed.
    case exists
    /// Refused; nothing changed.
    case rejected(AccountRejection)

    /// `ok`, `exists` or the rejection's code.
    public var code: String {
        switch self {
        case .ok: "ok"
        case .exists: "exists"
        case .rejected(let rejection): rejection.rawValue
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let code = try container.decode(String.self)
        switch code {
        case "ok": self = .ok
        case "exists": self = .exists
        default:
            guard let rejection = AccountRejection(rawValue: code) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown account result \"\(code)\"")
            }
            self = .rejected(rejection)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}
