import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import NIOCore

/// The transparency log as c2sp.org/tlog-tiles serves it, without a signature (it holds only
/// hashes and counts): `/v1/log/checkpoint`, `/v1/log/tile/<L>/<N>[.p/<W>]` and
/// `/v1/log/tile/entries/<N>[.p/<W>]` ([transparency.md](../../../docs/transparency.md)).
struct TransparencyController: BrokerController {
    let api: BrokerAPI

    func addRoutes(to group: some RouterMethods<BrokerRequestContext>) {
        group.get("log/checkpoint", use: checkpoint)
        group.get("log/tile/**", use: tile)
    }

    /// GET /v1/log/checkpoint: the broker's newest checkpoint, a signed note. Mutable: cached
    /// for a few seconds at most.
    @Sendable func checkpoint(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard let latest = try await store.latestLogCheckpoint() else {
            throw HTTPError(.notFound, message: "the log has no checkpoint yet: the broker signs one within seconds of its first event")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "max-age=5"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: latest.note)))
    }

    /// GET /v1/log/tile/…: a tile or an entry bundle; a partial one only as wide as the tree has
    /// grown. Immutable: cached for long.
    @Sendable func tile(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let path = context.parameters.getCatchAll().joined(separator: "/")
        guard let (level, index, width) = LogTiles.parse(path) else {
            throw HTTPError(.notFound, message: "not a tile path: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>] (c2sp.org/tlog-tiles)")
        }
        var body: [UInt8] = []
        if let level {
            guard let stored = try await store.logTile(level: level, index: index), stored.count >= width else {
                throw HTTPError(.notFound, message: "the log has no tile \(path) (yet)")
            }
            body = Array(stored.hashes.prefix(width * MerkleTree.hashBytes))
        } else {
            let first = index * UInt64(LogTiles.width) + 1
            guard try await store.logSize() >= first - 1 + UInt64(width) else {
                throw HTTPError(.notFound, message: "the log has no entry bundle \(path) (yet)")
            }
            for event in try await store.events(from: first, limit: width) {
                // Each entry, the event's 32-byte hash, prefixed by its length as a big-endian uint16.
                body += [0, UInt8(MerkleTree.hashBytes)] + event.hash
            }
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/octet-stream", .cacheControl: "public, max-age=31536000, immutable"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
