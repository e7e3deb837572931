/// Who an account belongs to: a pseudonymous person, a registered party, a programme fund or the
/// broker itself. Only ids, never personal data.
public struct Owner: Sendable, Codable, Equatable, Hashable {
    public var kind: OwnerKind
    /// The owner's id in its own namespace (`sub_…`, a party id, a fund id, `broker`).
    public var id: String

    public init(_ kind: OwnerKind, _ id: String) {
        self.kind = kind
        self.id = id
    }
}
