import Sodium

/// The RFC 9162 (section 2.1) Merkle tree over the ledger, with SHA-256: the event at ledger
/// sequence `s` is leaf `s − 1`, and its entry is its 32-byte event hash.
///
/// The tree is read through `node(height, index)`: the hash of the perfect subtree over leaves
/// `index·2^height ..< (index+1)·2^height`. `LogTiles.node` reads it from C2SP tiles; tests read it
/// from the leaves. Every function here asks only for nodes inside the tree size it is given.
public enum MerkleTree {
    public typealias Hash = [UInt8]
    /// A perfect subtree's hash by height and index.
    public typealias NodeReader = (_ height: Int, _ index: UInt64) async throws -> Hash

    public static let hashBytes = 32

    /// `SHA-256(0x00 || entry)`.
    public static func leafHash(_ entry: [UInt8]) -> Hash { SHA2.sha256(prefix: 0, entry) }

    /// `SHA-256(0x01 || left || right)`.
    public static func nodeHash(_ left: Hash, _ right: Hash) -> Hash { SHA2.sha256(prefix: 1, left, right) }

    /// The root of an empty tree: SHA-256 of nothing.
    public static let emptyRoot: Hash = SHA2.sha256([])

    /// The largest power of two smaller than `n` (n > 1).
    static func split(_ n: UInt64) -> UInt64 {
        precondition(n > 1, "only a tree of two leaves or more splits")
        return UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    /// MTH(D[start ..< start+count]) for a range the RFC's recursion reaches: `start` a multiple
    /// of the largest power of two not above `count`.
    static func hash(start: UInt64, count: UInt64, node: NodeReader) async throws -> Hash {
        if count & (count - 1) == 0 {
            let height = count.trailingZeroBitCount
            return try await node(height, start >> height)
        }
        let k = split(count)
        let left = try await hash(start: start, count: k, node: node)
        return nodeHash(left, try await hash(start: start + k, count: count - k, node: node))
    }

    /// The root of the tree of the first `size` leaves.
    public static func root(size: UInt64, node: NodeReader) async throws -> Hash {
        size == 0 ? emptyRoot : try await hash(start: 0, count: size, node: node)
    }

    /// The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 2.1.3.1), leaf side first.
    public static func inclusionProof(index: UInt64, size: UInt64, node: NodeReader) async throws -> [Hash] {
        precondition(index < size, "leaf \(index) is not in a tree of \(size)")
        var path: [Hash] = []
        func walk(_ m: UInt64, start: UInt64, count: UInt64) async throws {
            guard count > 1 else { return }
            let k = split(count)
            if m < k {
                try await walk(m, start: start, count: k)
                path.append(try await hash(start: start + k, count: count - k, node: node))
            } else {
                try await walk(m - k, start: start + k, count: count - k)
                path.append(try await hash(start: start, count: k, node: node))
            }
        }
        try await walk(index, start: 0, count: size)
        return path
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` (RFC 9162
    /// 2.1.4.1); empty when `old` is 0 or equal to `new`.
    public static func consistencyProof(from old: UInt64, to new: UInt64, node: NodeReader) async throws -> [Hash] {
        precondition(old <= new, "a consistency proof goes from a smaller tree to a larger one")
        guard old > 0, old < new else { return [] }
        var proof: [Hash] = []
        func sub(_ m: UInt64, start: UInt64, count: UInt64, whole: Bool) async throws {
            if m == count {
                if !whole { proof.append(try await hash(start: start, count: count, node: node)) }
                return
            }
            let k = split(count)
            if m <= k {
                try await sub(m, start: start, count: k, whole: whole)
                proof.append(try await hash(start: start + k, count: count - k, node: node))
            } else {
                try await sub(m - k, start: start + k, count: count - k, whole: false)
                proof.append(try await hash(start: start, count: k, node: node))
            }
        }
        try await sub(old, start: 0, count: new, whole: true)
        return proof
    }

    /// Whether `proof` shows the leaf with `leafHash` at `index` in the tree of `size` with `root`
    /// (RFC 9162 2.1.3.2).
    public static func verifyInclusion(leafHash: Hash, index: UInt64, size: UInt64, proof: [Hash], root: Hash) -> Bool {
        guard index < size else { return false }
        var fn = index, sn = size - 1, r = leafHash
        for p in proof {
            guard sn > 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                shiftToRightChild(&fn, &sn)
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// RFC 9162's step shared by both verifications: when `fn` is a left child (its lowest bit
    /// clear), shift `fn` and `sn` right together until `fn`'s lowest bit is set or `fn` is 0.
    private static func shiftToRightChild(_ fn: inout UInt64, _ sn: inout UInt64) {
        while fn & 1 == 0 && fn != 0 {
            fn >>= 1
            sn >>= 1
        }
    }

    /// Whether `proof` shows the tree of `old` leaves with `oldRoot` to be a prefix of the tree
    /// of `new` leaves with `newRoot` (RFC 9162 2.1.4.2).
    public static func verifyConsistency(from old: UInt64, to new: UInt64, proof: [Hash], oldRoot: Hash, newRoot: Hash) -> Bool {
        guard old <= new else { return false }
        if old == new { return proof.isEmpty && oldRoot == newRoot }
        if old == 0 { return proof.isEmpty }
        guard !proof.isEmpty else { return false }
        var path = proof
        if old & (old - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = old - 1, sn = new - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            guard sn > 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                shiftToRightChild(&fn, &sn)
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}
