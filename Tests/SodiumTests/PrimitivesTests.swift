import Sodium
import TestSupport
import Testing

struct BLAKE2bTests {
    @Test("BLAKE2b-512 of 'abc' is the RFC 7693 appendix A value")
    func rfc7693() {
        #expect(
            HexString.of(BLAKE2b.hash(Array("abc".utf8), outputBytes: 64))
                == "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
    }

    @Test("BLAKE2b-256 matches independently computed answers")
    func known256() {
        #expect(HexString.of(BLAKE2b.hash256([])) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        #expect(
            HexString.of(BLAKE2b.hash256(Array("The quick brown fox jumps over the lazy dog".utf8)))
                == "01718cec35cd3d796dd00020e0bfecb473ad23457d063b75eff29c0ffa2e58a9")
    }
}

struct AEADTests {
    @Test("XChaCha20-Poly1305 gives the draft-irtf-cfrg-xchacha A.3.1 ciphertext and tag")
    func knownAnswer() throws {
        var keyBytes = Array(UInt8(0x80)...UInt8(0x9f))
        let key = try SymmetricKey(consuming: &keyBytes)
        #expect(keyBytes.allSatisfy { $0 == 0 })
        let nonce = Array(UInt8(0x40)...UInt8(0x57))
        let aad = HexString.bytes("50515253c0c1c2c3c4c5c6c7")
        let plaintext = Array(
            "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let blob = XChaCha20Poly1305.seal(plaintext, key: key, associatedData: aad, nonce: nonce)
        #expect(
            HexString.of(Array(blob.dropFirst(24)))
                == "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
                + "c0875924c1c7987947deafd8780acf49")
        #expect(try XChaCha20Poly1305.open(blob, key: key, associatedData: aad) == plaintext)
    }

    @Test("a changed byte, other associated data or another key fails to open")
    func tamperFails() throws {
        let key = try SymmetricKey()
        let blob = XChaCha20Poly1305.seal(Array("telemetry".utf8), key: key, associatedData: Array("sub_1".utf8))
        var changed = blob
        changed[changed.count - 1] ^= 1
        #expect(throws: SodiumError.self) { try XChaCha20Poly1305.open(changed, key: key, associatedData: Array("sub_1".utf8)) }
        #expect(throws: SodiumError.self) { try XChaCha20Poly1305.open(blob, key: key, associatedData: Array("sub_2".utf8)) }
        #expect(throws: SodiumError.self) { try XChaCha20Poly1305.open(blob, key: try SymmetricKey(), associatedData: Array("sub_1".utf8)) }
        #expect(throws: SodiumError.self) { try XChaCha20Poly1305.open([1, 2, 3], key: key) }
    }

    @Test("two seals of the same plaintext differ (random nonces)")
    func randomNonces() throws {
        let key = try SymmetricKey()
        #expect(XChaCha20Poly1305.seal([1, 2, 3], key: key) != XChaCha20Poly1305.seal([1, 2, 3], key: key))
    }
}

struct SealedBoxTests {
    @Test("only the recipient's secret key opens a sealed box")
    func sealOpen() throws {
        let recipient = try BoxSecretKey()
        let box = try SealedBox.seal(Array("records".utf8), to: recipient.publicKey)
        #expect(box.count == 7 + SealedBox.overheadBytes)
        #expect(try SealedBox.open(box, with: recipient) == Array("records".utf8))
        #expect(throws: SodiumError.self) { try SealedBox.open(box, with: try BoxSecretKey()) }
        var changed = box
        changed[40] ^= 1
        #expect(throws: SodiumError.self) { try SealedBox.open(changed, with: recipient) }
    }

    @Test("a box secret key restored from its bytes has the same public key")
    func restore() throws {
        let key = try BoxSecretKey()
        var bytes = key.copyBytes()
        let restored = try BoxSecretKey(consuming: &bytes)
        #expect(restored.publicKey == key.publicKey)
        #expect(bytes.allSatisfy { $0 == 0 })
    }
}

struct Argon2idTests {
    @Test("Argon2id derives the key PyNaCl derives for the same inputs")
    func knownAnswer() throws {
        let key = try Argon2id.deriveKey(
            passphrase: Array("correct horse battery staple".utf8), salt: Array(0..<16),
            cost: .init(opsLimit: 2, memLimit: 67_108_864))
        #expect(HexString.of(key.copyBytes()) == "c05ce4c4dd7e0e45ee6011cc59d068ade47df1b01fc0cf9cd4678bdf68a5b7b0")
    }

    @Test("a salt of the wrong length is refused")
    func badSalt() {
        #expect(throws: SodiumError.self) { try Argon2id.deriveKey(passphrase: [1], salt: [1, 2], cost: .interactive) }
    }
}

struct HelperTests {
    @Test("constant-time comparison tells equal from different, and lengths apart")
    func constantTime() {
        #expect(Sodium.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Sodium.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Sodium.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(Sodium.constantTimeEquals([], []))
    }

    @Test("zeroing overwrites every byte")
    func zeroing() {
        var secret: [UInt8] = [9, 8, 7, 6]
        Sodium.zero(&secret)
        #expect(secret == [0, 0, 0, 0])
    }

    @Test("random bytes are random and of the asked length")
    func random() {
        #expect(Sodium.randomBytes(0).isEmpty)
        #expect(Sodium.randomBytes(32).count == 32)
        #expect(Sodium.randomBytes(32) != Sodium.randomBytes(32))
    }
}

struct SHA2Tests {
    @Test("SHA-256 and SHA-512 of 'abc' are the FIPS 180-2 values")
    func fips() {
        #expect(HexString.of(SHA2.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            HexString.of(SHA2.sha512(Array("abc".utf8)))
                == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
    }
}
