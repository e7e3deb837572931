/// Turns a payload of one schema version into the next version's payload.
public struct Upcaster: Sendable {
    /// The event type it applies to.
    public let type: String
    /// The version it reads; it produces `fromVersion + 1`.
    public let fromVersion: UInt16
    /// The transformation of payload bytes.
    public let transform: @Sendable ([UInt8]) throws -> [UInt8]

    public init(type: String, fromVersion: UInt16, transform: @escaping @Sendable ([UInt8]) throws -> [UInt8]) {
        self.type = type
        self.fromVersion = fromVersion
        self.transform = transform
    }
}

/// Reads any shipped schema version of an event as the current one. Stored events are never
/// rewritten: upcasting happens on every read, so hashes and signatures stay valid.
public struct UpcasterChain: Sendable {
    private let current: [String: UInt16]
    private let steps: [String: Upcaster]

    /// - Parameters:
    ///   - currentVersions: the version each event type is written at today.
    ///   - upcasters: one step per (type, older version).
    public init(currentVersions: [String: UInt16], upcasters: [Upcaster]) {
        current = currentVersions
        var steps: [String: Upcaster] = [:]
        for u in upcasters { steps["\(u.type)@\(u.fromVersion)"] = u }
        self.steps = steps
    }

    /// The current schema version of `type`, if the type is known.
    public func currentVersion(of type: String) -> UInt16? { current[type] }

    /// The payload of `type` at `version`, upcast step by step to the current version.
    ///
    /// - Throws: `LedgerError.unknownSchemaVersion` for an unknown type, a version newer than
    ///   this build understands, or a missing step.
    public func upcast(type: String, version: UInt16, payload: [UInt8]) throws -> [UInt8] {
        guard let target = current[type] else {
            throw LedgerError(.unknownSchemaVersion, "event type '\(type)' is unknown to this build of the broker")
        }
        guard version <= target else {
            throw LedgerError(
                .unknownSchemaVersion, "event type '\(type)' version \(version) is newer than this build (\(target)); upgrade the broker")
        }
        var bytes = payload
        var v = version
        while v < target {
            guard let step = steps["\(type)@\(v)"] else {
                throw LedgerError(.unknownSchemaVersion, "no upcaster from '\(type)' version \(v) to \(v + 1)")
            }
            bytes = try step.transform(bytes)
            v += 1
        }
        return bytes
    }
}
