import Broker
import Consent
import Ledger
import ServiceLifecycle

/// The broker's periodic work, run as a service of the application (it ends at graceful
/// shutdown, with the server): a quiet broker still signs its head within
/// `Limits.checkpointEverySeconds`, and every `BrokerLimits.sweepEveryCheckpointTicks` ticks (about
/// once a minute) returns what is left on expired vouchers to their fund and voids reservations
/// past their timeout (rewards of consents that expired undelivered); at the first such sweep of
/// each UTC day it issues the quality certificates of the period that just ended (once per
/// period: a series already certified keeps its certificate).
public struct MaintenanceService: Service, CustomStringConvertible {
    /// What ServiceLifecycle logs for it: a name, not the broker's state.
    public var description: String { "MaintenanceService" }

    let broker: BrokerService
    let tickSeconds: Double

    /// - Parameter tickSeconds: between two checkpoint ticks (`Limits.checkpointEverySeconds`;
    ///   tests pass less).
    public init(broker: BrokerService, tickSeconds: Double = Double(Limits.checkpointEverySeconds)) {
        self.broker = broker
        self.tickSeconds = tickSeconds
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var ticks = 0
            var certifiedDay: Int64?
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(tickSeconds * 1e9))
                guard !Task.isCancelled else { return }
                // Failures are the store's and are retried at the next tick; requests report their own.
                try? await broker.signCheckpoint()
                ticks += 1
                if ticks % BrokerLimits.sweepEveryCheckpointTicks == 0 {
                    _ = try? await broker.expireVouchers()
                    _ = try? await broker.voidExpiredReservations()
                    let today = QualityPeriod.day(of: broker.clock.now())
                    if certifiedDay != today, (try? await broker.activePolicy())??.policy.quality != nil {
                        if (try? await QualityService(broker: broker).certify()) != nil { certifiedDay = today }
                    }
                }
            }
        }
    }
}
