@testable import BrokerServer
import Foundation
import Ledger
import Testing

/// A database that cannot be reached is "try again later" (503), never a broker failure (500),
/// and readiness answers within a bound.
struct AvailabilityTests {
    struct LostConnection: StoreUnavailability { var isStoreUnavailable: Bool { true } }
    struct RefusedQuery: StoreUnavailability { var isStoreUnavailable: Bool { false } }

    @Test("a lost database connection is 503 storeUnavailable; a refused query stays 500")
    func unreachableIs503() {
        let lost = ErrorTable.problem(for: LostConnection())
        #expect(lost.status == 503)
        #expect(lost.code == "storeUnavailable")
        #expect(ErrorTable.problem(for: RefusedQuery()).status == 500)
    }

    @Test("a store that does not answer fails the bounded wait instead of holding the caller")
    func boundedWait() async throws {
        // The body would answer after 30 s; an error means the wait gave up first.
        await #expect(throws: LedgerError.self) {
            try await withDeadline(seconds: 0.2) {
                try await Task.sleep(nanoseconds: 30_000_000_000); return 1
            }
        }
        #expect(try await withDeadline(seconds: 5) { 7 } == 7)
    }
}
