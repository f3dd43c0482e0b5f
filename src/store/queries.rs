//! Reads: rollup rows, totals, checkpoints, the dedup window, counters and meta values.
//! These work on read-only and read-write stores alike.
use super::{Store, StoreError, functions, join_hash, sqlite_error};
use crate::accounting::{Amount, Checkpoint, Dims, INFO_METERS, SeenId};
use crate::money::Usd;
use rusqlite::{OptionalExtension, Row, ToSql};
use std::collections::BTreeMap;

/// One stored rollup row.
///
/// `meter` is an owned `String` rather than the `&'static str` of
/// [`MeterKey`](crate::accounting::MeterKey): the store reads whatever names the file holds,
/// including meters a later version may add. Mapping a name back to the static meter is
/// accounting's business (for re-pricing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    /// The hour and dimensions.
    pub dims: Dims,
    /// Meter name, e.g. `input_tokens`.
    pub meter: String,
    /// Detail the price depends on (image size and quality), else empty.
    pub detail: String,
    /// Price entry behind the cost; empty when unpriced or informational.
    pub price_entry: String,
    /// Price-table version of the entry; empty when no entry.
    pub pricing_version: String,
    /// Quantity and exact cost (`None` for informational meters and unpriced usage).
    pub amount: Amount,
}

/// Sums over a range of hours, for reports and for comparing runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Exact total cost of all priced rows.
    pub cost: Usd,
    /// Exact cost per meter (meters with at least one priced row only).
    pub cost_by_meter: BTreeMap<String, Usd>,
    /// Total quantity per meter.
    pub quantity: BTreeMap<String, u64>,
    /// Quantity per meter that should have had a price and did not: rows without a price
    /// entry, excluding [`INFO_METERS`] and provisioned-throughput usage (which is billed per
    /// model unit hour, not per token). Meters with no unpriced quantity are absent.
    pub unpriced: BTreeMap<String, u64>,
}

/// Rollup columns in the order [`read_rollup_row`] expects; `ORDER BY` the primary key so
/// SQLite walks the table in order without sorting.
const SELECT_ROLLUPS: &str = "\
    SELECT hour, account, region, model, scope, service_tier, context_band, operation, \
        principal, tags, pricing_mode, meter, detail, price_entry, pricing_version, quantity, \
        cost_usd \
    FROM rollup_hourly WHERE hour >= ?1 AND hour < ?2 \
    ORDER BY hour, account, region, model, scope, service_tier, context_band, operation, \
        principal, tags, pricing_mode, meter, detail, price_entry, pricing_version";

/// A rollup row as stored, before the quantity and cost are checked.
type RawRollup = (RollupRow, i64, Option<String>);

fn read_rollup_row(r: &Row<'_>) -> rusqlite::Result<RawRollup> {
    let row = RollupRow {
        dims: Dims {
            hour: r.get(0)?,
            account: r.get(1)?,
            region: r.get(2)?,
            model: r.get(3)?,
            scope: r.get(4)?,
            service_tier: r.get(5)?,
            context_band: r.get(6)?,
            operation: r.get(7)?,
            principal: r.get(8)?,
            tags: r.get(9)?,
            pricing_mode: r.get(10)?,
        },
        meter: r.get(11)?,
        detail: r.get(12)?,
        price_entry: r.get(13)?,
        pricing_version: r.get(14)?,
        amount: Amount::default(),
    };
    Ok((row, r.get(15)?, r.get(16)?))
}

impl Store {
    /// The rollup rows of the hours in `[from_hour, to_hour)`, in key order (hour first).
    /// For large ranges prefer [`Store::for_each_rollup_row`], which does not hold them all.
    pub fn rollup_rows(&self, from_hour: i64, to_hour: i64) -> Result<Vec<RollupRow>, StoreError> {
        let mut rows = Vec::new();
        self.for_each_rollup_row(from_hour, to_hour, |row| {
            rows.push(row);
            Ok::<_, StoreError>(())
        })?;
        Ok(rows)
    }

    /// Calls `visit` with each rollup row of the hours in `[from_hour, to_hour)`, in key
    /// order, streaming from SQLite. Stops at the first error, from the store or from
    /// `visit`. The read is one consistent snapshot even while a writer commits.
    pub fn for_each_rollup_row<E, F>(
        &self,
        from_hour: i64,
        to_hour: i64,
        mut visit: F,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
        F: FnMut(RollupRow) -> Result<(), E>,
    {
        let failed = |source| sqlite_error(&self.path, "reading rollup rows", source);
        let mut stmt = self.conn.prepare_cached(SELECT_ROLLUPS).map_err(failed)?;
        let mut rows = stmt.query([from_hour, to_hour]).map_err(failed)?;
        while let Some(r) = rows.next().map_err(failed)? {
            let (mut row, quantity, cost) = read_rollup_row(r).map_err(failed)?;
            row.amount = Amount {
                quantity: self.stored_u64(quantity, || describe(&row))?,
                cost: cost
                    .map(|c| self.stored_usd(&c, || describe(&row)))
                    .transpose()?,
            };
            visit(row)?;
        }
        Ok(())
    }

    /// Totals over the hours in `[from_hour, to_hour)`: exact cost (summed with `dec_sum`),
    /// quantity per meter and unpriced quantity per meter. See [`Totals`].
    pub fn totals(&self, from_hour: i64, to_hour: i64) -> Result<Totals, StoreError> {
        let failed = |source| sqlite_error(&self.path, "computing totals", source);
        let info: Vec<String> = (0..INFO_METERS.len())
            .map(|i| format!("?{}", i + 3))
            .collect();
        let sql = format!(
            "SELECT meter, sum(quantity), dec_sum(cost_usd), \
                 sum(CASE WHEN price_entry = '' \
                     AND (pricing_mode <> 'provisioned' OR meter = 'model_unit_seconds') \
                     AND meter NOT IN ({}) THEN quantity ELSE 0 END) \
             FROM rollup_hourly WHERE hour >= ?1 AND hour < ?2 \
             GROUP BY meter ORDER BY meter",
            info.join(", ")
        );
        let mut params: Vec<&dyn ToSql> = vec![&from_hour, &to_hour];
        params.extend(INFO_METERS.iter().map(|m| m as &dyn ToSql));

        let mut stmt = self.conn.prepare_cached(&sql).map_err(failed)?;
        let mut rows = stmt.query(params.as_slice()).map_err(failed)?;
        let mut totals = Totals::default();
        while let Some(r) = rows.next().map_err(failed)? {
            let read = || -> rusqlite::Result<(String, i64, Option<String>, i64)> {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            };
            let (meter, quantity, cost, unpriced) = read().map_err(failed)?;
            let what = || format!("the totals of meter {meter}");
            totals
                .quantity
                .insert(meter.clone(), self.stored_u64(quantity, what)?);
            let unpriced = self.stored_u64(unpriced, what)?;
            if unpriced > 0 {
                totals.unpriced.insert(meter.clone(), unpriced);
            }
            if let Some(cost) = cost {
                let cost = self.stored_usd(&cost, what)?;
                totals.cost =
                    functions::exact_add(totals.cost, cost).map_err(|e| StoreError::Corrupt {
                        path: self.path.clone(),
                        what: e,
                    })?;
                totals.cost_by_meter.insert(meter, cost);
            }
        }
        totals.cost = totals.cost.normalize();
        Ok(totals)
    }

    /// The checkpoint of one source object, if any.
    pub fn checkpoint(&self, source: &str, key: &str) -> Result<Option<Checkpoint>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "reading a checkpoint", source);
        let raw = self
            .conn
            .prepare_cached(
                "SELECT source, key, position, complete, fingerprint FROM checkpoints \
                 WHERE source = ?1 AND key = ?2",
            )
            .and_then(|mut s| s.query_row([source, key], read_checkpoint).optional())
            .map_err(failed)?;
        raw.map(|raw| self.checkpoint_from(raw)).transpose()
    }

    /// Every checkpoint of a source, ordered by key.
    pub fn checkpoints(&self, source: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "reading checkpoints", source);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT source, key, position, complete, fingerprint FROM checkpoints \
                 WHERE source = ?1 ORDER BY key",
            )
            .map_err(failed)?;
        let raws = stmt
            .query_map([source], read_checkpoint)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(failed)?;
        raws.into_iter()
            .map(|raw| self.checkpoint_from(raw))
            .collect()
    }

    /// The seen request ids of hours at or after `since_hour` (the dedup window to load at
    /// start-up).
    pub fn load_seen(&self, since_hour: i64) -> Result<Vec<SeenId>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "loading seen ids", source);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT hour, h_hi, h_lo FROM seen_requests WHERE hour >= ?1 ORDER BY hour, rowid",
            )
            .map_err(failed)?;
        let mut seen: Vec<SeenId> = stmt
            .query_map([since_hour], |r| {
                Ok(SeenId {
                    hour: r.get(0)?,
                    hash: join_hash(r.get(1)?, r.get(2)?),
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(failed)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT hour, ids FROM seen_blocks WHERE hour >= ?1 ORDER BY hour, rowid",
            )
            .map_err(failed)?;
        let mut rows = stmt.query([since_hour]).map_err(failed)?;
        while let Some(row) = rows.next().map_err(failed)? {
            let hour: i64 = row.get(0).map_err(failed)?;
            let ids = row
                .get_ref(1)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(failed)?;
            // The table's CHECK keeps the length a multiple of 16.
            seen.extend(ids.chunks_exact(16).map(|h| SeenId {
                hour,
                hash: u128::from_be_bytes(h.try_into().unwrap_or([0; 16])),
            }));
        }
        Ok(seen)
    }

    /// All ingest counters.
    pub fn counters(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "reading counters", source);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, value FROM counters ORDER BY name")
            .map_err(failed)?;
        let raws = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(failed)?;
        raws.into_iter()
            .map(|(name, v)| {
                Ok((
                    name.clone(),
                    self.stored_u64(v, || format!("counter {name}"))?,
                ))
            })
            .collect()
    }

    /// A `meta` value, if set.
    pub fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(|source| sqlite_error(&self.path, "reading a meta value", source))
    }

    fn checkpoint_from(&self, raw: RawCheckpoint) -> Result<Checkpoint, StoreError> {
        let (source, key, position, complete, fingerprint) = raw;
        let position = self.stored_u64(position, || format!("checkpoint {source}/{key}"))?;
        Ok(Checkpoint {
            source,
            key,
            position,
            complete,
            fingerprint,
        })
    }

    /// A stored integer that must not be negative.
    fn stored_u64(&self, v: i64, what: impl FnOnce() -> String) -> Result<u64, StoreError> {
        u64::try_from(v).map_err(|_| StoreError::Corrupt {
            path: self.path.clone(),
            what: format!("negative quantity {v} in {}", what()),
        })
    }

    /// A stored cost that must be decimal text.
    fn stored_usd(&self, text: &str, what: impl FnOnce() -> String) -> Result<Usd, StoreError> {
        functions::parse(text).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            what: format!("{e} in {}", what()),
        })
    }
}

type RawCheckpoint = (String, String, i64, bool, String);

fn read_checkpoint(r: &Row<'_>) -> rusqlite::Result<RawCheckpoint> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn describe(row: &RollupRow) -> String {
    format!(
        "rollup row (hour {}, model {}, meter {})",
        row.dims.hour, row.dims.model, row.meter
    )
}
