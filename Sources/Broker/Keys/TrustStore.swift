import Consent
import Foundation
import Ledger

/// `Keys/`: the public trust store, a `<id>.pub` file per party (and `broker.pub`), loaded when
/// the server starts. The files are the operator's declared keys; the ledger records them:
/// a party not yet registered is registered, a party whose keys differ gets `party.key-rotated`.
/// Suspension and callbacks stay commands; a party missing from the folder is left as it is.
public struct TrustStore: Sendable {
    /// At most this many files, each at most this many bytes: the folder is read whole at start.
    public static let filesMax = 10_000
    public static let fileBytesMax = 4_096

    public let directory: URL
    /// The parties' files, sorted by id (`broker.pub` apart).
    public let parties: [PublicKeys]
    /// `broker.pub`, when the folder publishes the broker's key.
    public let broker: PublicKeys?

    /// What loading changed in the ledger.
    public struct Outcome: Sendable, Equatable {
        public var registered: [String] = []
        public var rotated: [String] = []
        public var unchanged: [String] = []
    }

    /// Reads every `*.pub` file of `directory`; other files (README.md) are ignored.
    ///
    /// - Throws: `KeyFileError` naming the file and what to fix.
    public static func load(_ directory: URL) throws -> TrustStore {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw KeyFileError("cannot read the trust store \(directory.path): \(error.localizedDescription)")
        }
        let files = names.filter { $0.hasSuffix(".pub") }.sorted()
        guard files.count <= filesMax else { throw KeyFileError("\(directory.path) holds \(files.count) .pub files; at most \(filesMax)") }
        var parties: [PublicKeys] = []
        var broker: PublicKeys?
        for file in files {
            let url = directory.appendingPathComponent(file)
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
            guard size <= fileBytesMax else { throw KeyFileError("\(url.path) is \(size) bytes; a public key file is at most \(fileBytesMax)") }
            let keys = try DataDirectory.readPublicKeys(url)
            let stem = String(file.dropLast(4))
            guard keys.id == stem else { throw KeyFileError("\(url.path) names id '\(keys.id)'; rename the file to \(keys.id).pub or fix its id") }
            if stem == AuthorID.broker { broker = keys; continue }
            guard keys.role.flatMap(PartyRole.init(rawValue:)) != nil else {
                throw KeyFileError("\(url.path) needs a role: manufacturer or recipient")
            }
            parties.append(keys)
        }
        return TrustStore(directory: directory, parties: parties, broker: broker)
    }

    /// Brings the ledger in line with the files: registers new parties, rotates changed keys.
    /// Checks everything first, so a bad file changes nothing.
    ///
    /// - Throws: `KeyFileError` when `broker.pub` is another broker's key or a file's role
    ///   differs from the registered one; `ConsentError` for a malformed key or id.
    public func apply(to service: BrokerService) async throws -> Outcome {
        if let broker, broker.signingKey != service.identity.publicKeys.signingKey {
            throw KeyFileError(
                "\(directory.path)/broker.pub is another broker's key; publish this broker's keys/broker.pub there, or start without that folder")
        }
        var plan: [(PublicKeys, Party?)] = []
        for keys in parties {
            try BrokerService.checkKeys(keys, of: keys.id)
            let known = try await service.store.party(keys.id)
            if let known, known.role.rawValue != keys.role {
                throw KeyFileError(
                    "\(directory.path)/\(keys.id).pub says role \(keys.role ?? "none") but \(keys.id) is registered as \(known.role.rawValue)")
            }
            if known == nil, !Identifiers.isValidPartyID(keys.id) {
                throw KeyFileError("\(directory.path)/\(keys.id).pub: a party id is 3 to 64 of a-z, 0-9 and '-'")
            }
            plan.append((keys, known))
        }
        var outcome = Outcome()
        for (keys, known) in plan {
            if let known {
                if known.signingKey == keys.signingKey && known.boxKey == keys.boxKey {
                    outcome.unchanged.append(keys.id)
                } else {
                    try await service.rotateKeys(party: keys.id, keys: keys)
                    outcome.rotated.append(keys.id)
                }
            } else {
                try await service.registerParty(id: keys.id, role: PartyRole(rawValue: keys.role!)!, name: keys.name ?? keys.id, keys: keys)
                outcome.registered.append(keys.id)
            }
        }
        return outcome
    }
}
