import Broker
import Foundation
import Hummingbird
import Ledger
import Logging
import Ports
import Prometheus

/// Builds the broker's HTTP application.
public enum BrokerApplication {
    /// The router with problem+json errors, signature authentication and every route.
    ///
    /// In order, every request meets: metrics, problem+json errors, admission (a bounded number in
    /// flight, refused at once beyond it), a deadline for its answer (for a store that can wait
    /// without end, PostgreSQL), its signature, and its party's traffic share.
    public static func router(service: BrokerService, transfer: TransferService, nonces: any NonceStore,
                              metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), publicURL: URL? = nil,
                              admission: AdmissionGate = AdmissionGate.standard,
                              requestDeadlineSeconds: Double? = nil) -> Router<BrokerRequestContext> {
        let router = Router(context: BrokerRequestContext.self)
        let traffic = TrafficLimiter(clock: service.clock) { try await service.activePolicy()?.policy.traffic }
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: AdmissionMiddleware(gate: admission))
        if let requestDeadlineSeconds { router.add(middleware: DeadlineMiddleware(seconds: requestDeadlineSeconds)) }
        router.add(middleware: SignatureMiddleware(signers: service.signers, nonces: nonces, clock: service.clock,
                                                   publicPaths: BrokerAPI.publicPaths, publicURL: publicURL))
        router.add(middleware: TrafficMiddleware(limiter: traffic))
        BrokerAPI(service: service, transfer: transfer, traffic: traffic).addRoutes(to: router)
        BrokerMetrics.addRoute(to: router, registry: metrics)
        return router
    }

    /// The application listening on `host:port`.
    public static func make(service: BrokerService, transfer: TransferService, nonces: any NonceStore,
                            metrics: PrometheusCollectorRegistry, host: String, port: Int, publicURL: URL? = nil,
                            admission: AdmissionGate = AdmissionGate.standard, requestDeadlineSeconds: Double? = nil, logger: Logger,
                            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(service: service, transfer: transfer, nonces: nonces, metrics: metrics, publicURL: publicURL,
                                   admission: admission, requestDeadlineSeconds: requestDeadlineSeconds),
                    configuration: .init(address: .hostname(host, port: port), serverName: "mydata-broker"),
                    onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
                    logger: logger)
    }
}
