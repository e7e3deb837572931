import Broker
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import Consent
import Sodium

/// A client of the broker's HTTP API that signs every request (RFC 9421, Ed25519) with an
/// identity's key: the CLI's `--broker` mode and the end-to-end tests use it.
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
        guard let url = URL(string: pathAndQuery, relativeTo: baseURL)?.absoluteURL,
            let components = URLComponents(url: url, resolvingAgainstBaseURL: false), let host = components.host
        else {
            throw HTTPSignatureError(.malformed, "cannot build a URL from \(pathAndQuery)")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        var fields = extraFields
        var covered = ["@method", "@target-uri"]
        if let body {
            request.httpBody = body
            fields["Content-Type"] = "application/json"
            fields["Content-Digest"] = HTTPMessageSignatures.contentDigest([UInt8](body))
            covered.append("content-digest")
        }
        if announceKey, Identifiers.isSubjectID(identity.id) { fields[SignatureMiddleware.subjectKeyField.rawName] = identity.publicKeys.signingKey }
        let authority = components.port.map { "\(host):\($0)" } ?? host
        let signed = SignedRequest(
            method: method, scheme: components.scheme ?? "http", authority: authority,
            path: components.percentEncodedPath, query: components.percentEncodedQuery, fields: fields)
        let (input, signature) = try HTTPMessageSignatures.sign(
            signed, covered: covered, keyID: identity.id, key: identity.signingKey,
            created: created ?? Timestamp.now().milliseconds / 1000, nonce: nonce ?? Hex.encode(Sodium.randomBytes(16)))
        for (name, value) in fields { request.setValue(value, forHTTPHeaderField: name) }
        request.setValue(input, forHTTPHeaderField: "Signature-Input")
        request.setValue(signature, forHTTPHeaderField: "Signature")
        return request
    }
}
