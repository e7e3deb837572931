/// Who signed a request: a person (by pseudonymous id) or a registered party.
public enum Principal: Sendable, Equatable {
    case subject(String)
    case party(id: String, role: String)

    /// The key id the request was signed with.
    public var id: String {
        switch self {
        case .subject(let id): id
        case .party(let id, _): id
        }
    }
}
