import Broker
import Consent
import Foundation
import HTTPTypes
import MyDataWire
import OpenAPIRuntime
import OpenAPIURLSession
import Sodium

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: String.UTF8View) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}

extension ClientError: ClientErrorWrapping {
    var wrapped: any Error { underlyingError }
}

/// The broker's API for a manufacturer's or a startup's Swift program: every operation of
/// `docs/openapi.yaml` typed (`api`, generated from the document, so it cannot drift from it),
/// each request signed with the party's key, problems thrown as `MyDataClientError`, safe calls
/// retried with back-off; and the calls a party makes most, with the checks done for it:
/// `push` (NDJSON, under the body limit), `pull` and `pullStream` (the broker's signature checked,
/// the box opened, the consent and digest compared), `deliveries`.
public struct MyDataClient: Sendable {
    /// Bytes of one request body, as the broker takes them.
    public static let requestBodyBytesMax = 1_048_576
    /// Bytes of a sealed page or stream read into memory.
    public static let responseBytesMax = 256 * 1_048_576

    public let baseURL: URL
    public let identity: Identity
    /// The broker's Ed25519 key, from a trusted copy of its `broker.pub` (never from an answer):
    /// what `pull` checks a delivery against.
    public let brokerKey: VerifyingKey?
    /// Every operation of the document, generated; requests signed, problems thrown.
    public let api: Client

    public init(
        baseURL: URL, identity: Identity, brokerKey: VerifyingKey? = nil, transport: any ClientTransport = URLSessionTransport(),
        retry: RetryMiddleware = RetryMiddleware()
    ) {
        self.baseURL = baseURL
        self.identity = identity
        self.brokerKey = brokerKey
        api = Client(
            serverURL: baseURL, transport: transport,
            middlewares: [ProblemMiddleware(), retry, SigningMiddleware(identity: identity)])
    }

    /// The full URL of a request the generated client makes (its path is relative to `baseURL`).
    static func url(of request: HTTPRequest, baseURL: URL) throws -> URL {
        let base = baseURL.absoluteString.hasSuffix("/") ? String(baseURL.absoluteString.dropLast()) : baseURL.absoluteString
        guard let url = URL(string: base + (request.path ?? "")) else {
            throw MyDataClientError.unexpected("cannot build a URL from \(base) and \(request.path ?? "")")
        }
        return url
    }

    /// Runs a generated call and rethrows what a middleware threw without `ClientError` around it.
    public func call<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw MyDataClientError.unwrap(error) }
    }

    // MARK: Manufacturers

    /// Pushes records as one NDJSON batch (at most 1,000 records and `requestBodyBytesMax`
    /// bytes; `Batches` splits larger sets). With an idempotency key, a repeat of the same bytes
    /// is answered from the first push and never stores twice, so it is retried on a transient failure.
    public func push(ndjson body: [UInt8], idempotencyKey: String? = nil) async throws -> Components.Schemas.PushResult {
        guard body.count <= Self.requestBodyBytesMax else {
            throw MyDataClientError.unexpected("a push body holds at most \(Self.requestBodyBytesMax) bytes, this one \(body.count); split it")
        }
        let output = try await call {
            try await api.pushTelemetry(headers: .init(idempotencyKey: idempotencyKey), body: .applicationXNdjson(HTTPBody(body)))
        }
        switch output {
        case .created(let created): return try created.body.json
        case .ok(let ok): return try ok.body.json
        default: throw MyDataClientError.unexpected("a push answered \(output)")
        }
    }

    /// Pushes records (encoded here as NDJSON, in the canonical form).
    public func push(_ records: [TelemetryRecord], idempotencyKey: String? = nil) async throws -> Components.Schemas.PushResult {
        try await push(ndjson: try Batches.ndjson(records), idempotencyKey: idempotencyKey)
    }

    // MARK: Recipients

    /// One sealed page under a consent, after `after`: the broker's signature checked against
    /// `brokerKey`, the box opened with the identity's box key, the consent and the digest
    /// compared. `nextCursor` is where to continue (on every page), `hasMore` whether to go on
    /// at once, `replayed` whether this repeated an earlier delivery (not charged again).
    public func pull(consentID: String, after: String = "0", limit: Int? = nil) async throws -> TransferService.Delivery {
        let brokerKey = try requireBrokerKey()
        let output = try await call {
            try await api.pullData(
                path: .init(id: consentID), query: .init(limit: limit, after: after), headers: .init(accept: [.init(contentType: .binary)]))
        }
        guard case .ok(let ok) = output else { throw MyDataClientError.unexpected("a pull answered \(output)") }
        let sealed = try await [UInt8](collecting: try ok.body.binary, upTo: Self.responseBytesMax)
        guard let signatureText = ok.headers.myDataBrokerSignature, let signatureBytes = Base64.decode(signatureText),
            let signature = try? Signature(bytes: signatureBytes), (try? brokerKey.verify(signature, for: sealed)) != nil
        else {
            throw MyDataClientError.notFromBroker("the page's MyData-Broker-Signature does not verify with the broker key")
        }
        guard let opened = try? SealedBox.open(sealed, with: identity.boxKey) else {
            throw MyDataClientError.notFromBroker("the page does not open with \(identity.id)'s box key")
        }
        let delivery = try JSONDecoder().decode(TransferService.Delivery.self, from: Data(opened))
        guard delivery.consentID == consentID else {
            throw MyDataClientError.notFromBroker("asked for \(consentID), the page is of \(delivery.consentID)")
        }
        guard delivery.positions.count == delivery.records.count else {
            throw MyDataClientError.notFromBroker("the page has \(delivery.records.count) records and \(delivery.positions.count) positions")
        }
        try Self.checkPositions(after: delivery.after, positions: delivery.positions, next: delivery.nextCursor, asked: after)
        if let digest = delivery.digest, Self.recordsDigest(in: opened) != digest,
            digest != TransferService.digest(ofCanonical: try delivery.records.map { try CanonicalJSON.encode($0) })
        {
            throw MyDataClientError.notFromBroker("the page's digest is not the digest of its records")
        }
        return delivery
    }

    /// One page as a sealed NDJSON stream (up to 10,000 records): the opening's broker signature,
    /// every chunk, the trailer's count and digest checked by `SealedStream.Reader`.
    public func pullStream(
        consentID: String, after: String = "0", limit: Int? = nil
    ) async throws -> (
        records: [[UInt8]], trailer: SealedStream.Trailer
    ) {
        let brokerKey = try requireBrokerKey()
        let output = try await call {
            try await api.pullData(
                path: .init(id: consentID), query: .init(limit: limit, after: after),
                headers: .init(accept: [.init(contentType: .applicationXNdjson)]))
        }
        guard case .ok(let ok) = output else { throw MyDataClientError.unexpected("a pull answered \(output)") }
        let body = try await Data(collecting: try ok.body.applicationXNdjson, upTo: Self.responseBytesMax)
        let opened: (records: [[UInt8]], trailer: SealedStream.Trailer)
        do { opened = try SealedStream.Reader.openCanonical(body, recipient: identity.boxKey, broker: brokerKey) } catch {
            throw MyDataClientError.notFromBroker("the stream does not open: \(error)")
        }
        guard opened.trailer.consentID == consentID else {
            throw MyDataClientError.notFromBroker("asked for \(consentID), the stream is of \(opened.trailer.consentID)")
        }
        guard opened.trailer.positions.count == opened.records.count else {
            throw MyDataClientError.notFromBroker("the stream has \(opened.records.count) records and \(opened.trailer.positions.count) positions")
        }
        try Self.checkPositions(after: opened.trailer.after, positions: opened.trailer.positions, next: opened.trailer.nextCursor, asked: after)
        return opened
    }

    /// Every delivery made under a consent, oldest first (all pages).
    public func deliveries(consentID: String) async throws -> [Components.Schemas.AccessLogEntry] {
        var all: [Components.Schemas.AccessLogEntry] = [], after: String?
        repeat {
            let output = try await call {
                try await api.listDeliveries(path: .init(id: consentID), query: .init(limit: 500, after: after))
            }
            guard case .ok(let ok) = output else { throw MyDataClientError.unexpected("listing deliveries answered \(output)") }
            let page = try ok.body.json
            all += page.deliveries
            after = page.nextCursor
        } while after != nil
        return all
    }

    private func requireBrokerKey() throws -> VerifyingKey {
        guard let brokerKey else {
            throw MyDataClientError.unexpected("give the client the broker's key (a trusted copy of its broker.pub) to check deliveries")
        }
        return brokerKey
    }

    /// A page answers the cursor asked for: it was pulled after it, its positions rise after it,
    /// and it continues at or after the last of them. A page the broker signed for another
    /// cursor (an older answer sent again by someone on the way) would otherwise be taken for
    /// this one, and its records held twice.
    public static func checkPositions(after: String, positions: [String], next: String, asked: String) throws {
        guard let asked = RecordCursor(asked) else { throw MyDataClientError.unexpected("not a cursor: \(asked)") }
        guard let start = RecordCursor(after), start == asked, let end = RecordCursor(next) else {
            throw MyDataClientError.notFromBroker("asked after \(asked), the page was pulled after \(after)")
        }
        var previous = start
        for text in positions {
            guard let position = RecordCursor(text), previous < position else {
                throw MyDataClientError.notFromBroker("the page's positions do not rise after \(asked)")
            }
            previous = position
        }
        guard previous <= end else { throw MyDataClientError.notFromBroker("the page continues at \(next), before its last record") }
    }

    /// BLAKE2b-256 (hex) of the `records` array exactly as it stands in a delivery's JSON: the
    /// broker writes it with sorted keys, `records` second to last and `replayed` last, each
    /// record its canonical JSON, so these bytes are what the digest covers and need not be
    /// encoded again. Nil when the layout is not that one (`pull` then encodes the records).
    public static func recordsDigest(in json: [UInt8]) -> String? {
        // The end is fixed: `],"replayed":false}` or `],"replayed":true}`.
        let end: Int
        if json.ends(with: #"],"replayed":false}"#.utf8) {
            end = json.count - #","replayed":false}"#.utf8.count
        } else if json.ends(with: #"],"replayed":true}"#.utf8) {
            end = json.count - #","replayed":true}"#.utf8.count
        } else {
            return nil
        }
        // The start: the first `"records":[`, which no key before it can hold (a page is hundreds
        // of kilobytes, searched once over its bytes).
        let open = Array(#""records":["#.utf8)
        let found: Int? = json.withUnsafeBufferPointer { bytes in
            open.withUnsafeBufferPointer { needle in
                var i = 0
                while i + needle.count <= bytes.count {
                    if bytes[i] == needle[0], memcmp(bytes.baseAddress! + i, needle.baseAddress!, needle.count) == 0 { return i }
                    i += 1
                }
                return nil
            }
        }
        guard let found, found + open.count - 1 < end else { return nil }
        return Hex.encode(BLAKE2b.hash256(Array(json[(found + open.count - 1)..<end])))
    }
}
