/// The PostgreSQL schema as frozen, versioned migrations: once shipped, a migration's SQL never
/// changes; a change is a new migration appended at the end. Applied at start and by
/// `mydata admin migrate`, under an advisory lock so brokers starting together do not race.
enum PostgresMigrations {
    static let all: [(version: String, sql: String)] = [
        (
            "v1-ledger",
            """
            CREATE TABLE events (
                seq BIGINT PRIMARY KEY,
                time_ms BIGINT NOT NULL,
                stream_id TEXT NOT NULL,
                type TEXT NOT NULL,
                schema_version INTEGER NOT NULL,
                author_id TEXT NOT NULL,
                signature BYTEA NOT NULL,
                payload BYTEA NOT NULL,
                prev_hash BYTEA NOT NULL CHECK (length(prev_hash) = 32),
                hash BYTEA NOT NULL CHECK (length(hash) = 32)
            );
            CREATE TABLE checkpoints (
                seq BIGINT PRIMARY KEY,
                head_hash BYTEA NOT NULL CHECK (length(head_hash) = 32),
                time_ms BIGINT NOT NULL,
                signature BYTEA NOT NULL
            );
            -- The chain position: the one row every append locks, briefly, to take the next sequence numbers.
            CREATE TABLE ledger_head (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                seq BIGINT NOT NULL,
                hash BYTEA NOT NULL CHECK (length(hash) = 32)
            );
            INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
            """
        ),
        (
            "v1-projections",
            """
            CREATE TABLE streams (
                stream_id TEXT PRIMARY KEY,
                version BIGINT NOT NULL CHECK (version > 0)
            );
            CREATE TABLE projection_state (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                last_seq BIGINT NOT NULL
            );
            INSERT INTO projection_state (id, last_seq) VALUES (1, 0);
            CREATE TABLE policies (
                seq BIGINT PRIMARY KEY,
                version TEXT NOT NULL,
                hash TEXT NOT NULL,
                body BYTEA NOT NULL,
                activated_ms BIGINT NOT NULL
            );
            CREATE TABLE parties (
                id TEXT PRIMARY KEY,
                role TEXT NOT NULL CHECK (role IN ('manufacturer', 'recipient')),
                name TEXT NOT NULL,
                signing_key TEXT NOT NULL,
                box_key TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
                registered_ms BIGINT NOT NULL
            );
            CREATE TABLE subjects (
                id TEXT PRIMARY KEY,
                signing_key TEXT NOT NULL,
                registered_ms BIGINT NOT NULL
            );
            CREATE TABLE requests (
                id TEXT PRIMARY KEY,
                recipient TEXT NOT NULL,
                subject TEXT,
                terms BYTEA NOT NULL,
                offer_expires_ms BIGINT NOT NULL,
                policy_version TEXT NOT NULL,
                created_ms BIGINT NOT NULL,
                request_hash TEXT NOT NULL,
                withdrawn_ms BIGINT
            );
            CREATE INDEX requests_subject ON requests(subject, created_ms);
            CREATE TABLE consents (
                id TEXT PRIMARY KEY,
                request_id TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                subject TEXT NOT NULL,
                recipient TEXT NOT NULL,
                terms BYTEA NOT NULL,
                granted_ms BIGINT NOT NULL,
                expires_ms BIGINT NOT NULL,
                policy_version TEXT NOT NULL,
                policy_hash TEXT NOT NULL,
                sensitive_confirmed BOOLEAN NOT NULL,
                revoked_ms BIGINT,
                grant_seq BIGINT NOT NULL,
                UNIQUE (request_id, subject)
            );
            CREATE INDEX consents_subject ON consents(subject, grant_seq);
            CREATE INDEX consents_recipient ON consents(recipient, grant_seq);
            CREATE TABLE device_bindings (
                manufacturer TEXT NOT NULL,
                device_id TEXT NOT NULL,
                subject TEXT NOT NULL,
                attested_ms BIGINT NOT NULL,
                confirmed_ms BIGINT,
                PRIMARY KEY (manufacturer, device_id)
            );
            CREATE INDEX device_bindings_subject ON device_bindings(subject);
            CREATE TABLE access_log (
                seq BIGINT PRIMARY KEY,
                time_ms BIGINT NOT NULL,
                delivery_id TEXT NOT NULL,
                consent_id TEXT NOT NULL,
                subject TEXT NOT NULL,
                recipient TEXT NOT NULL,
                items TEXT NOT NULL,
                records BIGINT NOT NULL CHECK (records >= 0),
                digest TEXT NOT NULL
            );
            CREATE INDEX access_log_subject ON access_log(subject, seq);
            """
        ),
        (
            "v2-nonces",
            """
            CREATE TABLE nonces (
                key_id TEXT NOT NULL,
                nonce TEXT NOT NULL,
                expires_ms BIGINT NOT NULL,
                PRIMARY KEY (key_id, nonce)
            );
            CREATE INDEX nonces_expiry ON nonces(expires_ms);
            """
        ),
        (
            "v3-telemetry",
            """
            CREATE TABLE telemetry_batches (
                batch_id TEXT PRIMARY KEY,
                idempotency_key TEXT,
                manufacturer TEXT NOT NULL,
                accepted BIGINT NOT NULL,
                rejected BIGINT NOT NULL,
                digest TEXT NOT NULL,
                time_ms BIGINT NOT NULL,
                seq BIGINT NOT NULL
            );
            CREATE TABLE data_keys (
                subject TEXT PRIMARY KEY,
                wrapped BYTEA,
                created_ms BIGINT NOT NULL,
                destroyed_ms BIGINT
            );
            CREATE TABLE records (
                id BIGSERIAL PRIMARY KEY,
                batch_id TEXT NOT NULL,
                manufacturer TEXT NOT NULL,
                device_id TEXT NOT NULL,
                subject TEXT NOT NULL,
                item TEXT NOT NULL,
                time_ms BIGINT NOT NULL,
                sealed BYTEA NOT NULL,
                batch_seq BIGINT
            );
            CREATE INDEX records_visible ON records(subject, batch_seq, id);
            CREATE INDEX records_batch ON records(batch_id);
            CREATE UNIQUE INDEX telemetry_batches_key ON telemetry_batches(manufacturer, idempotency_key);
            """
        ),
        (
            "v4-callbacks",
            """
            CREATE TABLE party_callbacks (
                party_id TEXT PRIMARY KEY,
                url TEXT NOT NULL
            );
            CREATE TABLE callbacks (
                id BIGSERIAL PRIMARY KEY,
                consent_id TEXT NOT NULL,
                recipient TEXT NOT NULL,
                url TEXT NOT NULL,
                event_seq BIGINT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'delivered')),
                attempts BIGINT NOT NULL,
                next_attempt_ms BIGINT NOT NULL,
                delivered_ms BIGINT,
                last_error TEXT,
                UNIQUE (consent_id, event_seq)
            );
            CREATE INDEX callbacks_due ON callbacks(status, next_attempt_ms);
            CREATE INDEX callbacks_recipient ON callbacks(recipient, id);
            """
        ),
        (
            "v5-accounting",
            """
            CREATE TABLE accounts (
                id TEXT PRIMARY KEY,
                owner_kind TEXT NOT NULL,
                owner_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                flags BIGINT NOT NULL,
                expires_ms BIGINT,
                debits_pending BIGINT NOT NULL,
                debits_posted BIGINT NOT NULL,
                credits_pending BIGINT NOT NULL,
                credits_posted BIGINT NOT NULL
            );
            CREATE INDEX accounts_owner ON accounts(owner_kind, owner_id);
            CREATE TABLE transfers (
                id TEXT PRIMARY KEY,
                seq BIGINT NOT NULL,
                position BIGINT NOT NULL,
                debit_account TEXT NOT NULL,
                credit_account TEXT NOT NULL,
                amount BIGINT NOT NULL,
                pending_id TEXT,
                flags BIGINT NOT NULL,
                code TEXT NOT NULL,
                reference TEXT NOT NULL,
                timeout_ms BIGINT,
                time_ms BIGINT NOT NULL,
                UNIQUE (seq, position)
            );
            CREATE INDEX transfers_debit ON transfers(debit_account, seq, position);
            CREATE INDEX transfers_credit ON transfers(credit_account, seq, position);
            """
        ),
        (
            "v6-records-device",
            """
            CREATE INDEX records_device ON records(manufacturer, device_id);
            """
        ),
        (
            "v7-delivery-ranges",
            """
            ALTER TABLE access_log ADD COLUMN after_batch BIGINT, ADD COLUMN after_record BIGINT,
                ADD COLUMN through_batch BIGINT, ADD COLUMN through_record BIGINT;
            CREATE INDEX access_log_consent ON access_log(consent_id, seq);
            CREATE INDEX access_log_range ON access_log(consent_id, after_batch, after_record);
            """
        ),
        (
            "v8-log-tiles",
            """
            CREATE TABLE log_tiles (
                level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
                idx BIGINT NOT NULL CHECK (idx >= 0),
                hashes BYTEA NOT NULL CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0),
                PRIMARY KEY (level, idx)
            );
            CREATE TABLE log_state (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL CHECK (size >= 0));
            INSERT INTO log_state (id, size) VALUES (1, 0);
            """
        ),
        (
            "v9-log-checkpoints",
            """
            CREATE TABLE log_checkpoints (size BIGINT PRIMARY KEY CHECK (size > 0), note TEXT NOT NULL);
            """
        ),
        (
            "v10-revoke-seq",
            """
            ALTER TABLE consents ADD COLUMN revoke_seq BIGINT;
            UPDATE consents SET revoke_seq = r.seq
                FROM (SELECT seq, stream_id FROM events WHERE type = 'consent.revoked') AS r
                WHERE r.stream_id = 'consent:' || consents.id;
            """
        ),
        (
            "v11-leaf-tiles-from-events",
            """
            DELETE FROM log_tiles WHERE level = 0;
            """
        ),
        (
            "v12-analyses",
            """
            CREATE TABLE analyses (
                analysis_id TEXT PRIMARY KEY,
                request_id TEXT NOT NULL,
                recipient TEXT NOT NULL,
                seq BIGINT NOT NULL,
                time_ms BIGINT NOT NULL,
                epsilon_milli BIGINT NOT NULL,
                period_start_ms BIGINT NOT NULL,
                payload BYTEA NOT NULL
            );
            CREATE INDEX analyses_request ON analyses(request_id, period_start_ms);
            CREATE TABLE analysis_inclusions (
                subject TEXT NOT NULL,
                seq BIGINT NOT NULL,
                analysis_id TEXT NOT NULL,
                consent_id TEXT NOT NULL,
                recipient TEXT NOT NULL,
                purpose TEXT NOT NULL,
                time_ms BIGINT NOT NULL,
                PRIMARY KEY (subject, analysis_id)
            );
            CREATE INDEX analysis_inclusions_subject ON analysis_inclusions(subject, seq);
            CREATE INDEX consents_request ON consents(request_id, grant_seq);
            """
        ),
        (
            "v13-quality",
            """
            CREATE TABLE quality_counts (
                manufacturer TEXT NOT NULL,
                item TEXT NOT NULL,
                day BIGINT NOT NULL,
                measure TEXT NOT NULL,
                value BIGINT NOT NULL,
                PRIMARY KEY (manufacturer, item, day, measure)
            );
            CREATE TABLE quality_devices (
                manufacturer TEXT NOT NULL,
                item TEXT NOT NULL,
                day BIGINT NOT NULL,
                device_id TEXT NOT NULL,
                PRIMARY KEY (manufacturer, item, day, device_id)
            );
            CREATE TABLE quality_certificates (
                certificate_id TEXT PRIMARY KEY,
                manufacturer TEXT NOT NULL,
                item TEXT NOT NULL,
                from_day BIGINT NOT NULL,
                to_day BIGINT NOT NULL,
                grade TEXT NOT NULL,
                seq BIGINT NOT NULL,
                time_ms BIGINT NOT NULL,
                payload BYTEA NOT NULL
            );
            CREATE INDEX quality_certificates_series ON quality_certificates(manufacturer, item, seq);
            CREATE UNIQUE INDEX quality_certificates_period ON quality_certificates(manufacturer, item, from_day, to_day);
            DROP INDEX records_device;
            CREATE INDEX records_device ON records(manufacturer, device_id, time_ms);
            """
        ),
    ]

    /// Projection tables, in the order a dump prints them (same as SQLite's).
    static let projectionTables = Migrations.projectionTables
}
