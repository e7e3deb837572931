import Broker
import Consent
import Foundation
import Ledger
import MyDataWire

extension MyDataClient {
    /// Signed events as the generated client sends them.
    static func submitBody(_ events: [NewEvent]) throws -> Components.Schemas.SubmitBody {
        try JSONDecoder().decode(Components.Schemas.SubmitBody.self, from: JSONEncoder().encode(SubmitBody(events: events.map(WireEvent.init))))
    }

    /// The active policy's version: what a request is checked against.
    public func policyVersion() async throws -> String {
        let output = try await call { try await api.getPolicy() }
        guard case .ok(let ok) = output else { throw MyDataClientError.unexpected("the policy answered \(output)") }
        return try ok.body.json.version
    }

    /// A recipient asks for consent: a `consent.requested` event signed with the party's key,
    /// addressed to `subject` or open to anyone. Returns the request id.
    public func requestConsent(terms: ConsentTerms, subject: String? = nil, offerDays: Int64 = 30) async throws -> String {
        let now = Timestamp.now()
        let requested = ConsentRequested(
            requestID: Identifiers.random(prefix: "req"), recipient: identity.id, subject: subject, terms: terms,
            offerExpiresAt: now.adding(days: offerDays), policyVersion: try await policyVersion())
        let body = try Self.submitBody([try identity.sign(.consentRequested(requested), at: now)])
        let output = try await call { try await api.createConsentRequest(body: .json(body)) }
        guard case .created = output else { throw MyDataClientError.unexpected("the request answered \(output)") }
        return requested.requestID
    }

    /// A manufacturer attests that its device belongs to a person (who then confirms it).
    public func attestDevice(_ deviceID: String, subject: String) async throws {
        let event = try identity.sign(.deviceAttested(DeviceAttested(deviceID: deviceID, manufacturer: identity.id, subject: subject)), at: .now())
        let output = try await call { try await api.submitDeviceBinding(body: .json(try Self.submitBody([event]))) }
        guard case .created = output else { throw MyDataClientError.unexpected("the attestation answered \(output)") }
    }
}
