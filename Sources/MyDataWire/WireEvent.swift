import Consent
import Foundation
import Ledger

/// A signed ledger event as it travels over HTTP: the author builds and signs it; the broker
/// checks and appends it unchanged, so the author's signature stays valid in the ledger.
public struct WireEvent: Codable, Sendable, Equatable {
    public var streamID: String
    public var type: String
    public var schemaVersion: UInt16
    /// Milliseconds since the epoch.
    public var time: Int64
    public var authorID: String
    /// The canonical payload bytes, base64.
    public var payload: String
    /// The author's Ed25519 signature, base64.
    public var signature: String

    public init(_ event: NewEvent) {
        streamID = event.streamID
        type = event.type
        schemaVersion = event.schemaVersion
        time = event.time.milliseconds
        authorID = event.authorID
        payload = Base64.encode(event.payload)
        signature = Base64.encode(event.signature)
    }

    /// The ledger event.
    ///
    /// - Throws: `ConsentError.malformedEvent` when a field is not base64.
    public func event() throws -> NewEvent {
        guard let payload = Base64.decode(payload), let signature = Base64.decode(signature) else {
            throw ConsentError(.malformedEvent, "an event's payload and signature must be base64")
        }
        return NewEvent(
            streamID: streamID, type: type, schemaVersion: schemaVersion, time: Timestamp(milliseconds: time),
            authorID: authorID, payload: payload, signature: signature)
    }
}

/// The body of every write: one or more signed events (a person's first action may carry the
/// registration of their key first).
public struct SubmitBody: Codable, Sendable {
    public var events: [WireEvent]
    public init(events: [WireEvent]) { self.events = events }
}
