import Foundation
import Synchronization

/// Bounds the requests the broker works on at once. What exceeds the bound is refused at once
/// (503 with `Retry-After`) instead of queued, so that the latency of admitted requests stays flat
/// under any offered load.
///
/// Consent changes (grants, revocations, erasure, key registrations) have a reserve of their own:
/// a flood of pulls can fill the general slots but never the reserve, so a revocation is never
/// stuck behind it.
public final class AdmissionGate: Sendable {
    /// Requests of any kind at once.
    public let requestsInFlightMax: Int
    /// Consent changes at once beyond `requestsInFlightMax`.
    public let priorityReserveMax: Int
    private let inFlight = Mutex<(general: Int, reserve: Int)>((0, 0))

    /// The default: 16 requests in flight per core, and a reserve of a quarter of that for consent
    /// changes.
    public static var standard: AdmissionGate {
        let inFlight = APILimits.requestsInFlightPerCore * max(1, ProcessInfo.processInfo.activeProcessorCount)
        return AdmissionGate(requestsInFlightMax: inFlight, priorityReserveMax: max(4, inFlight / 4))
    }

    public init(requestsInFlightMax: Int, priorityReserveMax: Int) {
        precondition(requestsInFlightMax >= 1, "at least one request can be worked on")
        precondition(priorityReserveMax >= 0, "the reserve is not negative")
        self.requestsInFlightMax = requestsInFlightMax
        self.priorityReserveMax = priorityReserveMax
    }

    /// A slot for one request, or nil when there is none.
    func admit(priority: Bool) -> Ticket? {
        let slot: Ticket.Slot? = inFlight.withLock { counts in
            if counts.general < requestsInFlightMax {
                counts.general += 1
                return .general
            }
            if priority, counts.reserve < priorityReserveMax {
                counts.reserve += 1
                return .reserve
            }
            return nil
        }
        return slot.map { Ticket(gate: self, slot: $0) }
    }

    /// Requests being worked on now, for `/metrics` and tests.
    public var requestsInFlight: Int { inFlight.withLock { $0.general + $0.reserve } }

    fileprivate func release(_ slot: Ticket.Slot) {
        inFlight.withLock { counts in
            switch slot {
            case .general:
                precondition(counts.general > 0, "a general slot is released once")
                counts.general -= 1
            case .reserve:
                precondition(counts.reserve > 0, "a reserve slot is released once")
                counts.reserve -= 1
            }
        }
    }

    /// One admitted request's slot, given back exactly once: when the response has been written,
    /// or when the response is dropped unwritten (the connection closed first).
    final class Ticket: Sendable {
        enum Slot { case general, reserve }

        private let gate: AdmissionGate
        private let slot: Slot
        private let held = Mutex(true)

        fileprivate init(gate: AdmissionGate, slot: Slot) {
            self.gate = gate
            self.slot = slot
        }

        func release() {
            guard
                held.withLock({ held in
                    defer { held = false }; return held
                })
            else { return }
            gate.release(slot)
        }

        deinit { release() }
    }
}
