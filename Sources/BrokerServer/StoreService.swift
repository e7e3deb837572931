import Broker
import Ports
import ServiceLifecycle

/// The store's lifetime as a service of the application. Listed first, it is ended last: at
/// graceful shutdown (SIGTERM, SIGINT), after the server has answered what it had accepted and
/// the other services have stopped, it signs the final checkpoint and closes the store's
/// connections (PostgreSQL's client; SQLite's pool).
public struct StoreService: Service, CustomStringConvertible {
    /// What ServiceLifecycle logs for it: a name, not the broker's state.
    public var description: String { "StoreService" }

    let broker: BrokerService

    public init(broker: BrokerService) { self.broker = broker }

    public func run() async throws {
        // Cancellation (the group giving up) also ends the wait; the store is closed either way.
        try? await gracefulShutdown()
        // A checkpoint that cannot be signed now is signed by the next broker to start.
        try? await broker.signCheckpoint()
        broker.store.close()
    }
}
