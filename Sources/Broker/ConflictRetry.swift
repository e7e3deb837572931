import Ledger

/// Optimistic concurrency's retry, in one place: runs `attempt` (numbered from 1) again while it
/// fails because a concurrent append changed a stream it read (`streamVersionConflict`), so the
/// caller decides again on what the store holds now. After `BrokerLimits.conflictRetriesMax`
/// attempts the last conflict is thrown; any other error at once.
func retryingOnConflict<T>(_ attempt: (Int) async throws -> T) async throws -> T {
    var number = 1
    while true {
        do {
            return try await attempt(number)
        } catch let error as LedgerError where error.code == .streamVersionConflict && number < BrokerLimits.conflictRetriesMax {
            number += 1
        }
    }
}
