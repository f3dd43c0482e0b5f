//! The ledger schema as an ordered list of migrations, and the checks that decide whether a
//! file is a ledger this binary may open.
//!
//! `PRAGMA user_version` holds the number of migrations applied; migration `i` (0-based)
//! takes the schema from version `i` to `i + 1`. Each runs in its own `IMMEDIATE`
//! transaction that also bumps `user_version`, so a crash leaves the file at a whole
//! version. Migrations are append-only: never edit one that has shipped, add a new one.
//!
//! `PRAGMA application_id` marks the file as ours, so the store refuses to migrate (and so
//! modify) some other application's SQLite database that happens to sit at the configured
//! path.
use super::StoreError;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

/// `PRAGMA application_id` of a ledger: ASCII `BdMt`.
pub(crate) const APPLICATION_ID: i32 = i32::from_be_bytes(*b"BdMt");

/// The migrations, in order. All tables are `STRICT`, so SQLite rejects a value of the
/// wrong type instead of storing it; in particular an integer sum that overflows (which
/// SQLite turns into a REAL) fails the write instead of being stored as an approximation.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the initial ledger.
    r#"
    -- Hourly rollups. One row per rollup cell: the dimensions, the meter and the price entry
    -- behind the cost. cost_usd is canonical decimal text (exact; added with dec_add) and
    -- NULL for informational meters and unpriced usage.
    CREATE TABLE rollup_hourly (
        hour            INTEGER NOT NULL,
        account         TEXT NOT NULL,
        region          TEXT NOT NULL,
        model           TEXT NOT NULL,
        scope           TEXT NOT NULL,
        service_tier    TEXT NOT NULL,
        context_band    TEXT NOT NULL,
        operation       TEXT NOT NULL,
        principal       TEXT NOT NULL,
        tags            TEXT NOT NULL,
        pricing_mode    TEXT NOT NULL,
        meter           TEXT NOT NULL,
        detail          TEXT NOT NULL,
        price_entry     TEXT NOT NULL,
        pricing_version TEXT NOT NULL,
        quantity        INTEGER NOT NULL CONSTRAINT quantity_not_negative CHECK (quantity >= 0),
        cost_usd        TEXT NULL,
        PRIMARY KEY (hour, account, region, model, scope, service_tier, context_band,
                     operation, principal, tags, pricing_mode, meter, detail, price_entry,
                     pricing_version)
    ) WITHOUT ROWID, STRICT;

    -- How far each source object has been read. Replaced, never added to.
    CREATE TABLE checkpoints (
        source      TEXT NOT NULL,
        key         TEXT NOT NULL,
        position    INTEGER NOT NULL CHECK (position >= 0),
        complete    INTEGER NOT NULL CHECK (complete IN (0, 1)),
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (source, key)
    ) WITHOUT ROWID, STRICT;

    -- The dedup window: XXH3-128 hashes of request ids, split into two bit-cast i64 halves.
    -- A rowid table so that inserts are appends rather than random B-tree inserts keyed by
    -- hash; the window is loaded into memory whole, so no index on the hash is needed.
    CREATE TABLE seen_requests (
        hour INTEGER NOT NULL,
        h_hi INTEGER NOT NULL,
        h_lo INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX seen_requests_by_hour ON seen_requests (hour);

    -- Ingest counters (records ingested, duplicates, rejections by reason).
    CREATE TABLE counters (
        name  TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL CHECK (value >= 0)
    ) WITHOUT ROWID, STRICT;

    -- Free-form settings other modules keep with the ledger.
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) WITHOUT ROWID, STRICT;
    "#,
    // 2: CloudWatch metric samples (`cloudwatch_metrics` source). One value per account
    // ("" when unknown), region, ModelId, metric and period start; a re-read replaces it.
    r#"
    CREATE TABLE cloudwatch_metric_samples (
        account  TEXT NOT NULL,
        region   TEXT NOT NULL,
        model_id TEXT NOT NULL,
        metric   TEXT NOT NULL,
        minute   INTEGER NOT NULL,
        period   INTEGER NOT NULL CHECK (period > 0),
        value    INTEGER NOT NULL CHECK (value >= 0),
        PRIMARY KEY (account, region, model_id, metric, minute)
    ) WITHOUT ROWID, STRICT;
    CREATE INDEX cloudwatch_metric_samples_by_minute ON cloudwatch_metric_samples (minute);

    -- Their sums over all minutes, kept in step by every write of a sample (the exported
    -- bedrock_cloudwatch_*_total counters read this, not the whole samples table).
    CREATE TABLE cloudwatch_metric_totals (
        account  TEXT NOT NULL,
        region   TEXT NOT NULL,
        model_id TEXT NOT NULL,
        metric   TEXT NOT NULL,
        value    INTEGER NOT NULL CHECK (value >= 0),
        PRIMARY KEY (account, region, model_id, metric)
    ) WITHOUT ROWID, STRICT;
    "#,
    // 3: budget threshold state and the notification outbox (src/store/budgets.rs).
    r#"
    -- One row per budget threshold (or anomaly flag) per period: whether it is crossed now,
    -- and when it was first crossed and first recovered in that period, so each notifies at
    -- most once per period across restarts.
    CREATE TABLE budget_thresholds (
        budget       TEXT NOT NULL,
        threshold    TEXT NOT NULL,
        kind         TEXT NOT NULL,
        period_start INTEGER NOT NULL,
        state        INTEGER NOT NULL CHECK (state IN (0, 1)),
        crossed_at   INTEGER NULL,
        recovered_at INTEGER NULL,
        PRIMARY KEY (budget, threshold, kind, period_start)
    ) WITHOUT ROWID, STRICT;

    -- Notifications to deliver, written in the same transaction as the state change that
    -- caused them; delivered_at is set after the receiver accepted one.
    CREATE TABLE notification_outbox (
        id           INTEGER PRIMARY KEY,
        receiver     TEXT NOT NULL,
        event_key    TEXT NOT NULL,
        event        TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        delivered_at INTEGER NULL,
        abandoned_at INTEGER NULL,
        UNIQUE (receiver, event_key)
    ) STRICT;
    CREATE INDEX notification_outbox_pending ON notification_outbox (delivered_at, abandoned_at);
    "#,
    // 4: the dedup window in blocks (src/store/mod.rs `insert_seen`).
    r#"
    -- Request ids seen, a block per event hour per commit: `ids` is the ids' 128-bit XXH3
    -- hashes, 16 big-endian bytes each, concatenated. One row per id (seen_requests) cost
    -- more to insert than the rest of a commit; that table is still read and pruned, so
    -- ids written before this migration keep deduplicating until they leave the window.
    CREATE TABLE seen_blocks (
        hour INTEGER NOT NULL,
        ids  BLOB NOT NULL CHECK (length(ids) % 16 = 0)
    ) STRICT;
    CREATE INDEX seen_blocks_by_hour ON seen_blocks (hour);
    "#,
];

/// The schema version this binary writes and reads.
pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// What the file at hand is.
pub(crate) enum Identity {
    /// No tables and no ids: a new (or empty) file that may become a ledger.
    Empty,
    /// A ledger at this schema version.
    Ledger(i64),
}

/// Reads the file's identity. This is the first statement run on a new connection, so it is
/// also where "file is not a database" surfaces.
pub(crate) fn identify(conn: &Connection, path: &Path) -> Result<Identity, StoreError> {
    let read = || -> rusqlite::Result<(i32, i64, i64)> {
        let app: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let objects: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        Ok((app, version, objects))
    };
    let (app, version, objects) = match read() {
        Ok(v) => v,
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            return Err(StoreError::NotALedger {
                path: path.to_owned(),
                reason: "the file is not a SQLite database".to_string(),
            });
        }
        Err(source) => {
            return Err(StoreError::Sqlite {
                path: path.to_owned(),
                doing: "reading the schema version",
                source,
            });
        }
    };
    if app == APPLICATION_ID {
        if version > current_version() {
            return Err(StoreError::SchemaTooNew {
                path: path.to_owned(),
                found: version,
                supported: current_version(),
            });
        }
        return Ok(Identity::Ledger(version));
    }
    if app == 0 && version == 0 && objects == 0 {
        return Ok(Identity::Empty);
    }
    let reason = if app == 0 {
        format!("it is a SQLite database with {objects} schema objects but no bedrock-meter marker")
    } else {
        format!("it is a SQLite database with application_id {app:#010x}, not bedrock-meter's")
    };
    Err(StoreError::NotALedger {
        path: path.to_owned(),
        reason,
    })
}

/// Applies every migration the file lacks. Safe to call on an up-to-date ledger, and safe
/// when two processes open a new file at once: the version is re-read inside each write
/// transaction, so a migration another process already applied is skipped.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        let err = |source| StoreError::Migration {
            path: path.to_owned(),
            version,
            source,
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let have: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        if have >= version {
            continue; // dropping `tx` ends the (empty) transaction
        }
        tx.execute_batch(sql).map_err(err)?;
        if version == 1 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(err)?;
        }
        tx.pragma_update(None, "user_version", version)
            .map_err(err)?;
        tx.commit().map_err(err)?;
        tracing::info!(path = %path.display(), version, "Migrated the ledger schema.");
    }
    Ok(())
}
