import Consent
import Foundation
import Ledger
import NIOCore
import PostgresNIO

extension PostgresStore {
    static func page(_ limit: Int) -> Int { min(max(limit, 1), ConsentLimits.pageItemsMax) }

    private static func bytes(_ b: ByteBuffer) -> [UInt8] { Array(b.readableBytesView) }

    public func activePolicy() async throws -> ActivePolicy? {
        try await policy(
            rows: try await client.query("SELECT version, hash, body, activated_ms FROM policies ORDER BY seq DESC LIMIT 1", logger: logger))
    }

    public func policy(hash: String) async throws -> ActivePolicy? {
        try await policy(
            rows: try await client.query(
                "SELECT version, hash, body, activated_ms FROM policies WHERE hash = \(hash) ORDER BY seq DESC LIMIT 1", logger: logger))
    }

    private func policy(rows: PostgresRowSequence) async throws -> ActivePolicy? {
        for try await (version, hash, body, at) in rows.decode((String, String, ByteBuffer, Int64).self) {
            return ActivePolicy(
                version: version, hash: hash, policy: try CanonicalJSON.decode(PolicySet.self, from: Self.bytes(body)),
                activatedAt: Timestamp(milliseconds: at))
        }
        return nil
    }

    private static let partyColumns = "id, role, name, signing_key, box_key, status, registered_ms"
    private typealias PartyRow = (String, String, String, String, String, String, Int64)

    private static func party(_ r: PartyRow) throws -> Party {
        guard let role = PartyRole(rawValue: r.1), let status = Party.Status(rawValue: r.5) else {
            throw LedgerError(.corruptRecord, "party \(r.0) has an unknown role or status")
        }
        return Party(id: r.0, role: role, name: r.2, signingKey: r.3, boxKey: r.4, status: status, registeredAt: Timestamp(milliseconds: r.6))
    }

    public func party(_ id: String) async throws -> Party? {
        let rows = try await client.query("SELECT \(unescaped: Self.partyColumns) FROM parties WHERE id = \(id)", logger: logger)
        for try await r in rows.decode(PartyRow.self) { return try Self.party(r) }
        return nil
    }

    public func parties() async throws -> [Party] {
        let rows = try await client.query("SELECT \(unescaped: Self.partyColumns) FROM parties ORDER BY id", logger: logger)
        var out: [Party] = []
        for try await r in rows.decode(PartyRow.self) { out.append(try Self.party(r)) }
        return out
    }

    public func subject(_ id: String) async throws -> Subject? {
        let rows = try await client.query("SELECT id, signing_key, registered_ms FROM subjects WHERE id = \(id)", logger: logger)
        for try await (id, key, at) in rows.decode((String, String, Int64).self) {
            return Subject(id: id, signingKey: key, registeredAt: Timestamp(milliseconds: at))
        }
        return nil
    }

    private static let requestColumns =
        "r.id, r.recipient, r.subject, r.terms, r.offer_expires_ms, r.policy_version, r.created_ms, r.request_hash, r.withdrawn_ms"
    private typealias RequestRow = (String, String, String?, ByteBuffer, Int64, String, Int64, String, Int64?)

    private static func request(_ r: RequestRow) throws -> ConsentRequest {
        ConsentRequest(
            id: r.0, recipient: r.1, subject: r.2, terms: try CanonicalJSON.decode(ConsentTerms.self, from: bytes(r.3)),
            offerExpiresAt: Timestamp(milliseconds: r.4), policyVersion: r.5, createdAt: Timestamp(milliseconds: r.6),
            requestHash: r.7, withdrawnAt: r.8.map(Timestamp.init(milliseconds:)))
    }

    public func request(_ id: String) async throws -> ConsentRequest? {
        let rows = try await client.query("SELECT \(unescaped: Self.requestColumns) FROM requests r WHERE r.id = \(id)", logger: logger)
        for try await r in rows.decode(RequestRow.self) { return try Self.request(r) }
        return nil
    }

    public func requests(for subject: String?, limit: Int, before: RequestCursor?) async throws -> [ConsentRequest] {
        let limit = Self.page(limit)
        // Without a cursor: after the largest possible position, so every row qualifies.
        let ms = before?.createdAt ?? Int64.max, id = before?.id ?? ""
        let rows: PostgresRowSequence
        if let subject {
            rows = try await client.query(
                """
                SELECT \(unescaped: Self.requestColumns) FROM requests r
                WHERE (r.subject = \(subject) OR r.subject IS NULL)
                  AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.request_id = r.id AND c.subject = \(subject))
                  AND (r.created_ms < \(ms) OR (r.created_ms = \(ms) AND r.id > \(id)))
                ORDER BY r.created_ms DESC, r.id LIMIT \(limit)
                """, logger: logger)
        } else {
            rows = try await client.query(
                """
                SELECT \(unescaped: Self.requestColumns) FROM requests r WHERE (r.created_ms < \(ms) OR (r.created_ms = \(ms) AND r.id > \(id)))
                ORDER BY r.created_ms DESC, r.id LIMIT \(limit)
                """, logger: logger)
        }
        var out: [ConsentRequest] = []
        for try await r in rows.decode(RequestRow.self) { out.append(try Self.request(r)) }
        return out
    }

    static let consentColumns = """
        id, request_id, request_hash, subject, recipient, terms, granted_ms, expires_ms, policy_version, policy_hash,
        sensitive_confirmed, revoked_ms, grant_seq, revoke_seq
        """
    typealias ConsentRow = (String, String, String, String, String, ByteBuffer, Int64, Int64, String, String, Bool, Int64?, Int64, Int64?)

    static func consent(_ r: ConsentRow) throws -> Consent {
        Consent(
            id: r.0, requestID: r.1, requestHash: r.2, subject: r.3, recipient: r.4,
            terms: try CanonicalJSON.decode(ConsentTerms.self, from: bytes(r.5)), grantedAt: Timestamp(milliseconds: r.6),
            expiresAt: Timestamp(milliseconds: r.7), policyVersion: r.8, policyHash: r.9, sensitiveConfirmed: r.10,
            revokedAt: r.11.map(Timestamp.init(milliseconds:)), grantSequence: UInt64(r.12), revokeSequence: r.13.map(UInt64.init))
    }

    func consents(_ query: PostgresQuery) async throws -> [Consent] {
        var out: [Consent] = []
        for try await r in try await client.query(query, logger: logger).decode(ConsentRow.self) { out.append(try Self.consent(r)) }
        return out
    }

    public func consent(_ id: String) async throws -> Consent? {
        try await consents("SELECT \(unescaped: Self.consentColumns) FROM consents WHERE id = \(id)").first
    }

    public func requests(recipient: String, limit: Int, before: RequestCursor?) async throws -> [ConsentRequest] {
        let ms = before?.createdAt ?? Int64.max, id = before?.id ?? ""
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.requestColumns) FROM requests r
            WHERE r.recipient = \(recipient) AND (r.created_ms < \(ms) OR (r.created_ms = \(ms) AND r.id > \(id)))
            ORDER BY r.created_ms DESC, r.id LIMIT \(Self.page(limit))
            """, logger: logger)
        var out: [ConsentRequest] = []
        for try await r in rows.decode(RequestRow.self) { out.append(try Self.request(r)) }
        return out
    }

    public func consents(subject: String, limit: Int, before: UInt64?) async throws -> [Consent] {
        let before = Int64(clamping: before ?? UInt64(Int64.max))
        return try await consents(
            """
            SELECT \(unescaped: Self.consentColumns) FROM consents WHERE subject = \(subject) AND grant_seq < \(before)
            ORDER BY grant_seq DESC LIMIT \(Self.page(limit))
            """)
    }

    public func consents(recipient: String, limit: Int, before: UInt64?) async throws -> [Consent] {
        let before = Int64(clamping: before ?? UInt64(Int64.max))
        return try await consents(
            """
            SELECT \(unescaped: Self.consentColumns) FROM consents WHERE recipient = \(recipient) AND grant_seq < \(before)
            ORDER BY grant_seq DESC LIMIT \(Self.page(limit))
            """)
    }

    private typealias BindingRow = (String, String, String, Int64, Int64?)

    private func bindings(_ query: PostgresQuery) async throws -> [DeviceBinding] {
        var out: [DeviceBinding] = []
        for try await r in try await client.query(query, logger: logger).decode(BindingRow.self) {
            out.append(
                DeviceBinding(
                    deviceID: r.1, manufacturer: r.0, subject: r.2, attestedAt: Timestamp(milliseconds: r.3),
                    confirmedAt: r.4.map(Timestamp.init(milliseconds:))))
        }
        return out
    }

    public func deviceBindings(subject: String) async throws -> [DeviceBinding] {
        try await bindings(
            """
            SELECT manufacturer, device_id, subject, attested_ms, confirmed_ms FROM device_bindings WHERE subject = \(subject)
            ORDER BY manufacturer, device_id LIMIT \(ConsentLimits.pageItemsMax)
            """)
    }

    public func deviceBinding(manufacturer: String, deviceID: String) async throws -> DeviceBinding? {
        try await bindings(
            """
            SELECT manufacturer, device_id, subject, attested_ms, confirmed_ms FROM device_bindings
            WHERE manufacturer = \(manufacturer) AND device_id = \(deviceID)
            """
        ).first
    }

    public func accessLog(subject: String, limit: Int, before: UInt64?) async throws -> [AccessLogEntry] {
        let before = Int64(clamping: before ?? UInt64(Int64.max))
        return try await accessEntries(
            """
            SELECT \(unescaped: Self.accessColumns) FROM access_log
            WHERE subject = \(subject) AND seq < \(before) ORDER BY seq DESC LIMIT \(Self.page(limit))
            """)
    }

    public func deliveries(consentID: String, limit: Int, after: UInt64?) async throws -> [AccessLogEntry] {
        let after = Int64(clamping: after ?? 0)
        return try await accessEntries(
            """
            SELECT \(unescaped: Self.accessColumns) FROM access_log
            WHERE consent_id = \(consentID) AND seq > \(after) ORDER BY seq LIMIT \(Self.page(limit))
            """)
    }

    public func deliveries(consentID: String, around cursor: RecordCursor) async throws -> (atOrBefore: AccessLogEntry?, next: AccessLogEntry?) {
        let atOrBefore = try await accessEntries(
            """
            SELECT \(unescaped: Self.accessColumns) FROM access_log
            WHERE consent_id = \(consentID) AND after_batch IS NOT NULL
              AND (after_batch, after_record) <= (\(cursor.batchSequence), \(cursor.recordID))
            ORDER BY after_batch DESC, after_record DESC LIMIT 1
            """)
        let next = try await accessEntries(
            """
            SELECT \(unescaped: Self.accessColumns) FROM access_log
            WHERE consent_id = \(consentID) AND after_batch IS NOT NULL
              AND (after_batch, after_record) > (\(cursor.batchSequence), \(cursor.recordID))
            ORDER BY after_batch, after_record LIMIT 1
            """)
        return (atOrBefore.first, next.first)
    }

    private static let accessColumns =
        "seq, time_ms, delivery_id, consent_id, subject, recipient, items, records, digest, after_batch, after_record, through_batch, through_record"

    private func accessEntries(_ query: PostgresQuery) async throws -> [AccessLogEntry] {
        let rows = try await client.query(query, logger: logger)
        var out: [AccessLogEntry] = []
        for try await r in rows.decode((Int64, Int64, String, String, String, String, String, Int64, String, Int64?, Int64?, Int64?, Int64?).self) {
            func cursor(_ b: Int64?, _ r: Int64?) -> RecordCursor? { b.flatMap { b in r.map { RecordCursor(batchSequence: b, recordID: $0) } } }
            out.append(
                AccessLogEntry(
                    sequence: UInt64(r.0), time: Timestamp(milliseconds: r.1), deliveryID: r.2, consentID: r.3,
                    subject: r.4, recipient: r.5, items: r.6.split(separator: ",").map(String.init),
                    records: Int(r.7), digest: r.8, after: cursor(r.9, r.10), through: cursor(r.11, r.12)))
        }
        return out
    }

    public func telemetryBatch(manufacturer: String, idempotencyKey: String) async throws -> TelemetryBatch? {
        let rows = try await client.query(
            """
            SELECT batch_id, idempotency_key, manufacturer, accepted, rejected, digest, time_ms, seq FROM telemetry_batches
            WHERE manufacturer = \(manufacturer) AND idempotency_key = \(idempotencyKey)
            """, logger: logger)
        for try await r in rows.decode((String, String?, String, Int64, Int64, String, Int64, Int64).self) {
            return TelemetryBatch(
                batchID: r.0, idempotencyKey: r.1, manufacturer: r.2, accepted: Int(r.3), rejected: Int(r.4), digest: r.5,
                time: Timestamp(milliseconds: r.6), sequence: UInt64(r.7))
        }
        return nil
    }

    public func projectedSequence() async throws -> UInt64 {
        for try await seq in try await client.query("SELECT last_seq FROM projection_state WHERE id = 1", logger: logger).decode(Int64.self) {
            return UInt64(seq)
        }
        return 0
    }

    /// Rebuilds every projection from the log in one transaction that holds the head lock: no
    /// broker appends meanwhile, and (TRUNCATE takes an exclusive lock) reads of the projections
    /// wait until it commits. Run it in a quiet period.
    public func rebuildProjections() async throws {
        try await client.withTransaction(logger: logger) { conn in
            try await conn.query("SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE", logger: self.logger)
            let tables = PostgresMigrations.projectionTables.joined(separator: ", ")
            try await conn.query(PostgresQuery(unsafeSQL: "TRUNCATE \(tables)"), logger: self.logger)
            var increments: [String: Int] = [:]
            var last: UInt64 = 0
            while true {
                var events: [RecordedEvent] = []
                let rows = try await conn.query(
                    """
                    SELECT seq, time_ms, stream_id, type, schema_version, author_id, signature, payload, prev_hash, hash
                    FROM events WHERE seq > \(Int64(clamping: last)) ORDER BY seq LIMIT \(Limits.readPageEventsMax)
                    """, logger: self.logger)
                for try await row in rows.decode((Int64, Int64, String, String, Int32, String, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer).self) {
                    events.append(try Self.event(row))
                }
                guard let tail = events.last else { break }
                let changes = try ParallelMap.map(events) { try Projection.changes(for: $0.event) }
                for e in events { increments[e.event.streamID, default: 0] += 1 }
                try await PostgresProjection.apply(zip(events, changes).map { ($0.0.sequence, $0.1) }, on: conn, logger: self.logger)
                last = tail.sequence
            }
            try await PostgresProjection.bumpStreams(increments, on: conn, logger: self.logger)
            try await conn.query("UPDATE projection_state SET last_seq = \(Int64(last)) WHERE id = 1", logger: self.logger)
        }
    }

    /// Every projection row as text, table by table in a fixed order: equal dumps mean equal projections.
    public func dumpProjections() async throws -> String {
        var out = ""
        for table in PostgresMigrations.projectionTables + ["projection_state"] {
            out += "## \(table)\n"
            let rows = try await client.query(
                PostgresQuery(unsafeSQL: "SELECT coalesce(json_agg(t ORDER BY t)::text, '[]') FROM \(table) t"),
                logger: logger)
            for try await text in rows.decode(String.self) { out += text + "\n" }
        }
        return out
    }
}
