import Sodium
import TestSupport
import Testing

/// The primitives a passphrase-protected key export shares with a browser's WebCrypto.
struct BrowserInteropTests {
    @Test(
        "PBKDF2-HMAC-SHA256 gives RFC 7914's answers (first 32 bytes)",
        arguments: [
            ("passwd", "salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"),
            ("Password", "NaCl", 80_000, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"),
        ] as [(String, String, Int, String)])
    func pbkdf2(_ password: String, _ salt: String, _ iterations: Int, _ expected: String) {
        #expect(HexString.of(PBKDF2.sha256(password: Array(password.utf8), salt: Array(salt.utf8), iterations: iterations).copyBytes()) == expected)
    }

    @Test("AES-256-GCM opens what it sealed, and refuses a changed byte, another key or other additional data")
    func aesGCM() throws {
        try #require(AES256GCM.isAvailable, "this CPU lacks AES instructions")
        var keyBytes = [UInt8](repeating: 9, count: 32)
        let key = SecretBytes(consuming: &keyBytes)
        let nonce = [UInt8](repeating: 1, count: 12)
        let sealed = try AES256GCM.seal(Array("seed".utf8), key: key, nonce: nonce, associatedData: Array("header".utf8))
        #expect(sealed.count == 4 + 16)
        #expect(try AES256GCM.open(sealed, key: key, nonce: nonce, associatedData: Array("header".utf8)) == Array("seed".utf8))
        var changed = sealed
        changed[0] ^= 1
        #expect(throws: SodiumError.self) { try AES256GCM.open(changed, key: key, nonce: nonce, associatedData: Array("header".utf8)) }
        #expect(throws: SodiumError.self) { try AES256GCM.open(sealed, key: key, nonce: nonce, associatedData: Array("Header".utf8)) }
        var otherBytes = [UInt8](repeating: 8, count: 32)
        let other = SecretBytes(consuming: &otherBytes)
        #expect(throws: SodiumError.self) { try AES256GCM.open(sealed, key: other, nonce: nonce, associatedData: Array("header".utf8)) }
    }
}
