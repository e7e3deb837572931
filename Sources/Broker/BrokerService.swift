import Accounting
import Consent
import Foundation
import Ledger
import Logging
import Metrics
import Ports
import Sodium

/// The application services: authenticate a signed event, decide with the pure rules, append
/// with conditions on the streams the decision read, checkpoint. The one place where a use case
/// (register, request, grant, revoke) reads top to bottom.
public final class BrokerService: Sendable {
    public let store: any BrokerStore
    /// The broker's own identity; signs checkpoints and receipts.
    public let identity: Identity
    public let clock: any Clock
    private let checkpointer: Checkpointer
    private let logger: Logger
    /// The double-entry book: rewards, charges, vouchers.
    public let accounting: AccountingService
    private let policyCache = PolicyCache()
    /// Policies by hash, as consents agreed to them (a policy never changes once activated).
    private let agreedPolicies = PolicyHashCache()
    /// Which key signs for an author id.
    public let signers: Signers
    /// The log's tree nodes this process has read, for proofs (`LogNodeCache`).
    public let logNodes: LogNodeCache
    /// The witnesses that cosign the log's checkpoints, when `serve` has any (`--witness`).
    public var witnessing: (any LogWitnessing)? {
        get { witnessingBox.value }
        set { witnessingBox.value = newValue }
    }
    private let witnessingBox = WitnessingBox()

    public init(
        store: any BrokerStore, identity: Identity, clock: any Clock = SystemClock(),
        logger: Logger = Logger(label: "mydata.broker")
    ) {
        self.store = store
        self.identity = identity
        self.clock = clock
        self.logger = logger
        let brokerKey = identity.signingKey.verifyingKey
        checkpointer = Checkpointer(store: store, key: identity.signingKey, clock: clock) {
            try await Self.logOrigin(store: store, brokerKey: brokerKey)
        }
        accounting = AccountingService(store: store, clock: clock)
        signers = Signers(readModel: store)
        logNodes = LogNodeCache(store: store, tilesMax: BrokerLimits.logNodeCacheTilesMax)
    }

    /// The active policy, decoded once per activation (it is read by every grant and pull).
    public func activePolicy() async throws -> ActivePolicy? {
        let version = try await store.streamVersion(StreamName.policy)
        if let hit = policyCache.get(version) { return hit }
        let policy = try await store.activePolicy()
        if try await store.streamVersion(StreamName.policy) == version { policyCache.set(version, policy) }
        return policy
    }

    /// The price a consent's pulls and analyses are charged at. A consent made under a standard
    /// contract agreed to the price its text states: the category's price in the policy it was
    /// granted under, kept for the consent's life whatever later policies set. A consent made
    /// without a contract (before contracts existed) pays the active policy's price.
    public func price(of consent: Consent, active: AccountingPolicy) async throws -> PriceRule? {
        guard consent.terms.contract != nil else { return active.price(category: consent.terms.category) }
        let agreed: ActivePolicy?
        if let hit = agreedPolicies.get(consent.policyHash) {
            agreed = hit
        } else {
            agreed = try await store.policy(hash: consent.policyHash)
            if let agreed { agreedPolicies.set(agreed) }
        }
        guard let agreed else {
            throw LedgerError(.corruptRecord, "consent \(consent.id) names policy \(consent.policyHash), which was never activated")
        }
        return agreed.policy.accounting?.price(category: consent.terms.category)
    }

    /// Signs a checkpoint over everything appended so far, if anything is not yet covered.
    public func signCheckpoint() async throws {
        try await checkpointer.flush()
    }

    /// Signs a final checkpoint; call before the process exits.
    public func close() async throws {
        try await signCheckpoint()
    }

    /// The transparency log's origin: the one set in the ledger's first event, or for ledgers
    /// from before it could be set (and an empty ledger) the one derived from the broker's key.
    public static func logOrigin(store: any EventStore, brokerKey: VerifyingKey) async throws -> String {
        guard let first = try await store.events(from: 1, limit: 1).first else { return LogOrigin.derived(from: brokerKey) }
        guard case .brokerInitialised(let e)? = try? DomainEvent.decode(first.event) else {
            throw LedgerError(.corruptRecord, "the ledger's first event is not a broker initialisation; run `mydata admin verify`")
        }
        return e.logOrigin ?? LogOrigin.derived(from: brokerKey)
    }

    /// This broker's log origin (`logOrigin(store:brokerKey:)`).
    public func logOrigin() async throws -> String {
        try await Self.logOrigin(store: store, brokerKey: identity.signingKey.verifyingKey)
    }

    /// The note verifier key of this broker's log: its Ed25519 key under the log's origin.
    public func logVerifier() async throws -> NoteVerifier {
        NoteVerifier(name: try await logOrigin(), key: identity.signingKey.verifyingKey)
    }

    // MARK: Operator actions (broker-authored events)

    /// Checks that the ledger was started by this broker's key: a broker with another key would
    /// sign checkpoints no verifier accepts.
    ///
    /// - Throws: `LedgerError.storeUnavailable` naming both keys.
    public func checkOwnership() async throws {
        guard let first = try await store.events(from: 1, limit: 1).first else { return }
        guard case .brokerInitialised(let e)? = try? DomainEvent.decode(first.event) else {
            throw LedgerError(.storeUnavailable, "the ledger's first event is not a broker initialisation; run `mydata admin verify`")
        }
        guard e.signingKey == identity.publicKeys.signingKey else {
            throw LedgerError(
                .storeUnavailable,
                "this ledger was started by another broker key (\(e.signingKey.prefix(12))…, this one is \(identity.publicKeys.signingKey.prefix(12))…); copy that broker's keys/broker.key into this data directory"
            )
        }
    }

    /// Writes the first event, naming the broker's public keys; does nothing on a started ledger.
    ///
    /// - Parameter logOrigin: the transparency log's origin, fixed for the ledger's lifetime (nil:
    ///   derived from the broker's key, `LogOrigin.derived`).
    /// - Throws: `ConsentError.invalidIdentifier` for an origin that cannot name a log, or one
    ///   other than the origin an initialised ledger already has.
    public func initialise(logOrigin: String? = nil) async throws {
        if let logOrigin {
            guard LogOrigin.isValid(logOrigin) else {
                throw ConsentError(
                    .invalidIdentifier,
                    "the log origin '\(logOrigin)' is not usable: give 1 to \(LogOrigin.bytesMax) bytes without spaces or '+', such as example.com/mydata"
                )
            }
        }
        guard try await store.head().sequence == 0 else {
            let current = try await Self.logOrigin(store: store, brokerKey: identity.signingKey.verifyingKey)
            if let logOrigin, logOrigin != current {
                throw ConsentError(
                    .invalidIdentifier,
                    "this ledger's log origin is \(current), set when it was created, and it never changes; leave out --log-origin")
            }
            return
        }
        let keys = identity.publicKeys
        try await appendBrokerEvent(
            .brokerInitialised(
                BrokerInitialised(brokerID: identity.id, signingKey: keys.signingKey, boxKey: keys.boxKey, logOrigin: logOrigin)),
            conditions: [StreamCondition(streamID: StreamName.broker, expectedVersion: 0)])
    }

    /// Makes `loaded` the active policy set; returns false when it already is.
    @discardableResult
    public func activatePolicy(_ loaded: LoadedPolicy) async throws -> Bool {
        let version = try await store.streamVersion(StreamName.policy)
        if let active = try await store.activePolicy(), active.hash == loaded.hash { return false }
        try await appendBrokerEvent(
            .policyActivated(PolicyActivated(version: loaded.policy.version, hash: loaded.hash, policy: loaded.policy)),
            conditions: [StreamCondition(streamID: StreamName.policy, expectedVersion: version)])
        logger.info("policy activated", metadata: ["policy.version": "\(loaded.policy.version)", "policy.hash": "\(loaded.hash)"])
        return true
    }

    /// Registers a manufacturer or recipient with its public keys.
    ///
    /// - Throws: `ConsentError` with `invalidIdentifier` or `partyExists`.
    public func registerParty(id: String, role: PartyRole, name: String, keys: PublicKeys) async throws {
        guard Identifiers.isValidPartyID(id) else {
            throw ConsentError(.invalidIdentifier, "party id '\(id)' must be 3 to 64 of a-z, 0-9 and '-', and not 'broker' or 'sub_…'")
        }
        guard !name.isEmpty, name.count <= 200 else { throw ConsentError(.invalidIdentifier, "a party name has 1 to 200 characters") }
        try Self.checkKeys(keys, of: id)
        let stream = StreamName.party(id)
        guard try await store.streamVersion(stream) == 0 else { throw ConsentError(.partyExists, "party '\(id)' is already registered") }
        try await appendBrokerEvent(
            .partyRegistered(PartyRegistered(partyID: id, role: role, name: name, signingKey: keys.signingKey, boxKey: keys.boxKey)),
            conditions: [StreamCondition(streamID: stream, expectedVersion: 0)])
    }

    /// Replaces a party's keys (`party.key-rotated`): from the next event on, its requests must be
    /// signed with the new signing key and deliveries are sealed to the new box key.
    ///
    /// - Throws: `ConsentError` when the party is unknown, a key is malformed, or the keys are
    ///   the ones already registered.
    public func rotateKeys(party id: String, keys: PublicKeys) async throws {
        let stream = StreamName.party(id)
        let version = try await store.streamVersion(stream)
        guard let party = try await store.party(id) else { throw ConsentError(.unknownParty, "party '\(id)' is not registered; add it first") }
        try Self.checkKeys(keys, of: id)
        guard party.signingKey != keys.signingKey || party.boxKey != keys.boxKey else {
            throw ConsentError(.partyExists, "party '\(id)' already has these keys; nothing to rotate")
        }
        try await appendBrokerEvent(
            .partyKeyRotated(PartyKeyRotated(partyID: id, signingKey: keys.signingKey, boxKey: keys.boxKey)),
            conditions: [StreamCondition(streamID: stream, expectedVersion: version)])
    }

    /// What a party signs with its *new* signing key to rotate its own keys over the API: proof
    /// that it holds the key it asks the broker to trust.
    public static func rotationProof(party id: String, keys: PublicKeys) -> [UInt8] {
        Array("mydata/key-rotation/v1\u{0}\(id)\u{0}\(keys.signingKey)\u{0}\(keys.boxKey)".utf8)
    }

    /// A party replaces its own keys (the request itself is signed with its current key), proving
    /// with `proof` that it holds the new signing key.
    ///
    /// - Throws: `ConsentError.badSignature` when the proof is not the new key's signature.
    public func rotateOwnKeys(party id: String, keys: PublicKeys, proof: [UInt8]) async throws {
        guard let key = try? keys.verifyingKey(), let signature = try? Signature(bytes: proof),
            key.isValidSignature(signature, for: Self.rotationProof(party: id, keys: keys))
        else {
            throw ConsentError(.badSignature, "proof must be the new signing key's Ed25519 signature over the rotation statement (see api.md)")
        }
        try await rotateKeys(party: id, keys: keys)
    }

    static func checkKeys(_ keys: PublicKeys, of id: String) throws {
        guard (try? keys.verifyingKey()) != nil else {
            throw ConsentError(.invalidIdentifier, "the signing key of '\(id)' is not a base64 Ed25519 public key")
        }
        guard let box = Base64.decode(keys.boxKey), (try? BoxPublicKey(bytes: box)) != nil else {
            throw ConsentError(.invalidIdentifier, "the box key of '\(id)' is not a base64 X25519 public key")
        }
    }

    /// Sets (or clears, with nil) the URL a recipient is told about revocations at.
    ///
    /// - Throws: `ConsentError` when the party is unknown, not a recipient, or the URL is not http(s).
    public func setCallback(_ url: String?, party id: String) async throws {
        let stream = StreamName.party(id)
        let version = try await store.streamVersion(stream)
        try ConsentRules.checkParty(try await store.party(id), id: id, role: .recipient)
        if let url {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil, url.utf8.count <= 2_048 else {
                throw ConsentError(.invalidIdentifier, "a callback URL is an http(s) URL of at most 2,048 bytes")
            }
        }
        try await appendBrokerEvent(
            .partyCallbackSet(PartyCallbackSet(partyID: id, url: url)),
            conditions: [StreamCondition(streamID: stream, expectedVersion: version)])
    }

    /// Suspends a party (it can no longer act or receive data) or lifts the suspension.
    public func setSuspended(_ suspended: Bool, party id: String) async throws {
        let stream = StreamName.party(id)
        let version = try await store.streamVersion(stream)
        guard let party = try await store.party(id) else { throw ConsentError(.unknownParty, "party '\(id)' is not registered") }
        guard (party.status == .suspended) != suspended else { return }
        let event: DomainEvent = suspended ? .partySuspended(PartySuspended(partyID: id)) : .partyReinstated(PartyReinstated(partyID: id))
        try await appendBrokerEvent(event, conditions: [StreamCondition(streamID: stream, expectedVersion: version)])
    }

    /// Appends an event the broker itself writes (a telemetry batch, a delivery), under conditions.
    @discardableResult
    func appendBrokerEvent(_ event: DomainEvent, conditions: [StreamCondition]) async throws -> RecordedEvent {
        let new = try event.newEvent(authorID: AuthorID.broker, time: clock.now())
        let recorded = try await store.append(AppendBatch(typed: [(event, new)], conditions: conditions))
        await checkpointAfterCommit(recorded)
        return recorded[0]
    }

    /// Appends events the broker writes together (an analysis and its inclusions), under conditions.
    @discardableResult
    func appendBrokerEvents(_ events: [DomainEvent], conditions: [StreamCondition]) async throws -> [RecordedEvent] {
        let now = clock.now()
        let typed = try events.map { ($0, try $0.newEvent(authorID: AuthorID.broker, time: now)) }
        let recorded = try await store.append(AppendBatch(typed: typed, conditions: conditions))
        await checkpointAfterCommit(recorded)
        return recorded
    }

    /// Appends events the broker writes together with the money they move, decided by `plan` on
    /// the book at the moment of the commit, all or nothing; returns the events' records (the
    /// money's follow them in the ledger).
    @discardableResult
    func appendBrokerEvents(
        _ events: [DomainEvent], conditions: [StreamCondition], transfersMax: Int,
        money plan: @Sendable @escaping (Book, Timestamp) throws -> MoneyRules.Movement
    ) async throws -> [RecordedEvent] {
        let now = clock.now()
        let typed = try events.map { ($0, try $0.newEvent(authorID: AuthorID.broker, time: now)) }
        let outcome = try await accounting.commit(with: typed, conditions: conditions, allOrNothing: true, transfersMax: transfersMax, plan: plan)
        await checkpointAfterCommit(outcome.recorded)
        return Array(outcome.recorded.prefix(events.count))
    }

    /// The events are committed: a checkpoint that cannot be signed now is signed by the next
    /// append, the timer or the close, and must not make a committed append look failed.
    private func checkpointAfterCommit(_ recorded: [RecordedEvent]) async {
        guard let last = recorded.last else { return }
        do { try await checkpointer.appended(last.head) } catch {
            logger.warning("checkpoint deferred", metadata: ["event.seq": "\(last.sequence)"])
        }
    }

    // MARK: Signed submissions

    /// Authenticates, decides and appends one event signed by a person or party.
    ///
    /// - Throws: `ConsentError` for a rejection (nothing appended), `LedgerError` when the
    ///   store fails or concurrent changes outlast the retries.
    @discardableResult
    public func submit(_ event: NewEvent) async throws -> RecordedEvent {
        try await submit([event])[0]
    }

    /// Authenticates, decides and appends signed events together, all or none. The events must
    /// be about different streams (for example: revoke every consent).
    @discardableResult
    public func submit(_ events: [NewEvent]) async throws -> [RecordedEvent] {
        guard !events.isEmpty else { return [] }
        guard Set(events.map(\.streamID)).count == events.count else {
            throw ConsentError(.malformedEvent, "events submitted together must be about different streams")
        }
        // A person's first action may carry their key registration in the same batch, so a
        // refused first action leaves no registration behind.
        // Registrations go first whatever order they came in, so every event after them is
        // signed by a key the ledger already holds (verify replays the log in order).
        let events =
            events.filter { $0.type == DomainEvent.TypeName.subjectRegistered }
            + events.filter { $0.type != DomainEvent.TypeName.subjectRegistered }
        var registering: [String: VerifyingKey] = [:]
        for event in events where event.type == DomainEvent.TypeName.subjectRegistered {
            if case .subjectRegistered(let e)? = try? DomainEvent.decode(event), let bytes = Base64.decode(e.signingKey),
                let key = try? VerifyingKey(bytes: bytes)
            {
                registering[e.subjectID] = key
            }
        }
        return try await retryingOnConflict { attempt in
            if attempt > 1 { logger.debug("retrying after a concurrent change", metadata: ["attempt": "\(attempt)"]) }
            let now = clock.now()
            var conditions: [StreamCondition] = []
            var typed: [(DomainEvent, NewEvent)] = []
            for event in events {
                do {
                    let (domain, needs) = try await decide(event, now: now, registering: registering)
                    conditions += needs
                    typed.append((domain, event))
                } catch let error as ConsentError {
                    Counter(label: "mydata_rejections_total", dimensions: [("code", error.code.description)]).increment()
                    throw error
                }
            }
            let all = try await append(typed, conditions: conditions)
            for r in all {
                logger.debug("appended", metadata: ["event.type": "\(r.event.type)", "event.seq": "\(r.sequence)"])
            }
            await checkpointAfterCommit(all)
            let recorded = Array(all.prefix(typed.count))  // the submitted events; the money events follow them
            Counter(label: "mydata_signed_events_appended_total").increment(by: recorded.count)
            return recorded
        }
    }

    /// Appends decided events, with the money they move (a grant's reward, a revocation's void or
    /// clawback) in the same commit when the policy has accounting rules.
    private func append(_ typed: [(DomainEvent, NewEvent)], conditions: [StreamCondition]) async throws -> [RecordedEvent] {
        let moving = typed.contains { if case .consentGranted = $0.0 { true } else if case .consentRevoked = $0.0 { true } else { false } }
        guard moving, let policy = try await activePolicy()?.policy.accounting else {
            return try await store.append(AppendBatch(typed: typed, conditions: conditions))
        }
        var revoked: [String: Consent] = [:]
        for case (.consentRevoked(let e), _) in typed { revoked[e.consentID] = try await store.consent(e.consentID) }
        let consents = revoked
        let outcome = try await accounting.commit(with: typed, conditions: conditions, allOrNothing: true) { book, now in
            typed.reduce(MoneyRules.Movement()) { movement, event in
                switch event.0 {
                case .consentGranted(let e): movement + MoneyRules.grant(e, policy: policy)
                case .consentRevoked(let e):
                    consents[e.consentID].map { movement + MoneyRules.revocation(of: $0, at: now, policy: policy, book: book) } ?? movement
                default: movement
                }
            }
        }
        return outcome.recorded
    }

    /// Appends an event the broker writes (a delivery) with the money it moves, decided by
    /// `plan` on the book at the moment of the commit, all or nothing.
    @discardableResult
    func appendBrokerEvent(
        _ event: DomainEvent, conditions: [StreamCondition],
        money plan: @Sendable @escaping (Book, Timestamp) throws -> MoneyRules.Movement
    ) async throws -> RecordedEvent {
        let new = try event.newEvent(authorID: AuthorID.broker, time: clock.now())
        let outcome = try await accounting.commit(with: [(event, new)], conditions: conditions, allOrNothing: true, plan: plan)
        await checkpointAfterCommit(outcome.recorded)
        return outcome.recorded[0]
    }

    /// Checks one signed event against the rules and returns it decoded, with the stream
    /// conditions the decision depends on. Versions are read before state, so a change in
    /// between fails the append.
    private func decide(_ event: NewEvent, now: Timestamp, registering: [String: VerifyingKey]) async throws -> (DomainEvent, [StreamCondition]) {
        let domain = try decodeSubmitted(event)
        return (domain, try await conditions(for: domain, event: event, now: now, registering: registering))
    }

    private func conditions(
        for domain: DomainEvent, event: NewEvent, now: Timestamp,
        registering: [String: VerifyingKey]
    ) async throws -> [StreamCondition] {
        try await authenticate(event, domain, registering: registering)
        try ConsentRules.checkClock(event.time, now: now)
        let author = event.authorID
        switch domain {
        case .subjectRegistered(let e):
            let stream = StreamName.subject(e.subjectID)
            guard try await store.streamVersion(stream) == 0 else { throw ConsentError(.subjectExists, "this key is already registered") }
            return [StreamCondition(streamID: stream, expectedVersion: 0)]

        case .subjectErased(let e):
            let conditions = try await versions([StreamName.subject(e.subjectID)])
            guard author == e.subjectID else { throw ConsentError(.badSignature, "only the person can ask for their own erasure") }
            guard conditions[0].expectedVersion > 0 else { throw ConsentError(.unknownSubject, "person \(e.subjectID) is not registered") }
            guard conditions[0].expectedVersion == 1 else { throw ConsentError(.subjectErased, "this person's data was already erased") }
            return conditions

        case .consentRequested(let e):
            let conditions = try await versions([StreamName.request(e.requestID), StreamName.party(e.recipient), StreamName.policy])
            try ConsentRules.checkRequest(
                e, author: author, recipient: try await store.party(e.recipient),
                requestExists: conditions[0].expectedVersion > 0,
                policy: try await activePolicy(), now: now)
            return conditions

        case .requestWithdrawn(let e):
            let conditions = try await versions([StreamName.request(e.requestID)])
            try ConsentRules.checkWithdraw(e, author: author, request: try await store.request(e.requestID))
            return conditions

        case .consentGranted(let e):
            let conditions =
                try await versions([
                    StreamName.consent(e.consentID), StreamName.request(e.requestID),
                    StreamName.party(e.recipient), StreamName.policy,
                ]) + [try await notErased(author)]
            let request = try await store.request(e.requestID)
            try ConsentRules.checkGrant(
                e, author: author, request: request,
                recipient: try await store.party(request?.recipient ?? e.recipient),
                existing: try await store.consent(e.consentID),
                policy: try await activePolicy(), now: now)
            return conditions

        case .consentRevoked(let e):
            let conditions = try await versions([StreamName.consent(e.consentID)])
            try ConsentRules.checkRevoke(e, author: author, consent: try await store.consent(e.consentID), now: now)
            return conditions

        case .deviceAttested(let e):
            let conditions = try await versions([StreamName.device(manufacturer: e.manufacturer, deviceID: e.deviceID), StreamName.party(author)])
            try ConsentRules.checkParty(try await store.party(author), id: author, role: .manufacturer)
            guard e.manufacturer == author else { throw ConsentError(.badSignature, "a manufacturer attests only its own devices") }
            guard Identifiers.isValidReference(e.deviceID) else {
                throw ConsentError(.invalidIdentifier, "device id '\(e.deviceID)' is not a valid reference")
            }
            guard try await store.subject(e.subject) != nil else {
                throw ConsentError(.unknownSubject, "person \(e.subject) is not registered; they register with `mydata key register`")
            }
            return conditions + [try await notErased(e.subject)]

        case .deviceConfirmed(let e):
            let conditions = try await versions([StreamName.device(manufacturer: e.manufacturer, deviceID: e.deviceID)])
            guard let binding = try await store.deviceBinding(manufacturer: e.manufacturer, deviceID: e.deviceID) else {
                throw ConsentError(.deviceNotFound, "\(e.manufacturer) has not attested device \(e.deviceID)")
            }
            guard binding.subject == author, e.subject == author else {
                throw ConsentError(.subjectMismatch, "device \(e.deviceID) was attested to someone else")
            }
            guard binding.confirmedAt == nil else { throw ConsentError(.deviceAlreadyConfirmed, "device \(e.deviceID) is already confirmed") }
            return conditions + [try await notErased(author)]

        default:
            throw ConsentError(.malformedEvent, "only the broker writes '\(event.type)' events")
        }
    }

    /// A person's stream holds their registration, then at most their erasure: once erased, they
    /// can grant, confirm and be attested no more. The condition makes an erasure that commits
    /// first refuse the action.
    private func notErased(_ subject: String) async throws -> StreamCondition {
        let stream = StreamName.subject(subject)
        let version = try await store.streamVersion(stream)
        guard version <= 1 else {
            throw ConsentError(.subjectErased, "this person erased their data; a new identity (mydata key init) starts afresh")
        }
        return StreamCondition(streamID: stream, expectedVersion: version)
    }

    private func versions(_ streams: [String]) async throws -> [StreamCondition] {
        var out: [StreamCondition] = []
        for s in streams { out.append(StreamCondition(streamID: s, expectedVersion: try await store.streamVersion(s))) }
        return out
    }

    private func decodeSubmitted(_ event: NewEvent) throws -> DomainEvent {
        let domain: DomainEvent
        do {
            domain = try DomainEvent.decode(event)
        } catch {
            throw ConsentError(.malformedEvent, "the '\(event.type)' event does not decode: \(error)")
        }
        guard event.schemaVersion == DomainEvent.upcasters.currentVersion(of: event.type) else {
            throw ConsentError(.malformedEvent, "submit '\(event.type)' at its current schema version")
        }
        guard event.streamID == domain.streamID else {
            throw ConsentError(.malformedEvent, "the event's stream should be '\(domain.streamID)'")
        }
        guard (try? domain.payload()) == event.payload else {
            throw ConsentError(.malformedEvent, "the payload is not in canonical form (sorted keys, no spaces); see docs/ledger-format.md")
        }
        return domain
    }

    /// Finds the author's key as the ledger knows it now and checks the signature.
    private func authenticate(_ event: NewEvent, _ domain: DomainEvent, registering: [String: VerifyingKey]) async throws {
        let key: VerifyingKey
        if case .subjectRegistered(let e) = domain {
            guard let bytes = Base64.decode(e.signingKey), let k = try? VerifyingKey(bytes: bytes),
                Identifiers.subjectID(signingKey: k) == e.subjectID, e.subjectID == event.authorID
            else {
                throw ConsentError(.badSignature, "a person registers with their own key, under the id derived from it")
            }
            key = k
        } else {
            do {
                key = try await signers.resolve(event.authorID, offered: registering[event.authorID]).1
            } catch let refusal as SignerRefusal {
                switch refusal {
                case .unknownSubject(let id):
                    throw ConsentError(.unknownSubject, "person \(id) is not registered; register the key first")
                case .keyDoesNotDeriveID(let id):
                    throw ConsentError(.badSignature, "the key on record for \(id) does not match the id; run `mydata admin verify`")
                case .unknownParty(let id):
                    throw ConsentError(.unknownParty, "party '\(id)' is not registered")
                case .suspendedParty(let id):
                    throw ConsentError(.partySuspended, "party '\(id)' is suspended")
                case .unusableKey(let id):
                    throw ConsentError(.badSignature, "the signing key on record for party '\(id)' is not an Ed25519 key; run `mydata admin verify`")
                }
            }
        }
        guard let signature = try? Signature(bytes: event.signature), key.isValidSignature(signature, for: event.signingInput) else {
            throw ConsentError(.badSignature, "the signature does not verify with \(event.authorID)'s registered key")
        }
    }
}

/// The last active policy read, by the version of the `policy` stream it was read at.
final class PolicyCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entry: (version: Int, policy: ActivePolicy?)?

    func get(_ version: Int) -> ActivePolicy?? {
        lock.withLock { entry.flatMap { $0.version == version ? .some($0.policy) : nil } }
    }

    func set(_ version: Int, _ policy: ActivePolicy?) {
        lock.withLock { entry = (version, policy) }
    }
}

/// Activated policies by hash, at most a few (a broker has had few policies with live consents).
final class PolicyHashCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: ActivePolicy] = [:]
    static let entriesMax = 16

    func get(_ hash: String) -> ActivePolicy? { lock.withLock { entries[hash] } }

    func set(_ policy: ActivePolicy) {
        lock.withLock {
            if entries.count >= Self.entriesMax { entries.removeAll() }
            entries[policy.hash] = policy
        }
    }
}

/// Where the log's checkpoints get their witnesses' cosignatures (`serve --witness`).
public protocol LogWitnessing: Sendable {
    /// The signed note of the checkpoint of `size` with every cosignature the witnesses gave,
    /// waiting a bounded time for the witnesses that have not cosigned it yet; nil when it has
    /// none to add.
    func cosigned(size: UInt64) async throws -> (size: UInt64, note: String)?
}

/// The one mutable setting of a `BrokerService`, set once by `serve` before it takes requests.
private final class WitnessingBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any LogWitnessing)?
    var value: (any LogWitnessing)? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
