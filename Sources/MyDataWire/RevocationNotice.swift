import Foundation
import Ledger
import Sodium
import Synchronization

/// A revocation notice as the broker POSTs it to a recipient's callback URL, signed with the
/// broker's key (RFC 9421, `keyid="broker"`, covering `@method`, `@target-uri` and
/// `content-digest`): a consent the recipient holds was revoked.
public struct RevocationNotice: Codable, Sendable, Equatable {
    public var type: String
    public var consentID: String
    public var recipient: String
    /// The ledger sequence of the revocation.
    public var ledgerSequence: UInt64

    public init(type: String, consentID: String, recipient: String, ledgerSequence: UInt64) {
        self.type = type; self.consentID = consentID; self.recipient = recipient; self.ledgerSequence = ledgerSequence
    }

    /// Seconds a notice's `created` may be from the receiver's clock.
    public static let skewSecondsMax: Int64 = 300

    /// Checks a received notice: the broker's signature over method, target URI and
    /// Content-Digest, `created` within `skewSecondsMax`, a nonce the receiver has not seen
    /// (`seen` remembers them), the body's digest; then decodes it.
    ///
    /// - Parameters:
    ///   - url: the URL the request was sent to, as the broker had it (scheme, host, port, path, query).
    ///   - fields: the request's header fields.
    /// - Throws: `HTTPSignatureError` (the broker did not send it), or a decoding error.
    public static func verify(
        method: String, url: URL, fields: [String: String], body: [UInt8], brokerKey: VerifyingKey, seen: NonceMemory,
        now: Timestamp = .now()
    ) throws -> RevocationNotice {
        let lower = Dictionary(fields.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { "\($0), \($1)" })
        guard let input = lower["signature-input"], let value = lower["signature"] else {
            throw HTTPSignatureError(.missingSignature, "the notice carries no RFC 9421 signature")
        }
        let signature = try HTTPMessageSignatures.parse(signatureInput: input, signature: value)
        guard signature.keyID == "broker", Set(signature.covered).isSuperset(of: ["@method", "@target-uri", "content-digest"]) else {
            throw HTTPSignatureError(.insufficientCoverage, "a notice is signed by the broker over @method, @target-uri and content-digest")
        }
        try HTTPMessageSignatures.checkContentDigest(lower["content-digest"], body: body)
        guard let created = signature.created, abs(now.milliseconds / 1000 - created) <= skewSecondsMax else {
            throw HTTPSignatureError(.staleSignature, "the notice's created is more than \(skewSecondsMax) s from this clock")
        }
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: true), let host = components.host else {
            throw HTTPSignatureError(.malformed, "no host in \(url)")
        }
        let request = SignedRequest(
            method: method, scheme: components.scheme ?? "http", authority: components.port.map { "\(host):\($0)" } ?? host,
            path: components.percentEncodedPath, query: components.percentEncodedQuery, fields: lower)
        try HTTPMessageSignatures.verify(signature, of: request, key: brokerKey)
        guard let nonce = signature.nonce, seen.claim(nonce, until: created + skewSecondsMax + 1, now: now.milliseconds / 1000) else {
            throw HTTPSignatureError(.replayedNonce, "this notice was received before")
        }
        return try JSONDecoder().decode(RevocationNotice.self, from: Data(body))
    }
}

/// The nonces of notices received, each kept until a notice carrying it would be stale anyway.
public final class NonceMemory: Sendable {
    private let nonces = Mutex<[String: Int64]>([:])

    public init() {}

    /// True the first time `nonce` is claimed before it expires.
    func claim(_ nonce: String, until expiry: Int64, now: Int64) -> Bool {
        nonces.withLock { nonces in
            if nonces.count > 10_000 { nonces = nonces.filter { $0.value >= now } }
            if let known = nonces[nonce], known >= now { return false }
            nonces[nonce] = expiry
            return true
        }
    }
}
