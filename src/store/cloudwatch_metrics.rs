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

/// Inserts or replaces metric samples inside `tx`, and moves the totals by how much each
/// value changed.
pub(super) fn upsert_metric_samples(
    tx: &Transaction<'_>,
    path: &Path,
    samples: &MetricSamples,
) -> Result<(), StoreError> {
    let failed = |source| sqlite_error(path, "writing CloudWatch metric samples", source);
    let mut old = tx
        .prepare_cached(
            "SELECT value FROM cloudwatch_metric_samples WHERE account = ?1 \
             AND region = ?2 AND model_id = ?3 AND metric = ?4 AND minute = ?5",
        )
        .map_err(failed)?;
    let mut put = tx
        .prepare_cached(
            "INSERT INTO cloudwatch_metric_samples \
                 (account, region, model_id, metric, minute, period, value) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (account, region, model_id, metric, minute) DO UPDATE SET \
                 period = excluded.period, value = excluded.value",
        )
        .map_err(failed)?;
    let mut total = tx
        .prepare_cached(
            "INSERT INTO cloudwatch_metric_totals (account, region, model_id, metric, value) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (account, region, model_id, metric) DO UPDATE SET \
                 value = value + excluded.value",
        )
        .map_err(failed)?;
    let mut shrink = tx
        .prepare_cached(
            "UPDATE cloudwatch_metric_totals SET value = value + ?5 \
             WHERE account = ?1 AND region = ?2 AND model_id = ?3 AND metric = ?4",
        )
        .map_err(failed)?;
    for (k, v) in samples {
        let overflow = || StoreError::Overflow {
            path: path.to_owned(),
            what: format!(
                "CloudWatch sample {} {} {} at {}",
                k.region, k.model_id, k.metric, k.minute
            ),
        };
        let value = i64::try_from(v.value).map_err(|_| overflow())?;
        let before: i64 = old
            .query_row(
                params![k.account, k.region, k.model_id, k.metric, k.minute],
                |r| r.get(0),
            )
            .optional()
            .map_err(failed)?
            .unwrap_or(0);
        put.execute(params![
            k.account, k.region, k.model_id, k.metric, k.minute, v.period, value
        ])
        .map_err(failed)?;
        if value != before {
            // A negative change updates the existing row: an INSERT of a negative value
            // would fail the CHECK before the conflict is resolved.
            let stmt = if value > before {
                &mut total
            } else {
                &mut shrink
            };
            match stmt.execute(params![
                k.account,
                k.region,
                k.model_id,
                k.metric,
                value - before
            ]) {
                Ok(_) => {}
                Err(e) if super::is_integer_overflow(&e) => return Err(overflow()),
                Err(e) => return Err(failed(e)),
            }
        }
    }
    Ok(())
}

fn read_total(r: &rusqlite::Row<'_>) -> rusqlite::Result<MetricTotal> {
    Ok(MetricTotal {
        account: r.get(0)?,
        region: r.get(1)?,
        model_id: r.get(2)?,
        metric: r.get(3)?,
        value: r.get::<_, i64>(4)?.max(0) as u64,
    })
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

    /// Sums of every stored metric over all minutes, by account, region, `ModelId` and
    /// metric.
    pub fn metric_totals(&self) -> Result<Vec<MetricTotal>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "reading CloudWatch totals", source);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT account, region, model_id, metric, value FROM cloudwatch_metric_totals \
                 ORDER BY 1, 2, 3, 4",
            )
            .map_err(failed)?;
        stmt.query_map([], read_total)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(failed)
    }

    /// Sums of one metric in `region` for samples in `[from, to)` (unix seconds), by
    /// account and `ModelId`.
    pub fn metric_window(
        &self,
        region: &str,
        metric: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<MetricTotal>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "summing CloudWatch samples", source);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT account, region, model_id, metric, sum(value) \
                 FROM cloudwatch_metric_samples \
                 WHERE minute >= ?1 AND minute < ?2 AND region = ?3 AND metric = ?4 \
                 GROUP BY account, model_id ORDER BY 1, 3",
            )
            .map_err(failed)?;
        stmt.query_map(params![from, to, region, metric], read_total)
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

#[cfg(test)]
mod tests {
    use crate::accounting::{Batch, SampleKey, SampleValue};
    use crate::store::Store;

    fn batch(samples: &[(&str, i64, u64)]) -> Batch {
        let mut b = Batch::default();
        for (metric, minute, value) in samples {
            b.metric_samples.insert(
                SampleKey {
                    account: "123456789012".into(),
                    region: "us-east-1".into(),
                    model_id: "amazon.nova-lite-v1:0".into(),
                    metric: metric.to_string(),
                    minute: *minute,
                },
                SampleValue {
                    period: 60,
                    value: *value,
                },
            );
        }
        b
    }

    #[test]
    fn a_reread_minute_replaces_its_value_and_the_totals_follow() {
        let mut s = Store::open_in_memory().unwrap();
        s.commit(&batch(&[("Invocations", 60, 5), ("Invocations", 120, 3)]))
            .unwrap();
        let total = |s: &Store| s.metric_totals().unwrap()[0].value;
        assert_eq!(total(&s), 8);
        // Minute 60 grew to 7 (late data); minute 120 read again unchanged.
        s.commit(&batch(&[("Invocations", 60, 7), ("Invocations", 120, 3)]))
            .unwrap();
        assert_eq!(total(&s), 10);
        let w = s.metric_window("us-east-1", "Invocations", 0, 120).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].value, 7);
        assert!(
            s.metric_window("us-west-2", "Invocations", 0, 999)
                .unwrap()
                .is_empty()
        );
        // A value that shrank (never seen from CloudWatch, but possible) moves the total down.
        s.commit(&batch(&[("Invocations", 60, 6)])).unwrap();
        assert_eq!(total(&s), 9);
    }
}
