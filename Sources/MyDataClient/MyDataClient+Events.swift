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
    /// The active policy, as the broker states it: its version and its rules.
    public func policy() async throws -> (version: String, policy: PolicySet) {
        let output = try await call { try await api.getPolicy() }
        guard case .ok(let ok) = output else { throw MyDataClientError.unexpected("the policy answered \(output)") }
        let view = try ok.body.json
        return (view.version, try Self.convert(view.policy, to: PolicySet.self))
    }

    /// A recipient asks for consent: a `consent.requested` event signed with the party's key,
    /// addressed to `subject` or open to anyone, made under a standard contract: the one `terms`
    /// name, else `contract` with `contractParameters` (by default the first template the
    /// category allows whose parameters all have defaults), rendered from the active policy.
    /// Returns the request id.
    ///
    /// - Throws: `ConsentError(.invalidContract)` when the contract cannot be made from these terms.
    public func requestConsent(
        terms: ConsentTerms, subject: String? = nil, offerDays: Int64 = 30, contract: String? = nil, contractParameters: [String: String] = [:]
    ) async throws -> String {
        let (version, policy) = try await policy()
        let contracted = try StandardContract.attach(
            template: contract, parameters: contractParameters, to: terms, recipient: identity.id, policy: policy)
        let now = Timestamp.now()
        let requested = ConsentRequested(
            requestID: Identifiers.random(prefix: "req"), recipient: identity.id, subject: subject, terms: contracted,
            offerExpiresAt: now.adding(days: offerDays), policyVersion: version)
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
