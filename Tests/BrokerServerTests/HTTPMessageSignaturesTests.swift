import BrokerServer
import Foundation
import MyDataWire
import Sodium
import TestSupport
import Testing

struct HTTPMessageSignaturesTests {
    /// RFC 9421 Appendix B.1.4's test-key-ed25519 (JWK d and x, base64url).
    static func testKey() throws -> SigningKey {
        var seed = [UInt8](Data(base64Encoded: "n4Ni+HpISpVObnQMW0wOhCKROaIKqKtW/2ZYb2p9KcU=")!)
        return try SigningKey(seed: &seed)
    }

    /// RFC 9421 Appendix B.2's request.
    static let example = SignedRequest(
        method: "POST", scheme: "https", authority: "example.com", path: "/foo", query: "param=Value&Pet=dog",
        fields: [
            "Host": "example.com", "Date": "Tue, 20 Apr 2021 02:07:55 GMT", "Content-Type": "application/json",
            "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            "Content-Length": "18",
        ])

    @Test("the RFC 9421 Appendix B.2.6 Ed25519 example verifies, and its signature base is the RFC's")
    func rfc9421B26() throws {
        let key = try Self.testKey()
        #expect(key.verifyingKey.bytes == [UInt8](Data(base64Encoded: "JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=")!))
        let signature = try HTTPMessageSignatures.parse(
            signatureInput:
                #"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#,
            signature: "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:")
        #expect(signature.keyID == "test-key-ed25519")
        #expect(signature.created == 1_618_884_473)
        let base = try HTTPMessageSignatures.base(
            of: Self.example, covered: signature.covered,
            serializedParams: #"("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#)
        #expect(
            base == """
                "date": Tue, 20 Apr 2021 02:07:55 GMT
                "@method": POST
                "@path": /foo
                "@authority": example.com
                "content-type": application/json
                "content-length": 18
                "@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"
                """)
        try HTTPMessageSignatures.verify(signature, of: Self.example, key: key.verifyingKey)
        var changed = Self.example
        changed.fields["content-length"] = "19"
        #expect(throws: HTTPSignatureError.self) { try HTTPMessageSignatures.verify(signature, of: changed, key: key.verifyingKey) }
    }

    @Test("the RFC 9530 example digest matches its body, and a changed body does not")
    func contentDigest() throws {
        let body = Array(#"{"hello": "world"}"#.utf8)
        try HTTPMessageSignatures.checkContentDigest(Self.example.fields["content-digest"], body: body)
        try HTTPMessageSignatures.checkContentDigest(HTTPMessageSignatures.contentDigest(body), body: body)
        #expect(throws: HTTPSignatureError.self) {
            try HTTPMessageSignatures.checkContentDigest(HTTPMessageSignatures.contentDigest(body), body: body + [32])
        }
        #expect(throws: HTTPSignatureError.self) { try HTTPMessageSignatures.checkContentDigest(nil, body: body) }
    }

    @Test("what we sign, we verify; another key or another path does not")
    func roundTrip() throws {
        let key = try SigningKey()
        var request = SignedRequest(method: "GET", scheme: "http", authority: "127.0.0.1:8080", path: "/v1/consents", query: "limit=5", fields: [:])
        let covered = ["@method", "@target-uri"]
        let (input, sig) = try HTTPMessageSignatures.sign(request, covered: covered, keyID: "sub_1", key: key, created: 1_700_000_000, nonce: "n-1")
        #expect(input.hasPrefix(#"sig1=("@method" "@target-uri");created=1700000000;nonce="n-1";keyid="sub_1";alg="ed25519""#))
        let parsed = try HTTPMessageSignatures.parse(signatureInput: input, signature: sig)
        #expect(parsed.nonce == "n-1")
        try HTTPMessageSignatures.verify(parsed, of: request, key: key.verifyingKey)
        #expect(throws: HTTPSignatureError.self) { try HTTPMessageSignatures.verify(parsed, of: request, key: try SigningKey().verifyingKey) }
        request.path = "/v1/access-log"
        #expect(throws: HTTPSignatureError.self) { try HTTPMessageSignatures.verify(parsed, of: request, key: key.verifyingKey) }
    }
}
