import Foundation

/// An offline proof that an entry is in the log (c2sp.org/tlog-proof@v1): the entry's index, its
/// inclusion proof, and a checkpoint signed by the log (and perhaps cosigned by witnesses) whose
/// tree holds it. It verifies with the log's vkey and, where wanted, witnesses' vkeys alone.
public struct TlogProof: Sendable, Equatable {
    public static let header = "c2sp.org/tlog-proof@v1"

    /// Opaque, unauthenticated extra data (never trusted).
    public var extra: [UInt8]?
    /// The entry's zero-based leaf index.
    public var index: UInt64
    /// The inclusion proof, leaf side first.
    public var hashes: [MerkleTree.Hash]
    /// The signed checkpoint note, verbatim.
    public var checkpoint: SignedNote

    public init(extra: [UInt8]? = nil, index: UInt64, hashes: [MerkleTree.Hash], checkpoint: SignedNote) {
        self.extra = extra
        self.index = index
        self.hashes = hashes
        self.checkpoint = checkpoint
    }

    /// The proof as text (store it as `.tlog-proof`).
    public var encoded: String {
        var lines = [Self.header]
        if let extra { lines.append("extra " + Data(extra).base64EncodedString()) }
        lines.append("index \(index)")
        lines += hashes.map { Data($0).base64EncodedString() }
        return lines.map { $0 + "\n" }.joined() + "\n" + checkpoint.encoded
    }

    /// Reads a proof; nil when the text is not one (a missing or misordered line, an index with
    /// leading zeros, a hash that is not 32 bytes of base64, more than 63 hashes, a checkpoint
    /// that is not a signed note).
    public static func parse(_ text: String) -> TlogProof? {
        guard text.utf8.count <= Limits.noteBytesMax * 2, let blank = text.range(of: "\n\n") else { return nil }
        var lines = text[..<blank.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)[...]
        guard lines.popFirst() == Substring(header) else { return nil }
        var extra: [UInt8]?
        if let line = lines.first, line.hasPrefix("extra ") {
            guard let bytes = Data(base64Encoded: String(line.dropFirst(6))) else { return nil }
            extra = [UInt8](bytes)
            lines = lines.dropFirst()
        }
        guard let indexLine = lines.popFirst(), indexLine.hasPrefix("index "), let index = UInt64(indexLine.dropFirst(6)),
            String(index) == indexLine.dropFirst(6), lines.count <= 63
        else { return nil }
        var hashes: [MerkleTree.Hash] = []
        for line in lines {
            guard let hash = Data(base64Encoded: String(line)), hash.count == MerkleTree.hashBytes else { return nil }
            hashes.append([UInt8](hash))
        }
        guard let note = SignedNote.parse(Array(text[blank.upperBound...].utf8)) else { return nil }
        return TlogProof(extra: extra, index: index, hashes: hashes, checkpoint: note)
    }

    /// Why a proof does not verify.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Verifies the proof for the entry whose leaf hash is `leafHash` (tlog-proof's four steps):
    /// the checkpoint's origin is `log`'s name and `log` signed it; at least `quorum` of
    /// `witnesses` cosigned it; the inclusion proof binds the leaf to its root.
    ///
    /// - Returns: the checkpoint and the names of the witnesses whose cosignatures verified.
    /// - Throws: `Failure` naming the first check that fails.
    public func verify(
        leafHash: MerkleTree.Hash, log: NoteVerifier, witnesses: [NoteVerifier] = [], quorum: Int = 0
    ) throws -> (
        checkpoint: LogCheckpoint, cosigners: [String]
    ) {
        guard let parsed = LogCheckpoint(text: checkpoint.text) else { throw Failure("the proof's checkpoint is not a tlog checkpoint") }
        guard parsed.origin == log.name else {
            throw Failure(
                "the proof's checkpoint is of the log \(parsed.origin), not of \(log.name) (if you trust that log, give its vkey with --log-vkey)")
        }
        guard checkpoint.isSigned(by: log) else { throw Failure("the proof's checkpoint is not signed by the log's key \(log.vkey)") }
        // Each witness key counts once, however often it is listed.
        var seen = Set<String>()
        let distinct = witnesses.filter { seen.insert($0.vkey).inserted }
        let cosigners = distinct.filter { checkpoint.isSigned(by: $0) }.map(\.name)
        guard cosigners.count >= quorum else {
            throw Failure(
                "the checkpoint has valid cosignatures from \(cosigners.count) of the \(distinct.count) witnesses you trust"
                    + (cosigners.isEmpty ? "" : " (\(cosigners.joined(separator: ", ")))") + ", fewer than the quorum of \(quorum)")
        }
        guard index < parsed.size else {
            throw Failure("the entry's index \(index) is not in the checkpoint's tree of \(parsed.size) entries")
        }
        guard MerkleTree.verifyInclusion(leafHash: leafHash, index: index, size: parsed.size, proof: hashes, root: parsed.root) else {
            throw Failure("the inclusion proof does not lead from the entry to the checkpoint's root: the entry is not in that tree")
        }
        return (parsed, cosigners)
    }
}
