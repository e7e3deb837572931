import Consent
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Sodium

/// Key files: an identity's secrets, either sealed under a passphrase (Argon2id, then
/// XChaCha20-Poly1305) or, for the broker's and demo parties' keys in a data directory, stored
/// with owner-only permissions. Public keys stay readable in the file.
public enum KeyFile {
    /// The format tag in every key file.
    public static let format = "mydata-key-v1"

    struct Contents: Codable {
        var format: String
        var id: String
        var signingKey: String
        var boxKey: String
        /// `argon2id-xchacha20poly1305` or `none`.
        var protection: String
        var kdf: KDF?
        /// Ed25519 seed ‖ X25519 secret: sealed, or plain base64 when `protection` is `none`.
        var secret: String

        struct KDF: Codable {
            var salt: String
            var opsLimit: UInt64
            var memLimit: UInt64
        }
    }

    /// Writes `identity` to `url` with mode 0600, replacing any file atomically.
    ///
    /// - Parameter passphrase: seals the secret when given; zeroed after use.
    public static func write(
        _ identity: Identity, to url: URL, passphrase: inout [UInt8]?,
        cost: Argon2id.Cost = .interactive
    ) throws {
        defer { if passphrase != nil { Sodium.zero(&passphrase!) } }
        let pub = identity.publicKeys
        var secret = identity.signingKey.exportSeed() + identity.boxKey.copyBytes()
        defer { Sodium.zero(&secret) }
        var contents = Contents(
            format: format, id: identity.id, signingKey: pub.signingKey, boxKey: pub.boxKey,
            protection: "none", kdf: nil, secret: "")
        if let pass = passphrase {
            let salt = Sodium.randomBytes(Argon2id.saltBytes)
            let key = try Argon2id.deriveKey(passphrase: pass, salt: salt, cost: cost)
            contents.protection = "argon2id-xchacha20poly1305"
            contents.kdf = .init(salt: Base64.encode(salt), opsLimit: cost.opsLimit, memLimit: cost.memLimit)
            contents.secret = Base64.encode(XChaCha20Poly1305.seal(secret, key: key, associatedData: associatedData(contents)))
        } else {
            contents.secret = Base64.encode(secret)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data = try encoder.encode(contents)
        defer { data.resetBytes(in: 0..<data.count) }
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let temp = url.appendingPathExtension("tmp")
        guard FileManager.default.createFile(atPath: temp.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw KeyFileError("cannot write \(temp.path); check the directory's permissions")
        }
        guard rename(temp.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: temp)
            throw KeyFileError("cannot move the new key file into \(url.path) (errno \(errno))")
        }
    }

    /// Whether the file at `url` is sealed under a passphrase.
    public static func isProtected(_ url: URL) throws -> Bool {
        try readContents(url).protection != "none"
    }

    /// The public keys in the file, without touching the secret.
    public static func publicKeys(_ url: URL) throws -> PublicKeys {
        let c = try readContents(url)
        return PublicKeys(id: c.id, signingKey: c.signingKey, boxKey: c.boxKey)
    }

    /// Reads an identity, asking `passphrase` only when the file is sealed.
    ///
    /// - Throws: `KeyFileError` when the file is missing or malformed or the passphrase is wrong.
    public static func read(_ url: URL, passphrase: () throws -> [UInt8]) throws -> Identity {
        try identity(from: try readContents(url), path: url.path, passphrase: passphrase)
    }

    /// Reads an identity from a key file's bytes, already read; `path` names the file in errors.
    ///
    /// - Throws: `KeyFileError` when the bytes are not a key file or the passphrase is wrong.
    public static func read(contents data: Data, path: String, passphrase: () throws -> [UInt8]) throws -> Identity {
        try identity(from: try contents(data, path: path), path: path, passphrase: passphrase)
    }

    /// The public keys in a key file's bytes, already read; `path` names the file in errors.
    public static func publicKeys(contents data: Data, path: String) throws -> PublicKeys {
        let c = try contents(data, path: path)
        return PublicKeys(id: c.id, signingKey: c.signingKey, boxKey: c.boxKey)
    }

    private static func identity(from c: Contents, path: String, passphrase: () throws -> [UInt8]) throws -> Identity {
        guard var blob = Base64.decode(c.secret) else { throw KeyFileError("\(path) is damaged: the secret is not base64") }
        defer { Sodium.zero(&blob) }
        var secret: [UInt8]
        switch c.protection {
        case "none":
            secret = blob
        case "argon2id-xchacha20poly1305":
            guard let kdf = c.kdf, let salt = Base64.decode(kdf.salt) else { throw KeyFileError("\(path) is damaged: no KDF parameters") }
            try checkCost(kdf, path: path)
            var pass = try passphrase()
            defer { Sodium.zero(&pass) }
            let key = try Argon2id.deriveKey(passphrase: pass, salt: salt, cost: .init(opsLimit: kdf.opsLimit, memLimit: kdf.memLimit))
            do {
                secret = try XChaCha20Poly1305.open(blob, key: key, associatedData: associatedData(c))
            } catch {
                throw KeyFileError("wrong passphrase for \(path) (or the file was changed)")
            }
        default:
            throw KeyFileError("\(path) uses protection '\(c.protection)', which this version does not know")
        }
        defer { Sodium.zero(&secret) }
        guard secret.count == 64 else { throw KeyFileError("\(path) is damaged: the secret has \(secret.count) bytes, not 64") }
        var seed = Array(secret[0..<32])
        var box = Array(secret[32..<64])
        let identity = Identity(id: c.id, signingKey: try SigningKey(seed: &seed), boxKey: try BoxSecretKey(consuming: &box))
        guard identity.publicKeys.signingKey == c.signingKey, identity.publicKeys.boxKey == c.boxKey else {
            throw KeyFileError("\(path) is damaged: its secret does not match its public keys")
        }
        return identity
    }

    /// Refuses KDF parameters beyond `InputLimits`, before any passphrase is asked for: a changed
    /// file must not make the CLI spin or allocate without end.
    private static func checkCost(_ kdf: Contents.KDF, path: String) throws {
        let passesMax = InputLimits.kdfOpsLimitMax, memoryMax = InputLimits.kdfMemoryBytesMax
        guard (1...passesMax).contains(kdf.opsLimit), (Argon2id.memoryBytesMin...memoryMax).contains(kdf.memLimit) else {
            throw KeyFileError(
                "\(path) asks Argon2id for \(kdf.opsLimit) passes and \(kdf.memLimit) bytes of memory; "
                    + "a key file may ask for 1 to \(passesMax) passes and at most \(memoryMax / 1_048_576) MiB "
                    + "(`mydata key init` writes 2 passes and 64 MiB): the file was changed or was not written by mydata")
        }
    }

    private static func readContents(_ url: URL) throws -> Contents {
        let bytes: Data?
        do { bytes = try InputFile.read(url.path, bytesMax: InputLimits.keyFileBytesMax) } catch {
            throw KeyFileError("\(url.path) is larger than \(InputLimits.keyFileBytesMax) bytes: not a key file")
        }
        guard let data = bytes else {
            throw KeyFileError("no key file at \(url.path); create one with `mydata key init`")
        }
        return try contents(data, path: url.path)
    }

    private static func contents(_ data: Data, path: String) throws -> Contents {
        guard let c = try? JSONDecoder().decode(Contents.self, from: data), c.format == format else {
            throw KeyFileError("\(path) is not a \(format) key file")
        }
        return c
    }

    /// Binds the ciphertext to the file's identity and public keys.
    private static func associatedData(_ c: Contents) -> [UInt8] {
        Array("\(format)\u{0}\(c.id)\u{0}\(c.signingKey)\u{0}\(c.boxKey)".utf8)
    }
}

/// A key file that cannot be used, with what to do.
public struct KeyFileError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
