import GRDB

/// The SQLite schema, as frozen migrations: once shipped, a migration's SQL never changes;
/// a change is a new migration appended at the end.
enum Migrations {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-ledger") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        seq INTEGER PRIMARY KEY,
                        time_ms INTEGER NOT NULL,
                        stream_id TEXT NOT NULL,
                        type TEXT NOT NULL,
                        schema_version INTEGER NOT NULL,
                        author_id TEXT NOT NULL,
                        signature BLOB NOT NULL,
                        payload BLOB NOT NULL,
                        prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
                        hash BLOB NOT NULL CHECK (length(hash) = 32)
                    );
                    CREATE TABLE checkpoints (
                        seq INTEGER PRIMARY KEY,
                        head_hash BLOB NOT NULL CHECK (length(head_hash) = 32),
                        time_ms INTEGER NOT NULL,
                        signature BLOB NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v1-projections") { db in
            try db.execute(
                sql: """
                    CREATE TABLE streams (
                        stream_id TEXT PRIMARY KEY,
                        version INTEGER NOT NULL CHECK (version > 0)
                    ) WITHOUT ROWID;
                    CREATE TABLE projection_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        last_seq INTEGER NOT NULL
                    );
                    INSERT INTO projection_state (id, last_seq) VALUES (1, 0);
                    CREATE TABLE policies (
                        seq INTEGER PRIMARY KEY,
                        version TEXT NOT NULL,
                        hash TEXT NOT NULL,
                        body BLOB NOT NULL,
                        activated_ms INTEGER NOT NULL
                    );
                    CREATE TABLE parties (
                        id TEXT PRIMARY KEY,
                        role TEXT NOT NULL CHECK (role IN ('manufacturer', 'recipient')),
                        name TEXT NOT NULL,
                        signing_key TEXT NOT NULL,
                        box_key TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
                        registered_ms INTEGER NOT NULL
                    );
                    CREATE TABLE subjects (
                        id TEXT PRIMARY KEY,
                        signing_key TEXT NOT NULL,
                        registered_ms INTEGER NOT NULL
                    );
                    CREATE TABLE requests (
                        id TEXT PRIMARY KEY,
                        recipient TEXT NOT NULL,
                        subject TEXT,
                        terms BLOB NOT NULL,
                        offer_expires_ms INTEGER NOT NULL,
                        policy_version TEXT NOT NULL,
                        created_ms INTEGER NOT NULL,
                        request_hash TEXT NOT NULL,
                        withdrawn_ms INTEGER
                    );
                    CREATE INDEX requests_subject ON requests(subject, created_ms);
                    CREATE TABLE consents (
                        id TEXT PRIMARY KEY,
                        request_id TEXT NOT NULL,
                        request_hash TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        recipient TEXT NOT NULL,
                        terms BLOB NOT NULL,
                        granted_ms INTEGER NOT NULL,
                        expires_ms INTEGER NOT NULL,
                        policy_version TEXT NOT NULL,
                        policy_hash TEXT NOT NULL,
                        sensitive_confirmed INTEGER NOT NULL,
                        revoked_ms INTEGER,
                        grant_seq INTEGER NOT NULL,
                        UNIQUE (request_id, subject)
                    );
                    CREATE INDEX consents_subject ON consents(subject, grant_seq);
                    CREATE INDEX consents_recipient ON consents(recipient, grant_seq);
                    CREATE TABLE device_bindings (
                        manufacturer TEXT NOT NULL,
                        device_id TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        attested_ms INTEGER NOT NULL,
                        confirmed_ms INTEGER,
                        PRIMARY KEY (manufacturer, device_id)
                    );
                    CREATE INDEX device_bindings_subject ON device_bindings(subject);
                    CREATE TABLE access_log (
                        seq INTEGER PRIMARY KEY,
                        time_ms INTEGER NOT NULL,
                        delivery_id TEXT NOT NULL,
                        consent_id TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        recipient TEXT NOT NULL,
                        items TEXT NOT NULL,
                        records INTEGER NOT NULL CHECK (records >= 0),
                        digest TEXT NOT NULL
                    );
                    CREATE INDEX access_log_subject ON access_log(subject, seq);
                    """)
        }
        migrator.registerMigration("v2-nonces") { db in
            try db.execute(
                sql: """
                    CREATE TABLE nonces (
                        key_id TEXT NOT NULL,
                        nonce TEXT NOT NULL,
                        expires_ms INTEGER NOT NULL,
                        PRIMARY KEY (key_id, nonce)
                    ) WITHOUT ROWID;
                    CREATE INDEX nonces_expiry ON nonces(expires_ms);
                    """)
        }
        migrator.registerMigration("v3-telemetry") { db in
            try db.execute(
                sql: """
                    CREATE TABLE telemetry_batches (
                        batch_id TEXT PRIMARY KEY,
                        idempotency_key TEXT,
                        manufacturer TEXT NOT NULL,
                        accepted INTEGER NOT NULL,
                        rejected INTEGER NOT NULL,
                        digest TEXT NOT NULL,
                        time_ms INTEGER NOT NULL,
                        seq INTEGER NOT NULL
                    );
                    CREATE TABLE data_keys (
                        subject TEXT PRIMARY KEY,
                        wrapped BLOB,
                        created_ms INTEGER NOT NULL,
                        destroyed_ms INTEGER
                    );
                    CREATE TABLE records (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        batch_id TEXT NOT NULL,
                        manufacturer TEXT NOT NULL,
                        device_id TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        item TEXT NOT NULL,
                        time_ms INTEGER NOT NULL,
                        sealed BLOB NOT NULL,
                        batch_seq INTEGER
                    );
                    CREATE INDEX records_visible ON records(subject, batch_seq, id);
                    CREATE INDEX records_batch ON records(batch_id);
                    CREATE UNIQUE INDEX telemetry_batches_key ON telemetry_batches(manufacturer, idempotency_key);
                    """)
        }
        migrator.registerMigration("v4-callbacks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE party_callbacks (
                        party_id TEXT PRIMARY KEY,
                        url TEXT NOT NULL
                    );
                    CREATE TABLE callbacks (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        consent_id TEXT NOT NULL,
                        recipient TEXT NOT NULL,
                        url TEXT NOT NULL,
                        event_seq INTEGER NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered')),
                        attempts INTEGER NOT NULL,
                        next_attempt_ms INTEGER NOT NULL,
                        delivered_ms INTEGER,
                        last_error TEXT,
                        UNIQUE (consent_id, event_seq)
                    );
                    CREATE INDEX callbacks_due ON callbacks(status, next_attempt_ms);
                    CREATE INDEX callbacks_recipient ON callbacks(recipient, id);
                    """)
        }
        migrator.registerMigration("v5-accounting") { db in
            try db.execute(
                sql: """
                    CREATE TABLE accounts (
                        id TEXT PRIMARY KEY,
                        owner_kind TEXT NOT NULL,
                        owner_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        flags INTEGER NOT NULL,
                        expires_ms INTEGER,
                        debits_pending INTEGER NOT NULL,
                        debits_posted INTEGER NOT NULL,
                        credits_pending INTEGER NOT NULL,
                        credits_posted INTEGER NOT NULL
                    );
                    CREATE INDEX accounts_owner ON accounts(owner_kind, owner_id);
                    CREATE TABLE transfers (
                        id TEXT PRIMARY KEY,
                        seq INTEGER NOT NULL,
                        position INTEGER NOT NULL,
                        debit_account TEXT NOT NULL,
                        credit_account TEXT NOT NULL,
                        amount INTEGER NOT NULL,
                        pending_id TEXT,
                        flags INTEGER NOT NULL,
                        code TEXT NOT NULL,
                        reference TEXT NOT NULL,
                        timeout_ms INTEGER,
                        time_ms INTEGER NOT NULL,
                        UNIQUE (seq, position)
                    );
                    CREATE INDEX transfers_debit ON transfers(debit_account, seq, position);
                    CREATE INDEX transfers_credit ON transfers(credit_account, seq, position);
                    """)
        }
        migrator.registerMigration("v6-records-device") { db in
            // A device's confirmation moves its stored records in the pull order.
            try db.execute(sql: "CREATE INDEX records_device ON records(manufacturer, device_id)")
        }
        migrator.registerMigration("v7-delivery-ranges") { db in
            // A delivery's record range, so that a repeated pull returns the same delivery.
            try db.execute(
                sql: """
                    ALTER TABLE access_log ADD COLUMN after_batch INTEGER;
                    ALTER TABLE access_log ADD COLUMN after_record INTEGER;
                    ALTER TABLE access_log ADD COLUMN through_batch INTEGER;
                    ALTER TABLE access_log ADD COLUMN through_record INTEGER;
                    CREATE INDEX access_log_consent ON access_log(consent_id, seq);
                    CREATE INDEX access_log_range ON access_log(consent_id, after_batch, after_record);
                    """)
        }
        migrator.registerMigration("v8-log-tiles") { db in
            // The ledger's Merkle tree as C2SP tiles (height 8), and how many events they cover.
            // A ledger from before fills them when the store opens (LogTileSQL.catchUp).
            try db.execute(
                sql: """
                    CREATE TABLE log_tiles (
                        level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
                        idx INTEGER NOT NULL CHECK (idx >= 0),
                        hashes BLOB NOT NULL CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0),
                        PRIMARY KEY (level, idx)
                    ) WITHOUT ROWID;
                    CREATE TABLE log_state (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL CHECK (size >= 0));
                    INSERT INTO log_state (id, size) VALUES (1, 0);
                    """)
        }
        migrator.registerMigration("v9-log-checkpoints") { db in
            // The broker's checkpoints as signed C2SP notes, by tree size.
            try db.execute(sql: "CREATE TABLE log_checkpoints (size INTEGER PRIMARY KEY CHECK (size > 0), note TEXT NOT NULL)")
        }
        migrator.registerMigration("v10-revoke-seq") { db in
            // Where a consent's revocation sits in the ledger, for the log proof in its receipt;
            // filled for consents revoked before, from their revocation events.
            try db.execute(
                sql: """
                    ALTER TABLE consents ADD COLUMN revoke_seq INTEGER;
                    UPDATE consents SET revoke_seq = r.seq
                        FROM (SELECT seq, stream_id FROM events WHERE type = 'consent.revoked') AS r
                        WHERE r.stream_id = 'consent:' || consents.id;
                    """)
        }
        migrator.registerMigration("v11-leaf-tiles-from-events") { db in
            // Level-0 tiles are read from the events' hashes from now on.
            try db.execute(sql: "DELETE FROM log_tiles WHERE level = 0")
        }
        migrator.registerMigration("v12-analyses") { db in
            // The analysis zone: analyses run (with the ε each spent, by request and budget period),
            // the persons each included (their access log shows them), and the active consents of a request.
            try db.execute(
                sql: """
                    CREATE TABLE analyses (
                        analysis_id TEXT PRIMARY KEY,
                        request_id TEXT NOT NULL,
                        recipient TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        time_ms INTEGER NOT NULL,
                        epsilon_milli INTEGER NOT NULL,
                        period_start_ms INTEGER NOT NULL,
                        payload BLOB NOT NULL
                    );
                    CREATE INDEX analyses_request ON analyses(request_id, period_start_ms);
                    CREATE TABLE analysis_inclusions (
                        subject TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        analysis_id TEXT NOT NULL,
                        consent_id TEXT NOT NULL,
                        recipient TEXT NOT NULL,
                        purpose TEXT NOT NULL,
                        time_ms INTEGER NOT NULL,
                        PRIMARY KEY (subject, analysis_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX analysis_inclusions_subject ON analysis_inclusions(subject, seq);
                    CREATE INDEX consents_request ON consents(request_id, grant_seq);
                    """)
        }
        migrator.registerMigration("v13-quality") { db in
            // Measured quality: what pushes showed per manufacturer × item × UTC day, the devices
            // that reported, and the certificates issued. Records are indexed by device and time,
            // where a push looks for duplicates (the index replaces the one by device alone).
            try db.execute(
                sql: """
                    CREATE TABLE quality_counts (
                        manufacturer TEXT NOT NULL,
                        item TEXT NOT NULL,
                        day INTEGER NOT NULL,
                        measure TEXT NOT NULL,
                        value INTEGER NOT NULL,
                        PRIMARY KEY (manufacturer, item, day, measure)
                    ) WITHOUT ROWID;
                    CREATE TABLE quality_devices (
                        manufacturer TEXT NOT NULL,
                        item TEXT NOT NULL,
                        day INTEGER NOT NULL,
                        device_id TEXT NOT NULL,
                        PRIMARY KEY (manufacturer, item, day, device_id)
                    ) WITHOUT ROWID;
                    CREATE TABLE quality_certificates (
                        certificate_id TEXT PRIMARY KEY,
                        manufacturer TEXT NOT NULL,
                        item TEXT NOT NULL,
                        from_day INTEGER NOT NULL,
                        to_day INTEGER NOT NULL,
                        grade TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        time_ms INTEGER NOT NULL,
                        payload BLOB NOT NULL
                    );
                    CREATE INDEX quality_certificates_series ON quality_certificates(manufacturer, item, seq);
                    CREATE UNIQUE INDEX quality_certificates_period ON quality_certificates(manufacturer, item, from_day, to_day);
                    DROP INDEX records_device;
                    CREATE INDEX records_device ON records(manufacturer, device_id, time_ms);
                    """)
        }
        return migrator
    }

    /// Projection tables, cleared by a rebuild; listed in the order a dump prints them.
    static let projectionTables = [
        "streams", "policies", "parties", "subjects", "requests", "consents", "device_bindings", "access_log", "telemetry_batches",
        "party_callbacks", "accounts", "transfers", "analyses", "analysis_inclusions", "quality_counts", "quality_devices",
        "quality_certificates",
    ]
}
