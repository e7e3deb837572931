import Broker
import Consent
import Foundation
import MyDataWire
import HTTPTypes
import Hummingbird
import Ledger
import Ports

/// The answer to a write: the sequences of the submitted events and the ledger's head when the
/// answer was made (at least the last of them; later when other writes came in between).
struct SubmitResult: Codable {
    var events: [UInt64]
    var ledgerHead: UInt64
}

extension BrokerAPI {
    /// The answer to events just appended (at least one).
    func submitted(_ recorded: [RecordedEvent], status: HTTPResponse.Status = .ok) async throws -> Response {
        // The events are stored: a head that cannot be read now must not turn their answer into an error.
        let last = recorded.last?.sequence ?? 0
        let head = (try? await store.head().sequence) ?? last
        return try BrokerAPI.json(SubmitResult(events: recorded.map(\.sequence), ledgerHead: max(head, last)), status: status)
    }
}

/// A listing page; `nextCursor` (also in `MyData-Next-Cursor`) is present when the page is full:
/// pass it as `before` for the next, older page.
protocol ListingPage: Encodable { var nextCursor: String? { get } }
struct RequestPage: ListingPage { var requests: [RequestItem]; var nextCursor: String? }
struct ConsentPage: ListingPage { var consents: [ConsentItem]; var nextCursor: String? }
struct AccessPage: ListingPage { var entries: [AccessLogEntry]; var nextCursor: String? }
struct DeliveryPage: ListingPage { var deliveries: [AccessLogEntry]; var nextCursor: String? }

struct PolicyView: Codable { var version: String; var hash: String; var policy: PolicySet }
struct MeView: Codable { var id: String; var registered: Bool }
