import Consent
import Foundation
import Sodium

/// A person's signing key, sealed under a passphrase in a form the browser's WebCrypto can open
/// (`mydata key export`, read by the dashboard and by `mydata key import`): PBKDF2-HMAC-SHA256
/// derives an AES-256-GCM key that seals the 32-byte Ed25519 seed; the format, id and public
/// key are authenticated with it. See docs/dashboard.md for why not Argon2id.
public struct KeyExport: Codable, Sendable, Equatable {
    public static let formatName = "mydata-key-export-v1"
    /// PBKDF2 rounds: OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
    public static let iterations = 600_000
    /// The bounds an export file's rounds must keep to when read (a file cannot make us spin).
    public static let iterationsRange = 100_000...10_000_000

    public struct KDF: Codable, Sendable, Equatable {
        public var name: String
        public var iterations: Int
        public var salt: String
    }
    public struct Cipher: Codable, Sendable, Equatable {
        public var name: String
        public var nonce: String
    }

    public var format: String
    public var id: String
    public var publicKey: String
    public var kdf: KDF
    public var cipher: Cipher
    public var ciphertext: String

    /// The bytes the AES-GCM tag covers besides the seed.
    var header: [UInt8] { Array("\(format)\n\(id)\n\(publicKey)\n".utf8) }

    /// `identity`'s signing key sealed under `passphrase`, which is zeroed.
    public static func make(_ identity: Identity, passphrase: inout [UInt8], iterations: Int = iterations) throws -> KeyExport {
        defer { Sodium.zero(&passphrase) }
        let salt = Sodium.randomBytes(16), nonce = Sodium.randomBytes(AES256GCM.nonceBytes)
        var export = KeyExport(
            format: formatName, id: identity.id, publicKey: Base64.encode(identity.signingKey.verifyingKey.bytes),
            kdf: KDF(name: "PBKDF2-HMAC-SHA256", iterations: iterations, salt: Base64.encode(salt)),
            cipher: Cipher(name: "AES-256-GCM", nonce: Base64.encode(nonce)), ciphertext: "")
        let key = PBKDF2.sha256(password: passphrase, salt: salt, iterations: iterations)
        var seed = identity.signingKey.exportSeed()
        defer { Sodium.zero(&seed) }
        export.ciphertext = Base64.encode(try AES256GCM.seal(seed, key: key, nonce: nonce, associatedData: export.header))
        return export
    }

    /// The identity in an export file, opened with `passphrase` (zeroed), with a fresh box key
    /// (a person's box key is never used; parties do not export their keys).
    ///
    /// - Throws: `KeyFileError` saying what is wrong: not an export, wrong passphrase, a key
    ///   that is not the id's.
    public static func open(_ data: Data, passphrase: inout [UInt8]) throws -> Identity {
        defer { Sodium.zero(&passphrase) }
        guard let export = try? JSONDecoder().decode(KeyExport.self, from: data), export.format == formatName,
            export.kdf.name == "PBKDF2-HMAC-SHA256", export.cipher.name == "AES-256-GCM", iterationsRange.contains(export.kdf.iterations),
            let salt = Base64.decode(export.kdf.salt), let nonce = Base64.decode(export.cipher.nonce), nonce.count == AES256GCM.nonceBytes,
            let sealed = Base64.decode(export.ciphertext)
        else {
            throw KeyFileError("not a \(formatName) file (make one with `mydata key export`)")
        }
        let key = PBKDF2.sha256(password: passphrase, salt: salt, iterations: export.kdf.iterations)
        var seed: [UInt8]
        do { seed = try AES256GCM.open(sealed, key: key, nonce: nonce, associatedData: export.header) } catch {
            throw KeyFileError("the passphrase does not open this export, or the file was changed")
        }
        let signingKey = try SigningKey(seed: &seed)
        guard Base64.encode(signingKey.verifyingKey.bytes) == export.publicKey,
            Identifiers.subjectID(signingKey: signingKey.verifyingKey) == export.id
        else {
            throw KeyFileError("the key in the export is not the key of \(export.id)")
        }
        return Identity(id: export.id, signingKey: signingKey, boxKey: try BoxSecretKey())
    }
}
