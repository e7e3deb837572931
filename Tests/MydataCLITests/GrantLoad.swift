import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
import Ledger
import Sodium
import Synchronization
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What one signed grant got.
struct GrantOutcome: Sendable { var consentID: String; var status: Int }

/// A signed write load: grants from new people, round-robin over the brokers, until `running` turns false.
final class GrantLoad: @unchecked Sendable {
    let outcomes = Mutex<[GrantOutcome]>([])
    let running = Atomic<Bool>(true)
    private var tasks: [Task<Void, Never>] = []

    init(brokers: [URL], request: ConsentRequest, policy: ActivePolicy, workers: Int = 4) {
        for w in 0..<workers {
            tasks.append(
                Task { [self] in
                    var n = w
                    while self.running.load(ordering: .relaxed) {
                        n += 1
                        guard let person = try? Identity.generateSubject() else { continue }
                        let now = Timestamp.now()
                        let grant = ConsentDrafts.grant(of: request, by: person.id, policy: policy, now: now, sensitiveConfirmed: false)
                        guard let events = try? [person.sign(ConsentDrafts.registration(of: person), at: now), person.sign(grant, at: now)],
                            let body = try? HTTPAPITests.submit(events)
                        else { continue }
                        let consentID = Identifiers.consentID(requestID: request.id, subject: person.id)
                        let client = BrokerHTTPClient(baseURL: brokers[n % brokers.count], identity: person)
                        let status = await Self.send(client, body: body)
                        self.outcomes.withLock { $0.append(GrantOutcome(consentID: consentID, status: status)) }
                    }
                })
        }
    }

    /// The status of a signed grant; -1 when no answer came within 20 s (far past the broker's
    /// deadline), -2 when the connection failed otherwise.
    static func send(_ client: BrokerHTTPClient, body: Data) async -> Int {
        guard var request = try? client.signedRequest("POST", "/v1/consents", body: body) else { return -2 }
        request.timeoutInterval = 20
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? -2
        } catch let error as URLError where error.code == .timedOut {
            return -1
        } catch {
            return -2
        }
    }

    /// Each consent id granted in the ledger, with how often.
    static func grantedConsents(in store: any EventStore) async throws -> [String: Int] {
        var granted: [String: Int] = [:]
        var next: UInt64 = 1
        while true {
            let page = try await store.events(from: next, limit: Limits.readPageEventsMax)
            guard let last = page.last else { return granted }
            for record in page where record.event.type == DomainEvent.TypeName.consentGranted {
                if case .consentGranted(let g)? = try? DomainEvent.decode(record.event) { granted[g.consentID, default: 0] += 1 }
            }
            next = last.sequence + 1
        }
    }

    func stop() async -> [GrantOutcome] {
        running.store(false, ordering: .relaxed)
        for task in tasks { await task.value }
        return outcomes.withLock { $0 }
    }

    /// GrantOutcomes since `start`.
    func since(_ start: Int) -> [GrantOutcome] { outcomes.withLock { Array($0.dropFirst(start)) } }
    var count: Int { outcomes.withLock { $0.count } }
}
