/// The kinds of account owner.
public enum OwnerKind: String, Sendable, Codable, Equatable, Hashable, CaseIterable {
    case person, recipient, manufacturer, fund, broker
}
