import Consent
import Foundation
import Ledger
import Sodium

/// How every client here signs a request (RFC 9421, Ed25519): `@method`, `@target-uri` and, with
/// a body, `content-digest` (RFC 9530, SHA-256), with `created` and a fresh `nonce`; a person
/// also announces their public key (`announcedKey`) so a broker that does not know them yet can
/// check it. The client library, the CLI and the broker's revocation notices all sign here.
public enum RequestSigning {
    /// The header fields to add to a request for `url`: `Content-Digest` when there is a body,
    /// `MyData-Subject-Key` for a person, `Signature-Input` and `Signature`.
    ///
    /// - Throws: `HTTPSignatureError` when `url` has no host.
    public static func fields(
        method: String, url: URL, body: [UInt8]?, keyID: String, key: SigningKey, announcedKey: String? = nil,
        extraFields: [String: String] = [:], created: Int64? = nil, nonce: String? = nil
    ) throws -> [String: String] {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: true), let host = components.host else {
            throw HTTPSignatureError(.malformed, "cannot sign a request to \(url): it has no host")
        }
        var fields = extraFields
        var covered = ["@method", "@target-uri"]
        if let body {
            fields[WireField.contentDigest.rawName] = HTTPMessageSignatures.contentDigest(body)
            covered.append("content-digest")
        }
        if let announcedKey { fields[WireField.subjectKey.rawName] = announcedKey }
        let authority = components.port.map { "\(host):\($0)" } ?? host
        let signed = SignedRequest(
            method: method, scheme: components.scheme ?? "http", authority: authority,
            path: components.percentEncodedPath, query: components.percentEncodedQuery, fields: fields)
        let (input, signature) = try HTTPMessageSignatures.sign(
            signed, covered: covered, keyID: keyID, key: key,
            created: created ?? Timestamp.now().milliseconds / 1000, nonce: nonce ?? Hex.encode(Sodium.randomBytes(16)))
        fields[WireField.signatureInput.rawName] = input
        fields[WireField.signature.rawName] = signature
        return fields
    }
}
