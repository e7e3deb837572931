import Hummingbird
import Metrics
import Prometheus

/// Prometheus metrics for `/metrics`: Hummingbird's request counts and latencies by route and
/// status, and the broker's own counters (appends, deliveries, rejections). No label ever holds
/// personal data: routes are templates (`/v1/consents/{id}`), codes are error codes.
public enum BrokerMetrics {
    /// Routes every swift-metrics metric of this process to a Prometheus registry. Call once.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// Adds `GET /metrics` in the Prometheus text format.
    static func addRoute(to router: Router<BrokerRequestContext>, registry: PrometheusCollectorRegistry) {
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }
}
