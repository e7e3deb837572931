import Broker
import Consent
import Foundation
import MyDataWire
import HTTPTypes
import Hummingbird
import Ledger
import Sodium
import Vault

extension BrokerAPI {
    static let idempotencyKeyField = WireField.idempotencyKey
    public static let brokerSignatureField = WireField.brokerSignature
    public static let nextCursorField = WireField.nextCursor
    /// On a pull: an RFC 8941 boolean; the opened delivery says the same in `hasMore`.
    public static let moreField = WireField.more

    /// A pushed entry: a record, or why it is not one (so one bad entry rejects only itself).
    struct Entry: Decodable {
        let item: TransferService.PushItem
        init(from decoder: Decoder) throws {
            do { item = .record(try TelemetryRecord(from: decoder)) } catch let e as DecodingError {
                item = .malformed("not a record: " + ErrorTable.describe(e))
            }
        }
    }

    struct TelemetryBody: Decodable { var records: [Entry] }

    /// The entries of a pushed body: NDJSON (`application/x-ndjson`, one record per line) or
    /// `{"records": […]}`. An entry that is not a record rejects only itself.
    ///
    /// - Throws: `DecodingError` when a JSON body is not `{"records": […]}` at all.
    /// `TelemetryJSON` reads the usual shapes; whatever it leaves (a body, or one NDJSON line) is
    /// decoded with `JSONDecoder`, the reference (`reference: true` uses only it).
    public static func pushItems(body: Data, contentType: String?, reference: Bool = false) throws -> [TransferService.PushItem] {
        guard mediaType(contentType) == SealedStream.mediaType else {
            if !reference, let records = body.withUnsafeBytes(TelemetryJSON.records) { return records.map(TransferService.PushItem.record) }
            return try JSONDecoder().decode(TelemetryBody.self, from: body).records.map(\.item)
        }
        let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        return lines.enumerated().filter { !$0.element.allSatisfy { $0 == 32 || $0 == 13 } }.map { number, line in
            if !reference, let record = line.withUnsafeBytes(TelemetryJSON.record) { return .record(record) }
            do { return .record(try JSONDecoder().decode(TelemetryRecord.self, from: Data(line))) } catch let e as DecodingError {
                return .malformed("line \(number + 1) is not a record: " + ErrorTable.describe(e))
            } catch {
                return .malformed("line \(number + 1) is not a record")
            }
        }
    }
}

extension BrokerAPI {
    /// The media type of a `Content-Type` value without its parameters, in lower case (media
    /// types are case-insensitive, RFC 9110 §8.3.1).
    static func mediaType(_ value: String?) -> String? {
        value.map { $0.split(separator: ";", maxSplits: 1).first.map(String.init) ?? $0 }?.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// Whether an `Accept` value names `type` (case-insensitive, parameters ignored).
    static func accepts(_ value: String?, _ type: String) -> Bool {
        value?.split(separator: ",").contains { mediaType(String($0)) == type } ?? false
    }

    /// A delivery as a sealed NDJSON stream (`SealedStream`): written and encrypted a chunk at a
    /// time. The delivery was logged before the first byte is sent.
    static func stream(_ delivery: TransferService.CanonicalDelivery, to recipient: BoxPublicKey, broker: SigningKey) throws -> Response {
        var headers: HTTPFields = [.contentType: SealedStream.mediaType]
        headers[Self.nextCursorField] = delivery.nextCursor.description
        headers[Self.moreField] = delivery.hasMore ? "?1" : "?0"
        let body = ResponseBody(contentLength: nil) { (out: inout any ResponseBodyWriter) in
            let writer = try SealedStream.Writer(consentID: delivery.consentID, recipient: recipient, broker: broker)
            try await out.write(ByteBuffer(bytes: writer.opening))
            var start = 0
            while start < delivery.records.count {
                let end = min(start + SealedStream.recordsPerChunk, delivery.records.count)
                try await out.write(ByteBuffer(bytes: try writer.chunk(canonical: delivery.records[start..<end])))
                start = end
            }
            try await out.write(
                ByteBuffer(
                    bytes: try writer.finish(SealedStream.Trailer(delivery))))
            try await out.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
