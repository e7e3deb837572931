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
        group.get("log/vkey", use: vkey)
        group.get("log/tile/**", use: tile)
        group.get("log/proof/inclusion", use: inclusionProof)
        group.get("log/proof/consistency", use: consistencyProof)
    }

    /// GET /v1/log/vkey: the log's note verifier key, for a client's first contact (trust on first
    /// use; compare it with the one the operator publishes beside `broker.pub`).
    @Sendable func vkey(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "max-age=3600"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: try await service.logVerifier().vkey + "\n")))
    }

    /// A proof as JSON: what it is between, and its hashes in base64, leaf side first. Written
    /// by hand (numbers and base64 need no escaping), as `JSONEncoder` with sorted keys would
    /// write it: proofs are served often, and the encoder cost more than the proof.
    struct ProofView {
        var leafIndex: UInt64?
        var from: UInt64?
        var treeSize: UInt64
        var hashes: [MerkleTree.Hash]

        var response: Response {
            var json = "{\"" + (from.map { "from\":\($0)" } ?? "") + (from == nil ? "" : ",\"")
            json += "hashes\":[" + hashes.map { "\"" + Data($0).base64EncodedString() + "\"" }.joined(separator: ",") + "]"
            if let leafIndex { json += ",\"leafIndex\":\(leafIndex)" }
            json += ",\"treeSize\":\(treeSize)}"
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
        }
    }

    /// GET /v1/log/proof/inclusion?sequence=S&size=N: the RFC 9162 inclusion proof of the event
    /// at ledger sequence S (leaf S − 1) in the tree of N events.
    @Sendable func inclusionProof(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let sequence = try Self.number(request, "sequence"), size = try Self.number(request, "size")
        guard sequence >= 1, sequence <= size else {
            throw HTTPError(.badRequest, message: "sequence must be from 1 to size (the event at sequence s is leaf s − 1)")
        }
        try await requireTree(size)
        let proof = try await MerkleTree.inclusionProof(index: sequence - 1, size: size, node: service.logNodes.reader(size: size))
        return ProofView(leafIndex: sequence - 1, treeSize: size, hashes: proof).response
    }

    /// GET /v1/log/proof/consistency?from=M&to=N: the RFC 9162 consistency proof from the tree of
    /// M events to the tree of N.
    @Sendable func consistencyProof(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let from = try Self.number(request, "from"), to = try Self.number(request, "to")
        guard from <= to else { throw HTTPError(.badRequest, message: "from must not be larger than to") }
        try await requireTree(to)
        let proof = try await MerkleTree.consistencyProof(from: from, to: to, node: service.logNodes.reader(size: to))
        return ProofView(from: from, treeSize: to, hashes: proof).response
    }

    private func requireTree(_ size: UInt64) async throws {
        let (has, logSize) = try await service.logNodes.hasTree(size: size)
        guard has else { throw HTTPError(.notFound, message: "the log has \(logSize) events, not \(size)") }
    }

    private static func number(_ request: Request, _ name: String) throws -> UInt64 {
        guard let text = request.uri.queryParameters.get(name), let value = UInt64(text), String(value) == text else {
            throw HTTPError(.badRequest, message: "\(name) must be a whole number without leading zeros")
        }
        return value
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
