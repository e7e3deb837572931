import ArgumentParser
import Broker
import Foundation
import Ledger

/// `mydata log`: check a broker's transparency log as a person's CLI does on every contact, or
/// follow it as an auditor ([transparency.md](../../docs/transparency.md)).
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Check that a broker's transparency log never shrank or forked since you last saw it.",
        subcommands: [LogCheck.self, LogMonitorCommand.self])
}

extension GlobalOptions {
    /// The broker URL a log command talks to (`--broker` or `$MYDATA_BROKER`).
    func requiredBrokerURL() throws -> URL {
        guard let text = resolvedBroker, let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw CLIError(message: "give the broker's http(s) URL with --broker (or $MYDATA_BROKER)", exitCode: ExitCodes.failure)
        }
        return url
    }
}

struct LogCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify the broker's current checkpoint and its consistency with the one this CLI remembers, and remember it.",
        discussion: "Every command that talks to a broker over HTTP does the same first. Exit 9 if the log shrank, forked or changed key.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var logTrust: LogTrustOptions

    func run() async throws {
        try await reportingErrors {
            let monitor = LogMonitor(
                baseURL: try global.requiredBrokerURL(), configDirectory: global.resolvedConfigDir, trust: try logTrust.trust(dataDir: nil))
            guard let report = try await monitor.check() else {
                print("The broker at \(monitor.brokerName) has signed no log checkpoint yet; nothing to check.")
                return
            }
            if global.json {
                struct Checked: Encodable {
                    var origin: String; var size: UInt64; var previous: UInt64?; var cosigners: [String]; var remembered: Bool
                }
                try Terminal.printJSON(
                    Checked(
                        origin: report.origin, size: report.size, previous: report.previous, cosigners: report.cosigners,
                        remembered: report.remembered))
                return
            }
            if report.keyFromBroker {
                print("First contact: trusting the log key the broker gives; compare it with the one its operator publishes:")
                print("  " + report.verifier.vkey)
            }
            let since =
                report.previous.map { $0 == report.size ? ", unchanged since you last checked" : ", a consistent extension of the \($0) you saw" }
                ?? ""
            let witnessed = report.cosigners.isEmpty ? "" : "; cosigned by \(report.cosigners.joined(separator: ", "))"
            print("Log \(report.origin): \(report.size) entries\(since)\(witnessed).")
            if !report.remembered {
                print("Not remembered: fewer witnesses than your quorum cosigned it yet; the next check starts from the last witnessed one.")
            }
        }
    }
}

struct LogMonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Follow a broker's log as an auditor: verify every tile against every new checkpoint and print each new size.",
        discussion: "Exits 9 at the first inconsistency (a shrunk or forked log, or a tile that is not the tree the checkpoint signs).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var logTrust: LogTrustOptions
    @Option(name: .long, help: "Seconds between two looks at the checkpoint.") var interval = 10.0
    @Flag(name: .long, help: "Look once, verify everything up to the current checkpoint, and exit.") var once = false

    func validate() throws {
        guard interval >= 0.1, interval <= 86_400 else { throw ValidationError("--interval is 0.1 to 86400 seconds") }
    }

    func run() async throws {
        try await reportingErrors {
            let monitor = LogMonitor(
                baseURL: try global.requiredBrokerURL(), configDirectory: global.resolvedConfigDir, trust: try logTrust.trust(dataDir: nil))
            var auditor = TileAuditor(monitor: monitor)
            while true {
                if let report = try await monitor.check(), report.size > auditor.size {
                    try await auditor.advance(verifier: report.verifier)
                    FileHandle.standardOutput.write(Data("\(report.origin): \(auditor.size) entries, every tile verified\n".utf8))
                }
                if once { return }
                try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            }
        }
    }
}

/// Rebuilds the broker's tree from the tiles it serves: every level-0 tile against the entry
/// bundle it hashes, every higher tile against the one computed from the level below, and the
/// root against the checkpoint. It keeps only the rightmost tile of each level (all a root
/// needs), a tile's worth of leaves at a time, whatever size the broker claims.
struct TileAuditor {
    let monitor: LogMonitor
    /// How many entries are verified.
    private(set) var size: UInt64 = 0
    /// The rightmost tile of each level of the verified tree.
    private var rightmost: [Int: LogTiles.Tile] = [:]

    init(monitor: LogMonitor) { self.monitor = monitor }

    /// Verifies the tiles up to the broker's current checkpoint, signed by `verifier`.
    mutating func advance(verifier: NoteVerifier) async throws {
        guard let (text, _, checkpoint) = try await monitor.current(verifier: verifier, remembered: nil), checkpoint.size > size else { return }
        var grown = size
        var partial: [String: LogTiles.Tile] = [:]
        while grown < checkpoint.size {
            let index = grown / UInt64(LogTiles.width)
            let width = Int(min(UInt64(LogTiles.width), checkpoint.size - index * UInt64(LogTiles.width)))
            let tile = try await fetchTile(level: 0, index: index, width: width)
            let entries = try await fetchEntries(index: index, width: width)
            for i in 0..<width where MerkleTree.leafHash(entries[i]) != tile.hash(i) {
                throw LogInconsistency(
                    "the log's tile 0/\(index) does not hold the hash of entry \(index * UInt64(LogTiles.width) + UInt64(i))", remembered: nil,
                    current: text)
            }
            let first = Int(grown - index * UInt64(LogTiles.width))
            let known = rightmost
            let changed = try LogTiles.extend(size: grown, with: (first..<width).map { tile.hash($0) }) { level in
                guard let tile = known[level] else { throw LedgerError(.corruptRecord, "the rightmost tile of level \(level) was not kept") }
                return tile
            }
            grown += UInt64(width - first)
            for tile in changed where tile.level > 0 {
                // A full tile is final: compared now; a partial one once the checkpoint's tree is built.
                if tile.count == LogTiles.width {
                    try await compare(tile, evidence: text)
                    partial["\(tile.level)"] = nil
                } else {
                    partial["\(tile.level)"] = tile
                }
            }
            rightmost = RightmostTiles.after(rightmost, changed: changed, size: grown)
        }
        for tile in partial.values { try await compare(tile, evidence: text) }
        let kept = rightmost
        let root = try await MerkleTree.root(size: checkpoint.size) { height, index in
            try LogTiles.node(height: height, index: index) { level, i in
                guard let tile = kept[level], tile.index == i else { throw LedgerError(.corruptRecord, "tile \(level)/\(i) was not kept") }
                return tile
            }
        }
        guard root == checkpoint.root else {
            throw LogInconsistency(
                "the tree of the log's tiles has another root than its checkpoint of \(checkpoint.size)", remembered: nil, current: text)
        }
        size = checkpoint.size
    }

    private func compare(_ tile: LogTiles.Tile, evidence: String) async throws {
        let served = try await fetchTile(level: tile.level, index: tile.index, width: tile.count)
        guard served == tile else {
            throw LogInconsistency(
                "the log's tile \(tile.level)/\(tile.index) is not the tree of the tiles below it", remembered: nil, current: evidence)
        }
    }

    private func fetchTile(level: Int, index: UInt64, width: Int) async throws -> LogTiles.Tile {
        let path = "v1/log/tile/" + LogTiles.path(level: level, index: index, width: width)
        guard let data = try await monitor.fetch(path, bytesMax: LogTiles.width * MerkleTree.hashBytes), data.count == width * MerkleTree.hashBytes
        else {
            throw LogInconsistency("the log's tile \(path) is not \(width) hashes", remembered: nil, current: nil)
        }
        return LogTiles.Tile(level: level, index: index, hashes: [UInt8](data))
    }

    private func fetchEntries(index: UInt64, width: Int) async throws -> [[UInt8]] {
        let path = "v1/log/tile/" + LogTiles.path(level: nil, index: index, width: width)
        guard let data = try await monitor.fetch(path, bytesMax: LogTiles.width * (2 + 64)).map({ [UInt8]($0) }) else { return [] }
        var entries: [[UInt8]] = [], at = 0
        while at + 2 <= data.count {
            let length = Int(data[at]) << 8 | Int(data[at + 1])
            guard at + 2 + length <= data.count else { break }
            entries.append(Array(data[at + 2..<at + 2 + length]))
            at += 2 + length
        }
        guard entries.count == width, at == data.count else {
            throw LogInconsistency("the log's entry bundle \(path) does not hold \(width) entries", remembered: nil, current: nil)
        }
        return entries
    }
}
