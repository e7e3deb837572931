import Consent
import struct Consent.RecordCursor
import Foundation
import GRDB
import Ledger
import Ports

extension SQLiteStore {
    public func activePolicy() async throws -> ActivePolicy? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM policies ORDER BY seq DESC LIMIT 1").map(Self.policy(from:)) }
    }

    public func policy(hash: String) async throws -> ActivePolicy? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM policies WHERE hash = ? ORDER BY seq DESC LIMIT 1", arguments: [hash]).map(Self.policy(from:))
        }
    }

    private static func policy(from row: Row) throws -> ActivePolicy {
        ActivePolicy(
            version: row["version"], hash: row["hash"], policy: try CanonicalJSON.decode(PolicySet.self, from: [UInt8](row["body"] as Data)),
            activatedAt: Timestamp(milliseconds: row["activated_ms"]))
    }

    public func party(_ id: String) async throws -> Party? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM parties WHERE id = ?", arguments: [id]).map(Self.party(from:)) }
    }

    public func parties() async throws -> [Party] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM parties ORDER BY id").map(Self.party(from:)) }
    }

    public func subject(_ id: String) async throws -> Subject? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM subjects WHERE id = ?", arguments: [id]).map { row in
                Subject(id: row["id"], signingKey: row["signing_key"], registeredAt: Timestamp(milliseconds: row["registered_ms"]))
            }
        }
    }

    public func request(_ id: String) async throws -> ConsentRequest? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM requests WHERE id = ?", arguments: [id]).map(Self.request(from:)) }
    }

    /// `before` as SQL over `requests r`: strictly after the cursor in the listing's order.
    private static let requestsBefore = "(? IS NULL OR r.created_ms < ? OR (r.created_ms = ? AND r.id > ?))"

    private static func cursorArguments(_ c: RequestCursor?) -> [(any DatabaseValueConvertible)?] {
        [c?.createdAt, c?.createdAt, c?.createdAt, c?.id]
    }

    public func requests(for subject: String?, limit: Int, before: RequestCursor?) async throws -> [ConsentRequest] {
        let limit = Self.page(limit)
        return try await read { db in
            if let subject {
                return try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM requests r
                        WHERE (r.subject = ? OR r.subject IS NULL)
                          AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.request_id = r.id AND c.subject = ?)
                          AND \(Self.requestsBefore)
                        ORDER BY r.created_ms DESC, r.id LIMIT ?
                        """, arguments: StatementArguments([subject, subject] + Self.cursorArguments(before) + [limit])
                ).map(Self.request(from:))
            }
            return try Row.fetchAll(
                db, sql: "SELECT * FROM requests r WHERE \(Self.requestsBefore) ORDER BY r.created_ms DESC, r.id LIMIT ?",
                arguments: StatementArguments(Self.cursorArguments(before) + [limit])
            ).map(Self.request(from:))
        }
    }

    public func requests(recipient: String, limit: Int, before: RequestCursor?) async throws -> [ConsentRequest] {
        let limit = Self.page(limit)
        return try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM requests r WHERE r.recipient = ? AND \(Self.requestsBefore) ORDER BY r.created_ms DESC, r.id LIMIT ?",
                arguments: StatementArguments([recipient] + Self.cursorArguments(before) + [limit])
            ).map(Self.request(from:))
        }
    }

    public func consent(_ id: String) async throws -> Consent? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM consents WHERE id = ?", arguments: [id]).map(Self.consent(from:)) }
    }

    public func consents(subject: String, limit: Int, before: UInt64?) async throws -> [Consent] {
        let limit = Self.page(limit), before = Int64(clamping: before ?? UInt64(Int64.max))
        return try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM consents WHERE subject = ? AND grant_seq < ? ORDER BY grant_seq DESC LIMIT ?",
                arguments: [subject, before, limit]
            ).map(Self.consent(from:))
        }
    }

    public func consents(recipient: String, limit: Int, before: UInt64?) async throws -> [Consent] {
        let limit = Self.page(limit), before = Int64(clamping: before ?? UInt64(Int64.max))
        return try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM consents WHERE recipient = ? AND grant_seq < ? ORDER BY grant_seq DESC LIMIT ?",
                arguments: [recipient, before, limit]
            ).map(Self.consent(from:))
        }
    }

    public func deviceBindings(subject: String) async throws -> [DeviceBinding] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM device_bindings WHERE subject = ? ORDER BY manufacturer, device_id LIMIT ?",
                arguments: [subject, ConsentLimits.pageItemsMax]
            ).map(Self.binding(from:))
        }
    }

    public func deviceBinding(manufacturer: String, deviceID: String) async throws -> DeviceBinding? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM device_bindings WHERE manufacturer = ? AND device_id = ?",
                arguments: [manufacturer, deviceID]
            ).map(Self.binding(from:))
        }
    }

    public func accessLog(subject: String, limit: Int, before: UInt64?) async throws -> [AccessLogEntry] {
        let limit = Self.page(limit), before = Int64(clamping: before ?? UInt64(Int64.max))
        return try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM access_log WHERE subject = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                arguments: [subject, before, limit]
            ).map(Self.accessEntry(from:))
        }
    }

    public func deliveries(consentID: String, limit: Int, after: UInt64?) async throws -> [AccessLogEntry] {
        let limit = Self.page(limit), after = Int64(clamping: after ?? 0)
        return try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM access_log WHERE consent_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                arguments: [consentID, after, limit]
            ).map(Self.accessEntry(from:))
        }
    }

    public func deliveries(consentID: String, around cursor: RecordCursor) async throws -> (atOrBefore: AccessLogEntry?, next: AccessLogEntry?) {
        try await read { db in try Self.deliveries(consentID: consentID, around: cursor, db: db) }
    }

    private static func deliveries(
        consentID: String, around cursor: RecordCursor, db: Database
    ) throws -> (
        atOrBefore: AccessLogEntry?, next: AccessLogEntry?
    ) {
        let arguments: StatementArguments = [consentID, cursor.batchSequence, cursor.recordID]
        let atOrBefore = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT * FROM access_log WHERE consent_id = ? AND after_batch IS NOT NULL AND (after_batch, after_record) <= (?, ?)
                    ORDER BY after_batch DESC, after_record DESC LIMIT 1
                    """), arguments: arguments)
        let next = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT * FROM access_log WHERE consent_id = ? AND after_batch IS NOT NULL AND (after_batch, after_record) > (?, ?)
                    ORDER BY after_batch, after_record LIMIT 1
                    """), arguments: arguments)
        return (atOrBefore.map(Self.accessEntry(from:)), next.map(Self.accessEntry(from:)))
    }

    /// One read transaction, so one snapshot and one trip through the pool, with cached statements.
    public func pullState(consentID: String, recipient: String, around cursor: RecordCursor) async throws -> PullState {
        try await read { db in
            let consent = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM consents WHERE id = ?"), arguments: [consentID])
            let party = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM parties WHERE id = ?"), arguments: [recipient])
            let around = try Self.deliveries(consentID: consentID, around: cursor, db: db)
            return PullState(
                consentVersion: try ProjectionSQL.streamVersion(StreamName.consent(consentID), db: db),
                deliveriesVersion: try ProjectionSQL.streamVersion(StreamName.deliveries(consentID), db: db),
                consent: try consent.map(Self.consent(from:)), recipientStatus: try party.map(Self.party(from:))?.status,
                atOrBefore: around.atOrBefore, next: around.next)
        }
    }

    private static func accessEntry(from row: Row) -> AccessLogEntry {
        func cursor(_ batch: String, _ record: String) -> RecordCursor? {
            guard let b = row[batch] as Int64?, let r = row[record] as Int64? else { return nil }
            return RecordCursor(batchSequence: b, recordID: r)
        }
        return AccessLogEntry(
            sequence: UInt64(row["seq"] as Int64), time: Timestamp(milliseconds: row["time_ms"]),
            deliveryID: row["delivery_id"], consentID: row["consent_id"], subject: row["subject"],
            recipient: row["recipient"],
            items: (row["items"] as String).split(separator: ",").map(String.init),
            records: row["records"], digest: row["digest"],
            after: cursor("after_batch", "after_record"), through: cursor("through_batch", "through_record"))
    }

    public func telemetryBatch(manufacturer: String, idempotencyKey: String) async throws -> TelemetryBatch? {
        try await read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT batch_id, idempotency_key, manufacturer, accepted, rejected, digest, time_ms, seq FROM telemetry_batches
                    WHERE manufacturer = ? AND idempotency_key = ?
                    """, arguments: [manufacturer, idempotencyKey]
            ).map { r in
                TelemetryBatch(
                    batchID: r[0], idempotencyKey: r[1], manufacturer: r[2], accepted: r[3], rejected: r[4], digest: r[5],
                    time: Timestamp(milliseconds: r[6]), sequence: UInt64(r[7] as Int64))
            }
        }
    }

    // MARK: Row mapping

    static func page(_ limit: Int) -> Int { min(max(limit, 1), ConsentLimits.pageItemsMax) }

    private static func party(from row: Row) throws -> Party {
        guard let role = PartyRole(rawValue: row["role"]), let status = Party.Status(rawValue: row["status"]) else {
            throw LedgerError(.corruptRecord, "party \(row["id"] as String) has an unknown role or status")
        }
        return Party(
            id: row["id"], role: role, name: row["name"], signingKey: row["signing_key"], boxKey: row["box_key"],
            status: status, registeredAt: Timestamp(milliseconds: row["registered_ms"]))
    }

    private static func request(from row: Row) throws -> ConsentRequest {
        ConsentRequest(
            id: row["id"], recipient: row["recipient"], subject: row["subject"],
            terms: try CanonicalJSON.decode(ConsentTerms.self, from: [UInt8](row["terms"] as Data)),
            offerExpiresAt: Timestamp(milliseconds: row["offer_expires_ms"]), policyVersion: row["policy_version"],
            createdAt: Timestamp(milliseconds: row["created_ms"]), requestHash: row["request_hash"],
            withdrawnAt: (row["withdrawn_ms"] as Int64?).map(Timestamp.init(milliseconds:)))
    }

    static func consent(from row: Row) throws -> Consent {
        Consent(
            id: row["id"], requestID: row["request_id"], requestHash: row["request_hash"], subject: row["subject"],
            recipient: row["recipient"],
            terms: try CanonicalJSON.decode(ConsentTerms.self, from: [UInt8](row["terms"] as Data)),
            grantedAt: Timestamp(milliseconds: row["granted_ms"]), expiresAt: Timestamp(milliseconds: row["expires_ms"]),
            policyVersion: row["policy_version"], policyHash: row["policy_hash"],
            sensitiveConfirmed: row["sensitive_confirmed"],
            revokedAt: (row["revoked_ms"] as Int64?).map(Timestamp.init(milliseconds:)),
            grantSequence: UInt64(row["grant_seq"] as Int64), revokeSequence: (row["revoke_seq"] as Int64?).map(UInt64.init))
    }

    private static func binding(from row: Row) -> DeviceBinding {
        DeviceBinding(
            deviceID: row["device_id"], manufacturer: row["manufacturer"], subject: row["subject"],
            attestedAt: Timestamp(milliseconds: row["attested_ms"]),
            confirmedAt: (row["confirmed_ms"] as Int64?).map(Timestamp.init(milliseconds:)))
    }
}
