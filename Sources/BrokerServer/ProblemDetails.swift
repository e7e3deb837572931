import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import MyDataWire
import NIOCore

/// The one table from domain error codes to HTTP statuses.
public enum ErrorTable {
    public static func status(for code: ConsentError.Code) -> HTTPResponse.Status {
        switch code {
        case .requestNotFound, .consentNotFound, .deviceNotFound, .accountNotFound, .analysisNotFound, .certificateNotFound, .policyNotFound:
            .notFound
        case .paymentRequired: HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required")
        case .badSignature, .unknownSubject, .unknownParty: .unauthorized
        case .partySuspended, .wrongRole, .notRequestOwner, .notConsentSubject, .recipientMismatch, .recipientSuspended,
            .subjectMismatch, .consentRevoked, .consentExpired, .itemNotInScope, .outsideDataWindow, .deviceNotBound, .analysisOnly,
            .accessNotAllowed:
            .forbidden
        case .consentExists, .requestExists, .partyExists, .subjectExists, .consentAlreadyRevoked, .requestWithdrawn,
            .requestExpired, .deviceAlreadyConfirmed, .policyChanged, .termsMismatch, .idempotencyKeyReused,
            .cursorInsideDelivery, .privacyBudgetExhausted:
            .conflict
        case .clockSkew, .invalidIdentifier, .malformedEvent, .noActivePolicy, .unknownCategory, .unknownItem, .itemNotInCategory,
            .unknownPurpose, .purposeNotAllowed, .durationOverLimit, .onceOffTooLong, .invalidTerms, .requestNotForSubject,
            .sensitiveNotConfirmed, .invalidRecord, .subjectErased, .transferRejected, .invalidQuery, .invalidPeriod, .qualityNotGraded,
            .invalidContract:
            .unprocessableContent
        }
    }

    /// The problem an error becomes.
    public static func problem(for error: any Error) -> ProblemDetails {
        switch error {
        case let e as ConsentError:
            return ProblemDetails(code: e.code.description, status: status(for: e.code), detail: e.message)
        case let e as Refusal:
            return ProblemDetails(code: e.code, status: e.status, detail: e.detail)
        case let e as HTTPSignatureError:
            return ProblemDetails(code: e.code.description, status: .unauthorized, detail: e.message)
        case let e as LedgerError where e.code == .streamVersionConflict:
            return ProblemDetails(code: e.code.description, status: .conflict, detail: e.message)
        case let e as LedgerError where e.code == .storeUnavailable:
            return ProblemDetails(code: e.code.description, status: .serviceUnavailable, detail: e.message)
        case let e as LedgerError:
            return ProblemDetails(code: e.code.description, status: .unprocessableContent, detail: e.message)
        case is NIOTooManyBytesError:
            return ProblemDetails(
                code: "bodyTooLarge", status: .contentTooLarge,
                detail: "a request body holds at most \(APILimits.requestBodyBytesMax) bytes; split it")
        case let e as any StoreUnavailability where e.isStoreUnavailable:
            return ProblemDetails(
                code: LedgerError.Code.storeUnavailable.description, status: .serviceUnavailable,
                detail:
                    "the database cannot be reached; try again later (a write under way when it went may or may not have been stored: check before repeating it)"
            )
        case let e as DecodingError:
            return ProblemDetails(code: "invalidJSON", status: .badRequest, detail: describe(e))
        case let e as HTTPError:
            return ProblemDetails(code: "http\(e.status.code)", status: e.status, detail: e.body ?? e.status.reasonPhrase)
        default:
            return ProblemDetails(code: "internalError", status: .internalServerError, detail: "the broker failed; nothing was changed")
        }
    }

    /// Names the field a JSON body got wrong.
    static func describe(_ error: DecodingError) -> String {
        func path(_ c: [any CodingKey]) -> String {
            guard !c.isEmpty else { return "the body" }
            return c.reduce("") { text, key in
                if let i = key.intValue { return text + "[\(i)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
        }
        switch error {
        case .keyNotFound(let key, let ctx): return "missing field '\(path(ctx.codingPath + [key]))'"
        case .typeMismatch(_, let ctx): return "field '\(path(ctx.codingPath))' has the wrong type: \(ctx.debugDescription)"
        case .valueNotFound(_, let ctx): return "field '\(path(ctx.codingPath))' is null"
        case .dataCorrupted(let ctx) where ctx.codingPath.isEmpty:
            // Foundation's decoder says only "not valid JSON", with no path, also for valid JSON
            // holding a number its field cannot take.
            return
                "the body is not valid JSON, or a number in it does not fit its field (an integer beyond 64 bits, a fraction where a whole number is expected)"
        case .dataCorrupted(let ctx): return "\(path(ctx.codingPath)) is not valid: \(ctx.debugDescription)"
        @unknown default: return "the body is not valid JSON"
        }
    }
}

/// Turns every thrown error into `application/problem+json`.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The router's routes, for telling a wrong method (405) from an unknown path (404).
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var problem = ErrorTable.problem(for: error)
            var headers: HTTPFields = [.contentType: "application/problem+json"]
            // The router's own 404 for a path it serves with other methods (a handler's 404 on a
            // path that does take this method stays a 404).
            if let e = error as? HTTPError, e.status == .notFound, case let allowed = routes.methods(for: request.uri.path), !allowed.isEmpty,
                !allowed.contains(request.method)
            {
                let names = allowed.map(\.rawValue).joined(separator: ", ")
                problem = ProblemDetails(
                    code: "methodNotAllowed", status: .methodNotAllowed, detail: "\(request.uri.path) answers \(names), not \(request.method)")
                headers[.allow] = names
            }
            if problem.status == HTTPResponse.Status.unauthorized.code {
                // RFC 9110 §11.6.1: a 401 names how to authenticate. Here: an RFC 9421 signature
                // (Accept-Signature, RFC 9421 §5.1, says which components it must cover).
                headers[.wwwAuthenticate] = #"Signature realm="mydata", alg="ed25519""#
                headers[WireField.acceptSignature] =
                    request.method == .get || request.method == .head
                    ? #"sig1=("@method" "@target-uri");alg="ed25519""#
                    : #"sig1=("@method" "@target-uri" "content-digest");alg="ed25519""#
            }
            if problem.status >= 500 {
                context.logger.error("request failed", metadata: ["error.type": "\(type(of: error))", "problem.code": "\(problem.code)"])
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = (try? encoder.encode(problem)) ?? Data()
            if let refusal = error as? Refusal { headers[.retryAfter] = "\(refusal.retryAfterSeconds)" }
            return Response(
                status: HTTPResponse.Status(code: problem.status), headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}
