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

/// Posts queued revocation notices to recipients' callback URLs, signed by the broker (RFC 9421),
/// and retries with back-off (1 s, 2 s, 4 s … up to an hour) until a 2xx acknowledges them.
public struct CallbackDispatcher: Service, CustomStringConvertible {
    /// What ServiceLifecycle logs for it: a name, never the broker's identity (keys) it holds.
    public var description: String { "CallbackDispatcher" }

    let store: any CallbackStore
    let broker: Identity
    let clock: any Clock
    let logger: Logger

    public init(store: any CallbackStore, broker: Identity, clock: any Clock, logger: Logger) {
        self.store = store
        self.broker = broker
        self.clock = clock
        self.logger = logger
    }

    /// Attempts every due notice once; returns how many were delivered.
    @discardableResult
    public func runOnce() async -> Int {
        let now = clock.now()
        // A claim lasts longer than the posts of a whole round can take.
        let lease = now.adding(seconds: Int64(BrokerLimits.callbackAnswerSecondsMax) * 60)
        guard let due = try? await store.claimDueCallbacks(now: now, leaseUntil: lease, limit: 50) else { return 0 }
        var delivered = 0
        for callback in due {
            do {
                try await post(callback)
                try await store.markCallbackDelivered(id: callback.id, at: clock.now())
                Counter(label: "mydata_callbacks_total", dimensions: [("result", "delivered")]).increment()
                delivered += 1
            } catch {
                let attempts = callback.attempts + 1
                let wait = min(Int64(1) << Int64(min(attempts, 20)), BrokerLimits.callbackBackoffSecondsMax)
                try? await store.markCallbackFailed(
                    id: callback.id, attempts: attempts, nextAttempt: clock.now().adding(seconds: wait),
                    error: "\(error)")
                Counter(label: "mydata_callbacks_total", dimensions: [("result", "failed")]).increment()
                logger.info("revocation callback failed; will retry", metadata: ["callback.id": "\(callback.id)", "attempt": "\(attempts)"])
            }
        }
        return delivered
    }

    /// Runs as a service of the application until graceful shutdown (or cancellation), looking
    /// for due notices every `BrokerLimits.callbackPollSeconds`. A notice being posted at shutdown is finished or, cut
    /// off, posted again by the next broker (its lease expires).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await runOnce()
                try? await Task.sleep(nanoseconds: UInt64(BrokerLimits.callbackPollSeconds * 1e9))
            }
        }
    }

    private func post(_ callback: RevocationCallback) async throws {
        guard let url = URL(string: callback.url), let parts = URLComponents(url: url, resolvingAgainstBaseURL: false),
            let scheme = parts.scheme, let host = parts.host
        else {
            throw CallbackFailure.unusableURL(callback.url)
        }
        let base = URL(string: "\(scheme)://\(host)" + (parts.port.map { ":\($0)" } ?? ""))!
        let path = (parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath) + (parts.percentEncodedQuery.map { "?\($0)" } ?? "")
        let notice = RevocationNotice(
            type: "consent.revoked", consentID: callback.consentID, recipient: callback.recipient,
            ledgerSequence: callback.eventSequence)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let url = URL(string: path, relativeTo: base)?.absoluteURL else { throw CallbackFailure.unusableURL(callback.url) }
        let body = try encoder.encode(notice)
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        for (name, value) in try RequestSigning.fields(
            method: "POST", url: url, body: [UInt8](body), keyID: broker.id, key: broker.signingKey,
            extraFields: ["Content-Type": "application/json"])
        {
            request.setValue(value, forHTTPHeaderField: name)
        }
        request.timeoutInterval = BrokerLimits.callbackAnswerSecondsMax
        let (_, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else { throw CallbackFailure.notAcknowledged(status: status) }
    }
}

/// Why a revocation notice was not delivered this time (kept as the callback's `lastError`; the
/// notice is tried again later).
enum CallbackFailure: Error, CustomStringConvertible {
    /// The callback URL registered for the recipient has no scheme or host.
    case unusableURL(String)
    /// The recipient answered with a status outside 2xx (0: no HTTP answer).
    case notAcknowledged(status: Int)

    var description: String {
        switch self {
        case .unusableURL(let url): "callback URL \(url) is not usable"
        case .notAcknowledged(let status): status == 0 ? "the recipient gave no HTTP answer" : "the recipient answered \(status), not 2xx"
        }
    }
}
