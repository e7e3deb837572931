import Accounting
import Consent
import Foundation
import GRDB
import Ledger

/// Applies projection changes as SQL inside the caller's transaction.
enum ProjectionSQL {
    static func apply(_ changes: [ProjectionChange], sequence: UInt64, db: Database) throws {
        for change in changes { try apply(change.withSequence(sequence), sequence: sequence, db: db) }
    }

    /// Records the last event the projections reflect; once per transaction is enough.
    static func setProjectedSequence(_ sequence: UInt64, db: Database) throws {
        try db.cachedStatement(sql: "UPDATE projection_state SET last_seq = ? WHERE id = 1").execute(arguments: [Int64(sequence)])
    }

    /// Adds `events` to the version of `streamID` (creating it).
    static func bumpStream(_ streamID: String, by events: Int, db: Database) throws {
        try DirectBinding.execute(
            db.cachedStatement(
                sql: """
                    INSERT INTO streams (stream_id, version) VALUES (?, ?)
                    ON CONFLICT (stream_id) DO UPDATE SET version = version + excluded.version
                    """)
        ) {
            $0.text(streamID); $0.int(Int64(events))
        }
    }

    static func setStreamVersion(_ streamID: String, _ version: Int, db: Database) throws {
        try DirectBinding.execute(db.cachedStatement(sql: "INSERT INTO streams (stream_id, version) VALUES (?, ?)")) {
            $0.text(streamID); $0.int(Int64(version))
        }
    }

    static func streamVersion(_ streamID: String, db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT version FROM streams WHERE stream_id = ?"), arguments: [streamID]) ?? 0
    }

    /// The stored versions of `streamIDs` (0 for a stream with no events).
    static func streamVersions(_ streamIDs: [String], db: Database) throws -> [String: Int] {
        var versions: [String: Int] = [:]
        for id in streamIDs { versions[id] = try streamVersion(id, db: db) }
        return versions
    }

    /// Debug builds check that an update of one projection row found it: the event it comes from
    /// was decided on that row, so a miss means the projections and the ledger have parted.
    private static func assertOneRow(_ db: Database, _ what: @autoclosure () -> String) {
        assert(db.changesCount == 1, "the projection update of \(what()) changed \(db.changesCount) rows, not 1")
    }

    private static func json<T: Encodable>(_ value: T) throws -> Data { Data(try CanonicalJSON.encode(value)) }

    private static func apply(_ change: ProjectionChange, sequence: UInt64, db: Database) throws {
        switch change {
        case .activatePolicy(let p):
            try db.cachedStatement(sql: "INSERT INTO policies (seq, version, hash, body, activated_ms) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [Int64(sequence), p.version, p.hash, try json(p.policy), p.activatedAt.milliseconds])
        case .insertParty(let p):
            try db.cachedStatement(
                sql: """
                    INSERT INTO parties (id, role, name, signing_key, box_key, status, registered_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [p.id, p.role.rawValue, p.name, p.signingKey, p.boxKey, p.status.rawValue, p.registeredAt.milliseconds])
        case .setPartyStatus(let id, let status):
            try db.cachedStatement(sql: "UPDATE parties SET status = ? WHERE id = ?").execute(arguments: [status.rawValue, id])
            assertOneRow(db, "party \(id)")
        case .setPartyKeys(let id, let signingKey, let boxKey):
            try db.cachedStatement(sql: "UPDATE parties SET signing_key = ?, box_key = ? WHERE id = ?").execute(arguments: [signingKey, boxKey, id])
            assertOneRow(db, "party \(id)")
        case .insertSubject(let s):
            try db.cachedStatement(sql: "INSERT INTO subjects (id, signing_key, registered_ms) VALUES (?, ?, ?)")
                .execute(arguments: [s.id, s.signingKey, s.registeredAt.milliseconds])
        case .insertRequest(let r):
            try db.cachedStatement(
                sql: """
                    INSERT INTO requests (id, recipient, subject, terms, offer_expires_ms, policy_version, created_ms, request_hash, withdrawn_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)
                    """
            ).execute(arguments: [
                r.id, r.recipient, r.subject, try json(r.terms), r.offerExpiresAt.milliseconds,
                r.policyVersion, r.createdAt.milliseconds, r.requestHash,
            ])
        case .withdrawRequest(let id, let at):
            try db.cachedStatement(sql: "UPDATE requests SET withdrawn_ms = ? WHERE id = ?").execute(arguments: [at.milliseconds, id])
            assertOneRow(db, "request \(id)")
        case .insertConsent(let c):
            try db.cachedStatement(
                sql: """
                    INSERT INTO consents (id, request_id, request_hash, subject, recipient, terms, granted_ms, expires_ms,
                        policy_version, policy_hash, sensitive_confirmed, revoked_ms, grant_seq)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
                    """
            ).execute(arguments: [
                c.id, c.requestID, c.requestHash, c.subject, c.recipient, try json(c.terms),
                c.grantedAt.milliseconds, c.expiresAt.milliseconds, c.policyVersion, c.policyHash,
                c.sensitiveConfirmed, Int64(c.grantSequence),
            ])
        case .revokeConsent(let id, let at, let sequence):
            try db.cachedStatement(sql: "UPDATE consents SET revoked_ms = ?, revoke_seq = ? WHERE id = ?").execute(arguments: [
                at.milliseconds, Int64(sequence), id,
            ])
            assertOneRow(db, "consent \(id)")
            // In the same transaction as the revocation: the recipient will be told, whatever happens next.
            try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO callbacks (consent_id, recipient, url, event_seq, status, attempts, next_attempt_ms)
                    SELECT c.id, c.recipient, p.url, ?, 'pending', 0, ? FROM consents c JOIN party_callbacks p ON p.party_id = c.recipient
                    WHERE c.id = ?
                    """
            ).execute(arguments: [Int64(sequence), at.milliseconds, id])
        case .destroyDataKey(let subject, let at):
            try db.cachedStatement(
                sql: """
                    INSERT INTO data_keys (subject, wrapped, created_ms, destroyed_ms) VALUES (?, NULL, ?, ?)
                    ON CONFLICT (subject) DO UPDATE SET wrapped = NULL, destroyed_ms = excluded.destroyed_ms
                    """
            ).execute(arguments: [subject, at.milliseconds, at.milliseconds])
        case .setPartyCallback(let id, let url):
            if let url {
                try db.cachedStatement(
                    sql: "INSERT INTO party_callbacks (party_id, url) VALUES (?, ?) ON CONFLICT (party_id) DO UPDATE SET url = excluded.url"
                )
                .execute(arguments: [id, url])
            } else {
                try db.cachedStatement(sql: "DELETE FROM party_callbacks WHERE party_id = ?").execute(arguments: [id])
            }
        case .attestDevice(let b):
            try db.cachedStatement(
                sql: """
                    INSERT INTO device_bindings (manufacturer, device_id, subject, attested_ms, confirmed_ms) VALUES (?, ?, ?, ?, NULL)
                    ON CONFLICT (manufacturer, device_id) DO UPDATE SET subject = excluded.subject,
                        attested_ms = excluded.attested_ms, confirmed_ms = NULL
                    """
            ).execute(arguments: [b.manufacturer, b.deviceID, b.subject, b.attestedAt.milliseconds])
        case .confirmDevice(let manufacturer, let deviceID, let at):
            try db.cachedStatement(sql: "UPDATE device_bindings SET confirmed_ms = ? WHERE manufacturer = ? AND device_id = ?")
                .execute(arguments: [at.milliseconds, manufacturer, deviceID])
            // The device's stored records become visible now: they take the confirmation's place in
            // the pull order, after every cursor handed out before it.
            try db.cachedStatement(sql: "UPDATE records SET batch_seq = ? WHERE manufacturer = ? AND device_id = ? AND batch_seq IS NOT NULL")
                .execute(arguments: [Int64(sequence), manufacturer, deviceID])
        case .insertBatch(let b):
            try db.cachedStatement(
                sql: """
                    INSERT INTO telemetry_batches (batch_id, idempotency_key, manufacturer, accepted, rejected, digest, time_ms, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                b.batchID, b.idempotencyKey, b.manufacturer, b.accepted, b.rejected, b.digest, b.time.milliseconds, Int64(b.sequence),
            ])
            // The batch's records become visible to pulls, in the ledger's order.
            try db.cachedStatement(sql: "UPDATE records SET batch_seq = ? WHERE batch_id = ?").execute(arguments: [Int64(b.sequence), b.batchID])
        case .openAccounts(let accounts):
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO accounts (id, owner_kind, owner_id, kind, flags, expires_ms, debits_pending, debits_posted, credits_pending, credits_posted)
                    VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0)
                    """)
            for a in accounts {
                try insert.execute(arguments: [a.id, a.owner.kind.rawValue, a.owner.id, a.kind.rawValue, Int64(a.flags.rawValue), a.expiresAt])
            }
        case .postTransfers(let transfers, let balances):
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO transfers (id, seq, position, debit_account, credit_account, amount, pending_id, flags, code, reference, timeout_ms, time_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for (position, t) in transfers.enumerated() {
                try insert.execute(arguments: [
                    t.id, Int64(sequence), position, t.debitAccountID, t.creditAccountID, t.amount, t.pendingID,
                    Int64(t.flags.rawValue), t.code.rawValue, t.reference, t.timeoutAt, t.timestamp,
                ])
            }
            let update = try db.cachedStatement(
                sql: """
                    UPDATE accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?, credits_posted = ? WHERE id = ?
                    """)
            for a in balances {
                try update.execute(arguments: [a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted, a.id])
                assertOneRow(db, "account \(a.id)")
            }
        case .appendAccess(let a):
            // Item ids are policy identifiers (a-z, 0-9, '-', '_', '.'), so a comma separates them safely.
            try DirectBinding.execute(
                db.cachedStatement(
                    sql: """
                        INSERT INTO access_log (seq, time_ms, delivery_id, consent_id, subject, recipient, items, records, digest,
                                                after_batch, after_record, through_batch, through_record)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
            ) { b in
                b.int(Int64(a.sequence)); b.int(a.time.milliseconds); b.text(a.deliveryID); b.text(a.consentID)
                b.text(a.subject); b.text(a.recipient); b.text(a.items.joined(separator: ",")); b.int(Int64(a.records)); b.text(a.digest)
                b.int(a.after?.batchSequence); b.int(a.after?.recordID); b.int(a.through?.batchSequence); b.int(a.through?.recordID)
            }
        case .insertAnalysis(let a):
            try DirectBinding.execute(
                db.cachedStatement(
                    sql: """
                        INSERT INTO analyses (analysis_id, request_id, recipient, seq, time_ms, epsilon_milli, period_start_ms, payload)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """)
            ) { b in
                b.text(a.analysisID); b.text(a.requestID); b.text(a.recipient); b.int(Int64(a.sequence)); b.int(a.time.milliseconds)
                b.int(a.epsilonMilli); b.int(a.periodStart.milliseconds); b.blob(a.payload)
            }
        case .measurePush(let manufacturer, let day, let items):
            let add = try db.cachedStatement(
                sql: """
                    INSERT INTO quality_counts (manufacturer, item, day, measure, value) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (manufacturer, item, day, measure) DO UPDATE SET value = CASE
                        WHEN measure = 'newest' THEN max(value, excluded.value) ELSE value + excluded.value END
                    """)
            let device = try db.cachedStatement(
                sql: "INSERT INTO quality_devices (manufacturer, item, day, device_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
            for q in items {
                for (measure, value) in QualityCounts.measures(of: q) {
                    try DirectBinding.execute(add) { b in
                        b.text(manufacturer); b.text(q.item); b.int(day); b.text(measure); b.int(value)
                    }
                }
                for d in q.devices {
                    try DirectBinding.execute(device) { b in
                        b.text(manufacturer); b.text(q.item); b.int(day); b.text(d)
                    }
                }
            }
        case .insertCertificate(let c):
            try DirectBinding.execute(
                db.cachedStatement(
                    sql: """
                        INSERT INTO quality_certificates (certificate_id, manufacturer, item, from_day, to_day, grade, seq, time_ms, payload)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
            ) { b in
                b.text(c.certificateID); b.text(c.manufacturer); b.text(c.item); b.int(c.period.fromDay); b.int(c.period.toDay)
                b.text(c.grade.rawValue); b.int(Int64(c.sequence)); b.int(c.time.milliseconds); b.blob(c.payload)
            }
        case .includeInAnalysis(let entries):
            // Up to thousands of persons per event: one prepared statement, bound directly per row.
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO analysis_inclusions (subject, seq, analysis_id, consent_id, recipient, purpose, time_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
            for e in entries {
                try DirectBinding.execute(insert) { b in
                    b.text(e.subject); b.int(Int64(e.sequence)); b.text(e.analysisID); b.text(e.consentID); b.text(e.recipient)
                    b.text(e.purpose); b.int(e.time.milliseconds)
                }
            }
        }
    }
}
