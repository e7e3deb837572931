import Sodium
import TestSupport
import Testing

struct Ed25519Tests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String, seed: String, publicKey: String, message: String, signature: String
        var testDescription: String { name }
    }

    /// RFC 8032, section 7.1, tests 1 to 3.
    static let rfc8032: [Vector] = [
        Vector(
            name: "TEST 1", seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", message: "",
            signature:
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        Vector(
            name: "TEST 2", seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", message: "72",
            signature:
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        Vector(
            name: "TEST 3", seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", message: "af82",
            signature:
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ]

    @Test("signing the RFC 8032 vectors gives their public keys and signatures", arguments: rfc8032)
    func rfc8032Vectors(_ v: Vector) throws {
        var seed = HexString.bytes(v.seed)
        let key = try SigningKey(seed: &seed)
        #expect(seed.allSatisfy { $0 == 0 }, "the caller's seed is zeroed")
        #expect(HexString.of(key.verifyingKey.bytes) == v.publicKey)
        let signature = key.sign(HexString.bytes(v.message))
        #expect(HexString.of(signature.bytes) == v.signature)
        #expect(key.verifyingKey.isValidSignature(try Signature(bytes: HexString.bytes(v.signature)), for: HexString.bytes(v.message)))
    }

    @Test("a changed message or signature does not verify")
    func tamperedSignaturesFail() throws {
        let key = try SigningKey()
        let message = Array("grant consent".utf8)
        let signature = key.sign(message)
        #expect(key.verifyingKey.isValidSignature(signature, for: message))
        #expect(!key.verifyingKey.isValidSignature(signature, for: Array("grant consenT".utf8)))
        var bytes = signature.bytes
        bytes[10] ^= 1
        #expect(!key.verifyingKey.isValidSignature(try Signature(bytes: bytes), for: message))
        #expect(throws: SodiumError.self) { try key.verifyingKey.verify(try Signature(bytes: bytes), for: message) }
        #expect(!(try SigningKey()).verifyingKey.isValidSignature(signature, for: message))
    }

    @Test("keys and signatures of the wrong length are refused")
    func wrongLengths() {
        #expect(throws: SodiumError.self) { try VerifyingKey(bytes: [UInt8](repeating: 1, count: 31)) }
        #expect(throws: SodiumError.self) { try Signature(bytes: [UInt8](repeating: 1, count: 63)) }
        var shortSeed = [UInt8](repeating: 7, count: 31)
        #expect(throws: SodiumError.self) { try SigningKey(seed: &shortSeed) }
        #expect(shortSeed.allSatisfy { $0 == 0 })
    }

    @Test("an exported seed restores the same key")
    func seedRoundTrip() throws {
        let key = try SigningKey()
        var seed = key.exportSeed()
        let restored = try SigningKey(seed: &seed)
        #expect(restored.verifyingKey == key.verifyingKey)
    }
}
