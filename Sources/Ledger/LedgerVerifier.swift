import Dispatch
import Sodium

/// Recomputes every hash and link, checks every author signature (on every core) and every
/// broker checkpoint, and reports the first bad event.
///
/// It re-hashes stored fields and never trusts a stored hash.
public struct LedgerVerifier<Book: AuthorKeyBook> {
    private let store: any EventStore
    private let brokerKey: VerifyingKey
    private var keyBook: Book
    private let pageEvents: Int
    private let workers: Int

    /// - Parameters:
    ///   - brokerKey: the broker's public key, from a trusted source (not from the ledger).
    ///   - workers: threads for signature checks; defaults to every core.
    public init(store: any EventStore, brokerKey: VerifyingKey, keyBook: Book,
                pageEvents: Int = 4_096, workers: Int = ProcessInfoCores.count) {
        self.store = store
        self.brokerKey = brokerKey
        self.keyBook = keyBook
        self.pageEvents = pageEvents
        self.workers = max(1, workers)
    }

    /// Runs the whole check. `progress` is called after each page with events done and total.
    ///
    /// - Returns: the report, or the first failure in sequence order.
    /// - Throws: only store errors (an unreadable database), never a verification finding.
    public mutating func run(progress: (UInt64, UInt64) -> Void = { _, _ in }) async throws -> Result<VerificationReport, VerificationFailure> {
        let total = try await store.head().sequence
        let checkpoints = try await store.checkpoints()
        var checkpointsBySequence: [UInt64: Checkpoint] = [:]
        for cp in checkpoints { checkpointsBySequence[cp.sequence] = cp }

        var expected: UInt64 = 1
        var previous = ChainHead.genesis.hash
        var signatures = 0
        var structural: VerificationFailure?

        reading: while true {
            let page = try await store.events(from: expected, limit: pageEvents)
            if page.isEmpty { break }
            var jobs: [SignatureJob] = []
            jobs.reserveCapacity(page.count)
            for event in page {
                if let failure = checkStructure(event, expected: expected, previous: previous, checkpoints: checkpointsBySequence) {
                    structural = failure
                    break
                }
                let recomputed = event.hash  // equal to the recomputed hash: checkStructure compared them
                switch keyBook.expectedSigner(of: event) {
                case .broker:
                    if !event.event.signature.isEmpty {
                        structural = VerificationFailure(sequence: event.sequence, kind: .badSignature, detail: "a broker event carries an author signature")
                    }
                case .key(let key):
                    jobs.append(SignatureJob(sequence: event.sequence, key: key, input: event.event.signingInput, signature: event.event.signature))
                case .unknown(let why):
                    structural = VerificationFailure(sequence: event.sequence, kind: .unknownAuthor, detail: why)
                }
                if structural != nil { break }
                previous = recomputed
                expected = event.sequence + 1
            }
            signatures += jobs.count
            if let bad = Self.firstBadSignature(jobs, workers: workers) {
                return .failure(bad)
            }
            if let structural { return .failure(structural) }
            progress(expected - 1, max(total, expected - 1))
        }

        let last = expected - 1
        for cp in checkpoints {
            guard cp.isSigned(by: brokerKey) else {
                return .failure(VerificationFailure(sequence: cp.sequence, kind: .badCheckpoint, detail: "the checkpoint at this sequence is not signed by the broker's key"))
            }
            if cp.sequence > last {
                return .failure(VerificationFailure(sequence: last + 1, kind: .tailTruncated,
                    detail: "the broker signed a checkpoint at event \(cp.sequence), but the ledger ends at event \(last)"))
            }
        }
        return .success(VerificationReport(events: last, signatures: signatures, checkpoints: checkpoints.count,
                                           head: ChainHead(sequence: last, hash: previous)))
    }

    private func checkStructure(_ event: RecordedEvent, expected: UInt64, previous: [UInt8],
                                checkpoints: [UInt64: Checkpoint]) -> VerificationFailure? {
        if event.sequence > expected {
            let detail = event.sequence == expected + 1
                ? "event \(expected) was deleted"
                : "events \(expected) to \(event.sequence - 1) were deleted"
            return VerificationFailure(sequence: expected, kind: .eventMissing, detail: detail)
        }
        if event.sequence < expected {
            return VerificationFailure(sequence: event.sequence, kind: .orderChanged, detail: "sequence numbers go backwards")
        }
        if !Sodium.constantTimeEquals(event.previousHash, previous) {
            return VerificationFailure(sequence: event.sequence, kind: .orderChanged,
                detail: "it does not link to event \(event.sequence - 1): events were reordered, replaced or rewritten")
        }
        let recomputed = event.recomputedHash()
        if !Sodium.constantTimeEquals(recomputed, event.hash) {
            return VerificationFailure(sequence: event.sequence, kind: .payloadChanged,
                detail: "its stored content does not hash to its recorded hash (type \(event.event.type))")
        }
        if let cp = checkpoints[event.sequence], !Sodium.constantTimeEquals(cp.headHash, recomputed) {
            return VerificationFailure(sequence: event.sequence, kind: .badCheckpoint,
                detail: "the chain up to here no longer matches the broker's signed checkpoint: earlier events were rewritten")
        }
        return nil
    }

    private struct SignatureJob: Sendable {
        let sequence: UInt64
        let key: VerifyingKey
        let input: [UInt8]
        let signature: [UInt8]

        var isValid: Bool {
            guard let sig = try? Signature(bytes: signature) else { return false }
            return key.isValidSignature(sig, for: input)
        }
    }

    private static func firstBadSignature(_ jobs: [SignatureJob], workers: Int) -> VerificationFailure? {
        guard !jobs.isEmpty else { return nil }
        let results = SignatureResults(count: jobs.count)
        let stride = workers
        DispatchQueue.concurrentPerform(iterations: min(workers, jobs.count)) { worker in
            var i = worker
            while i < jobs.count {
                results.set(i, jobs[i].isValid)
                i += stride
            }
        }
        guard let index = results.firstFalse() else { return nil }
        return VerificationFailure(sequence: jobs[index].sequence, kind: .badSignature,
                                   detail: "the author's signature does not verify against their registered key")
    }
}

/// Results written by concurrent workers, each to its own index.
private final class SignatureResults: @unchecked Sendable {
    private let flags: UnsafeMutableBufferPointer<Bool>

    init(count: Int) {
        flags = .allocate(capacity: count)
        flags.initialize(repeating: false)
    }

    deinit { flags.deallocate() }

    // Each index is written by exactly one worker, and read only after concurrentPerform returns.
    func set(_ index: Int, _ value: Bool) { flags[index] = value }

    func firstFalse() -> Int? { flags.firstIndex(of: false) }
}
