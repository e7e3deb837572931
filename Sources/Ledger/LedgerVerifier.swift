import Dispatch
import Sodium

/// Recomputes every hash and link, checks every author signature and every broker checkpoint,
/// and reports the first bad event. It re-hashes stored fields and never trusts a stored hash.
///
/// Per page of events: hashing, payload preparation and signature checks run on every core;
/// only the link comparisons and the key book run in order; the next page is read meanwhile.
public struct LedgerVerifier<Book: AuthorKeyBook> {
    private let store: any EventStore
    private let brokerKey: VerifyingKey
    private var keyBook: Book
    private let pageEvents: Int
    private let workers: Int

    /// - Parameters:
    ///   - brokerKey: the broker's public key, from a trusted source (not from the ledger).
    ///   - workers: threads for hashing and signature checks; defaults to every core.
    public init(
        store: any EventStore, brokerKey: VerifyingKey, keyBook: Book,
        pageEvents: Int = 4_096, workers: Int = ProcessInfoCores.count
    ) {
        self.store = store
        self.brokerKey = brokerKey
        self.keyBook = keyBook
        self.pageEvents = pageEvents
        self.workers = max(1, workers)
    }

    /// Runs the whole check. `progress` is called after each page with events done and total.
    ///
    /// - Parameter trusted: a checkpoint held outside the database (published, or from a
    ///   receipt); the ledger must reach it and match it.
    /// - Returns: the report, or the first failure in sequence order.
    /// - Throws: only store errors (an unreadable database), never a verification finding.
    public mutating func run(
        trusted: Checkpoint? = nil,
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) async throws -> Result<VerificationReport, VerificationFailure> {
        let total = try await store.head().sequence
        var checkpoints = try await store.checkpoints()
        if let trusted {
            guard trusted.isSigned(by: brokerKey) else {
                return .failure(
                    VerificationFailure(
                        sequence: trusted.sequence, kind: .trustedCheckpointMismatch,
                        detail: "the trusted checkpoint is not signed by the broker key"))
            }
            checkpoints.append(trusted)
        }
        // A checkpoint row the broker did not sign is itself the finding: it must not make the
        // events it claims to cover look rewritten. Only signed checkpoints are compared.
        let forged = checkpoints.filter { !$0.isSigned(by: brokerKey) }.min { $0.sequence < $1.sequence }
        var checkpointsBySequence: [UInt64: [Checkpoint]] = [:]
        for cp in checkpoints where cp.isSigned(by: brokerKey) { checkpointsBySequence[cp.sequence, default: []].append(cp) }
        func firstInOrder(_ failure: VerificationFailure) -> VerificationFailure {
            guard let forged, forged.sequence <= failure.sequence else { return failure }
            return VerificationFailure(
                sequence: forged.sequence, kind: .badCheckpoint,
                detail: "the checkpoint row at this sequence is not signed by the broker's key: it was forged or changed")
        }

        var expected: UInt64 = 1
        var previous = ChainHead.genesis.hash
        var signatures = 0
        let store = self.store
        let pageSize = pageEvents
        var page = try await store.events(from: 1, limit: pageSize)
        while !page.isEmpty {
            let nextStart = (page.last?.sequence ?? 0) + 1
            async let nextPage = store.events(from: nextStart, limit: pageSize)
            let current = page
            let prepared = try ParallelMap.map(current, workers: workers) { e in (e.recomputedHash(), Book.prepare(e)) }
            var jobs: [(index: Int, key: VerifyingKey)] = []
            var failure: VerificationFailure?
            var checked = 0
            for (i, event) in page.enumerated() {
                let (recomputed, prep) = prepared[i]
                if let f = checkStructure(
                    event, recomputed: recomputed, expected: expected, previous: previous,
                    checkpoints: checkpointsBySequence[event.sequence] ?? [], trusted: trusted)
                {
                    failure = f
                    break
                }
                switch keyBook.expectedSigner(of: event, prepared: prep) {
                case .broker where event.event.signature.isEmpty:
                    break
                case .broker:
                    failure = VerificationFailure(sequence: event.sequence, kind: .badSignature, detail: "a broker event carries an author signature")
                case .key(let key):
                    jobs.append((i, key))
                case .unknown(let why):
                    failure = VerificationFailure(sequence: event.sequence, kind: .unknownAuthor, detail: why)
                case .wrongAuthor(let why):
                    failure = VerificationFailure(sequence: event.sequence, kind: .wrongAuthor, detail: why)
                case .malformed(let why):
                    failure = VerificationFailure(sequence: event.sequence, kind: .malformedEvent, detail: why)
                }
                if failure != nil { break }
                previous = recomputed
                expected = event.sequence + 1
                checked += 1
            }
            let signed = jobs.map { (event: current[$0.index].event, key: $0.key) }
            let valid = try ParallelMap.map(signed, workers: workers) { job in
                let e = job.event
                guard let sig = try? Signature(bytes: e.signature) else { return false }
                return job.key.isValidSignature(sig, for: e.signingInput)
            }
            signatures += jobs.count
            if let bad = zip(jobs, valid).first(where: { !$0.1 }) {
                _ = try? await nextPage
                return .failure(
                    firstInOrder(
                        VerificationFailure(
                            sequence: page[bad.0.index].sequence, kind: .badSignature,
                            detail: "the author's signature does not verify against their registered key")))
            }
            if let failure {
                _ = try? await nextPage
                return .failure(firstInOrder(failure))
            }
            progress(expected - 1, max(total, expected - 1))
            page = try await nextPage
        }

        let last = expected - 1
        if let forged { return .failure(firstInOrder(VerificationFailure(sequence: forged.sequence, kind: .badCheckpoint, detail: ""))) }
        for cp in checkpoints {
            if cp.sequence > last {
                let kind: VerificationFailure.Kind = cp == trusted ? .trustedCheckpointMismatch : .tailTruncated
                return .failure(
                    VerificationFailure(
                        sequence: last + 1, kind: kind,
                        detail: "the broker signed a checkpoint at event \(cp.sequence), but the ledger ends at event \(last)"))
            }
        }
        return .success(
            VerificationReport(
                events: last, signatures: signatures, checkpoints: checkpoints.count - (trusted == nil ? 0 : 1),
                head: ChainHead(sequence: last, hash: previous)))
    }

    private func checkStructure(
        _ event: RecordedEvent, recomputed: [UInt8], expected: UInt64, previous: [UInt8],
        checkpoints: [Checkpoint], trusted: Checkpoint?
    ) -> VerificationFailure? {
        if event.sequence > expected {
            let detail =
                event.sequence == expected + 1
                ? "event \(expected) was deleted"
                : "events \(expected) to \(event.sequence - 1) were deleted"
            return VerificationFailure(sequence: expected, kind: .eventMissing, detail: detail)
        }
        if event.sequence < expected {
            return VerificationFailure(sequence: event.sequence, kind: .orderChanged, detail: "sequence numbers go backwards")
        }
        if !Sodium.constantTimeEquals(event.previousHash, previous) {
            return VerificationFailure(
                sequence: event.sequence, kind: .orderChanged,
                detail: "it does not link to event \(event.sequence - 1): events were reordered, replaced or rewritten")
        }
        if !Sodium.constantTimeEquals(recomputed, event.hash) {
            return VerificationFailure(
                sequence: event.sequence, kind: .payloadChanged,
                detail: "its stored content does not hash to its recorded hash (type \(event.event.type))")
        }
        for cp in checkpoints where !Sodium.constantTimeEquals(cp.headHash, recomputed) {
            return VerificationFailure(
                sequence: event.sequence, kind: cp == trusted ? .trustedCheckpointMismatch : .badCheckpoint,
                detail: "the chain up to here no longer matches a checkpoint the broker signed: earlier events were rewritten")
        }
        return nil
    }
}
