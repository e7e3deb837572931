import Consent
import Ledger
@testable import Storage
import Testing

/// The pure step both stores run for a group commit: conditions against the versions the batches
/// before left, the chain onto the head, and what the store must then write.
struct AppendPlanTests {
    let start = ChainHead(sequence: 41, hash: [UInt8](repeating: 7, count: 32))

    func pending(_ events: [NewEvent], _ conditions: [StreamCondition] = []) throws -> PendingAppend {
        try PendingAppend(checking: AppendBatch(events: events, conditions: conditions))
    }

    @Test("accepted events chain onto the head with consecutive sequences, and the streams they add to are counted")
    func chainsOntoTheHead() throws {
        var plan = AppendPlan(head: start, versions: [:])
        let first = try plan.add(pending([try delivery(1, consent: "con_a"), try delivery(2, consent: "con_b")])).get()
        let second = try plan.add(pending([try delivery(3, consent: "con_a")])).get()
        let records = first + second
        #expect(records.map(\.sequence) == [42, 43, 44])
        #expect(records[0].previousHash == start.hash)
        #expect(records[1].previousHash == records[0].hash && records[2].previousHash == records[1].hash)
        #expect(plan.head == records[2].head)
        #expect(plan.accepted.map(\.record) == records)
        #expect(plan.increments == [StreamName.deliveries("con_a"): 2, StreamName.deliveries("con_b"): 1])
    }

    @Test("a batch's condition sees the versions the batches before it in the group left")
    func conditionsSeeEarlierBatches() throws {
        let stream = StreamName.deliveries("con_a")
        var plan = AppendPlan(head: start, versions: [stream: 5])
        _ = try plan.add(pending([try delivery(1, consent: "con_a")], [StreamCondition(streamID: stream, expectedVersion: 5)])).get()
        // Decided on version 5 too, but the batch before moved the stream to 6.
        let stale = plan.add(try pending([try delivery(2, consent: "con_a")], [StreamCondition(streamID: stream, expectedVersion: 5)]))
        #expect(throws: LedgerError.self) { try stale.get() }
        let fresh = plan.add(try pending([try delivery(3, consent: "con_a")], [StreamCondition(streamID: stream, expectedVersion: 6)]))
        #expect(try fresh.get().map(\.sequence) == [43])
    }

    @Test("a refused batch leaves the plan as it was: head, accepted events and increments")
    func refusalChangesNothing() throws {
        var plan = AppendPlan(head: start, versions: [:])
        let refused = plan.add(
            try pending(
                [try delivery(1, consent: "con_a"), try delivery(2, consent: "con_b")],
                [StreamCondition(streamID: StreamName.deliveries("con_b"), expectedVersion: 3)]))
        guard case .failure(let error as LedgerError) = refused else { Issue.record("the batch was accepted"); return }
        #expect(error.code == .streamVersionConflict)
        #expect(plan.head == start && plan.accepted.isEmpty && plan.increments.isEmpty)
        #expect(
            AppendPlan.watchedStreams([
                try pending(
                    [try delivery(1)],
                    [
                        StreamCondition(streamID: "b", expectedVersion: 0),
                        StreamCondition(streamID: "a", expectedVersion: 0),
                    ]),
                try pending([try delivery(2)], [StreamCondition(streamID: "a", expectedVersion: 1)]),
            ]) == ["a", "b"])
    }
}
