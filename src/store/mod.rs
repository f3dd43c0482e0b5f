//! Store: the SQLite ledger.
//!
//! Owns the SQLite file and is the only module that writes it. A [`Batch`] (rollup deltas,
//! the request ids they cover, source checkpoints and ingest counters) is committed in
//! **one** transaction, so a checkpoint is never ahead of or behind the rollups it covers,
//! and a crash loses whole batches only. The store must not price or parse: it persists
//! what [`accounting`](crate::accounting) computed and reads it back.
//!
//! # Layout of the file
//!
//! - `rollup_hourly`: one row per rollup cell (hour, dimensions, meter, price entry), with
//!   the quantity and the exact cost as canonical decimal text.
//! - `checkpoints`, `seen_blocks` and the older `seen_requests` (the dedup window),
//!   `counters` and `meta`.
//! - `cloudwatch_metric_samples` (one CloudWatch value per account, region, `ModelId`,
//!   metric and minute, replaced on re-read) and `cloudwatch_metric_totals` (their sums).
//! - `budget_thresholds` and `notification_outbox`: budget threshold state per period and
//!   the notifications it queued (`budgets.rs`).
//!
//! The schema is created and upgraded by the versioned migrations in `schema.rs`.
//!
//! # Exact money in SQL
//!
//! Costs never pass through a float. They are stored as canonical decimal TEXT, and every
//! connection registers `dec_add(a, b)` and the aggregate `dec_sum(x)`, which add with
//! [`rust_decimal`] and fail (rather than round) when a result would be inexact. See
//! `functions.rs`.
//!
//! # Connections
//!
//! One writer ([`Store::open`]) per file, used from one thread (the daemon's writer task or
//! a backfill). Readers such as reports and exporters use [`Store::open_read_only`]; in WAL
//! mode they never block the writer and see only committed batches.
mod budgets;
mod cloudwatch_metrics;
mod error;
mod functions;
mod overview;
mod queries;
mod schema;
#[cfg(test)]
mod tests;

pub use budgets::{OutboxRow, SpendCell, ThresholdRow, Transition};
pub use cloudwatch_metrics::MetricTotal;
pub use error::StoreError;
pub use overview::{SpendDimension, SpendShare};
pub use queries::{RollupRow, Totals};

use crate::accounting::{Amount, Batch, Checkpoint, Dims, MeterKey, SeenId};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a statement waits for another connection's lock before failing with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How hard a commit tries to survive power loss.
///
/// Either way the file stays consistent (WAL journaling); the choice is only how many of the
/// last commits a power cut (not a process crash) may take back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL`: a commit does not wait for fsync; the last commits before a
    /// power cut may be rolled back. Their records are re-read from the checkpoints, so
    /// nothing is lost or double counted. The default.
    #[default]
    Normal,
    /// `synchronous=FULL`: each commit is fsynced before it returns. Costs one fsync per
    /// commit, which on a busy shared disk can take milliseconds.
    Full,
}

/// The SQLite ledger. See the [module docs](self).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    read_only: bool,
}

impl Store {
    /// Opens (creating if needed) the ledger at `path` for writing, with
    /// [`Durability::Normal`]. See [`Store::open_with`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, Durability::Normal)
    }

    /// Opens (creating if needed) the ledger at `path` for writing.
    ///
    /// Creates the parent directories, switches the file to WAL, sets `synchronous` from
    /// `durability`, a 5 s busy timeout and `foreign_keys`, and applies any migrations the
    /// file lacks. Fails with [`StoreError::NotALedger`] when the file is not a
    /// bedrock-meter ledger (it is then left untouched) and with
    /// [`StoreError::SchemaTooNew`] when a newer bedrock-meter wrote it.
    pub fn open_with(path: &Path, durability: Durability) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: path.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path)
            .map_err(|source| sqlite_error(path, "opening the database", source))?;
        Store::set_up(conn, path.to_owned(), Some(durability))
    }

    /// Opens an existing ledger for reading only (reports, exporters).
    ///
    /// Never creates or migrates: a missing file is an error, and so is a ledger whose
    /// schema is older than this binary's ([`StoreError::SchemaTooOld`]). Write methods
    /// return [`StoreError::ReadOnly`].
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|source| sqlite_error(path, "opening the database read-only", source))?;
        Store::set_up(conn, path.to_owned(), None)
    }

    /// Opens a fresh, private in-memory ledger (for tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory()
            .map_err(|source| sqlite_error(&path, "opening the database", source))?;
        Store::set_up(conn, path, Some(Durability::Normal))
    }

    /// Common connection set-up. `durability` is `None` for a read-only connection.
    fn set_up(
        mut conn: Connection,
        path: PathBuf,
        durability: Option<Durability>,
    ) -> Result<Store, StoreError> {
        let setting = |source| sqlite_error(&path, "configuring the connection", source);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(setting)?;
        functions::register(&conn).map_err(setting)?;
        conn.set_prepared_statement_cache_capacity(32);

        // Identify the file before changing anything in it (journal mode included).
        let identity = schema::identify(&conn, &path)?;
        let Some(durability) = durability else {
            let found = match identity {
                schema::Identity::Empty => 0,
                schema::Identity::Ledger(v) => v,
            };
            if found != schema::current_version() {
                return Err(StoreError::SchemaTooOld {
                    path,
                    found,
                    expected: schema::current_version(),
                });
            }
            return Ok(Store {
                conn,
                path,
                read_only: true,
            });
        };

        // `journal_mode` answers with the mode in effect ("memory" for in-memory files).
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(setting)?;
        let synchronous = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(setting)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(setting)?;
        schema::migrate(&mut conn, &path)?;
        Ok(Store {
            conn,
            path,
            read_only: false,
        })
    }

    /// The database path (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits a batch in one transaction: upserts every rollup cell (quantities add, costs
    /// add exactly, `NULL` cost + amount = amount), appends the seen request ids, replaces
    /// the checkpoints and adds the counters.
    ///
    /// On any error nothing of the batch is written. A quantity, position or counter that
    /// does not fit in an `i64` (alone or added to the stored value) is
    /// [`StoreError::Overflow`].
    pub fn commit(&mut self, batch: &Batch) -> Result<(), StoreError> {
        self.ensure_writable("commit a batch")?;
        if batch.is_empty() {
            return Ok(());
        }
        let path = &self.path;
        let failed = |source| sqlite_error(path, "committing a batch", source);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        upsert_rollups(&tx, path, &batch.rollups)?;
        insert_seen(&tx, path, &batch.seen)?;
        upsert_checkpoints(&tx, path, &batch.checkpoints)?;
        add_counters(&tx, path, &batch.counters)?;
        cloudwatch_metrics::upsert_metric_samples(&tx, path, &batch.metric_samples)?;
        tx.commit().map_err(failed)
    }

    /// Replaces the rollups of the hours in `[from_hour, to_hour)` with `rows.rollups`, in
    /// one transaction (for re-pricing). Returns the number of rollup rows written.
    ///
    /// Only `rows.rollups` is used: a batch that carries seen ids, checkpoints or counters,
    /// or a cell whose hour is outside the range (it would survive the next replace of its
    /// own range and be counted twice), is [`StoreError::InvalidInput`] and nothing is
    /// changed.
    pub fn replace_range(
        &mut self,
        from_hour: i64,
        to_hour: i64,
        rows: &Batch,
    ) -> Result<u64, StoreError> {
        self.ensure_writable("replace rollups")?;
        let invalid = |what: String| StoreError::InvalidInput {
            path: self.path.clone(),
            what,
        };
        if !rows.seen.is_empty() || !rows.checkpoints.is_empty() || !rows.counters.is_empty() {
            return Err(invalid(
                "replace_range writes rollups only, but the batch also carries seen ids, \
                 checkpoints or counters"
                    .to_string(),
            ));
        }
        if let Some(dims) = rows
            .rollups
            .keys()
            .find(|d| d.hour < from_hour || d.hour >= to_hour)
        {
            return Err(invalid(format!(
                "replace_range of hours [{from_hour}, {to_hour}) was given a cell for hour {}",
                dims.hour
            )));
        }
        let path = &self.path;
        let failed = |source| sqlite_error(path, "replacing rollups", source);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        tx.prepare_cached("DELETE FROM rollup_hourly WHERE hour >= ?1 AND hour < ?2")
            .and_then(|mut s| s.execute([from_hour, to_hour]))
            .map_err(failed)?;
        let written = upsert_rollups(&tx, path, &rows.rollups)?;
        tx.commit().map_err(failed)?;
        Ok(written)
    }

    /// Deletes the seen request ids of hours before `before_hour`; returns how many.
    pub fn prune_seen(&mut self, before_hour: i64) -> Result<u64, StoreError> {
        self.ensure_writable("prune seen ids")?;
        let failed = |source| sqlite_error(&self.path, "pruning seen ids", source);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        let in_blocks: i64 = tx
            .prepare_cached(
                "SELECT coalesce(sum(length(ids)), 0) / 16 FROM seen_blocks WHERE hour < ?1",
            )
            .and_then(|mut s| s.query_row([before_hour], |r| r.get(0)))
            .map_err(failed)?;
        tx.prepare_cached("DELETE FROM seen_blocks WHERE hour < ?1")
            .and_then(|mut s| s.execute([before_hour]))
            .map_err(failed)?;
        let rows = tx
            .prepare_cached("DELETE FROM seen_requests WHERE hour < ?1")
            .and_then(|mut s| s.execute([before_hour]))
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
        Ok(in_blocks as u64 + rows as u64)
    }

    /// Sets a `meta` value (insert or replace).
    pub fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.ensure_writable("set a meta value")?;
        self.conn
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut s| s.execute([key, value]))
            .map_err(|source| sqlite_error(&self.path, "setting a meta value", source))?;
        Ok(())
    }

    fn ensure_writable(&self, doing: &'static str) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
                doing,
            });
        }
        Ok(())
    }
}

/// The rollup upsert. Columns in primary-key order, then quantity and cost.
const UPSERT_ROLLUP: &str = "\
    INSERT INTO rollup_hourly (hour, account, region, model, scope, service_tier, \
        context_band, operation, principal, tags, pricing_mode, meter, detail, price_entry, \
        pricing_version, quantity, cost_usd) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
    ON CONFLICT (hour, account, region, model, scope, service_tier, context_band, operation, \
        principal, tags, pricing_mode, meter, detail, price_entry, pricing_version) \
    DO UPDATE SET quantity = quantity + excluded.quantity, \
        cost_usd = dec_add(cost_usd, excluded.cost_usd)";

/// Upserts rollup cells inside `tx`; returns the number of cells.
///
/// Cells go in key order: that makes the B-tree inserts sequential (hour is the first key
/// column) and a failure reproducible.
fn upsert_rollups(
    tx: &Transaction<'_>,
    path: &Path,
    rollups: &crate::accounting::Rollups,
) -> Result<u64, StoreError> {
    let failed = |source| sqlite_error(path, "upserting rollup cells", source);
    let mut cells: Vec<(&Dims, &MeterKey, &Amount)> = rollups
        .iter()
        .flat_map(|(d, meters)| meters.iter().map(move |(m, a)| (d, m, a)))
        .collect();
    cells.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

    let mut stmt = tx.prepare_cached(UPSERT_ROLLUP).map_err(failed)?;
    for (d, m, a) in &cells {
        let overflow = || StoreError::Overflow {
            path: path.to_owned(),
            what: format!("the quantity of rollup cell {}", describe_cell(d, m)),
        };
        let quantity = i64::try_from(a.quantity).map_err(|_| overflow())?;
        let cost = a.cost.map(functions::canonical);
        let result = stmt.execute(params![
            d.hour,
            d.account,
            d.region,
            d.model,
            d.scope,
            d.service_tier,
            d.context_band,
            d.operation,
            d.principal,
            d.tags,
            d.pricing_mode,
            m.meter,
            m.detail,
            m.price_entry,
            m.pricing_version,
            quantity,
            cost,
        ]);
        match result {
            Ok(_) => {}
            Err(e) if is_integer_overflow(&e) => return Err(overflow()),
            Err(e) => return Err(failed(e)),
        }
    }
    Ok(cells.len() as u64)
}

/// The most ids in one `seen_blocks` row (64 KiB of hashes).
const SEEN_PER_BLOCK: usize = 4096;

/// Appends seen request ids inside `tx`: a block row per event hour (and per
/// [`SEEN_PER_BLOCK`] ids), in the order the ids were seen within each hour. A row per id
/// cost more than the rest of a commit.
fn insert_seen(tx: &Transaction<'_>, path: &Path, seen: &[SeenId]) -> Result<(), StoreError> {
    if seen.is_empty() {
        return Ok(());
    }
    let failed = |source| sqlite_error(path, "inserting seen ids", source);
    // A batch spans few hours: a short list beats a map.
    let mut blocks: Vec<(i64, Vec<u8>)> = Vec::new();
    for id in seen {
        let i = match blocks.iter().position(|(h, _)| *h == id.hour) {
            Some(i) => i,
            None => {
                blocks.push((id.hour, Vec::new()));
                blocks.len() - 1
            }
        };
        blocks[i].1.extend_from_slice(&id.hash.to_be_bytes());
    }
    blocks.sort_by_key(|(h, _)| *h);
    let mut stmt = tx
        .prepare_cached("INSERT INTO seen_blocks (hour, ids) VALUES (?1, ?2)")
        .map_err(failed)?;
    for (hour, ids) in &blocks {
        for chunk in ids.chunks(SEEN_PER_BLOCK * 16) {
            stmt.execute(rusqlite::params![hour, chunk])
                .map_err(failed)?;
        }
    }
    Ok(())
}

/// Inserts or replaces checkpoints inside `tx`.
fn upsert_checkpoints(
    tx: &Transaction<'_>,
    path: &Path,
    checkpoints: &[Checkpoint],
) -> Result<(), StoreError> {
    let failed = |source| sqlite_error(path, "writing checkpoints", source);
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO checkpoints (source, key, position, complete, fingerprint) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (source, key) DO UPDATE SET position = excluded.position, \
                 complete = excluded.complete, fingerprint = excluded.fingerprint",
        )
        .map_err(failed)?;
    for c in checkpoints {
        let position = i64::try_from(c.position).map_err(|_| StoreError::Overflow {
            path: path.to_owned(),
            what: format!("the position of checkpoint {}/{}", c.source, c.key),
        })?;
        stmt.execute(params![
            c.source,
            c.key,
            position,
            c.complete,
            c.fingerprint
        ])
        .map_err(failed)?;
    }
    Ok(())
}

/// Adds to counters inside `tx`.
fn add_counters(
    tx: &Transaction<'_>,
    path: &Path,
    counters: &HashMap<String, u64>,
) -> Result<(), StoreError> {
    let failed = |source| sqlite_error(path, "adding counters", source);
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO counters (name, value) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
        )
        .map_err(failed)?;
    for (name, &n) in counters {
        let overflow = || StoreError::Overflow {
            path: path.to_owned(),
            what: format!("counter {name}"),
        };
        let n = i64::try_from(n).map_err(|_| overflow())?;
        match stmt.execute(params![name, n]) {
            Ok(_) => {}
            Err(e) if is_integer_overflow(&e) => return Err(overflow()),
            Err(e) => return Err(failed(e)),
        }
    }
    Ok(())
}

/// True for the error an overflowing `a + b` produces on insert: SQLite turns the sum into
/// a REAL, which a STRICT table refuses to store in an INTEGER column (and a CHECK on the
/// sign catches anything that would come out negative).
fn is_integer_overflow(e: &rusqlite::Error) -> bool {
    e.sqlite_error().is_some_and(|e| {
        e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_DATATYPE
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_CHECK
    })
}

/// A short description of a rollup cell for error messages.
fn describe_cell(d: &Dims, m: &MeterKey) -> String {
    format!(
        "(hour {}, account {}, region {}, model {}, operation {}, meter {}{}{})",
        d.hour,
        d.account,
        d.region,
        d.model,
        d.operation,
        m.meter,
        if m.detail.is_empty() {
            String::new()
        } else {
            format!(", detail {}", m.detail)
        },
        if m.price_entry.is_empty() {
            String::new()
        } else {
            format!(", price entry {}", m.price_entry)
        },
    )
}

/// Splits a 128-bit hash into two `i64` columns. The casts are bit-for-bit
/// reinterpretations (u64 → i64 keeps all 64 bits), undone by [`join_hash`]. Only the
/// tests still write this form (ledgers from before migration 4 hold it).
#[cfg(test)]
fn split_hash(hash: u128) -> (i64, i64) {
    ((hash >> 64) as u64 as i64, hash as u64 as i64)
}

/// The inverse of [`split_hash`].
fn join_hash(hi: i64, lo: i64) -> u128 {
    (u128::from(hi as u64) << 64) | u128::from(lo as u64)
}

fn sqlite_error(path: &Path, doing: &'static str, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_owned(),
        doing,
        source,
    }
}
