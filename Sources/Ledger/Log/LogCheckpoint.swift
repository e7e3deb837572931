import Foundation

/// A transparency log checkpoint (c2sp.org/tlog-checkpoint): the note text naming the log (its
/// origin), the tree size and the root hash, one per line, and optional extension lines.
public struct LogCheckpoint: Sendable, Equatable {
    public var origin: String
    public var size: UInt64
    public var root: MerkleTree.Hash
    public var extensions: [String]

    public init(origin: String, size: UInt64, root: MerkleTree.Hash, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// The note text, ending in a newline.
    public var text: String {
        ([origin, String(size), Data(root).base64EncodedString()] + extensions).map { $0 + "\n" }.joined()
    }

    /// Reads a note text; nil when it is not a checkpoint (fewer than three lines, an empty line,
    /// a size with leading zeros, a root that is not 32 bytes of base64).
    public init?(text: String) {
        guard text.hasSuffix("\n") else { return nil }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3, lines.allSatisfy({ !$0.isEmpty }), let size = UInt64(lines[1]), String(size) == lines[1],
            let root = Data(base64Encoded: lines[2]), root.count == MerkleTree.hashBytes
        else { return nil }
        self.init(origin: lines[0], size: size, root: [UInt8](root), extensions: Array(lines.dropFirst(3)))
    }
}
