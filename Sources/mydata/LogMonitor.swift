import Broker
import Consent
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import MyDataWire
import Sodium

/// The person's CLI as a monitor of a broker's transparency log: it remembers, in its config
/// directory, the newest checkpoint it verified for each log (by origin, wherever the broker
/// answers), with the log's key, and on every contact checks
/// that the broker's current checkpoint is signed by the same log key and is a consistent
/// extension of the remembered one (RFC 9162 consistency proof). A log that shrank, forked or
/// changed its key stops the command with `ExitCodes.logInconsistent`, showing both checkpoints.
struct LogMonitor {
    let baseURL: URL
    let stateDirectory: URL
    let trust: ReceiptVerifier.LogTrust

    /// What the monitor keeps per broker.
    struct Remembered: Codable {
        var format = "mydata-log-state-v1"
        var broker: String
        var vkey: String
        /// The newest verified checkpoint note (with whatever cosignatures it had).
        var note: String
    }

    /// The outcome of one check.
    struct Report {
        var origin: String
        var size: UInt64
        /// The size remembered before (nil: first contact).
        var previous: UInt64?
        /// The witnesses whose cosignatures verified on the current checkpoint.
        var cosigners: [String]
        /// False when the checkpoint lacks the witness quorum: it was checked for consistency
        /// but not remembered, so the next check starts from the last witnessed one.
        var remembered: Bool
        /// Whether the log key was taken from the broker on this first contact (trust on first use).
        var keyFromBroker: Bool
        /// The log key the checkpoint was verified with.
        var verifier: NoteVerifier
    }

    init(baseURL: URL, configDirectory: URL, trust: ReceiptVerifier.LogTrust) {
        self.baseURL = baseURL
        self.stateDirectory = configDirectory.appendingPathComponent("logs", isDirectory: true)
        self.trust = trust
    }

    /// The broker as the state file names it: scheme, host and port.
    var brokerName: String {
        let c = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)
        return "\(c?.scheme ?? "http")://\(c?.host ?? "")" + (c?.port.map { ":\($0)" } ?? "")
    }

    /// The state of the log with `origin`.
    func stateURL(origin: String) -> URL {
        stateDirectory.appendingPathComponent(Hex.encode(SHA2.sha256(Array(origin.utf8))) + ".json")
    }

    /// Checks the broker's current checkpoint against the remembered one and remembers it.
    ///
    /// - Throws: `LogInconsistency` when the log shrank, forked or changed key; `CLIError` when
    ///   the broker cannot be reached or serves something that is not a signed checkpoint.
    /// - Returns: nil when the broker has signed no checkpoint yet (nothing to check).
    func check() async throws -> Report? {
        // The origin the broker names picks the state; the state's key (or the one given) must
        // have signed the checkpoint.
        guard let served = try await fetchText("v1/log/checkpoint", absentOn404: true) else { return nil }
        guard let origin = served.split(separator: "\n", maxSplits: 1).first.map(String.init), LogOrigin.isValid(origin) else {
            throw CLIError(message: "the broker at \(brokerName) serves a log checkpoint without an origin line", exitCode: ExitCodes.failure)
        }
        // The log this broker URL served before: a broker that starts another log (another origin,
        // or another key) would otherwise look like a first contact.
        let seen = try readBrokerRecord()
        if let seen, seen.origin != origin {
            throw LogInconsistency(
                "the broker at \(brokerName) served the log \(seen.origin) before and now serves the log \(origin)", remembered: nil,
                current: served)
        }
        let remembered = try readState(origin: origin)
        let (verifier, keyFromBroker) = try await logVerifier(origin: origin, remembered: remembered)
        if let seen, seen.vkey != verifier.vkey {
            throw LogInconsistency(
                "the broker at \(brokerName) signed its log with \(seen.vkey) before and now with \(verifier.vkey)", remembered: nil, current: served)
        }
        guard let (text, note, checkpoint) = try await current(verifier: verifier, remembered: remembered?.note) else { return nil }
        let cosigners = trust.witnesses.filter { note.isSigned(by: $0) }.map(\.name)
        var previous: UInt64?
        if let remembered, let old = SignedNote.parse(Array(remembered.note.utf8)).flatMap({ LogCheckpoint(text: $0.text) }) {
            previous = old.size
            try await requireExtension(of: old, evidence: remembered.note, by: checkpoint, evidence: text)
        }
        let witnessed = cosigners.count >= trust.quorum
        if witnessed, remembered?.note != text {
            try writeState(Remembered(broker: brokerName, vkey: verifier.vkey, note: text), origin: checkpoint.origin)
        }
        if seen == nil { try writeBrokerRecord(BrokerRecord(broker: brokerName, origin: origin, vkey: verifier.vkey)) }
        return Report(
            origin: checkpoint.origin, size: checkpoint.size, previous: previous, cosigners: cosigners, remembered: witnessed,
            keyFromBroker: keyFromBroker, verifier: verifier)
    }

    /// The broker's current checkpoint, signed by `verifier`; nil when it has none yet.
    func current(verifier: NoteVerifier, remembered: String?) async throws -> (String, SignedNote, LogCheckpoint)? {
        guard let text = try await fetchText("v1/log/checkpoint", absentOn404: true) else { return nil }
        guard let note = SignedNote.parse(Array(text.utf8)), let checkpoint = LogCheckpoint(text: note.text) else {
            throw CLIError(message: "the broker at \(brokerName) serves a log checkpoint that is not a signed note", exitCode: ExitCodes.failure)
        }
        guard checkpoint.origin == verifier.name, note.isSigned(by: verifier) else {
            throw LogInconsistency("the broker's log checkpoint is not signed by the log key \(verifier.vkey)", remembered: remembered, current: text)
        }
        return (text, note, checkpoint)
    }

    /// Throws `LogInconsistency` unless `new` is `old` or a consistent extension of it.
    func requireExtension(of old: LogCheckpoint, evidence oldText: String, by new: LogCheckpoint, evidence newText: String) async throws {
        guard new.size >= old.size else {
            throw LogInconsistency(
                "the log shrank from \(old.size) to \(new.size) entries: the broker rewrote its history", remembered: oldText, current: newText)
        }
        if new.size == old.size {
            guard new.root == old.root else {
                throw LogInconsistency(
                    "the log has another root at the same size \(old.size): the broker forked its history", remembered: oldText, current: newText)
            }
        } else if old.size > 0 {
            let proof = try await consistencyProof(from: old.size, to: new.size)
            guard MerkleTree.verifyConsistency(from: old.size, to: new.size, proof: proof, oldRoot: old.root, newRoot: new.root) else {
                throw LogInconsistency(
                    "the log of \(new.size) entries does not extend the one of \(old.size) you saw: the broker rewrote its history",
                    remembered: oldText, current: newText)
            }
        }
    }

    /// The log key: the one given (`--log-vkey`), else the remembered one, else the broker's own
    /// answer on first contact. A given or served key other than the remembered one is an
    /// inconsistency: a log keeps its key.
    private func logVerifier(origin: String, remembered: Remembered?) async throws -> (NoteVerifier, Bool) {
        let pinned = remembered.flatMap { NoteVerifier(vkey: $0.vkey) }
        if let given = trust.log {
            guard given.name == origin else {
                throw LogInconsistency(
                    "the broker at \(brokerName) serves the log \(origin), not the log \(given.name) whose key you gave", remembered: nil,
                    current: nil)
            }
            if let pinned, pinned != given {
                throw LogInconsistency(
                    "the log key you gave (\(given.vkey)) is not the one remembered for \(brokerName) (\(pinned.vkey))",
                    remembered: remembered?.note, current: nil)
            }
            return (given, false)
        }
        if let pinned { return (pinned, false) }
        let served = try await fetchText("v1/log/vkey").trimmingCharacters(in: .whitespacesAndNewlines)
        guard let verifier = NoteVerifier(vkey: served), verifier.kind == .ed25519, verifier.name == origin else {
            throw CLIError(message: "the broker at \(brokerName) serves no usable log vkey for its log \(origin)", exitCode: ExitCodes.failure)
        }
        // A copy of the broker's public key the person holds (`$MYDATA_BROKER_KEY`) must be the log's key.
        if let path = ProcessInfo.processInfo.environment["MYDATA_BROKER_KEY"], !path.isEmpty {
            let key = try DataDirectory.readPublicKeys(URL(fileURLWithPath: path)).verifyingKey()
            guard key == verifier.key else {
                throw LogInconsistency(
                    "the broker at \(brokerName) signs its log with another key than the broker key in \(path)", remembered: nil, current: nil)
            }
        }
        return (verifier, true)
    }

    func consistencyProof(from: UInt64, to: UInt64) async throws -> [MerkleTree.Hash] {
        struct Proof: Decodable { var hashes: [String] }
        let text = try await fetchText("v1/log/proof/consistency?from=\(from)&to=\(to)")
        guard let proof = try? JSONDecoder().decode(Proof.self, from: Data(text.utf8)), proof.hashes.count <= 128 else {
            throw CLIError(message: "the broker at \(brokerName) serves no consistency proof from \(from) to \(to)", exitCode: ExitCodes.failure)
        }
        return try proof.hashes.map {
            guard let hash = Data(base64Encoded: $0), hash.count == MerkleTree.hashBytes else {
                throw CLIError(message: "the broker's consistency proof holds a hash that is not 32 bytes of base64", exitCode: ExitCodes.failure)
            }
            return [UInt8](hash)
        }
    }

    func fetchText(_ path: String) async throws -> String {
        String(decoding: try await fetch(path, bytesMax: Limits.noteBytesMax * 4)!, as: UTF8.self)
    }

    func fetchText(_ path: String, absentOn404: Bool) async throws -> String? {
        try await fetch(path, bytesMax: Limits.noteBytesMax * 4, absentOn404: absentOn404).map { String(decoding: $0, as: UTF8.self) }
    }

    /// An unsigned GET of a public log endpoint; anything but 200 (or a 404 when `absentOn404`:
    /// nil) is the broker's failure.
    func fetch(_ path: String, bytesMax: Int, absentOn404: Bool = false) async throws -> Data? {
        guard let url = URL(string: path, relativeTo: baseURL.appendingPathComponent("/")) else {
            throw CLIError(message: "cannot build a URL for \(path) under \(baseURL)", exitCode: ExitCodes.failure)
        }
        var request = URLRequest(url: url)
        request.timeoutInterval = 30
        let status: Int, data: Data
        do { (status, data) = try await BoundedFetch.send(request, bytesMax: bytesMax) } catch let error as BoundedFetch.TooLarge {
            throw CLIError(message: "the broker's answer to /\(path) is larger than \(error.bytesMax) bytes", exitCode: ExitCodes.failure)
        } catch {
            throw CLIError(message: "cannot reach the broker at \(brokerName): \(error.localizedDescription)", exitCode: ExitCodes.storeProblem)
        }
        if status == 404, absentOn404 { return nil }
        guard status == 200 else {
            throw CLIError(
                message: "the broker at \(brokerName) answered \(status) to GET /\(path): \(String(decoding: data.prefix(300), as: UTF8.self))",
                exitCode: status == 404 ? ExitCodes.failure : ExitCodes.storeProblem)
        }
        return data
    }

    /// Which log a broker URL served, remembered at the first contact.
    struct BrokerRecord: Codable {
        var format = "mydata-log-broker-v1"
        var broker: String
        var origin: String
        var vkey: String
    }

    var brokerRecordURL: URL {
        stateDirectory.appendingPathComponent("broker-" + Hex.encode(SHA2.sha256(Array(brokerName.utf8))) + ".json")
    }

    private func readBrokerRecord() throws -> BrokerRecord? {
        guard let data = try InputFile.read(brokerRecordURL.path, bytesMax: 4096) else { return nil }
        guard let record = try? JSONDecoder().decode(BrokerRecord.self, from: data), record.format == "mydata-log-broker-v1" else {
            throw CLIError(message: "\(brokerRecordURL.path) is damaged: delete it to trust \(brokerName)'s log anew", exitCode: ExitCodes.failure)
        }
        return record
    }

    private func writeBrokerRecord(_ record: BrokerRecord) throws {
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(record).write(to: brokerRecordURL, options: .atomic)
    }

    private func readState(origin: String) throws -> Remembered? {
        let url = stateURL(origin: origin)
        guard let data = try InputFile.read(url.path, bytesMax: Limits.noteBytesMax * 2) else { return nil }
        guard let state = try? JSONDecoder().decode(Remembered.self, from: data), state.format == "mydata-log-state-v1" else {
            throw CLIError(
                message: "\(url.path) is damaged: delete it to trust the log \(origin) anew (you lose the history you could check)",
                exitCode: ExitCodes.failure)
        }
        return state
    }

    private func writeState(_ state: Remembered, origin: String) throws {
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(state).write(to: stateURL(origin: origin), options: .atomic)
    }
}

/// The broker's log is not a consistent extension of what this CLI saw before (or not signed by
/// the key it remembers): the evidence is both checkpoints.
struct LogInconsistency: Error, CustomStringConvertible {
    let reason: String
    let remembered: String?
    let current: String?

    init(_ reason: String, remembered: String?, current: String?) {
        self.reason = reason
        self.remembered = remembered
        self.current = current
    }

    var description: String {
        var text = "the broker's transparency log is inconsistent: \(reason)."
        if let remembered { text += "\n\nThe checkpoint you verified before:\n" + remembered }
        if let current { text += "\nThe checkpoint the broker serves now:\n" + current }
        return text + "\nKeep both as evidence; do not trust this broker's proofs until its operator explains."
    }
}
