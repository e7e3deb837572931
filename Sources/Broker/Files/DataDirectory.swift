import Consent
import Foundation
import Sodium

/// The files of one broker's data directory.
///
/// ```
/// ledger.sqlite        events, checkpoints, projections (SQLite, WAL)
/// ledger.id            the ledger's identity: the broker key and event 1's hash (`LedgerIdentity`)
/// keys/broker.key      the broker's secret keys (mode 0600, never leave the host)
/// keys/broker.pub      the broker's public keys, to hand to anyone who verifies receipts
/// keys/broker.vkey     the broker's log verifier key (C2SP vkey), to hand to witnesses and monitors
/// keys/<party>.key     demo parties' secret keys (demo only: real parties keep their own)
/// ```
public struct DataDirectory: Sendable {
    public let url: URL

    public init(_ path: String) {
        url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    }

    public var ledgerPath: String { url.appendingPathComponent("ledger.sqlite").path }
    /// Which ledger this directory belongs to (`LedgerIdentity`), written by `admin init`.
    public var ledgerIdentityURL: URL { url.appendingPathComponent("ledger.id") }
    public var keysURL: URL { url.appendingPathComponent("keys", isDirectory: true) }
    public var brokerKeyURL: URL { keysURL.appendingPathComponent("broker.key") }
    public var brokerPublicKeyURL: URL { keysURL.appendingPathComponent("broker.pub") }
    /// The broker's transparency log verifier key (a C2SP vkey), written by `admin init`.
    public var brokerVKeyURL: URL { keysURL.appendingPathComponent("broker.vkey") }

    public func partyKeyURL(_ id: String) -> URL { keysURL.appendingPathComponent("\(id).key") }
    /// The key-encryption key that wraps every person's data key (mode 0600). Every broker of a
    /// deployment needs the same one.
    public var vaultKeyURL: URL { keysURL.appendingPathComponent("vault.kek") }

    /// The key-encryption key. Only `admin init` creates it (`create: true`); every other
    /// command needs the deployment's own file, so a host never silently makes another one.
    public func vaultKey(create: Bool = false) throws -> SymmetricKey {
        let file: Data?
        do { file = try InputFile.read(vaultKeyURL.path, bytesMax: InputLimits.vaultKeyFileBytesMax) } catch {
            throw KeyFileError("\(vaultKeyURL.path) is damaged: larger than \(InputLimits.vaultKeyFileBytesMax) bytes")
        }
        if let data = file {
            guard var bytes = Base64.decode(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw KeyFileError("\(vaultKeyURL.path) is damaged: not base64")
            }
            return try SymmetricKey(consuming: &bytes)
        }
        guard create else {
            throw KeyFileError("no \(vaultKeyURL.path): run `mydata admin init`, or copy the deployment's vault.kek here (mode 0600)")
        }
        let key = try SymmetricKey()
        var bytes = key.copyBytes()
        defer { Sodium.zero(&bytes) }
        guard
            FileManager.default.createFile(
                atPath: vaultKeyURL.path, contents: Data(Base64.encode(bytes).utf8),
                attributes: [.posixPermissions: 0o600])
        else {
            throw KeyFileError("cannot write \(vaultKeyURL.path)")
        }
        return key
    }
    /// Present when the ledger lives in PostgreSQL: names it (without password), so a command that
    /// forgets `--store` stops instead of starting an empty SQLite ledger.
    public var storeMarkerURL: URL { url.appendingPathComponent("store") }

    /// The PostgreSQL store this directory's ledger lives in, if the marker says so.
    public var postgresMarker: String? {
        (try? String(contentsOf: storeMarkerURL, encoding: .utf8)).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Whether `admin init` has run here.
    public var isInitialised: Bool { FileManager.default.fileExists(atPath: brokerKeyURL.path) }

    /// Creates the directory (mode 0700).
    public func create() throws {
        try FileManager.default.createDirectory(at: keysURL, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // The ledger and keys are for the broker's operator only.
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path)
    }

    /// Writes public keys as JSON (for `Keys/` and `keys/*.pub`).
    public static func writePublicKeys(_ keys: PublicKeys, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(keys).write(to: url, options: .atomic)
    }

    /// Reads public keys written by `writePublicKeys`.
    /// A public key file (`Keys/README.md`): `signingKey` and `boxKey` required, `id` taken from
    /// `id` when the file has none (a party's file before registration), `role` and `name` optional.
    ///
    /// - Throws: `KeyFileError` naming the file and what it lacks.
    public static func readPublicKeys(_ url: URL, id fallbackID: String? = nil) throws -> PublicKeys {
        let file: Data?
        do { file = try InputFile.read(url.path, bytesMax: InputLimits.keyFileBytesMax) } catch {
            throw KeyFileError("\(url.path) is larger than \(InputLimits.keyFileBytesMax) bytes: not a public key file")
        }
        guard let data = file else {
            throw KeyFileError("no public key file at \(url.path)")
        }
        struct Shape: Decodable {
            var id: String?, signingKey: String?, boxKey: String?, role: String?, name: String?
        }
        guard let shape = try? JSONDecoder().decode(Shape.self, from: data) else {
            throw KeyFileError("\(url.path) is not a public key file: not a JSON object of strings (see Keys/README.md)")
        }
        let missing = [("signingKey", shape.signingKey), ("boxKey", shape.boxKey), ("id", shape.id ?? fallbackID)].filter { $0.1 == nil }
        guard missing.isEmpty, let id = shape.id ?? fallbackID, let signingKey = shape.signingKey, let boxKey = shape.boxKey else {
            throw KeyFileError(
                "\(url.path) lacks \(missing.map { "\"\($0.0)\"" }.joined(separator: " and ")); a public key file has \"signingKey\" and \"boxKey\" (base64), see Keys/README.md"
            )
        }
        return PublicKeys(id: id, signingKey: signingKey, boxKey: boxKey, role: shape.role, name: shape.name)
    }
}
