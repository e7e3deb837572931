import Consent
import Ledger

extension FuzzTarget {
    /// Every event type, in the order a payload input's first byte picks them; the last is unknown.
    static let payloadTypes = [
        DomainEvent.TypeName.brokerInitialised, DomainEvent.TypeName.policyActivated, DomainEvent.TypeName.partyRegistered,
        DomainEvent.TypeName.partySuspended, DomainEvent.TypeName.partyReinstated, DomainEvent.TypeName.partyKeyRotated,
        DomainEvent.TypeName.subjectRegistered, DomainEvent.TypeName.consentRequested, DomainEvent.TypeName.requestWithdrawn,
        DomainEvent.TypeName.consentGranted, DomainEvent.TypeName.consentRevoked, DomainEvent.TypeName.deviceAttested,
        DomainEvent.TypeName.deviceConfirmed, DomainEvent.TypeName.dataDelivered, DomainEvent.TypeName.telemetryPushed,
        DomainEvent.TypeName.subjectErased, DomainEvent.TypeName.partyCallbackSet, DomainEvent.TypeName.accountsOpened,
        DomainEvent.TypeName.transfersPosted, DomainEvent.TypeName.analysisRan, DomainEvent.TypeName.analysisIncluded, "unknown.type",
    ]

    /// The payload input format: one byte picks the type, two bytes (big-endian) give the schema
    /// version, the rest is the payload.
    public static func payloadInput(type: String, version: UInt16, payload: [UInt8]) -> [UInt8] {
        let index = payloadTypes.firstIndex(of: type) ?? payloadTypes.count - 1
        return [UInt8(index), UInt8(version >> 8), UInt8(version & 0xff)] + payload
    }

    /// A payload of any type and version through `DomainEvent.decode` (upcasters included); what
    /// decodes must re-encode canonically to a payload that decodes to the same event, and its
    /// projection changes must be computable.
    static func payload(_ input: [UInt8]) throws {
        guard input.count >= 3 else { return }
        let type = payloadTypes[Int(input[0]) % payloadTypes.count]
        let version = UInt16(input[1]) << 8 | UInt16(input[2])
        let event = NewEvent(
            streamID: "fuzz", type: type, schemaVersion: version, time: FuzzKeys.now,
            authorID: AuthorID.broker, payload: Array(input[3...]))
        let domain = try DomainEvent.decode(event)
        let canonical = try domain.payload()
        var again = event
        again.payload = canonical
        again.schemaVersion = DomainEvent.upcasters.currentVersion(of: type) ?? version
        let redecoded = try DomainEvent.decode(again)
        FuzzCheck.require(redecoded == domain, "a payload re-encoded canonically decodes to the same \(type) event")
        try FuzzCheck.require(redecoded.payload() == canonical, "canonical JSON of a \(type) payload is a fixed point")
        _ = Projection.changes(for: domain, event: event)
        _ = domain.streamID
    }
}
