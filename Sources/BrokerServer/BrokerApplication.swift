import Broker
import Foundation
import Hummingbird
import Ledger
import Logging
import Ports
import Prometheus
import ServiceLifecycle

/// Builds the broker's HTTP application.
public enum BrokerApplication {
    /// The router with problem+json errors, signature authentication and every route.
    ///
    /// In order, every request meets: metrics, problem+json errors and admission (a bounded number
    /// in flight, refused at once beyond it); under `/v1`, a deadline for its answer (for a store
    /// that can wait without end, PostgreSQL); and on every `/v1` route but the public ones, its
    /// signature and its party's traffic share. Each area's handlers are a controller.
    public static func router(
        service: BrokerService, transfer: TransferService, nonces: any NonceStore,
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), publicURL: URL? = nil,
        admission: AdmissionGate = AdmissionGate.standard,
        requestDeadlineSeconds: Double? = nil, dashboard: DashboardFiles? = nil
    ) -> Router<BrokerRequestContext> {
        let router = Router(context: BrokerRequestContext.self)
        let traffic = TrafficLimiter(clock: service.clock) { try await service.activePolicy()?.policy.traffic }
        router.add(middleware: MetricsMiddleware())
        let routes = RouteTable()
        router.add(middleware: ProblemMiddleware(routes: routes))
        router.add(middleware: AdmissionMiddleware(gate: admission))
        // The person's dashboard at / and /app/…: static files under a strict CSP, no signature.
        if let dashboard { router.add(middleware: DashboardMiddleware(files: dashboard)) }
        let api = BrokerAPI(service: service, transfer: transfer, traffic: traffic)
        HealthController(api: api).addRoutes(to: router)
        BrokerMetrics.addRoute(to: router, registry: metrics)

        let v1 = router.group("v1")
        if let requestDeadlineSeconds { v1.add(middleware: DeadlineMiddleware(seconds: requestDeadlineSeconds)) }
        PublicController(api: api).addRoutes(to: v1)
        TransparencyController(api: api).addRoutes(to: v1)

        let signed = v1.group()
            .add(middleware: SignatureMiddleware(signers: service.signers, nonces: nonces, clock: service.clock, publicURL: publicURL))
            .add(middleware: TrafficMiddleware(limiter: traffic))
        ConsentController(api: api).addRoutes(to: signed)
        TransferController(api: api).addRoutes(to: signed)
        MoneyController(api: api).addRoutes(to: signed)
        LogController(api: api).addRoutes(to: signed)
        AnalysisController(api: api).addRoutes(to: signed)
        routes.load(router.routes)
        return router
    }

    /// The application listening on `host:port`, running `services` (the broker's background
    /// work) beside the server, all ended together at graceful shutdown (SIGTERM, SIGINT).
    public static func make(
        service: BrokerService, transfer: TransferService, nonces: any NonceStore,
        metrics: PrometheusCollectorRegistry, host: String, port: Int, publicURL: URL? = nil,
        admission: AdmissionGate = AdmissionGate.standard, requestDeadlineSeconds: Double? = nil,
        dashboard: DashboardFiles? = nil, services: [any Service] = [], logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(
                service: service, transfer: transfer, nonces: nonces, metrics: metrics, publicURL: publicURL,
                admission: admission, requestDeadlineSeconds: requestDeadlineSeconds, dashboard: dashboard),
            configuration: .init(address: .hostname(host, port: port), serverName: "mydata-broker"),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
