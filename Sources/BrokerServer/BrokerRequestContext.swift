import Broker
import Hummingbird
import MyDataWire
import Logging

/// The request context: Hummingbird's core storage plus the authenticated principal.
public struct BrokerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `SignatureMiddleware` once the request's signature verified.
    public var principal: Principal?

    public init(source: Source) {
        coreContext = .init(source: source)
        principal = nil
    }

    public var maxUploadSize: Int { APILimits.requestBodyBytesMax }

    /// The principal, or a 401 when the route was reached without one.
    func requirePrincipal() throws(HTTPSignatureError) -> Principal {
        guard let principal else { throw HTTPSignatureError(.missingSignature, "sign the request (RFC 9421)") }
        return principal
    }
}
