import Foundation
import Consent
import Ledger
import Sodium

/// What a data directory remembers of its ledger, so that a lost ledger is never taken for an
/// empty one: the broker key that started it and the hash of its first event.
///
/// `mydata admin init` writes it (`ledger.id`) when it starts the ledger; every other command
/// checks the ledger it opens against it before doing anything, and only `admin init` creates a
/// ledger. A missing, emptied or foreign ledger is refused with `LedgerIdentityError`.
public struct LedgerIdentity: Codable, Equatable, Sendable {
    /// The format tag in every identity file.
    public static let currentFormat = "mydata-ledger-id-v1"

    public var format: String
    /// The broker's Ed25519 public key (base64), as event 1 names it.
    public var brokerSigningKey: String
    /// Event 1's hash (hex).
    public var firstEventHash: String

    public init(brokerSigningKey: String, firstEventHash: [UInt8]) {
        format = Self.currentFormat
        self.brokerSigningKey = brokerSigningKey
        self.firstEventHash = Hex.encode(firstEventHash)
    }

    /// The identity file in `directory`, or nil when there is none.
    ///
    /// - Throws: `LedgerIdentityError` when the file exists but is not an identity file.
    public static func read(_ directory: DataDirectory) throws -> LedgerIdentity? {
        let url = directory.ledgerIdentityURL
        let data: Data?
        do { data = try InputFile.read(url.path, bytesMax: InputLimits.ledgerIdentityFileBytesMax) } catch {
            throw LedgerIdentityError("\(url.path) is larger than \(InputLimits.ledgerIdentityFileBytesMax) bytes: not a ledger identity file")
        }
        guard let data else { return nil }
        guard let identity = try? JSONDecoder().decode(LedgerIdentity.self, from: data), identity.format == currentFormat else {
            throw LedgerIdentityError("\(url.path) is damaged: not a \(currentFormat) file; restore it from the backup of this data directory")
        }
        return identity
    }

    /// Writes the identity file of `directory` and syncs it, replacing any file atomically.
    public func write(to directory: DataDirectory) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try DurableFile.write(try encoder.encode(self), to: directory.ledgerIdentityURL)
    }

    /// Checks the first event of an opened ledger against this identity.
    ///
    /// - Parameters:
    ///   - first: event 1 of the ledger, nil when the ledger holds no events.
    ///   - location: the ledger's file or database, for the message.
    /// - Throws: `LedgerIdentityError` naming what is wrong and what to do.
    public func check(first: RecordedEvent?, location: String) throws {
        guard let first else {
            throw LedgerIdentityError(
                "the ledger at \(location) holds no events, but this data directory's ledger was started with event 1 "
                    + "\(firstEventHash.prefix(16))…: it was lost or emptied. Restore it from a backup; nothing was changed")
        }
        guard Hex.encode(first.hash) == firstEventHash else {
            throw LedgerIdentityError(
                "the ledger at \(location) is not this data directory's: its event 1 has hash \(Hex.encode(first.hash).prefix(16))…, "
                    + "this directory's ledger starts with \(firstEventHash.prefix(16))…. Point --data-dir or --store at the right one, or restore it from a backup"
            )
        }
    }
}

/// The ledger a command opened is missing, empty, or another one than the data directory's.
public struct LedgerIdentityError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
