import Broker
import Hummingbird
import Ledger
import Logging
import Prometheus

/// Builds the broker's HTTP application.
public enum BrokerApplication {
    /// The router with problem+json errors, signature authentication and every route.
    public static func router(service: BrokerService, transfer: TransferService, nonces: any NonceStore,
                              metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) -> Router<BrokerRequestContext> {
        let router = Router(context: BrokerRequestContext.self)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: SignatureMiddleware(store: service.store, nonces: nonces, clock: service.clock,
                                                   publicPaths: BrokerAPI.publicPaths))
        BrokerAPI(service: service, transfer: transfer).addRoutes(to: router)
        BrokerMetrics.addRoute(to: router, registry: metrics)
        return router
    }

    /// The application listening on `host:port`.
    public static func make(service: BrokerService, transfer: TransferService, nonces: any NonceStore,
                            metrics: PrometheusCollectorRegistry, host: String, port: Int, logger: Logger,
                            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(service: service, transfer: transfer, nonces: nonces, metrics: metrics),
                    configuration: .init(address: .hostname(host, port: port), serverName: "mydata-broker"),
                    onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
                    logger: logger)
    }
}
