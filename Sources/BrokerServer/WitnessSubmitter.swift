import Broker
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import Logging
import Metrics
import MyDataWire
import Ports
import ServiceLifecycle

/// Submits each new log checkpoint to the broker's witnesses (c2sp.org/tlog-witness
/// `add-checkpoint`, with the consistency proof from the size each witness last cosigned), keeps
/// their cosignatures on the stored checkpoint note (so `GET /v1/log/checkpoint` serves them),
/// and retries a witness that is down or refuses with back-off, alone: it delays nothing but its
/// own cosignature. Figures in `/metrics`: `mydata_witness_submissions_total{witness,result}` and
/// `mydata_witness_cosigned_size{witness}`.
public final class WitnessSubmitter: Service, LogWitnessing, CustomStringConvertible {
    /// A witness to submit to: where its `add-checkpoint` is, and its cosignature verifier key.
    public struct Target: Sendable {
        public var url: URL
        public var verifier: NoteVerifier
        public init(url: URL, verifier: NoteVerifier) {
            self.url = url
            self.verifier = verifier
        }

        /// Reads `URL=VKEY` (`serve --witness`); nil when it is not one.
        public init?(argument: String) {
            guard let equals = argument.firstIndex(of: "="), let url = URL(string: String(argument[..<equals])),
                let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                let verifier = NoteVerifier(vkey: String(argument[argument.index(after: equals)...])), verifier.kind == .cosignature
            else { return nil }
            self.init(url: url, verifier: verifier)
        }

        var addCheckpointURL: URL { url.appendingPathComponent("add-checkpoint") }
    }

    public var description: String { "WitnessSubmitter" }

    let store: any LogTileStore
    let targets: [Target]
    let logger: Logger
    private let state: State

    public init(store: any LogTileStore, targets: [Target], logger: Logger) {
        self.store = store
        self.targets = targets
        self.logger = logger
        self.state = State(count: targets.count)
    }

    /// What the broker knows of one witness.
    struct Progress: Sendable {
        /// The size the witness last cosigned, as far as the broker knows (nil: not asked yet).
        var known: UInt64?
        /// The largest size whose stored note carries this witness's cosignature.
        var cosigned: UInt64 = 0
        /// Failed submissions since the last success; the back-off doubles with each.
        var failures = 0
        var nextAttempt = ContinuousClock.now
    }

    actor State {
        var progress: [Progress]
        /// Witnesses with a submission under way: one at a time each, whoever asks.
        var inFlight = Set<Int>()
        init(count: Int) { progress = Array(repeating: Progress(), count: count) }
        func claim(_ i: Int) -> Progress? { inFlight.insert(i).inserted ? progress[i] : nil }
        func release(_ i: Int, _ p: Progress) {
            progress[i] = p
            inFlight.remove(i)
        }
        func all() -> [Progress] { progress }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.runOnce()
                try? await Task.sleep(nanoseconds: UInt64(BrokerLimits.witnessPollSeconds * 1e9))
            }
        }
    }

    /// Submits the newest checkpoint to every witness that is due and has not cosigned it.
    public func runOnce() async {
        guard let latest = try? await store.latestLogCheckpoint() else { return }
        await withTaskGroup(of: Void.self) { group in
            for i in targets.indices { group.addTask { await self.submit(latest, to: i) } }
        }
    }

    private func submit(_ latest: (size: UInt64, note: String), to i: Int) async {
        guard let progress = await state.claim(i) else { return }
        await state.release(i, await attempt(latest, to: i, progress))
    }

    /// One round with witness `i`, if due; returns what the broker knows of it after.
    private func attempt(_ latest: (size: UInt64, note: String), to i: Int, _ known: Progress) async -> Progress {
        var progress = known
        let target = targets[i]
        guard progress.cosigned < latest.size, ContinuousClock.now >= progress.nextAttempt else { return progress }
        let name = target.verifier.name
        // A 409 names the size the witness holds: try again with it at once (twice at most).
        for _ in 0..<2 {
            let old = progress.known ?? 0
            guard old <= latest.size else {
                // The witness holds a larger tree than this broker's newest checkpoint (another
                // process of a PostgreSQL deployment submitted it): nothing to send.
                progress.cosigned = max(progress.cosigned, latest.size)
                break
            }
            let result: Outcome
            do {
                result = try await post(latest, old: old, to: target)
            } catch {
                result = .failed("\(error)")
            }
            switch result {
            case .cosigned(let signatures):
                if (try? await store.addLogCosignatures(size: latest.size, signatures)) == true {
                    progress.cosigned = latest.size
                }
                progress.known = latest.size
                progress.failures = 0
                count(name, "cosigned")
                Gauge(label: "mydata_witness_cosigned_size", dimensions: [("witness", name)]).record(Double(latest.size))
            case .conflict(let size):
                progress.known = size
                count(name, "conflict")
                continue
            case .failed(let reason):
                progress.failures += 1
                let wait = min(BrokerLimits.witnessBackoffSecondsMax, Double(1 << min(progress.failures - 1, 10)))
                progress.nextAttempt = ContinuousClock.now + .milliseconds(Int64(wait * 1000))
                count(name, "failed")
                logger.warning(
                    "a witness did not cosign; will retry",
                    metadata: ["witness": "\(name)", "size": "\(latest.size)", "reason": "\(reason)", "retry.seconds": "\(wait)"])
            }
            break
        }
        return progress
    }

    private func count(_ witness: String, _ result: String) {
        Counter(label: "mydata_witness_submissions_total", dimensions: [("witness", witness), ("result", result)]).increment()
    }

    enum Outcome {
        case cosigned([NoteSignature])
        case conflict(UInt64)
        case failed(String)
    }

    /// One add-checkpoint request.
    private func post(_ latest: (size: UInt64, note: String), old: UInt64, to target: Target) async throws -> Outcome {
        guard let note = SignedNote.parse(Array(latest.note.utf8)) else { return .failed("the stored checkpoint note does not parse") }
        let proof = try await MerkleTree.consistencyProof(from: old, to: latest.size, node: store.cachedNodeReader())
        let body = "old \(old)\n" + proof.map { Data($0).base64EncodedString() + "\n" }.joined() + "\n" + latest.note
        var request = URLRequest(url: target.addCheckpointURL)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("text/plain; charset=utf-8", forHTTPHeaderField: "Content-Type")
        request.timeoutInterval = BrokerLimits.witnessAnswerSecondsMax
        // A witness's answer is a few signature lines: more is cut off, not read.
        let (status, data) = try await BoundedFetch.send(request, bytesMax: Limits.noteBytesMax)
        let text = String(decoding: data, as: UTF8.self)
        switch status {
        case 200:
            // The answer is signature lines: read them as the signatures of this note, and keep
            // only the witness's own, verified.
            guard let answered = SignedNote.parse(Array((note.text + "\n" + text).utf8)) else {
                return .failed("the witness answered 200 with something other than signature lines")
            }
            let mine = answered.signatures.filter { $0.name == target.verifier.name && $0.keyID == target.verifier.keyID }
            let checked = SignedNote(text: note.text, signatures: mine)
            guard !mine.isEmpty, checked.isSigned(by: target.verifier) else {
                return .failed("the witness's cosignature does not verify with its vkey")
            }
            return .cosigned(mine)
        case 409:
            guard let size = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                return .failed("the witness answered 409 without a tree size")
            }
            return .conflict(size)
        default:
            return .failed("the witness answered \(status): \(text.prefix(200))")
        }
    }

    /// The stored note of the smallest checkpoint of at least `size` that carries the most
    /// cosignatures, after waiting (at most `BrokerLimits.witnessWaitSecondsMax`) for the
    /// witnesses that are up to cosign one.
    public func cosigned(size: UInt64) async throws -> (size: UInt64, note: String)? {
        let deadline = ContinuousClock.now + .milliseconds(Int64(BrokerLimits.witnessWaitSecondsMax * 1000))
        while ContinuousClock.now < deadline {
            let waiting = await state.all().contains { $0.cosigned < size && $0.failures == 0 }
            if !waiting { break }
            await runOnce()  // starts nothing for a witness whose submission is under way
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        var best: (size: UInt64, note: String, count: Int)?
        for candidate in Set(await state.all().map(\.cosigned).filter { $0 >= size }).sorted() {
            guard let text = try await store.logCheckpoint(size: candidate), let note = SignedNote.parse(Array(text.utf8)) else { continue }
            let count = targets.filter { note.isSigned(by: $0.verifier) }.count
            if count > (best?.count ?? 0) { best = (candidate, text, count) }
        }
        return best.map { ($0.size, $0.note) }
    }
}
