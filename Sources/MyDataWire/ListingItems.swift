import Consent

/// What a listing returns for one request: the request and its status now. The API's
/// `RequestItem`, and what `mydata requests --json` prints for each.
public struct RequestItem: Codable, Sendable {
    public var request: ConsentRequest
    public var status: RequestStatus
    public init(request: ConsentRequest, status: RequestStatus) { self.request = request; self.status = status }
}

/// What a listing returns for one consent: the consent and its status now. The API's
/// `ConsentItem`, and what `mydata consents --json` prints for each.
public struct ConsentItem: Codable, Sendable {
    public var consent: Consent
    public var status: ConsentStatus
    public init(consent: Consent, status: ConsentStatus) { self.consent = consent; self.status = status }
}
