import Consent
import Foundation
import Ledger
import Metrics
import Ports
import Sodium
import Vault

/// Telemetry in (manufacturers push, records sealed per person) and data out (recipients pull
/// what a consent covers, sealed to their key, logged for the person).
public struct TransferService: Sendable {
    public let broker: BrokerService
    public let vault: Vault
    /// Whether pushes measure their records' quality (`telemetry.pushed` then carries it); off
    /// only to measure what measuring costs (`mydata-bench api`).
    public let measuresQuality: Bool
    var store: any BrokerStore { broker.store }

    public init(broker: BrokerService, vault: Vault, measuresQuality: Bool = true) {
        self.broker = broker
        self.vault = vault
        self.measuresQuality = measuresQuality
    }

    // MARK: Push

    /// What happened to one pushed record.
    public struct RecordResult: Codable, Sendable, Equatable {
        /// What became of one pushed record.
        public enum Status: String, Codable, Sendable { case accepted, rejected }
        public var index: Int
        public var status: Status
        public var code: String?
        public var reason: String?
    }

    /// The answer to a push.
    public struct PushResult: Codable, Sendable, Equatable {
        public var batchID: String
        /// True when this Idempotency-Key was already used: nothing new was stored.
        public var replayed: Bool
        public var accepted: Int
        public var rejected: Int
        /// Per record, in order (empty for a replay).
        public var results: [RecordResult]
    }

    /// One entry of a pushed batch: a record, or what made it unreadable.
    public enum PushItem: Sendable {
        case record(TelemetryRecord)
        case malformed(String)
    }

    /// Pushes well-formed records.
    public func push(_ records: [TelemetryRecord], manufacturer: String, idempotencyKey: String?, digest: String) async throws -> PushResult {
        try await push(items: records.map(PushItem.record), manufacturer: manufacturer, idempotencyKey: idempotencyKey, digest: digest)
    }

    /// Validates each record against its schema and the device bindings, seals the good ones
    /// under their person's data key, stores them, and appends one `telemetry.pushed` event.
    /// Bad records (malformed ones too) never block good ones; the same idempotency key never
    /// stores twice.
    public func push(items: [PushItem], manufacturer: String, idempotencyKey: String?, digest: String) async throws -> PushResult {
        let records = items
        try ConsentRules.checkParty(try await store.party(manufacturer), id: manufacturer, role: .manufacturer)
        guard (1...TelemetryLimits.batchRecordsMax).contains(records.count) else {
            throw ConsentError(.invalidRecord, "a batch holds 1 to \(TelemetryLimits.batchRecordsMax) records, got \(records.count); split it")
        }
        if let key = idempotencyKey {
            guard Identifiers.isValidReference(key) else {
                throw ConsentError(.invalidIdentifier, "Idempotency-Key must be 1 to 128 letters, digits or -_.:")
            }
            if let done = try await store.telemetryBatch(manufacturer: manufacturer, idempotencyKey: key) {
                return try Self.replay(done, digest: digest)
            }
        }
        guard let policy = try await broker.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        let batchID = Identifiers.random(prefix: "bat")
        var results: [RecordResult] = []
        var sealed: [SealedRecord] = []
        var keys: [String: SymmetricKey] = [:]
        var bindings: [String: DeviceBinding?] = [:]
        var tally = PushQualityTally(pushedAt: broker.clock.now())
        for (index, item) in items.enumerated() {
            guard case .record(let record) = item else {
                if case .malformed(let why) = item {
                    results.append(RecordResult(index: index, status: .rejected, code: ConsentError.Code.invalidRecord.description, reason: why))
                    tally.rejected(item: nil, code: ConsentError.Code.invalidRecord.description, policy: policy.policy)
                }
                continue
            }
            if let problem = RecordRules.problem(with: record, policy: policy.policy) {
                results.append(RecordResult(index: index, status: .rejected, code: problem.code.description, reason: problem.message))
                tally.rejected(item: record.item, code: problem.code.description, policy: policy.policy)
                continue
            }
            // One lookup per device, not per record: a batch is mostly a few devices' records.
            let binding: DeviceBinding?
            if let known = bindings[record.device] {
                binding = known
            } else {
                binding = try await store.deviceBinding(manufacturer: manufacturer, deviceID: record.device)
                bindings[record.device] = .some(binding)
            }
            guard let binding else {
                results.append(
                    RecordResult(
                        index: index, status: .rejected, code: ConsentError.Code.deviceNotFound.description,
                        reason: "device \(record.device) is not attested to anyone; POST /v1/devices first"))
                tally.rejected(item: record.item, code: ConsentError.Code.deviceNotFound.description, policy: policy.policy)
                continue
            }
            do {
                let key: SymmetricKey
                if let known = keys[binding.subject] {
                    key = known
                } else {
                    key = try await vault.dataKey(for: binding.subject)
                    keys[binding.subject] = key
                }
                sealed.append(try vault.seal(record, manufacturer: manufacturer, subject: binding.subject, batchID: batchID, key: key))
                results.append(RecordResult(index: index, status: .accepted))
                if let schema = policy.policy.item(record.item) { tally.accepted(record, schema: schema) }
            } catch let error as ConsentError {
                results.append(RecordResult(index: index, status: .rejected, code: error.code.description, reason: error.message))
                tally.rejected(item: record.item, code: error.code.description, policy: policy.policy)
            }
        }
        let accepted = sealed.count
        // Duplicates are counted against what is stored before this batch is.
        let quality = measuresQuality ? tally.quality(stored: try await vault.store.recordKeys(manufacturer: manufacturer, spans: tally.spans)) : nil
        try await vault.store.storeRecords(sealed)
        let event = DomainEvent.telemetryPushed(
            TelemetryPushed(
                batchID: batchID, idempotencyKey: idempotencyKey, manufacturer: manufacturer,
                accepted: accepted, rejected: records.count - accepted, digest: digest, quality: quality))
        do {
            try await broker.appendBrokerEvent(event, conditions: [StreamCondition(streamID: event.streamID, expectedVersion: 0)])
        } catch let error as LedgerError where error.code == .streamVersionConflict {
            // Another push with the same key won the race: ours must leave nothing behind.
            try await vault.store.deleteRecords(batchID: batchID)
            if let key = idempotencyKey, let done = try await store.telemetryBatch(manufacturer: manufacturer, idempotencyKey: key) {
                return try Self.replay(done, digest: digest)
            }
            throw error
        } catch {
            // Remove the records only when the batch is surely not in the ledger (a failure during
            // COMMIT may have stored it); records of an unknown batch stay invisible to pulls anyway.
            if (try? await store.streamVersion(event.streamID)) == 0 { try? await vault.store.deleteRecords(batchID: batchID) }
            throw error
        }
        Counter(label: "mydata_records_pushed_total", dimensions: [("result", "accepted")]).increment(by: accepted)
        Counter(label: "mydata_records_pushed_total", dimensions: [("result", "rejected")]).increment(by: records.count - accepted)
        return PushResult(batchID: batchID, replayed: false, accepted: accepted, rejected: records.count - accepted, results: results)
    }

    /// The answer to a repeated Idempotency-Key: the first batch's, if the body is the same.
    private static func replay(_ batch: TelemetryBatch, digest: String) throws -> PushResult {
        guard batch.digest == digest else {
            throw ConsentError(.idempotencyKeyReused, "Idempotency-Key \(batch.idempotencyKey ?? "") was used for another batch; use a new key")
        }
        return PushResult(batchID: batch.batchID, replayed: true, accepted: batch.accepted, rejected: batch.rejected, results: [])
    }

    // MARK: Pull

    /// What a pull returns before it is sealed.
    public struct Delivery: Codable, Sendable, Equatable {
        /// Nil when the page held nothing the consent covers (nothing was delivered or logged).
        public var deliveryID: String?
        public var consentID: String
        /// The cursor this page was pulled after.
        public var after: String
        public var records: [TelemetryRecord]
        /// Each record's position, in order: a cursor to continue after it.
        public var positions: [String]
        /// Pass as `after` for the next pull: on every page, also the last and an empty one.
        public var nextCursor: String
        /// True when more records follow now; false when the recipient has everything there is
        /// (poll again later from `nextCursor`).
        public var hasMore: Bool
        /// True when this pull repeated an earlier one from the same cursor and got its delivery
        /// again: not charged and not logged a second time.
        public var replayed: Bool
        /// BLAKE2b-256 (hex) of `records` as canonical JSON: the digest the person's access log shows.
        public var digest: String?
        /// The ledger event that logged this delivery (nil when nothing was delivered).
        public var ledgerSequence: UInt64?
        /// Under terms with a `minQuality`: the quality certificates the delivery relied on.
        public var certificates: [String]?

        public init(
            deliveryID: String?, consentID: String, after: String, records: [TelemetryRecord], positions: [String], nextCursor: String,
            hasMore: Bool, replayed: Bool, digest: String?, ledgerSequence: UInt64?, certificates: [String]? = nil
        ) {
            self.deliveryID = deliveryID; self.consentID = consentID; self.after = after; self.records = records
            self.positions = positions; self.nextCursor = nextCursor; self.hasMore = hasMore; self.replayed = replayed
            self.digest = digest; self.ledgerSequence = ledgerSequence; self.certificates = certificates
        }
    }

    /// A delivery whose records are each their canonical JSON bytes (sorted keys, no
    /// whitespace), as opened: what the sealed stream sends without decoding them.
    public struct CanonicalDelivery: Sendable, Equatable {
        public var deliveryID: String?
        public var consentID: String
        public var after: RecordCursor
        public var records: [[UInt8]]
        public var positions: [RecordCursor]
        public var nextCursor: RecordCursor
        public var hasMore: Bool
        public var replayed: Bool
        public var digest: String?
        public var ledgerSequence: UInt64?
        public var certificates: [String]?

        public init(
            deliveryID: String?, consentID: String, after: RecordCursor, records: [[UInt8]], positions: [RecordCursor],
            nextCursor: RecordCursor, hasMore: Bool, replayed: Bool, digest: String?, ledgerSequence: UInt64?, certificates: [String]? = nil
        ) {
            self.deliveryID = deliveryID; self.consentID = consentID; self.after = after; self.records = records
            self.positions = positions; self.nextCursor = nextCursor; self.hasMore = hasMore; self.replayed = replayed
            self.digest = digest; self.ledgerSequence = ledgerSequence; self.certificates = certificates
        }
    }

    /// The `Delivery` JSON of a canonical delivery (sorted keys, no whitespace), written around
    /// the records' bytes instead of decoding and encoding them again. Every string in it is an
    /// identifier, a hex digest or a cursor, so none needs escaping.
    public static func deliveryJSON(_ d: CanonicalDelivery) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(d.records.reduce(256) { $0 + $1.count + 24 })
        func string(_ key: String, _ value: String?) {
            guard let value else { return }
            out += "\"\(key)\":\"".utf8; out += value.utf8; out += "\",".utf8
        }
        out += "{".utf8
        string("after", d.after.description)
        if let certificates = d.certificates {
            // Certificate ids are identifiers (`qc_…`): no escaping needed.
            out += "\"certificates\":[".utf8
            out += certificates.map { "\"\($0)\"" }.joined(separator: ",").utf8
            out += "],".utf8
        }
        string("consentID", d.consentID)
        string("deliveryID", d.deliveryID)
        string("digest", d.digest)
        out += "\"hasMore\":\(d.hasMore),".utf8
        if let sequence = d.ledgerSequence { out += "\"ledgerSequence\":\(sequence),".utf8 }
        string("nextCursor", d.nextCursor.description)
        out += "\"positions\":[".utf8
        for (i, position) in d.positions.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += "\"\(position)\"".utf8
        }
        out += "],\"records\":[".utf8
        for (i, record) in d.records.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += record
        }
        out += "],\"replayed\":\(d.replayed)}".utf8
        return out
    }

    /// BLAKE2b-256 (hex) of records as a canonical JSON array: the digest a `data.delivered`
    /// event, the person's access log and the recipient all compute.
    public static func digest(ofCanonical records: [[UInt8]]) -> String {
        var array: [UInt8] = [UInt8(ascii: "[")]
        array.reserveCapacity(records.reduce(2) { $0 + $1.count + 1 })
        for (i, record) in records.enumerated() {
            if i > 0 { array.append(UInt8(ascii: ",")) }
            array += record
        }
        array.append(UInt8(ascii: "]"))
        return Hex.encode(BLAKE2b.hash256(array))
    }

    /// `pullCanonical`, with the records decoded.
    public func pull(consentID: String, recipient: String, after cursor: RecordCursor = .start, limit: Int) async throws -> Delivery {
        let raw = try await pullCanonical(consentID: consentID, recipient: recipient, after: cursor, limit: limit)
        let decoder = JSONDecoder()
        return Delivery(
            deliveryID: raw.deliveryID, consentID: raw.consentID, after: raw.after.description,
            records: try raw.records.map { try decoder.decode(TelemetryRecord.self, from: Data($0)) },
            positions: raw.positions.map(\.description), nextCursor: raw.nextCursor.description, hasMore: raw.hasMore,
            replayed: raw.replayed, digest: raw.digest, ledgerSequence: raw.ledgerSequence, certificates: raw.certificates)
    }

    /// The records consent `consentID` covers for `recipient` now, after `cursor`, at most
    /// `limit` (and `BrokerLimits.deliveryRecordsMax`). The delivery is logged (and charged) in
    /// the same append that checks that neither the consent stream nor the consent's deliveries
    /// changed since they were read, so a pull that starts after a revocation was acknowledged
    /// returns nothing, and two pulls from one cursor never both deliver.
    ///
    /// Deliveries cover contiguous, non-overlapping ranges of record positions, `(after,
    /// through]`, so every record is delivered, charged and logged at most once per consent: a
    /// pull from the start of an earlier delivery returns that delivery again (`replayed`, same
    /// id and digest, nothing appended); a pull from inside one is refused; a new delivery never
    /// reaches into the range of a later one.
    ///
    /// - Throws: `ConsentError` (consentNotFound, recipientMismatch, recipientSuspended,
    ///   consentRevoked, consentExpired) when the consent does not cover the recipient now;
    ///   `cursorInsideDelivery` when `cursor` falls inside a delivery already made.
    public func pullCanonical(consentID: String, recipient: String, after cursor: RecordCursor = .start, limit: Int) async throws -> CanonicalDelivery
    {
        let limit = min(max(limit, 1), BrokerLimits.deliveryRecordsMax)
        // A conflict means the consent changed (a revocation) or another pull delivered while this
        // was decided: decide again.
        return try await retryingOnConflict { _ in
            let stream = StreamName.consent(consentID), deliveries = StreamName.deliveries(consentID)
            let state = try await store.pullState(consentID: consentID, recipient: recipient, around: cursor)
            let version = state.consentVersion, deliveriesVersion = state.deliveriesVersion
            let consent = state.consent, standing = state.recipientStatus
            let now = broker.clock.now()
            if let denial = AccessDecision.denial(
                consent: consent, recipientStatus: standing,
                query: AccessQuery(
                    recipient: recipient, subject: consent?.subject ?? "", item: consent?.terms.items.first ?? "",
                    recordTime: consent?.terms.dataFrom ?? now, deviceConfirmed: true, now: now))
            {
                throw denial
            }
            guard let consent else { throw ConsentError(.consentNotFound, "no such consent") }
            guard consent.terms.accessMode == .delivery else {
                throw ConsentError(
                    .analysisOnly,
                    "consent \(consentID) allows analysis only: its records are never delivered; run an aggregate analysis with POST /v1/analyses")
            }
            if let earlier = state.atOrBefore, let start = earlier.after, let end = earlier.through {
                if start == cursor {
                    return try await replay(earlier, range: (start, end), consent: consent, standing: standing, now: now)
                }
                if cursor < end {
                    throw ConsentError(
                        .cursorInsideDelivery,
                        "the records after \(cursor) were delivered in \(earlier.deliveryID) (after=\(start)); "
                            + "pull after=\(start) to receive that delivery again (not charged twice), or after=\(end) to continue")
                }
            }
            // A new delivery never reaches into a later one's range (one made after a skip ahead).
            let bound = state.next?.after ?? .end
            let page = try await vault.store.records(
                RecordQuery(
                    subject: consent.subject, items: consent.terms.items, from: consent.terms.dataFrom, to: consent.terms.dataTo,
                    after: cursor, through: bound, limit: limit))
            let full = page.count == limit
            // The cursor to continue from covers the whole page read, also the records the consent
            // does not cover, so a recipient never reads them again; up to the next delivery when
            // one follows.
            let next = full ? page[page.count - 1].cursor : (bound != .end ? bound : page.last?.cursor ?? cursor)
            let hasMore = full || bound != .end
            let (covered, certificates) = try await qualifying(
                Self.covered(page, consent: consent, recipient: recipient, standing: standing, now: now), terms: consent.terms)
            guard !covered.isEmpty else {
                return CanonicalDelivery(
                    deliveryID: nil, consentID: consentID, after: cursor, records: [], positions: [], nextCursor: next, hasMore: hasMore,
                    replayed: false, digest: nil, ledgerSequence: nil)
            }
            let key = try await vault.dataKey(for: consent.subject)
            let records = try covered.map { try vault.openCanonical($0, key: key) }
            let deliveryID = Identifiers.random(prefix: "dlv")
            // The digest the person sees in their access log: BLAKE2b-256 of the records as canonical JSON.
            let digest = Self.digest(ofCanonical: records)
            var delivery = CanonicalDelivery(
                deliveryID: deliveryID, consentID: consentID, after: cursor, records: records, positions: covered.map(\.cursor),
                nextCursor: next, hasMore: hasMore, replayed: false, digest: digest, ledgerSequence: nil, certificates: certificates)
            let event = DomainEvent.dataDelivered(
                DataDelivered(
                    deliveryID: deliveryID, consentID: consentID, subject: consent.subject,
                    recipient: recipient, items: Array(Set(covered.map(\.item))).sorted(),
                    records: records.count, digest: digest, after: cursor, through: next, certificates: certificates))
            let conditions = [
                StreamCondition(streamID: stream, expectedVersion: version),
                StreamCondition(streamID: deliveries, expectedVersion: deliveriesVersion),
            ]
            let recorded: RecordedEvent
            if let money = try await broker.activePolicy()?.policy.accounting {
                // The charge (and the reward the first delivery pays) in the same commit as the access event.
                let byManufacturer = Dictionary(grouping: covered, by: \.manufacturer).mapValues(\.count)
                let price = try await broker.price(of: consent, active: money)
                recorded = try await broker.appendBrokerEvent(event, conditions: conditions) { book, now in
                    try MoneyRules.delivery(
                        deliveryID: deliveryID, consent: consent, records: byManufacturer, at: now, price: price, book: book)
                }
            } else {
                recorded = try await broker.appendBrokerEvent(event, conditions: conditions)
            }
            delivery.ledgerSequence = recorded.sequence
            Counter(label: "mydata_deliveries_total").increment()
            Counter(label: "mydata_records_delivered_total").increment(by: records.count)
            return delivery
        }
    }

    /// An earlier delivery again, read from its range with the same decision: nothing appended,
    /// nothing charged. Its digest is the logged one unless records in the range have gone since
    /// (then the digest of what is sent, so the recipient's check still holds).
    private func replay(
        _ entry: AccessLogEntry, range: (after: RecordCursor, through: RecordCursor), consent: Consent, standing: Party.Status?, now: Timestamp
    ) async throws -> CanonicalDelivery {
        let page = try await vault.store.records(
            RecordQuery(
                subject: consent.subject, items: consent.terms.items, from: consent.terms.dataFrom, to: consent.terms.dataTo,
                after: range.after, through: range.through, limit: BrokerLimits.deliveryRecordsMax))
        let (covered, certificates) = try await qualifying(
            Self.covered(page, consent: consent, recipient: entry.recipient, standing: standing, now: now), terms: consent.terms,
            reliedOn: consent.terms.minQuality == nil ? nil : try await loggedCertificates(entry))
        let key = try await vault.dataKey(for: consent.subject)
        let records = try covered.map { try vault.openCanonical($0, key: key) }
        // More follow when any record the consent covers lies after this delivery's range.
        let end = try await vault.store.records(
            RecordQuery(
                subject: consent.subject, items: consent.terms.items, from: consent.terms.dataFrom, to: consent.terms.dataTo,
                after: range.through, through: .end, limit: 1))
        Counter(label: "mydata_deliveries_replayed_total").increment()
        return CanonicalDelivery(
            deliveryID: entry.deliveryID, consentID: entry.consentID, after: range.after, records: records,
            positions: covered.map(\.cursor), nextCursor: range.through, hasMore: !end.isEmpty, replayed: true,
            digest: Self.digest(ofCanonical: records), ledgerSequence: entry.sequence, certificates: certificates)
    }

    /// Under terms with a `minQuality`, the records whose manufacturer × item has a current (newest)
    /// quality certificate that meets it, with those certificates' ids, sorted; all the records and
    /// nil otherwise. Records left out are passed over for good, as records the consent does not
    /// cover are: the cursor moves past them.
    /// A replay (`reliedOn`: the certificates its logged event names) keeps to the certificates
    /// the delivery relied on, so that a certificate issued since changes nothing it sends.
    private func qualifying(_ records: [SealedRecord], terms: ConsentTerms, reliedOn: [String]? = nil) async throws -> ([SealedRecord], [String]?) {
        guard let minimum = terms.minQuality else { return (records, nil) }
        var current: [String: QualityCertificateRecord] = [:]
        if let reliedOn {
            for id in reliedOn {
                if let logged = try await store.qualityCertificate(id) { current["\(logged.manufacturer)/\(logged.item)"] = logged }
            }
        } else {
            var looked = Set<String>()
            for r in records where looked.insert("\(r.manufacturer)/\(r.item)").inserted {
                if let newest = try await store.qualityCertificates(manufacturer: r.manufacturer, item: r.item, limit: 1).first,
                    newest.grade.meets(minimum)
                {
                    current["\(r.manufacturer)/\(r.item)"] = newest
                }
            }
        }
        let kept = records.filter { current["\($0.manufacturer)/\($0.item)"] != nil }
        let used = Set(kept.map { "\($0.manufacturer)/\($0.item)" })
        return (kept, current.filter { used.contains($0.key) }.values.map(\.certificateID).sorted())
    }

    /// The certificates the logged `data.delivered` event of `entry` relied on (read only for
    /// terms with a `minQuality`: other replays need not read the event again).
    private func loggedCertificates(_ entry: AccessLogEntry) async throws -> [String]? {
        guard let logged = try await store.events(from: entry.sequence, limit: 1).first, logged.sequence == entry.sequence,
            case .dataDelivered(let delivered) = try DomainEvent.decode(logged.event)
        else { return nil }
        return delivered.certificates ?? []
    }

    /// The records of a page that the one decision function lets the recipient have now,
    /// whatever the query did.
    private static func covered(
        _ page: [SealedRecord], consent: Consent, recipient: String, standing: Party.Status?, now: Timestamp
    ) -> [SealedRecord] {
        page.filter { r in
            AccessDecision.denial(
                consent: consent, recipientStatus: standing,
                query: AccessQuery(
                    recipient: recipient, subject: r.subject, item: r.item, recordTime: r.time, deviceConfirmed: true, now: now)) == nil
        }
    }
}

extension TransferService {
    /// Erases a person: appends their signed erasure together with revocations of every consent
    /// still active (one atomic batch), then destroys their data key, so none of their telemetry
    /// can be read again. The ledger keeps only pseudonymous facts and still verifies.
    ///
    /// - Parameter events: the person's signed `consent.revoked` events and `subject.erased`, last.
    public func erase(_ events: [NewEvent], subject: String) async throws -> [RecordedEvent] {
        guard let last = events.last, last.type == DomainEvent.TypeName.subjectErased, last.authorID == subject else {
            throw ConsentError(.malformedEvent, "an erasure ends with the person's signed subject.erased event")
        }
        let now = broker.clock.now()
        let active = try await store.consents(subject: subject, limit: ConsentLimits.pageItemsMax).filter { $0.status(at: now) == .active }
        let revoked = Set(
            try events.dropLast().map { event -> String in
                guard case .consentRevoked(let r) = try DomainEvent.decode(event) else {
                    throw ConsentError(.malformedEvent, "an erasure carries only revocations before the erasure itself")
                }
                return r.consentID
            })
        guard Set(active.map(\.id)).isSubset(of: revoked) else {
            throw ConsentError(.invalidTerms, "an erasure must revoke every active consent; fetch your consents again")
        }
        // The data key is destroyed in the erasure's own transaction (a projection change); this
        // also clears what the database may still hold of it elsewhere (SQLite's WAL).
        let recorded = try await broker.submit(events)
        try? await vault.store.destroyDataKey(subject: subject)
        return recorded
    }
}
