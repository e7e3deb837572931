import Broker
import Foundation
import Hummingbird
import Ledger
import Logging
import Prometheus

/// Builds the broker's HTTP application.
public enum BrokerApplication {
    /// The router with problem+json errors, signature authentication and every route.
    public static func router(service: BrokerService, transfer: TransferService, nonces: any NonceStore,
                              metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), publicURL: URL? = nil) -> Router<BrokerRequestContext> {
        let router = Router(context: BrokerRequestContext.self)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: SignatureMiddleware(store: service.store, nonces: nonces, clock: service.clock,
                                                   publicPaths: BrokerAPI.publicPaths, publicURL: publicURL))
        BrokerAPI(service: service, transfer: transfer).addRoutes(to: router)
        BrokerMetrics.addRoute(to: router, registry: metrics)
        return router
    }

    /// The application listening on `host:port`.
    public static func make(service: BrokerService, transfer: TransferService, nonces: any NonceStore,
                            metrics: PrometheusCollectorRegistry, host: String, port: Int, publicURL: URL? = nil, logger: Logger,
                            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(service: service, transfer: transfer, nonces: nonces, metrics: metrics, publicURL: publicURL),
                    configuration: .init(address: .hostname(host, port: port), serverName: "mydata-broker"),
                    onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
                    logger: logger)
    }
}
