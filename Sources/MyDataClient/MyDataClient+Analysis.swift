import Broker
import Consent
import Foundation
import OpenAPIRuntime
import Sodium

extension MyDataClient {
    /// Runs an aggregate analysis in the broker's analysis zone; with a broker key, the signed
    /// result is checked before it is returned.
    public func runAnalysis(_ query: AnalysisQuery) async throws -> SignedAnalysis {
        let body = try Self.convert(query, to: Components.Schemas.AnalysisQuery.self)
        let output = try await call { try await api.runAnalysis(body: .json(body)) }
        guard case .created(let created) = output else { throw MyDataClientError.unexpected("an analysis answered \(output)") }
        return try checked(try created.body.json)
    }

    /// An analysis run before (nothing is spent again).
    public func analysis(id: String) async throws -> SignedAnalysis {
        let output = try await call { try await api.getAnalysis(path: .init(id: id)) }
        guard case .ok(let ok) = output else { throw MyDataClientError.unexpected("an analysis answered \(output)") }
        return try checked(try ok.body.json)
    }

    /// Every analysis run under a request, newest first.
    public func analyses(requestID: String) async throws -> [AnalysisService.Summary] {
        var out: [AnalysisService.Summary] = [], before: String?
        repeat {
            let output = try await call { try await api.listAnalyses(query: .init(request: requestID, limit: 500, before: before)) }
            guard case .ok(let ok) = output else { throw MyDataClientError.unexpected("a listing answered \(output)") }
            let page = try ok.body.json
            out += try page.analyses.map { try Self.convert($0, to: AnalysisService.Summary.self) }
            before = page.nextCursor
        } while before != nil
        return out
    }

    /// The ε left under a request in the current budget period.
    public func analysisBudget(requestID: String) async throws -> AnalysisService.Budget {
        let output = try await call { try await api.getAnalysisBudget(query: .init(request: requestID)) }
        guard case .ok(let ok) = output else { throw MyDataClientError.unexpected("a budget answered \(output)") }
        return try Self.convert(try ok.body.json, to: AnalysisService.Budget.self)
    }

    private func checked(_ generated: Components.Schemas.SignedAnalysis) throws -> SignedAnalysis {
        let data = try JSONEncoder().encode(generated)
        guard let brokerKey else { return try JSONDecoder().decode(SignedAnalysis.self, from: data) }
        do { return try SignedAnalysis.verify(data, brokerKey: Base64.encode(brokerKey.bytes)) } catch let failure as SignedAnalysis.Failure {
            throw MyDataClientError.notFromBroker("the analysis result does not verify: \(failure)")
        }
    }

    /// One Codable shape as another with the same JSON (the document's types and the broker's).
    static func convert<A: Encodable, B: Decodable>(_ value: A, to: B.Type) throws -> B {
        try JSONDecoder().decode(B.self, from: try JSONEncoder().encode(value))
    }
}
