import BrokerServer
import Foundation
import MyDataWire
import Sodium

extension FuzzTarget {
    /// RFC 9421 Appendix B.2's request, which the signature target's signatures cover.
    static let signedRequest = SignedRequest(
        method: "POST", scheme: "https", authority: "example.com", path: "/foo", query: "param=Value&Pet=dog",
        fields: [
            "Host": "example.com", "Date": "Tue, 20 Apr 2021 02:07:55 GMT", "Content-Type": "application/json",
            "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            "Content-Length": "18",
        ])

    /// RFC 9421 Appendix B.1.4's test-key-ed25519, so that the RFC's own example verifies.
    static let rfcKey: SigningKey = {
        var seed = [UInt8](Data(base64Encoded: "n4Ni+HpISpVObnQMW0wOhCKROaIKqKtW/2ZYb2p9KcU=")!)
        do { return try SigningKey(seed: &seed) } catch { fatalError("the RFC 9421 test key does not load: \(error)") }
    }()

    /// The signature input format: `Signature-Input`, a line feed, `Signature`.
    public static func signatureInput(signatureInput: String, signature: String) -> [UInt8] {
        Array((signatureInput + "\n" + signature).utf8)
    }

    /// `Signature-Input` and `Signature` through `HTTPMessageSignatures.parse`, the signature
    /// base over the RFC's request and verification with the RFC's key, and the arithmetic
    /// `SignatureMiddleware` does with `created`. What parses must also sign and verify again
    /// when re-signed with the same parameters.
    static func signature(_ input: [UInt8]) throws {
        let text = String(decoding: input, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let signatureInput = String(parts[0]), signatureField = parts.count > 1 ? String(parts[1]) : ""
        _ = try? HTTPMessageSignatures.parse(signatureInput: signatureInput, signature: signatureField, label: "sig1")
        let parsed = try HTTPMessageSignatures.parse(signatureInput: signatureInput, signature: signatureField)
        if let created = parsed.created {
            // SignatureMiddleware.authenticate: staleness, then the nonce's expiry.
            let skew = abs(FuzzKeys.now.milliseconds / 1000 - created)
            if skew <= APILimits.signatureSkewSecondsMax { _ = (created + APILimits.signatureSkewSecondsMax + 2) * 1000 }
        }
        let request = signedRequest
        _ = try HTTPMessageSignatures.base(of: request, covered: parsed.covered, serializedParams: "")
        _ = try? HTTPMessageSignatures.verify(parsed, of: request, key: rfcKey.verifyingKey)
        let (resignedInput, resigned) = try HTTPMessageSignatures.sign(
            request, covered: parsed.covered, keyID: parsed.keyID ?? "k", key: rfcKey, created: parsed.created ?? 0,
            nonce: parsed.nonce ?? "n", label: parsed.label)
        let again = try HTTPMessageSignatures.parse(signatureInput: resignedInput, signature: resigned)
        FuzzCheck.require(again.covered == parsed.covered, "a re-signed signature covers the same components")
        FuzzCheck.require(
            (try? HTTPMessageSignatures.verify(again, of: request, key: rfcKey.verifyingKey)) != nil,
            "what we sign, we verify: \(resignedInput)")
    }

    /// The digest input format: the `Content-Digest` field, a line feed, the body.
    public static func digestInput(field: String, body: [UInt8]) -> [UInt8] {
        Array((field + "\n").utf8) + body
    }

    /// A `Content-Digest` field against a body; the digest we compute always checks.
    static func digest(_ input: [UInt8]) throws {
        let split = input.firstIndex(of: 10) ?? input.endIndex
        let field = String(decoding: input[..<split], as: UTF8.self)
        let body = split < input.endIndex ? Array(input[(split + 1)...]) : []
        FuzzCheck.require(
            (try? HTTPMessageSignatures.checkContentDigest(HTTPMessageSignatures.contentDigest(body), body: body)) != nil,
            "our own Content-Digest checks")
        try HTTPMessageSignatures.checkContentDigest(field, body: body)
    }
}
