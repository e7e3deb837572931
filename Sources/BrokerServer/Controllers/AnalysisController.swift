import Broker
import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Ledger

/// The analysis zone over HTTP: a recipient runs an aggregate analysis and fetches its result
/// again or its budget; a person lists the analyses they were included in.
struct AnalysisController: BrokerController {
    let api: BrokerAPI

    func addRoutes(to group: some RouterMethods<BrokerRequestContext>) {
        group.post("analyses", use: run)
        group.get("analyses", use: list)
        group.get("analyses/budget", use: budget)
        group.get("analyses/:id", use: result)
        group.get("access-log/analyses", use: inclusions)
    }

    private func recipient(_ context: BrokerRequestContext) throws -> String {
        guard let recipient = try context.requirePrincipal().party(.recipient)?.id else {
            throw ConsentError(.wrongRole, "only recipients run analyses")
        }
        return recipient
    }

    /// POST /v1/analyses
    @Sendable func run(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let recipient = try recipient(context)
        let bytes = try await request.body.collect(upTo: APILimits.requestBodyBytesMax)
        let query = try JSONDecoder().decode(AnalysisQuery.self, from: Data(bytes.readableBytesView))
        return try BrokerAPI.json(try await api.analysis.run(query, recipient: recipient), status: .created)
    }

    /// GET /v1/analyses?request=…: the analyses run under one of the recipient's requests, newest first.
    @Sendable func list(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let recipient = try recipient(context)
        guard let requestID = request.uri.queryParameters.get("request").map({ String($0) }), Identifiers.isValidReference(requestID) else {
            throw ConsentError(.invalidIdentifier, "name the consent request: ?request=<request id>")
        }
        let limit = BrokerAPI.limit(request)
        let entries = try await api.analysis.analyses(
            requestID: requestID, recipient: recipient, limit: limit, before: try BrokerAPI.cursor(request) { UInt64($0) })
        return try BrokerAPI.page(
            AnalysisPage(analyses: entries, nextCursor: entries.count == limit ? entries.last.map { "\($0.ledgerSequence)" } : nil))
    }

    /// GET /v1/analyses/:id
    @Sendable func result(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        try BrokerAPI.json(try await api.analysis.result(try BrokerAPI.pathID(context), recipient: try recipient(context)))
    }

    /// GET /v1/analyses/budget?request=…
    @Sendable func budget(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let recipient = try recipient(context)
        guard let requestID = request.uri.queryParameters.get("request").map({ String($0) }), Identifiers.isValidReference(requestID) else {
            throw ConsentError(.invalidIdentifier, "name the consent request: ?request=<request id>")
        }
        return try BrokerAPI.json(try await api.analysis.budget(requestID: requestID, recipient: recipient))
    }

    /// GET /v1/access-log/analyses: the analyses the person was included in, newest first.
    @Sendable func inclusions(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        guard case .subject(let subject) = try context.requirePrincipal() else {
            throw ConsentError(.notConsentSubject, "the access log is the person's own")
        }
        let limit = BrokerAPI.limit(request)
        let entries = try await store.analysisInclusions(subject: subject, limit: limit, before: try BrokerAPI.cursor(request) { UInt64($0) })
        return try BrokerAPI.page(
            InclusionPage(analyses: entries, nextCursor: entries.count == limit ? entries.last.map { "\($0.sequence)" } : nil))
    }
}

/// A page of the analyses run under one request.
struct AnalysisPage: ListingPage {
    var analyses: [AnalysisService.Summary]
    var nextCursor: String?
}

/// A page of the analyses a person was included in.
struct InclusionPage: ListingPage {
    var analyses: [AnalysisInclusion]
    var nextCursor: String?
}
