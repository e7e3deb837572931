import Broker
import Consent
import Foundation
import MyDataWire
import HTTPTypes
import Hummingbird
import Ledger
import Ports

/// The HTTP API over a `BrokerService`. Routes translate and authenticate; every decision
/// about consent is the service's.
public struct BrokerAPI: Sendable {
    public let service: BrokerService
    public let transfer: TransferService
    /// The analysis zone, over the same broker and vault as `transfer`.
    public var analysis: AnalysisService { AnalysisService(broker: transfer.broker, vault: transfer.vault) }
    /// Counts the records each party moves, for its daily share.
    let traffic: TrafficLimiter?
    /// The catalogue, kept for a few seconds between builds.
    let catalogue: CatalogueService
    var store: any BrokerStore { service.store }

    public init(service: BrokerService, transfer: TransferService, traffic: TrafficLimiter? = nil) {
        self.service = service
        self.transfer = transfer
        self.traffic = traffic
        self.catalogue = CatalogueService(broker: service)
    }

    /// The `{id}` of the route's path, percent-decoded: clients encode what a path segment may
    /// not hold (an account id's `:` becomes `%3A`), and ids are compared decoded. A segment that
    /// is not valid percent-encoding is taken as it is (and names nothing).
    static func pathID(_ context: BrokerRequestContext) throws -> String {
        let raw = try context.parameters.require("id")
        return raw.removingPercentEncoding ?? raw
    }

    /// The `before` query parameter of a listing, parsed; nil when absent.
    ///
    /// - Throws: `ConsentError.invalidTerms` when it is not a cursor from a previous page.
    static func cursor<C>(_ request: Request, _ parse: (String) -> C?) throws -> C? {
        guard let text = request.uri.queryParameters.get("before").map({ String($0) }) else { return nil }
        guard text.utf8.count <= 200, let cursor = parse(text) else {
            throw ConsentError(.invalidTerms, "before must be the nextCursor of a previous page")
        }
        return cursor
    }

    /// A listing page as JSON, with its cursor in `MyData-Next-Cursor` too.
    static func page(_ page: some ListingPage) throws -> Response {
        var response = try json(page)
        if let next = page.nextCursor { response.headers[nextCursorField] = next }
        return response
    }

    // MARK: Responses

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func limit(_ request: Request, max most: Int = APILimits.pageItemsMax) -> Int {
        let asked = request.uri.queryParameters.get("limit", as: Int.self) ?? 100
        return min(max(asked, 1), most)
    }

    // MARK: Writes

    /// Decodes a submit body, checks that every event is the principal's own and of an allowed
    /// type, and hands the events to the broker.
    func submit(
        _ request: Request, context: BrokerRequestContext, types: Set<String>,
        check: (NewEvent, DomainEvent) throws -> Void = { _, _ in }
    ) async throws -> [RecordedEvent] {
        try await service.submit(try await events(request, context: context, types: types, check: check))
    }

    /// The signed events of a submit body, each the principal's own, of an allowed type, and
    /// decodable as its domain event (`malformedEvent` otherwise, whatever the endpoint).
    func events(
        _ request: Request, context: BrokerRequestContext, types: Set<String>,
        check: (NewEvent, DomainEvent) throws -> Void = { _, _ in }
    ) async throws -> [NewEvent] {
        let principal = try context.requirePrincipal()
        // Decoded here rather than by Hummingbird, so that the error names the field.
        let bytes = try await request.body.collect(upTo: APILimits.requestBodyBytesMax)
        let body = try JSONDecoder().decode(SubmitBody.self, from: Data(bytes.readableBytesView))
        guard (1...APILimits.submittedEventsMax).contains(body.events.count) else {
            throw ConsentError(.malformedEvent, "submit 1 to \(APILimits.submittedEventsMax) events")
        }
        if body.events.count == 1, body.events[0].type == DomainEvent.TypeName.subjectRegistered,
            !types.contains(DomainEvent.TypeName.subjectRegistered)
        {
            throw ConsentError(.malformedEvent, "a key registration comes alone only to POST /v1/subjects")
        }
        var events: [NewEvent] = []
        for wire in body.events {
            let event = try wire.event()
            guard event.authorID == principal.id else {
                throw ConsentError(.badSignature, "you signed the request as \(principal.id), but an event is by \(event.authorID)")
            }
            let allowed = types.union(principal.isSubject ? [DomainEvent.TypeName.subjectRegistered] : [])
            guard allowed.contains(event.type) else {
                throw ConsentError(.malformedEvent, "this endpoint takes \(types.sorted().joined(separator: ", ")) events, not \(event.type)")
            }
            guard let domain = try? DomainEvent.decode(event) else {
                throw ConsentError(.malformedEvent, "the '\(event.type)' event does not decode")
            }
            try check(event, domain)
            events.append(event)
        }
        return events
    }
}

/// A few named route handlers by area (consent, transfer, money, log, public), over the API's
/// services. `BrokerApplication.router` mounts each on its group: the public ones under `/v1`,
/// the rest under `/v1` behind the signature and traffic middleware.
protocol BrokerController: Sendable {
    var api: BrokerAPI { get }
}

extension BrokerController {
    var service: BrokerService { api.service }
    var transfer: TransferService { api.transfer }
    var store: any BrokerStore { api.store }
    var traffic: TrafficLimiter? { api.traffic }

    func submit(
        _ request: Request, context: BrokerRequestContext, types: Set<String>,
        check: (NewEvent, DomainEvent) throws -> Void = { _, _ in }
    ) async throws -> [RecordedEvent] {
        try await api.submit(request, context: context, types: types, check: check)
    }
}
