import Consent
import Foundation
import Ledger
import Testing

/// Every shipped schema version of every event type has a golden payload under Fixtures/.
/// Decoding it must work for as long as the broker runs, and the current version must
/// re-encode to exactly the same bytes (so signatures made by old clients stay valid).
struct GoldenFixtureTests {
    static let typeNames = [
        DomainEvent.TypeName.brokerInitialised, DomainEvent.TypeName.policyActivated, DomainEvent.TypeName.partyRegistered,
        DomainEvent.TypeName.partySuspended, DomainEvent.TypeName.partyReinstated, DomainEvent.TypeName.partyKeyRotated,
        DomainEvent.TypeName.subjectRegistered, DomainEvent.TypeName.consentRequested, DomainEvent.TypeName.requestWithdrawn,
        DomainEvent.TypeName.consentGranted, DomainEvent.TypeName.consentRevoked, DomainEvent.TypeName.deviceAttested,
        DomainEvent.TypeName.deviceConfirmed, DomainEvent.TypeName.dataDelivered, DomainEvent.TypeName.telemetryPushed,
        DomainEvent.TypeName.subjectErased, DomainEvent.TypeName.partyCallbackSet, DomainEvent.TypeName.accountsOpened,
        DomainEvent.TypeName.transfersPosted, DomainEvent.TypeName.analysisRan, DomainEvent.TypeName.analysisIncluded,
    ]

    static func fixture(_ type: String, _ version: UInt16) throws -> [UInt8] {
        let url = try #require(
            Bundle.module.url(forResource: "\(type).v\(version)", withExtension: "json", subdirectory: "Fixtures"),
            "missing golden fixture Fixtures/\(type).v\(version).json")
        return [UInt8](try Data(contentsOf: url))
    }

    @Test("every shipped version of every event type decodes from its golden fixture", arguments: typeNames)
    func decodesEveryShippedVersion(_ type: String) throws {
        let current = try #require(DomainEvent.upcasters.currentVersion(of: type))
        for version in 1...current {
            let payload = try Self.fixture(type, version)
            let event = NewEvent(
                streamID: "x", type: type, schemaVersion: version, time: Timestamp(milliseconds: 0), authorID: "broker", payload: payload)
            let decoded = try DomainEvent.decode(event)
            #expect(decoded.typeName == type)
            if version == current {
                #expect(try decoded.payload() == payload, "the current version re-encodes to the golden bytes")
            }
        }
    }

    @Test("a golden grant decodes to the exact values it was written with")
    func grantValues() throws {
        let payload = try Self.fixture(DomainEvent.TypeName.consentGranted, 1)
        guard
            case .consentGranted(let g) = try DomainEvent.decode(
                NewEvent(
                    streamID: "consent:con_1", type: DomainEvent.TypeName.consentGranted,
                    schemaVersion: 1, time: Timestamp(milliseconds: 0), authorID: "x", payload: payload))
        else {
            Issue.record("not a grant"); return
        }
        #expect(g.consentID == "con_1")
        #expect(g.terms.items == ["vehicle.driving"])
        #expect(g.terms.durationDays == 180)
        #expect(g.expiresAt.milliseconds - g.grantedAt.milliseconds == 180 * 86_400_000)
        #expect(g.terms.incentiveKRW == 1_000)
    }

    @Test("an unknown type or a newer version is refused with a clear error")
    func unknownVersions() {
        #expect(throws: LedgerError.self) {
            try DomainEvent.decode(
                NewEvent(streamID: "x", type: "consent.granted", schemaVersion: 99, time: Timestamp(milliseconds: 0), authorID: "x", payload: []))
        }
        #expect(throws: LedgerError.self) {
            try DomainEvent.decode(
                NewEvent(streamID: "x", type: "consent.teleported", schemaVersion: 1, time: Timestamp(milliseconds: 0), authorID: "x", payload: []))
        }
        #expect(throws: LedgerError.self) {
            try DomainEvent.decode(
                NewEvent(
                    streamID: "x", type: "consent.revoked", schemaVersion: 1, time: Timestamp(milliseconds: 0), authorID: "x",
                    payload: Array("{}".utf8)))
        }
    }
}
