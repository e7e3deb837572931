import Synchronization

/// The Merkle tree as C2SP tiles (c2sp.org/tlog-tiles): tiles of height 8, so a tile holds up
/// to 256 hashes. Level 0 tiles hold leaf hashes; each hash of a level `l` tile is the root of a
/// full tile at level `l − 1`. The tile at level `l`, index `n`, holds
/// `MTH(D[(n·256 + i)·256^l ..< (n·256 + i + 1)·256^l])` for `i` in `0 ..< 256`; the rightmost
/// tile of each level is partial (1 to 255 hashes) until it fills.
public enum LogTiles {
    public static let height = 8
    /// Hashes in a full tile.
    public static let width = 256

    /// A tile as stored: its hashes concatenated, 32 bytes each (1 to 256 of them).
    public struct Tile: Sendable, Equatable {
        public var level: Int
        public var index: UInt64
        public var hashes: [UInt8]

        public init(level: Int, index: UInt64, hashes: [UInt8]) {
            self.level = level
            self.index = index
            self.hashes = hashes
        }

        public var count: Int { hashes.count / MerkleTree.hashBytes }
        public func hash(_ i: Int) -> MerkleTree.Hash { Array(hashes[i * MerkleTree.hashBytes..<(i + 1) * MerkleTree.hashBytes]) }
    }

    /// Hashes at `level` in a tree of `size` leaves.
    public static func count(level: Int, size: UInt64) -> UInt64 { level * height >= 64 ? 0 : size >> UInt64(level * height) }

    /// The rightmost tile of `level` for a tree of `size` leaves: its index and how many hashes
    /// it holds (0: that tile has not started; the previous one is full).
    public static func rightmost(level: Int, size: UInt64) -> (index: UInt64, width: Int) {
        let n = count(level: level, size: size)
        return (n / UInt64(width), Int(n % UInt64(width)))
    }

    /// The root of a full tile: its 256 hashes hashed up as the leaves of a perfect tree.
    public static func root(ofFull tile: Tile) -> MerkleTree.Hash {
        precondition(tile.count == width, "only a full tile has a root in the level above")
        return fold(tile, from: 0, count: width)
    }

    /// The hash of `count` (a power of two) consecutive hashes of `tile` from `first`, hashed up.
    static func fold(_ tile: Tile, from first: Int, count: Int) -> MerkleTree.Hash {
        var level = (first..<first + count).map(tile.hash)
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: 2).map { MerkleTree.nodeHash(level[$0], level[$0 + 1]) }
        }
        return level[0]
    }

    /// The tiles that change when `leaves` (leaf hashes) are appended to a tree of `size` leaves,
    /// in their new content. `rightmost(level)` gives the stored rightmost tile of a level whose
    /// rightmost tile has started (it must hold exactly the hashes `rightmost(level:size:)` says).
    public static func extend(size: UInt64, with leaves: [MerkleTree.Hash], rightmost stored: (Int) throws -> Tile) throws -> [Tile] {
        var changed: [Tile] = []
        var pending = leaves, level = 0
        while !pending.isEmpty {
            let (index, width) = rightmost(level: level, size: size)
            var tile = width > 0 ? try stored(level) : Tile(level: level, index: index, hashes: [])
            guard tile.level == level, tile.index == index, tile.count == width else {
                throw LedgerError(
                    .corruptRecord, "the stored tile \(level)/\(tile.index) holds \(tile.count) hashes where a tree of \(size) has \(index)/\(width)")
            }
            var promoted: [MerkleTree.Hash] = []
            for hash in pending {
                tile.hashes += hash
                if tile.count == Self.width {
                    changed.append(tile)
                    promoted.append(root(ofFull: tile))
                    tile = Tile(level: level, index: tile.index + 1, hashes: [])
                }
            }
            if tile.count > 0 { changed.append(tile) }
            pending = promoted
            level += 1
        }
        return changed
    }

    /// Reads a tree node from tiles: `tile(level, index)` returns the stored tile, which must hold
    /// every hash the node covers.
    public static func node(height h: Int, index: UInt64, tile: (Int, UInt64) throws -> Tile) throws -> MerkleTree.Hash {
        let level = h / height, rest = h % height
        let first = index << UInt64(rest), count = 1 << rest
        let stored = try tile(level, first / UInt64(width))
        let position = Int(first % UInt64(width))
        guard stored.count >= position + count else {
            throw LedgerError(
                .corruptRecord, "tile \(level)/\(first / UInt64(width)) holds \(stored.count) hashes; node \(h)/\(index) needs \(position + count)")
        }
        return fold(stored, from: position, count: count)
    }

    /// A tile's path under `tile/` (c2sp.org/tlog-tiles): `<L>/<N>[.p/<W>]`, `N` in 3-digit groups,
    /// all but the last prefixed with `x`; `level` nil for an entry bundle (`entries/<N>…`).
    public static func path(level: Int?, index: UInt64, width: Int) -> String {
        var groups: [String] = []
        var n = index
        repeat {
            groups.insert(String(n % 1000).leftPadded(to: 3), at: 0)
            n /= 1000
        } while n > 0
        let number = groups.enumerated().map { $0.offset < groups.count - 1 ? "x" + $0.element : $0.element }.joined(separator: "/")
        let partial = width < Self.width ? ".p/\(width)" : ""
        return "\(level.map(String.init) ?? "entries")/\(number)\(partial)"
    }

    /// Parses a path as `path(level:index:width:)` writes it; nil for anything else (no leading
    /// zeros, widths 1 to 255, levels 0 to 63).
    public static func parse(_ path: String) -> (level: Int?, index: UInt64, width: Int)? {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        var level: Int?
        if parts[0] == "entries" {
            level = nil
        } else {
            guard let l = Int(parts[0]), l >= 0, l < 64, String(l) == parts[0] else { return nil }
            level = l
        }
        parts.removeFirst()
        var width = Self.width
        if parts.count >= 2, parts[parts.count - 2].hasSuffix(".p") {
            let w = parts.removeLast()
            guard let value = Int(w), (1..<Self.width).contains(value), String(value) == w else { return nil }
            width = value
            parts[parts.count - 1].removeLast(2)
        }
        guard !parts.isEmpty, parts.count <= 7 else { return nil }
        var index: UInt64 = 0
        for (i, part) in parts.enumerated() {
            var digits = Substring(part)
            if i < parts.count - 1 {
                guard digits.first == "x" else { return nil }
                digits = digits.dropFirst()
            }
            guard digits.count == 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let group = UInt64(digits) else { return nil }
            let (scaled, overflow) = index.multipliedReportingOverflow(by: 1000)
            guard !overflow else { return nil }
            index = scaled + group
        }
        // Only the one way of writing each tile: no extra leading groups.
        return Self.path(level: level, index: index, width: width) == path ? (level, index, width) : nil
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}

/// The rightmost tile of each level of the tree as a store's last commit left it, kept by the
/// process that wrote it: the next append extends them without reading them back (for level 0,
/// up to 255 event hashes to read and hash at every commit). Keyed by the tree's size and its
/// last entry (the ledger's head hash), which the store reads under its write lock, so another
/// process's append or a rolled-back transaction can never make it stale; filled only after a
/// commit succeeded.
public final class RightmostTiles: Sendable {
    public struct Snapshot: Sendable {
        public var size: UInt64
        public var head: [UInt8]
        public var tiles: [Int: LogTiles.Tile]
        public init(size: UInt64, head: [UInt8], tiles: [Int: LogTiles.Tile]) {
            self.size = size
            self.head = head
            self.tiles = tiles
        }
    }

    private let kept = Mutex<Snapshot?>(nil)

    public init() {}

    /// The rightmost tiles of the tree of `size` leaves whose last entry is `head`, if kept.
    public func tiles(size: UInt64, head: [UInt8]) -> [Int: LogTiles.Tile]? {
        kept.withLock { $0.flatMap { $0.size == size && $0.head == head ? $0.tiles : nil } }
    }

    /// Keeps `snapshot` (call once its commit succeeded).
    public func keep(_ snapshot: Snapshot) { kept.withLock { $0 = snapshot } }

    /// The rightmost tiles after `extend` changed `changed` in a tree whose rightmost tiles were
    /// `before`, for the tree of `size` leaves; only tiles that are partial (a full one leaves its
    /// level's rightmost empty).
    public static func after(_ before: [Int: LogTiles.Tile], changed: [LogTiles.Tile], size: UInt64) -> [Int: LogTiles.Tile] {
        var tiles = before
        for tile in changed { tiles[tile.level] = tile.count < LogTiles.width ? tile : nil }
        return tiles.filter { level, tile in
            let (index, width) = LogTiles.rightmost(level: level, size: size)
            return tile.index == index && tile.count == width
        }
    }
}
