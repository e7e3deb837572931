import Broker
import Foundation
import MyDataWire
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import Consent
import Sodium

/// The raw client of the broker's HTTP API: signs every request (RFC 9421, Ed25519) with an
/// identity's key and hands back status, body and content type, nothing typed. The CLI's
/// `--broker` mode, the end-to-end tests and the benchmark's raw path use it; `MyDataClient` is
/// the typed library.
public struct BrokerHTTPClient: Sendable {
    public let baseURL: URL
    public let identity: Identity
    /// Sent as `MyData-Subject-Key` so a person unknown to the broker can still be authenticated.
    public var announceKey: Bool

    public init(baseURL: URL, identity: Identity, announceKey: Bool = true) {
        self.baseURL = baseURL
        self.identity = identity
        self.announceKey = announceKey
    }

    /// A response: status, headers and body.
    public struct Reply: Sendable {
        public let status: Int
        public let body: Data
        public let contentType: String?

        /// The body decoded as JSON.
        public func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(type, from: body) }
    }

    /// Sends a signed request; `body` is sent as JSON.
    public func send(
        _ method: String, _ pathAndQuery: String, body: Data? = nil, created: Int64? = nil,
        nonce: String? = nil, extraFields: [String: String] = [:]
    ) async throws -> Reply {
        let request = try signedRequest(method, pathAndQuery, body: body, created: created, nonce: nonce, extraFields: extraFields)
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return Reply(status: http.statusCode, body: data, contentType: http.value(forHTTPHeaderField: "Content-Type"))
    }

    /// Builds the signed `URLRequest` without sending it (tests tamper with it).
    public func signedRequest(
        _ method: String, _ pathAndQuery: String, body: Data? = nil, created: Int64? = nil,
        nonce: String? = nil, extraFields: [String: String] = [:]
    ) throws -> URLRequest {
        guard let url = URL(string: pathAndQuery, relativeTo: baseURL)?.absoluteURL else {
            throw HTTPSignatureError(.malformed, "cannot build a URL from \(pathAndQuery)")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        var extra = extraFields
        if let body {
            request.httpBody = body
            if extra["Content-Type"] == nil { extra["Content-Type"] = "application/json" }
        }
        let fields = try RequestSigning.fields(
            method: method, url: url, body: body.map { [UInt8]($0) }, keyID: identity.id, key: identity.signingKey,
            announcedKey: announceKey ? identity.announcedKey : nil, extraFields: extra, created: created, nonce: nonce)
        for (name, value) in fields { request.setValue(value, forHTTPHeaderField: name) }
        return request
    }
}

extension Identity {
    /// What a request signed by this identity announces as `MyData-Subject-Key`: a person's
    /// signing key (base64); nothing for a party, whose key the broker has registered.
    var announcedKey: String? { Identifiers.isSubjectID(id) ? publicKeys.signingKey : nil }
}
