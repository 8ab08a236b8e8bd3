//! PostgreSQL's system tables, as far as the store is ported (issue 19).
//!
//! SQLite's are in `store/bootstrap.rs`. The PostgreSQL forms follow
//! POSTGRES.md §4: text columns are `COLLATE "C"` so that equality and
//! ordering are byte-wise as on SQLite, JSON columns are `jsonb`, integer
//! columns that hold unix microseconds are `bigint`. `_changes` carries the
//! writing transaction's id (`xid8`): nodes will read the log in horizon
//! batches by it, because `seq` order is not commit order when several
//! transactions write at once (POSTGRES.md §2.2–2.3). Tables join this list
//! as the store functions that use them move onto `store::sql::Db`.
//!
//! Column names of these tables are left unquoted, so PostgreSQL folds them
//! to lower case and the store's unquoted SQL (`WHERE collectionRef = ?1`)
//! finds them on both engines. Collection tables are different: their
//! columns are quoted with the field's case, so SQL over them quotes too.

pub const SYSTEM_TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS _collections (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    system BOOLEAN NOT NULL DEFAULT FALSE,
    definition JSONB NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    updated TEXT COLLATE "C" NOT NULL,
    "_rowid" BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE UNIQUE INDEX IF NOT EXISTS "_collections_name_nocase" ON _collections (lower(name));
CREATE TABLE IF NOT EXISTS _params (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    value JSONB,
    created TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS _totp (
    collectionRef TEXT COLLATE "C" NOT NULL,
    recordRef TEXT COLLATE "C" NOT NULL,
    secret TEXT NOT NULL,
    confirmed BOOLEAN NOT NULL DEFAULT FALSE,
    lastStep BIGINT NOT NULL DEFAULT 0,
    recovery JSONB NOT NULL DEFAULT '[]',
    created TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (collectionRef, recordRef)
);
CREATE TABLE IF NOT EXISTS _changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    collection_id TEXT COLLATE "C" NOT NULL,
    collection_name TEXT COLLATE "C" NOT NULL,
    record_id TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    snapshot JSONB,
    prior JSONB
);
ALTER TABLE _changes ADD COLUMN IF NOT EXISTS prior JSONB;
CREATE INDEX IF NOT EXISTS _changes_xid ON _changes (xid, seq);
CREATE TABLE IF NOT EXISTS _fileDeletes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT NOT NULL,
    created TEXT COLLATE "C" NOT NULL
        DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS"Z"')
);
CREATE TABLE IF NOT EXISTS _webhooks (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    definition JSONB NOT NULL,
    secret TEXT NOT NULL,
    old_secrets JSONB NOT NULL DEFAULT '[]',
    status TEXT COLLATE "C" NOT NULL DEFAULT 'enabled',
    disabled_reason TEXT NOT NULL DEFAULT '',
    disabled_at_seq BIGINT,
    first_failure_at BIGINT,
    created TEXT COLLATE "C" NOT NULL,
    updated TEXT COLLATE "C" NOT NULL
);
CREATE TABLE IF NOT EXISTS _webhook_deliveries (
    id BIGINT PRIMARY KEY,
    webhook_id TEXT COLLATE "C" NOT NULL,
    event_id TEXT COLLATE "C" NOT NULL,
    change_seq BIGINT,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    schedule_base BIGINT NOT NULL DEFAULT 0,
    trigger TEXT NOT NULL DEFAULT 'scheduled',
    next_attempt_at BIGINT NOT NULL,
    last_status BIGINT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    UNIQUE (webhook_id, change_seq)
);
CREATE INDEX IF NOT EXISTS _webhook_deliveries_due
    ON _webhook_deliveries (webhook_id, state, next_attempt_at);
CREATE TABLE IF NOT EXISTS _webhook_attempts (
    delivery_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    trigger TEXT NOT NULL,
    started BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    status_code BIGINT,
    error_kind TEXT,
    response BYTEA,
    truncated BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (delivery_id, n)
);
CREATE TABLE IF NOT EXISTS _migrations (
    file TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    applied BIGINT NOT NULL
);
"#;
