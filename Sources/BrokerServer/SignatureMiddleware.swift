import Broker
import Consent
import Foundation
import MyDataWire
import HTTPTypes
import Hummingbird
import Ledger
import Ports
import Sodium

/// Authenticates every request under `/v1/` except the public ones by its RFC 9421 signature:
/// Ed25519, covering `@method`, `@target-uri` (or `@authority`, `@path` and `@query`),
/// `content-digest` when there is a body, with `created` within ±300 s, a fresh `nonce` and a
/// `keyid` naming a registered party or a person. Anything else gets a 401 and changes nothing:
/// the nonce is recorded only once everything else has passed.
public struct SignatureMiddleware: RouterMiddleware {
    public typealias Context = BrokerRequestContext

    /// A person's public key (base64), for a person the broker does not know yet: their id
    /// derives from it, so whoever signs with it is that person.
    public static let subjectKeyField = WireField.subjectKey
    static let signatureInputField = WireField.signatureInput
    static let signatureField = WireField.signature
    static let contentDigestField = WireField.contentDigest

    let signers: Signers
    let nonces: any NonceStore
    let clock: any Clock
    /// The broker's address as clients reach it (`https://broker.example`) when it runs behind a
    /// TLS-terminating proxy: clients sign that scheme and authority, not the proxy's hop. Taken
    /// from the operator, never from forwarded headers, which a client could set.
    let publicOrigin: (scheme: String, authority: String)?

    public init(signers: Signers, nonces: any NonceStore, clock: any Clock, publicURL: URL? = nil) {
        self.signers = signers
        self.nonces = nonces
        self.clock = clock
        publicOrigin = publicURL.flatMap(Self.origin(of:))
    }

    /// The scheme and authority (host, and the port unless it is the scheme's default) of a URL.
    public static func origin(of url: URL) -> (scheme: String, authority: String)? {
        guard let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = url.host?.lowercased() else { return nil }
        let port = url.port.flatMap { (scheme == "https" && $0 == 443) || (scheme == "http" && $0 == 80) ? nil : $0 }
        return (scheme, port.map { "\(host):\($0)" } ?? host)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: APILimits.requestBodyBytesMax)
        var context = context
        context.principal = try await authenticate(request, body: Array(body.readableBytesView))
        return try await next(request, context)
    }

    func authenticate(_ request: Request, body: [UInt8]) async throws -> Principal {
        guard let input = request.headers[Self.signatureInputField], let sig = request.headers[Self.signatureField] else {
            throw HTTPSignatureError(.missingSignature, "sign the request with RFC 9421 (Signature-Input and Signature fields)")
        }
        // Parsing is linear, but what it is handed is bounded all the same: one signature needs far less.
        for (name, value) in [("Signature-Input", input), ("Signature", sig), ("Content-Digest", request.headers[Self.contentDigestField] ?? "")]
        where value.utf8.count > APILimits.signatureFieldBytesMax {
            throw HTTPSignatureError(
                .malformed, "the \(name) field has \(value.utf8.count) bytes; at most \(APILimits.signatureFieldBytesMax) are read")
        }
        let signature = try HTTPMessageSignatures.parse(signatureInput: input, signature: sig)
        let covered = Set(signature.covered)
        guard covered.contains("@method"),
            covered.contains("@target-uri") || covered.isSuperset(of: ["@authority", "@path", "@query"])
        else {
            throw HTTPSignatureError(.insufficientCoverage, "the signature must cover @method and @target-uri (or @authority, @path and @query)")
        }
        if !body.isEmpty {
            guard covered.contains("content-digest") else {
                throw HTTPSignatureError(.insufficientCoverage, "a request with a body must sign its content-digest")
            }
            try HTTPMessageSignatures.checkContentDigest(request.headers[Self.contentDigestField], body: body)
        }
        if let alg = signature.algorithm, alg != "ed25519" {
            throw HTTPSignatureError(.malformed, "alg must be ed25519")
        }
        guard let created = signature.created else { throw HTTPSignatureError(.malformed, "the signature needs a created parameter") }
        let now = clock.now()
        guard abs(now.milliseconds / 1000 - created) <= APILimits.signatureSkewSecondsMax else {
            throw HTTPSignatureError(
                .staleSignature, "created is more than \(APILimits.signatureSkewSecondsMax) s from the broker's clock; check yours")
        }
        if let expires = signature.expires, expires < now.milliseconds / 1000 {
            throw HTTPSignatureError(.staleSignature, "the signature expired")
        }
        guard let nonce = signature.nonce, !nonce.isEmpty, nonce.utf8.count <= APILimits.nonceBytesMax else {
            throw HTTPSignatureError(.malformed, "the signature needs a nonce of 1 to \(APILimits.nonceBytesMax) bytes")
        }
        guard let keyID = signature.keyID else { throw HTTPSignatureError(.malformed, "the signature needs a keyid") }
        let (principal, key) = try await resolve(keyID, request: request)
        try HTTPMessageSignatures.verify(signature, of: Self.signedRequest(request, origin: publicOrigin), key: key)
        // Only a request that passed every other check uses up its nonce.
        // Kept until the signature can no longer pass the staleness check above (whole seconds), plus a second.
        let expiry = Timestamp(milliseconds: (created + APILimits.signatureSkewSecondsMax + 2) * 1000)
        guard try await nonces.claimNonce(nonce, keyID: keyID, expiresAt: expiry, now: now) else {
            throw HTTPSignatureError(.replayedNonce, "this nonce was already used; sign every request with a fresh one")
        }
        return principal
    }

    /// The signer `keyID` names, with `Signers` (as `BrokerService` finds an event's author): a
    /// person not yet registered may announce their key in `MyData-Subject-Key`.
    private func resolve(_ keyID: String, request: Request) async throws -> (Principal, VerifyingKey) {
        var offered: VerifyingKey?
        if Identifiers.isSubjectID(keyID), let text = request.headers[Self.subjectKeyField] {
            guard let bytes = Base64.decode(text), let key = try? VerifyingKey(bytes: bytes) else {
                throw HTTPSignatureError(.unknownKey, "the key for \(keyID) does not derive that id")
            }
            offered = key
        }
        do {
            return try await signers.resolve(keyID, offered: offered)
        } catch let refusal as SignerRefusal {
            switch refusal {
            case .unknownSubject(let id): throw HTTPSignatureError(.unknownKey, "person \(id) is unknown; send your public key in MyData-Subject-Key")
            case .keyDoesNotDeriveID(let id): throw HTTPSignatureError(.unknownKey, "the key for \(id) does not derive that id")
            case .unknownParty(let id): throw HTTPSignatureError(.unknownKey, "no party is registered as '\(id)'")
            case .suspendedParty(let id): throw HTTPSignatureError(.suspendedKey, "party '\(id)' is suspended")
            case .unusableKey(let id): throw HTTPSignatureError(.unknownKey, "party '\(id)' has no usable key")
            }
        }
    }

    /// The request as the signer saw it: at the public origin when one is configured.
    static func signedRequest(_ request: Request, origin: (scheme: String, authority: String)? = nil) -> SignedRequest {
        var fields: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            fields[name] = fields[name].map { "\($0), \(field.value)" } ?? field.value
        }
        let authority = origin?.authority ?? request.head.authority ?? ""
        return SignedRequest(
            method: request.method.rawValue, scheme: origin?.scheme ?? request.head.scheme ?? "http", authority: authority,
            path: request.uri.path, query: request.uri.query, fields: fields)
    }
}
