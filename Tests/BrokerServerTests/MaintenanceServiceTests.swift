import Broker
import BrokerServer
import Consent
import Ledger
import Logging
import ServiceLifecycle
import TestSupport
import Testing

/// The broker's background work runs as a service of the application and ends with it.
struct MaintenanceServiceTests {
    @Test("the maintenance service signs a checkpoint over an unsigned head, and ends at graceful shutdown")
    func signsAndStops() async throws {
        let f = try await BrokerFixture()
        // An event appended past the service's back, so nothing has signed the head yet.
        let event = try DomainEvent.dataDelivered(
            DataDelivered(
                deliveryID: "dlv_m", consentID: "con_m", subject: "sub_m", recipient: f.recipient.id,
                items: ["vehicle.driving"], records: 1, digest: "00")
        )
        .newEvent(authorID: AuthorID.broker, time: f.clock.now())
        let head = try #require(try await f.store.append(AppendBatch(events: [event])).last).sequence
        #expect(try await f.store.checkpoints().last.map(\.sequence) ?? 0 < head)

        let group = ServiceGroup(services: [MaintenanceService(broker: f.broker, tickSeconds: 0.05)], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        var signed = false
        for _ in 0..<200 where !signed {  // a bound on the wait, not a measure of speed
            try await Task.sleep(nanoseconds: 50_000_000)
            signed = try await f.store.checkpoints().last?.sequence == head
        }
        #expect(signed, "a checkpoint covers the head")
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
