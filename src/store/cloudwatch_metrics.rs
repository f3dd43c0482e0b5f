//! The `cloudwatch_metric_samples` table: one value per (account, region, `ModelId`,
//! metric, minute) read from CloudWatch's `AWS/Bedrock` namespace. A re-read minute replaces its
//! value (CloudWatch minutes grow with late data); the sample rows are written in the same
//! transaction as the batch's checkpoint ([`super::Store::commit`]).
//!
//! Owns: writing and reading that table, and the read of log invocations the coverage
//! ratio compares it with. Must not: price or decide what a metric means.
use super::{Store, StoreError, sqlite_error};
use crate::accounting::{MetricSamples, SampleKey};
use rusqlite::{OptionalExtension, Transaction, params};
use std::path::Path;

/// Operations of rollup rows that are not invocation-log records (left out of the log side
/// of the coverage ratio).
const NOT_FROM_LOGS: &str =
    "'CloudWatchMetrics', 'ProvisionedThroughput', 'ModelCustomization', 'CustomModelStorage'";

/// Cumulative sum of one metric, over every stored sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricTotal {
    /// Account of the samples (`""` when the source did not know it).
    pub account: String,
    /// Region.
    pub region: String,
    /// `ModelId` dimension value.
    pub model_id: String,
    /// Metric name.
    pub metric: String,
    /// Sum of the stored values.
    pub value: u64,
}

/// Inserts or replaces metric samples inside `tx`.
pub(super) fn upsert_metric_samples(
    tx: &Transaction<'_>,
    path: &Path,
    samples: &MetricSamples,
) -> Result<(), StoreError> {
    let failed = |source| sqlite_error(path, "writing CloudWatch metric samples", source);
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO cloudwatch_metric_samples \
                 (account, region, model_id, metric, minute, period, value) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (account, region, model_id, metric, minute) DO UPDATE SET \
                 period = excluded.period, value = excluded.value",
        )
        .map_err(failed)?;
    for (k, v) in samples {
        let value = i64::try_from(v.value).map_err(|_| StoreError::Overflow {
            path: path.to_owned(),
            what: format!(
                "CloudWatch sample {} {} {} at {}",
                k.region, k.model_id, k.metric, k.minute
            ),
        })?;
        stmt.execute(params![
            k.account, k.region, k.model_id, k.metric, k.minute, v.period, value
        ])
        .map_err(failed)?;
    }
    Ok(())
}

impl Store {
    /// The stored value of a sample, if any.
    pub fn metric_sample(&self, key: &SampleKey) -> Result<Option<u64>, StoreError> {
        let v: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT value FROM cloudwatch_metric_samples WHERE account = ?1 \
                 AND region = ?2 AND model_id = ?3 AND metric = ?4 AND minute = ?5",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        key.account,
                        key.region,
                        key.model_id,
                        key.metric,
                        key.minute
                    ],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(|source| sqlite_error(&self.path, "reading a CloudWatch sample", source))?;
        Ok(v.map(|v| v.max(0) as u64))
    }

    /// Sums of every stored metric by account, region, `ModelId` and metric, for samples
    /// in `[from, to)` (unix seconds).
    pub fn metric_totals(&self, from: i64, to: i64) -> Result<Vec<MetricTotal>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "summing CloudWatch samples", source);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT account, region, model_id, metric, sum(value) \
                 FROM cloudwatch_metric_samples WHERE minute >= ?1 AND minute < ?2 \
                 GROUP BY account, region, model_id, metric ORDER BY 1, 2, 3, 4",
            )
            .map_err(failed)?;
        stmt.query_map([from, to], |r| {
            Ok(MetricTotal {
                account: r.get(0)?,
                region: r.get(1)?,
                model_id: r.get(2)?,
                metric: r.get(3)?,
                value: r.get::<_, i64>(4)?.max(0) as u64,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(failed)
    }

    /// Invocations counted from invocation logs in `region` over hours `[from_hour,
    /// to_hour)`, by account and model label.
    pub fn log_invocations(
        &self,
        region: &str,
        from_hour: i64,
        to_hour: i64,
    ) -> Result<Vec<(String, String, u64)>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "summing log invocations", source);
        let sql = format!(
            "SELECT account, model, sum(quantity) FROM rollup_hourly \
             WHERE hour >= ?1 AND hour < ?2 AND region = ?3 AND meter = 'invocations' \
               AND operation NOT IN ({NOT_FROM_LOGS}) \
             GROUP BY account, model ORDER BY 1, 2"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(failed)?;
        stmt.query_map(params![from_hour, to_hour, region], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.max(0) as u64))
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(failed)
    }
}
