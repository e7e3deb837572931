import Foundation
import Sodium

/// A standard contract (`Policies/contracts/<id>.yaml`): the clauses in plain words, with
/// placeholders filled from a request's terms, the category's price and the template's
/// parameters. See docs/contracts.md.
public struct ContractTemplate: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    /// The access the contract is for: a delivery contract for delivery requests, an analysis
    /// contract for analysis-only ones.
    public var access: ConsentAccess
    /// The longest retention the contract allows, in days.
    public var maxRetentionDays: Int
    public var parameters: [Parameter]
    public var clauses: [Clause]

    public init(id: String, title: String, access: ConsentAccess, maxRetentionDays: Int, parameters: [Parameter], clauses: [Clause]) {
        self.id = id; self.title = title; self.access = access; self.maxRetentionDays = maxRetentionDays
        self.parameters = parameters; self.clauses = clauses
    }

    public struct Clause: Codable, Sendable, Equatable {
        public var title: String
        /// The text, with `{placeholder}`s.
        public var text: String
        /// A key clause: `mydata grant` shows it before the person signs.
        public var key: Bool
        public init(title: String, text: String, key: Bool) { self.title = title; self.text = text; self.key = key }
    }

    public struct Parameter: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable, CaseIterable {
            /// A whole number between `minimum` and `maximum`.
            case integer
            /// A name: 1 to 64 letters, digits, spaces or `-_.&'`, starting with a letter or digit.
            case name
        }
        public var name: String
        public var title: String
        public var kind: Kind
        public var minimum: Int64?
        public var maximum: Int64?
        /// The value a client fills in when the request gives none.
        public var defaultValue: String?
        public init(name: String, title: String, kind: Kind, minimum: Int64? = nil, maximum: Int64? = nil, defaultValue: String? = nil) {
            self.name = name; self.title = title; self.kind = kind; self.minimum = minimum; self.maximum = maximum
            self.defaultValue = defaultValue
        }

        /// Why `value` is not allowed, or nil when it is.
        public func problem(_ value: String) -> String? {
            switch kind {
            case .integer:
                guard let n = Int64(value) else { return "\(name) must be a whole number, got '\(value)'" }
                if let minimum, n < minimum { return "\(name) must be at least \(minimum), got \(n)" }
                if let maximum, n > maximum { return "\(name) must be at most \(maximum), got \(n)" }
                return nil
            case .name:
                let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.&'")
                guard (1...ContractLimits.nameLengthMax).contains(value.count), value.allSatisfy(allowed.contains),
                    let first = value.first, first.isLetter || first.isNumber
                else {
                    return "\(name) must be 1 to \(ContractLimits.nameLengthMax) letters, digits, spaces or -_.&', starting with a letter or digit"
                }
                return nil
            }
        }
    }

    /// The placeholders a clause may use besides the parameters.
    public static let builtins: Set<String> = [
        "recipient", "items", "purpose", "category", "retentionDays", "durationDays", "incentiveKRW", "perPullKRW", "perRecordKRW",
        "perAnalysisKRW", "perPersonKRW", "manufacturerPercent", "personPercent", "brokerPercent",
    ]

    /// The `{name}`s in `text`, in order; nil when a brace is not closed, is closed without
    /// being opened, or names nothing.
    public static func placeholders(in text: String) -> [String]? {
        var names: [String] = []
        var current: String?
        for c in text {
            switch (c, current) {
            case ("{", nil): current = ""
            case ("{", _): return nil
            case ("}", nil): return nil
            case ("}", let name?):
                guard !name.isEmpty else { return nil }
                names.append(name)
                current = nil
            case (_, let name?): current = name + String(c)
            case (_, nil): break
            }
        }
        return current == nil ? names : nil
    }

    /// `text` with each `{name}` replaced by its value, in one pass (a value is never read again).
    static func fill(_ text: String, _ values: [String: String]) -> String {
        var out = ""
        var current: String?
        for c in text {
            switch (c, current) {
            case ("{", nil): current = ""
            case ("}", let name?):
                out += values[name] ?? "{\(name)}"
                current = nil
            case (_, let name?): current = name + String(c)
            case (_, nil): out.append(c)
            }
        }
        return out + (current.map { "{" + $0 } ?? "")
    }
}

/// Bounds on contracts.
public enum ContractLimits {
    public static let clausesMax = 32
    public static let parametersMax = 16
    public static let clauseBytesMax = 2_000
    public static let nameLengthMax = 64
}

/// The standard contract a request is made under, as the terms name it: the template, every
/// parameter's value, and the hash of the contract's canonical text, which the person signs
/// with the terms.
public struct ContractReference: Codable, Sendable, Equatable {
    public var template: String
    public var parameters: [String: String]
    /// BLAKE2b-256 (hex) of the canonical text's UTF-8 bytes.
    public var hash: String
    public init(template: String, parameters: [String: String], hash: String) {
        self.template = template; self.parameters = parameters; self.hash = hash
    }
}

/// Standard contracts: choosing, rendering and checking.
public enum StandardContract {
    /// The contract for terms under `policy`: `template` (by default the first the category
    /// allows for the terms' access whose parameters all have defaults) with `given` parameters
    /// and the template's defaults for the rest. Used by clients making a request.
    ///
    /// - Throws: `ConsentError(.invalidContract)` naming what to change.
    public static func make(
        template id: String?, parameters given: [String: String], terms: ConsentTerms, recipient: String, policy: PolicySet
    ) throws(ConsentError) -> (reference: ContractReference, text: String) {
        let allowed = templates(for: terms, policy: policy)
        // By default the first that needs nothing but its defaults (`provision` before `processing`).
        let byDefault = allowed.first { $0.parameters.allSatisfy { $0.defaultValue != nil } } ?? allowed.first
        guard let chosen = id ?? byDefault?.id else {
            throw ConsentError(
                .invalidContract, "policy \(policy.version) has no standard contract for \(terms.accessMode.rawValue) of \(terms.category) data")
        }
        var values = given
        // An unknown template: `check` below says so, with the ones to choose from.
        for p in policy.contract(chosen)?.parameters ?? [] where values[p.name] == nil {
            if let d = p.defaultValue { values[p.name] = d }
        }
        var reference = ContractReference(template: chosen, parameters: values, hash: "")
        let text = try check(reference, terms: terms, recipient: recipient, policy: policy, checkHash: false) ?? ""
        reference.hash = hash(text)
        return (reference, text)
    }

    /// `terms` made under a standard contract: the contract `terms` already name, else `template`
    /// (or the default one, see `make`) with `parameters`. Terms stay without one only under a
    /// policy with no template for them, which the broker then accepts.
    ///
    /// - Throws: `ConsentError(.invalidContract)` naming what to change.
    public static func attach(
        template: String?, parameters: [String: String], to terms: ConsentTerms, recipient: String, policy: PolicySet
    ) throws(ConsentError) -> ConsentTerms {
        guard terms.contract == nil, template != nil || !parameters.isEmpty || !templates(for: terms, policy: policy).isEmpty else { return terms }
        var contracted = terms
        contracted.contract = try make(template: template, parameters: parameters, terms: terms, recipient: recipient, policy: policy).reference
        return contracted
    }

    /// The templates that `terms` may name under `policy`, in policy order.
    public static func templates(for terms: ConsentTerms, policy: PolicySet) -> [ContractTemplate] {
        let allowed = policy.category(terms.category)?.contracts
        return (policy.contracts ?? []).filter { $0.access == terms.accessMode && (allowed?.contains($0.id) ?? true) }
    }

    /// Checks a request's contract against the policy and the terms, and returns its canonical
    /// text (nil for terms without a contract, which only a policy without templates for them
    /// allows).
    ///
    /// - Throws: `ConsentError(.invalidContract)` naming what to change.
    @discardableResult
    public static func check(
        _ reference: ContractReference?, terms: ConsentTerms, recipient: String, policy: PolicySet, checkHash: Bool = true
    ) throws(ConsentError) -> String? {
        let choices = templates(for: terms, policy: policy).map(\.id).joined(separator: ", ")
        guard let reference else {
            guard choices.isEmpty else {
                throw ConsentError(
                    .invalidContract,
                    "\(terms.category) data is shared only under a standard contract: name one of \(choices) in the terms' contract (template, parameters and the hash of its text, docs/contracts.md)"
                )
            }
            return nil
        }
        guard let template = policy.contract(reference.template) else {
            throw ConsentError(.invalidContract, "no standard contract '\(reference.template)' in policy \(policy.version); use one of \(choices)")
        }
        guard template.access == terms.accessMode else {
            throw ConsentError(
                .invalidContract,
                "contract '\(template.id)' is for \(template.access.rawValue) requests, not \(terms.accessMode.rawValue); use one of \(choices)")
        }
        if let allowed = policy.category(terms.category)?.contracts, !allowed.contains(template.id) {
            throw ConsentError(.invalidContract, "\(terms.category) data may not be shared under contract '\(template.id)'; use one of \(choices)")
        }
        guard terms.retentionDays <= template.maxRetentionDays else {
            throw ConsentError(
                .invalidContract,
                "contract '\(template.id)' allows at most \(template.maxRetentionDays) days of retention, the terms ask \(terms.retentionDays)")
        }
        let names = Set(template.parameters.map(\.name))
        for name in reference.parameters.keys.sorted() where !names.contains(name) {
            throw ConsentError(
                .invalidContract,
                "contract '\(template.id)' has no parameter '\(name)'; its parameters are \(template.parameters.map(\.name).joined(separator: ", "))")
        }
        for p in template.parameters {
            guard let value = reference.parameters[p.name] else {
                throw ConsentError(.invalidContract, "contract '\(template.id)' needs parameter '\(p.name)' (\(p.title))")
            }
            if let problem = p.problem(value) { throw ConsentError(.invalidContract, "contract '\(template.id)': \(problem)") }
        }
        let text = render(template, parameters: reference.parameters, terms: terms, recipient: recipient, policy: policy)
        if checkHash, hash(text) != reference.hash {
            throw ConsentError(
                .invalidContract,
                "the contract's hash is not the hash of its text under policy \(policy.version); render it again from the active policy")
        }
        return text
    }

    /// The canonical text: a heading, the terms it is made under, every parameter, then each
    /// clause numbered, placeholders filled. Lines end with LF; the text ends with one.
    public static func render(
        _ template: ContractTemplate, parameters: [String: String], terms: ConsentTerms, recipient: String, policy: PolicySet
    ) -> String {
        let (items, purpose) = names(terms, policy: policy)
        var lines = [
            "MyData standard contract: \(template.title) (\(template.id))",
            "Recipient: \(recipient)",
            "Data: \(items)",
            "Purpose: \(purpose)",
            "Records from \(terms.dataFrom) to \(terms.dataTo); consent for \(terms.durationDays) days from the grant\(terms.onceOff ? ", once-off" : "")",
            "Parameters: " + template.parameters.map { "\($0.name) = \(parameters[$0.name] ?? "")" }.joined(separator: "; "),
            "",
        ]
        for (n, clause) in clauses(template, parameters: parameters, terms: terms, recipient: recipient, policy: policy).enumerated() {
            lines.append("\(n + 1). \(clause.title). \(clause.text)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The clauses of `template` with their placeholders filled, as the canonical text has them.
    public static func clauses(
        _ template: ContractTemplate, parameters: [String: String], terms: ConsentTerms, recipient: String, policy: PolicySet
    ) -> [ContractTemplate.Clause] {
        let price = policy.accounting?.price(category: terms.category)
        let (items, purpose) = names(terms, policy: policy)
        var values: [String: String] = [
            "recipient": recipient, "items": items, "purpose": purpose, "category": terms.category,
            "retentionDays": String(terms.retentionDays), "durationDays": String(terms.durationDays),
            "incentiveKRW": String(terms.incentiveKRW),
            "perPullKRW": String(price?.perPullKRW ?? 0), "perRecordKRW": String(price?.perRecordKRW ?? 0),
            "perAnalysisKRW": String(price?.perAnalysisKRW ?? 0), "perPersonKRW": String(price?.perPersonKRW ?? 0),
            "manufacturerPercent": String(price?.manufacturerPercent ?? 0), "personPercent": String(price?.personPercent ?? 0),
            "brokerPercent": String(price?.brokerPercent ?? 0),
        ]
        for (name, value) in parameters { values[name] = value }
        return template.clauses.map { ContractTemplate.Clause(title: $0.title, text: ContractTemplate.fill($0.text, values), key: $0.key) }
    }

    private static func names(_ terms: ConsentTerms, policy: PolicySet) -> (items: String, purpose: String) {
        let items = terms.items.map { id in policy.item(id).map { "\($0.title) (\(id))" } ?? id }.joined(separator: ", ")
        let purpose = policy.purpose(terms.purpose).map { "\($0.title) (\(terms.purpose))" } ?? terms.purpose
        return (items, purpose)
    }

    public static func hash(_ text: String) -> String { Hex.encode(BLAKE2b.hash256(Array(text.utf8))) }
}
