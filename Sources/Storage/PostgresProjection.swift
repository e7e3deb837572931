import Accounting
import Consent
import Foundation
import Ledger
import Logging
import NIOCore
import PostgresNIO

/// Applies projection changes on PostgreSQL inside the caller's transaction. Changes apply in
/// log order; runs of the same kind of insert go in one bulk statement (UNNEST), so a group of
/// a thousand deliveries costs one round trip, not a thousand.
enum PostgresProjection {
    /// Stands for NULL in bulk arrays (postgres-nio binds no optional elements); no time or
    /// expiry is this small, and no id is empty.
    static let absent = Int64.min
    static func bumpStreams(_ increments: [String: Int], on conn: PostgresConnection, logger: Logger) async throws {
        guard !increments.isEmpty else { return }
        let ids = Array(increments.keys), counts = ids.map { Int64(increments[$0]!) }
        try await conn.query(
            """
            INSERT INTO streams (stream_id, version) SELECT * FROM UNNEST(\(ids)::text[], \(counts)::bigint[])
            ON CONFLICT (stream_id) DO UPDATE SET version = streams.version + EXCLUDED.version
            """, logger: logger)
    }

    /// Applies each event's changes, in order.
    static func apply(_ events: [(sequence: UInt64, changes: [ProjectionChange])], on conn: PostgresConnection, logger: Logger) async throws {
        var run: [(UInt64, ProjectionChange)] = []
        func flush() async throws {
            guard !run.isEmpty else { return }
            try await applyRun(run, on: conn, logger: logger)
            run.removeAll(keepingCapacity: true)
        }
        for (sequence, changes) in events {
            for change in changes {
                let c = change.withSequence(sequence)
                if let last = run.last, !sameBulkKind(last.1, c) { try await flush() }
                run.append((sequence, c))
            }
        }
        try await flush()
    }

    private static func sameBulkKind(_ a: ProjectionChange, _ b: ProjectionChange) -> Bool {
        switch (a, b) {
        case (.appendAccess, .appendAccess), (.insertSubject, .insertSubject), (.includeInAnalysis, .includeInAnalysis): true
        default: false
        }
    }

    private static func applyRun(_ run: [(UInt64, ProjectionChange)], on conn: PostgresConnection, logger: Logger) async throws {
        switch run[0].1 {
        case .appendAccess:
            let entries = run.compactMap { if case .appendAccess(let a) = $0.1 { a } else { nil } }
            try await conn.query(
                """
                INSERT INTO access_log (seq, time_ms, delivery_id, consent_id, subject, recipient, items, records, digest,
                                        after_batch, after_record, through_batch, through_record)
                SELECT seq, t, d, c, s, r, i, n, g, NULLIF(ab, -1), NULLIF(ar, -1), NULLIF(tb, -1), NULLIF(tr, -1)
                FROM UNNEST(\(entries.map { Int64($0.sequence) })::bigint[], \(entries.map(\.time.milliseconds))::bigint[],
                    \(entries.map(\.deliveryID))::text[], \(entries.map(\.consentID))::text[], \(entries.map(\.subject))::text[],
                    \(entries.map(\.recipient))::text[], \(entries.map { $0.items.joined(separator: ",") })::text[],
                    \(entries.map { Int64($0.records) })::bigint[], \(entries.map(\.digest))::text[],
                    -- A range is absent in deliveries logged before ranges were: -1 stands for NULL in the arrays.
                    \(entries.map { $0.after?.batchSequence ?? -1 })::bigint[], \(entries.map { $0.after?.recordID ?? -1 })::bigint[],
                    \(entries.map { $0.through?.batchSequence ?? -1 })::bigint[], \(entries.map { $0.through?.recordID ?? -1 })::bigint[])
                    AS u(seq, t, d, c, s, r, i, n, g, ab, ar, tb, tr)
                """, logger: logger)
        case .insertSubject:
            let subjects = run.compactMap { if case .insertSubject(let s) = $0.1 { s } else { nil } }
            try await conn.query(
                """
                INSERT INTO subjects (id, signing_key, registered_ms)
                SELECT * FROM UNNEST(\(subjects.map(\.id))::text[], \(subjects.map(\.signingKey))::text[], \(subjects.map(\.registeredAt.milliseconds))::bigint[])
                """, logger: logger)
        case .includeInAnalysis:
            // An event names thousands of persons: one insert per chunk of rows, not one per person.
            let entries: [AnalysisInclusion] = run.flatMap { change -> [AnalysisInclusion] in
                if case .includeInAnalysis(let e) = change.1 { e } else { [] }
            }
            for start in stride(from: 0, to: entries.count, by: StorageLimits.postgresBulkInsertRowsMax) {
                let chunk = entries[start..<min(start + StorageLimits.postgresBulkInsertRowsMax, entries.count)]
                try await conn.query(
                    """
                    INSERT INTO analysis_inclusions (subject, seq, analysis_id, consent_id, recipient, purpose, time_ms)
                    SELECT * FROM UNNEST(\(chunk.map(\.subject))::text[], \(chunk.map { Int64($0.sequence) })::bigint[],
                        \(chunk.map(\.analysisID))::text[], \(chunk.map(\.consentID))::text[], \(chunk.map(\.recipient))::text[],
                        \(chunk.map(\.purpose))::text[], \(chunk.map(\.time.milliseconds))::bigint[])
                    """, logger: logger)
            }
        default:
            for (sequence, change) in run { try await applyOne(change, sequence: sequence, on: conn, logger: logger) }
        }
    }

    private static func json<T: Encodable>(_ value: T) throws -> ByteBuffer { ByteBuffer(bytes: try CanonicalJSON.encode(value)) }

    private static func applyOne(_ change: ProjectionChange, sequence: UInt64, on conn: PostgresConnection, logger: Logger) async throws {
        switch change {
        case .activatePolicy(let p):
            try await conn.query(
                """
                INSERT INTO policies (seq, version, hash, body, activated_ms)
                VALUES (\(Int64(sequence)), \(p.version), \(p.hash), \(try json(p.policy)), \(p.activatedAt.milliseconds))
                """, logger: logger)
        case .insertParty(let p):
            try await conn.query(
                """
                INSERT INTO parties (id, role, name, signing_key, box_key, status, registered_ms)
                VALUES (\(p.id), \(p.role.rawValue), \(p.name), \(p.signingKey), \(p.boxKey), \(p.status.rawValue), \(p.registeredAt.milliseconds))
                """, logger: logger)
        case .setPartyStatus(let id, let status):
            try await conn.query("UPDATE parties SET status = \(status.rawValue) WHERE id = \(id)", logger: logger)
        case .setPartyKeys(let id, let signingKey, let boxKey):
            try await conn.query("UPDATE parties SET signing_key = \(signingKey), box_key = \(boxKey) WHERE id = \(id)", logger: logger)
        case .insertSubject(let s):
            try await conn.query(
                "INSERT INTO subjects (id, signing_key, registered_ms) VALUES (\(s.id), \(s.signingKey), \(s.registeredAt.milliseconds))",
                logger: logger)
        case .insertRequest(let r):
            try await conn.query(
                """
                INSERT INTO requests (id, recipient, subject, terms, offer_expires_ms, policy_version, created_ms, request_hash, withdrawn_ms)
                VALUES (\(r.id), \(r.recipient), \(r.subject), \(try json(r.terms)), \(r.offerExpiresAt.milliseconds), \(r.policyVersion),
                        \(r.createdAt.milliseconds), \(r.requestHash), NULL)
                """, logger: logger)
        case .withdrawRequest(let id, let at):
            try await conn.query("UPDATE requests SET withdrawn_ms = \(at.milliseconds) WHERE id = \(id)", logger: logger)
        case .insertConsent(let c):
            try await conn.query(
                """
                INSERT INTO consents (id, request_id, request_hash, subject, recipient, terms, granted_ms, expires_ms,
                    policy_version, policy_hash, sensitive_confirmed, revoked_ms, grant_seq)
                VALUES (\(c.id), \(c.requestID), \(c.requestHash), \(c.subject), \(c.recipient), \(try json(c.terms)),
                        \(c.grantedAt.milliseconds), \(c.expiresAt.milliseconds), \(c.policyVersion), \(c.policyHash),
                        \(c.sensitiveConfirmed), NULL, \(Int64(c.grantSequence)))
                """, logger: logger)
        case .revokeConsent(let id, let at, let sequence):
            try await conn.query(
                "UPDATE consents SET revoked_ms = \(at.milliseconds), revoke_seq = \(Int64(sequence)) WHERE id = \(id)", logger: logger)
            // In the same transaction as the revocation: the recipient will be told, whatever happens next.
            try await conn.query(
                """
                INSERT INTO callbacks (consent_id, recipient, url, event_seq, status, attempts, next_attempt_ms)
                SELECT c.id, c.recipient, p.url, \(Int64(sequence)), 'pending', 0, \(at.milliseconds)
                FROM consents c JOIN party_callbacks p ON p.party_id = c.recipient WHERE c.id = \(id)
                ON CONFLICT (consent_id, event_seq) DO NOTHING
                """, logger: logger)
        case .destroyDataKey(let subject, let at):
            try await conn.query(
                """
                INSERT INTO data_keys (subject, wrapped, created_ms, destroyed_ms) VALUES (\(subject), NULL, \(at.milliseconds), \(at.milliseconds))
                ON CONFLICT (subject) DO UPDATE SET wrapped = NULL, destroyed_ms = EXCLUDED.destroyed_ms
                """, logger: logger)
        case .setPartyCallback(let id, let url):
            if let url {
                try await conn.query(
                    """
                    INSERT INTO party_callbacks (party_id, url) VALUES (\(id), \(url)) ON CONFLICT (party_id) DO UPDATE SET url = EXCLUDED.url
                    """, logger: logger)
            } else {
                try await conn.query("DELETE FROM party_callbacks WHERE party_id = \(id)", logger: logger)
            }
        case .attestDevice(let b):
            try await conn.query(
                """
                INSERT INTO device_bindings (manufacturer, device_id, subject, attested_ms, confirmed_ms)
                VALUES (\(b.manufacturer), \(b.deviceID), \(b.subject), \(b.attestedAt.milliseconds), NULL)
                ON CONFLICT (manufacturer, device_id) DO UPDATE SET subject = EXCLUDED.subject,
                    attested_ms = EXCLUDED.attested_ms, confirmed_ms = NULL
                """, logger: logger)
        case .confirmDevice(let manufacturer, let deviceID, let at):
            try await conn.query(
                """
                UPDATE device_bindings SET confirmed_ms = \(at.milliseconds) WHERE manufacturer = \(manufacturer) AND device_id = \(deviceID)
                """, logger: logger)
            // The device's stored records become visible now: they take the confirmation's place in
            // the pull order, after every cursor handed out before it.
            try await conn.query(
                """
                UPDATE records SET batch_seq = \(Int64(sequence)) WHERE manufacturer = \(manufacturer) AND device_id = \(deviceID) AND batch_seq IS NOT NULL
                """, logger: logger)
        case .insertBatch(let b):
            try await conn.query(
                """
                INSERT INTO telemetry_batches (batch_id, idempotency_key, manufacturer, accepted, rejected, digest, time_ms, seq)
                VALUES (\(b.batchID), \(b.idempotencyKey), \(b.manufacturer), \(Int64(b.accepted)), \(Int64(b.rejected)), \(b.digest), \(b.time.milliseconds), \(Int64(b.sequence)))
                """, logger: logger)
            // The batch's records become visible to pulls, in the ledger's order.
            try await conn.query("UPDATE records SET batch_seq = \(Int64(b.sequence)) WHERE batch_id = \(b.batchID)", logger: logger)
        case .openAccounts(let accounts):
            try await conn.query(
                """
                INSERT INTO accounts (id, owner_kind, owner_id, kind, flags, expires_ms, debits_pending, debits_posted, credits_pending, credits_posted)
                SELECT id, ok, oi, k, f, NULLIF(e, \(Self.absent)), 0, 0, 0, 0 FROM UNNEST(\(accounts.map(\.id))::text[],
                    \(accounts.map(\.owner.kind.rawValue))::text[], \(accounts.map(\.owner.id))::text[], \(accounts.map(\.kind.rawValue))::text[],
                    \(accounts.map { Int64($0.flags.rawValue) })::bigint[], \(accounts.map { $0.expiresAt ?? Self.absent })::bigint[]) AS t(id, ok, oi, k, f, e)
                """, logger: logger)
        case .postTransfers(let transfers, let balances):
            try await conn.query(
                """
                INSERT INTO transfers (id, seq, position, debit_account, credit_account, amount, pending_id, flags, code, reference, timeout_ms, time_ms)
                SELECT i, s, n, d, c, a, NULLIF(p, ''), f, k, r, NULLIF(t, \(Self.absent)), m FROM UNNEST(\(transfers.map(\.id))::text[],
                    \(transfers.map { _ in Int64(sequence) })::bigint[], \(transfers.indices.map { Int64($0) })::bigint[],
                    \(transfers.map(\.debitAccountID))::text[], \(transfers.map(\.creditAccountID))::text[], \(transfers.map(\.amount))::bigint[],
                    \(transfers.map { $0.pendingID ?? "" })::text[], \(transfers.map { Int64($0.flags.rawValue) })::bigint[],
                    \(transfers.map(\.code.rawValue))::text[], \(transfers.map(\.reference))::text[], \(transfers.map { $0.timeoutAt ?? Self.absent })::bigint[],
                    \(transfers.map(\.timestamp))::bigint[]) AS x(i, s, n, d, c, a, p, f, k, r, t, m)
                """, logger: logger)
            try await conn.query(
                """
                UPDATE accounts a SET debits_pending = b.dp, debits_posted = b.dd, credits_pending = b.cp, credits_posted = b.cc
                FROM UNNEST(\(balances.map(\.id))::text[], \(balances.map(\.debitsPending))::bigint[], \(balances.map(\.debitsPosted))::bigint[],
                    \(balances.map(\.creditsPending))::bigint[], \(balances.map(\.creditsPosted))::bigint[]) AS b(id, dp, dd, cp, cc)
                WHERE a.id = b.id
                """, logger: logger)
        case .insertAnalysis(let a):
            try await conn.query(
                """
                INSERT INTO analyses (analysis_id, request_id, recipient, seq, time_ms, epsilon_milli, period_start_ms, payload)
                VALUES (\(a.analysisID), \(a.requestID), \(a.recipient), \(Int64(a.sequence)), \(a.time.milliseconds), \(a.epsilonMilli),
                        \(a.periodStart.milliseconds), \(ByteBuffer(bytes: a.payload)))
                """, logger: logger)
        case .measurePush(let manufacturer, let day, let items):
            // One statement for every measure of the push, one for its devices; within one push
            // each (item, measure) and (item, device) appears once, as ON CONFLICT needs.
            let rows = items.flatMap { q in QualityCounts.measures(of: q).map { (q.item, $0.0, $0.1) } }
            try await conn.query(
                """
                INSERT INTO quality_counts (manufacturer, item, day, measure, value)
                SELECT \(manufacturer), i, \(day), m, v FROM UNNEST(\(rows.map(\.0))::text[], \(rows.map(\.1))::text[], \(rows.map(\.2))::bigint[]) AS u(i, m, v)
                ON CONFLICT (manufacturer, item, day, measure) DO UPDATE SET value = CASE
                    WHEN quality_counts.measure = 'newest' THEN GREATEST(quality_counts.value, EXCLUDED.value)
                    ELSE quality_counts.value + EXCLUDED.value END
                """, logger: logger)
            let devices = items.flatMap { q in q.devices.map { (q.item, $0) } }
            guard !devices.isEmpty else { return }
            try await conn.query(
                """
                INSERT INTO quality_devices (manufacturer, item, day, device_id)
                SELECT \(manufacturer), i, \(day), d FROM UNNEST(\(devices.map(\.0))::text[], \(devices.map(\.1))::text[]) AS u(i, d)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        case .insertCertificate(let c):
            try await conn.query(
                """
                INSERT INTO quality_certificates (certificate_id, manufacturer, item, from_day, to_day, grade, seq, time_ms, payload)
                VALUES (\(c.certificateID), \(c.manufacturer), \(c.item), \(c.period.fromDay), \(c.period.toDay), \(c.grade.rawValue),
                        \(Int64(c.sequence)), \(c.time.milliseconds), \(ByteBuffer(bytes: c.payload)))
                """, logger: logger)
        case .includeInAnalysis:
            // Inserted in bulk (`applyRun`), as a run of one.
            try await applyRun([(sequence, change)], on: conn, logger: logger)
        case .appendAccess(let a):
            try await conn.query(
                """
                INSERT INTO access_log (seq, time_ms, delivery_id, consent_id, subject, recipient, items, records, digest,
                                        after_batch, after_record, through_batch, through_record)
                VALUES (\(Int64(a.sequence)), \(a.time.milliseconds), \(a.deliveryID), \(a.consentID), \(a.subject), \(a.recipient),
                        \(a.items.joined(separator: ",")), \(Int64(a.records)), \(a.digest),
                        \(a.after?.batchSequence), \(a.after?.recordID), \(a.through?.batchSequence), \(a.through?.recordID))
                """, logger: logger)
        }
    }
}
