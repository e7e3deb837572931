import Ledger
import Sodium
import TestSupport
import Testing

/// The RFC 9162 tree read from C2SP tiles, against the RFC's own recursive definitions computed
/// from the leaves (brute force), for every tree size up to a few hundred.
struct MerkleTreeTests {
    // MARK: The RFC's definitions, straight from the leaf hashes

    static func mth(_ d: ArraySlice<MerkleTree.Hash>) -> MerkleTree.Hash {
        if d.isEmpty { return MerkleTree.emptyRoot }
        if d.count == 1 { return d[d.startIndex] }
        let k = largestPowerOfTwo(below: d.count)
        return MerkleTree.nodeHash(mth(d.prefix(k)), mth(d.dropFirst(k)))
    }

    static func path(_ m: Int, _ d: ArraySlice<MerkleTree.Hash>) -> [MerkleTree.Hash] {
        guard d.count > 1 else { return [] }
        let k = largestPowerOfTwo(below: d.count)
        return m < k ? path(m, d.prefix(k)) + [mth(d.dropFirst(k))] : path(m - k, d.dropFirst(k)) + [mth(d.prefix(k))]
    }

    static func subproof(_ m: Int, _ d: ArraySlice<MerkleTree.Hash>, _ b: Bool) -> [MerkleTree.Hash] {
        if m == d.count { return b ? [] : [mth(d)] }
        let k = largestPowerOfTwo(below: d.count)
        return m <= k ? subproof(m, d.prefix(k), b) + [mth(d.dropFirst(k))] : subproof(m - k, d.dropFirst(k), false) + [mth(d.prefix(k))]
    }

    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    // MARK: The tree kept as tiles

    /// Tiles grown by appending `leaves` in chunks of the given sizes, as the stores do.
    struct TileStore {
        var tiles: [String: LogTiles.Tile] = [:]
        var size: UInt64 = 0

        mutating func append(_ leaves: [MerkleTree.Hash]) throws {
            let current = tiles
            let size = self.size
            let changed = try LogTiles.extend(size: size, with: leaves) { level in
                let (index, _) = LogTiles.rightmost(level: level, size: size)
                return current["\(level)/\(index)"]!
            }
            for tile in changed { tiles["\(tile.level)/\(tile.index)"] = tile }
            self.size += UInt64(leaves.count)
        }

        func node(_ height: Int, _ index: UInt64) throws -> MerkleTree.Hash {
            try LogTiles.node(height: height, index: index) { level, n in
                guard let tile = tiles["\(level)/\(n)"] else { throw TileMissing() }
                return tile
            }
        }
    }

    struct TileMissing: Error {}

    static func leaves(_ count: Int, seed: UInt64) -> [MerkleTree.Hash] {
        var random = SplitMix64(state: seed)
        return (0..<count).map { _ in MerkleTree.leafHash((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }) }
    }

    static func grown(_ leaves: [MerkleTree.Hash], seed: UInt64) throws -> TileStore {
        var random = SplitMix64(state: seed)
        var store = TileStore()
        var at = 0
        while at < leaves.count {
            let chunk = min(leaves.count - at, [1, 1, 3, 17, 255, 256, 300].randomElement(using: &random)!)
            try store.append(Array(leaves[at..<at + chunk]))
            at += chunk
        }
        return store
    }

    // MARK: Tests

    /// RFC 6962's test leaves and the roots every implementation agrees on (Certificate
    /// Transparency's and Go's test data).
    @Test func knownAnswersForTheRFCTestLeaves() async throws {
        let entries = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ]
        let leaves = entries.map { MerkleTree.leafHash(HexString.bytes($0)) }
        var store = TileStore()
        for (n, leaf) in leaves.enumerated() {
            try store.append([leaf])
            #expect(HexString.of(try await MerkleTree.root(size: UInt64(n + 1), node: store.node)) == roots[n], "size \(n + 1)")
        }
        #expect(HexString.of(MerkleTree.emptyRoot) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func rootsAndInclusionProofsFromTilesMatchTheDefinitionForEverySize() async throws {
        let all = Self.leaves(700, seed: 9162)
        let store = try Self.grown(all, seed: 1)
        for n in 1...all.count {
            let size = UInt64(n)
            let root = try await MerkleTree.root(size: size, node: store.node)
            #expect(root == Self.mth(all[0..<n]), "root of \(n)")
            // Every leaf of the small trees, a spread of them in the large ones.
            let indices = n <= 96 ? Array(0..<n) : [0, 1, n / 3, n / 2, n - 2, n - 1]
            for m in indices {
                let proof = try await MerkleTree.inclusionProof(index: UInt64(m), size: size, node: store.node)
                #expect(proof == Self.path(m, all[0..<n]), "path of \(m) in \(n)")
                #expect(MerkleTree.verifyInclusion(leafHash: all[m], index: UInt64(m), size: size, proof: proof, root: root))
                #expect(!MerkleTree.verifyInclusion(leafHash: all[(m + 1) % n], index: UInt64(m), size: size, proof: proof, root: root) || n == 1)
                #expect(!MerkleTree.verifyInclusion(leafHash: all[m], index: size, size: size, proof: proof, root: root))
                if !proof.isEmpty {
                    #expect(!MerkleTree.verifyInclusion(leafHash: all[m], index: UInt64(m), size: size, proof: proof.dropLast(), root: root))
                }
            }
        }
    }

    @Test func consistencyProofsFromTilesMatchTheDefinitionAndVerify() async throws {
        let all = Self.leaves(600, seed: 6962)
        let store = try Self.grown(all, seed: 2)
        var roots: [MerkleTree.Hash] = []
        for size in 0...all.count { roots.append(try await MerkleTree.root(size: UInt64(size), node: store.node)) }
        var checked = 0
        for n in 1...all.count {
            let olds = n <= 70 ? Array(0...n) : [0, 1, 2, 255, 256, 257, n / 2, n - 1, n].filter { $0 <= n }
            for m in olds {
                let proof = try await MerkleTree.consistencyProof(from: UInt64(m), to: UInt64(n), node: store.node)
                if m > 0 && m < n { #expect(proof == Self.subproof(m, all[0..<n], true), "proof \(m) → \(n)") }
                #expect(MerkleTree.verifyConsistency(from: UInt64(m), to: UInt64(n), proof: proof, oldRoot: roots[m], newRoot: roots[n]))
                if m > 0 && m < n {
                    // A forked history: another old root, or another new root, fails.
                    #expect(!MerkleTree.verifyConsistency(from: UInt64(m), to: UInt64(n), proof: proof, oldRoot: roots[m - 1], newRoot: roots[n]))
                    #expect(!MerkleTree.verifyConsistency(from: UInt64(m), to: UInt64(n), proof: proof, oldRoot: roots[m], newRoot: roots[n - 1]))
                    #expect(
                        !MerkleTree.verifyConsistency(
                            from: UInt64(m), to: UInt64(n), proof: Array(proof.dropLast()), oldRoot: roots[m], newRoot: roots[n]))
                }
                checked += 1
            }
        }
        #expect(!MerkleTree.verifyConsistency(from: 5, to: 4, proof: [], oldRoot: roots[5], newRoot: roots[4]))
        #expect(checked > 5_000)
    }

    @Test func tilesGrownInAnyChunksAreTheSameTiles() throws {
        let all = Self.leaves(70_000 / 64, seed: 3)
        let one = try Self.grown(all, seed: 4), other = try Self.grown(all, seed: 5)
        #expect(one.tiles == other.tiles)
        var single = TileStore()
        for leaf in all.prefix(600) { try single.append([leaf]) }
        let some = try Self.grown(Array(all.prefix(600)), seed: 6)
        #expect(single.tiles == some.tiles)
    }

    @Test func aStoredTileThatDisagreesWithTheTreeSizeIsRefused() throws {
        let leaves = Self.leaves(10, seed: 7)
        #expect(throws: LedgerError.self) {
            try LogTiles.extend(size: 10, with: leaves) { level in LogTiles.Tile(level: level, index: 0, hashes: Array(leaves.prefix(9).joined())) }
        }
    }

    @Test func tileWidthsAndPathsAreTheSpecsExamples() {
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level
        // 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and
        // one partial level 2 tile of width 1."
        #expect(LogTiles.rightmost(level: 0, size: 70_000) == (273, 112))
        #expect(LogTiles.rightmost(level: 1, size: 70_000) == (1, 17))
        #expect(LogTiles.rightmost(level: 2, size: 70_000) == (0, 1))
        #expect(LogTiles.rightmost(level: 3, size: 70_000) == (0, 0))
        #expect(LogTiles.path(level: 0, index: 1_234_067, width: 256) == "0/x001/x234/067")
        #expect(LogTiles.path(level: 2, index: 0, width: 1) == "2/000.p/1")
        #expect(LogTiles.path(level: nil, index: 273, width: 112) == "entries/273.p/112")
        for path in ["0/x001/x234/067", "2/000.p/1", "entries/273.p/112", "63/x999/999"] {
            let parsed = LogTiles.parse(path)
            #expect(parsed.map { LogTiles.path(level: $0.level, index: $0.index, width: $0.width) } == path)
        }
        for bad in ["0/1", "01/000", "0/x000/001", "0/000.p/256", "0/000.p/0", "0/000.p/01", "64/000", "0/001/002", "0/x1/002", "", "0/", "x/000"] {
            #expect(LogTiles.parse(bad) == nil, "\(bad)")
        }
    }
}
