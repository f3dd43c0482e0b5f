//! Budget reads and writes: priced spend per hour and dimension (for budget filters),
//! threshold state per period, and the notification outbox.
//!
//! A threshold's state change and the notifications it causes are written in one
//! transaction ([`Store::record_transition`]), so a crash leaves either both or neither: a
//! crossing is never forgotten and never notified twice by a restart. Delivery marks
//! (`delivered_at`) are written after the receiver accepted a notification; a crash
//! between the two re-sends that one notification with the same `id`, which receivers can
//! use to drop the repeat.
use super::{Store, StoreError, functions, sqlite_error};
use crate::money::Usd;
use rusqlite::{OptionalExtension, params};

/// Priced spend of one hour and one combination of the dimensions budgets filter on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendCell {
    /// Start of the UTC hour, unix seconds.
    pub hour: i64,
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Model label.
    pub model: String,
    /// Principal label.
    pub principal: String,
    /// Attribution tags (canonical JSON object).
    pub tags: String,
    /// Cost stream (`on_demand`, `provisioned`, `customization`).
    pub pricing_mode: String,
    /// Exact cost.
    pub cost: Usd,
}

/// The stored state of one threshold in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThresholdRow {
    /// Crossed now.
    pub state: bool,
    /// When it was first crossed in the period (unix seconds).
    pub crossed_at: Option<i64>,
    /// When it first recovered in the period.
    pub recovered_at: Option<i64>,
}

/// A threshold state change to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Budget name.
    pub budget: String,
    /// Threshold label (`80%`, `750usd`, `anomaly`).
    pub threshold: String,
    /// `actual`, `forecast` or `anomaly`.
    pub kind: String,
    /// The period's start, unix seconds.
    pub period_start: i64,
    /// The new state.
    pub row: ThresholdRow,
}

/// One pending notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Outbox id.
    pub id: i64,
    /// Receiver name.
    pub receiver: String,
    /// The event's unique key (also its `id` in payloads).
    pub event_key: String,
    /// The event, JSON.
    pub event: String,
    /// When it was queued (unix seconds).
    pub created_at: i64,
    /// Delivery attempts (cycles) so far.
    pub attempts: i64,
}

impl Store {
    /// Priced spend per hour and budget dimension for the hours in `[from_hour, to_hour)`,
    /// summed exactly. Rows without a cost (unpriced, informational) are left out.
    pub fn spend_cells(&self, from_hour: i64, to_hour: i64) -> Result<Vec<SpendCell>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "reading spend for budgets", source);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT hour, account, region, model, principal, tags, pricing_mode, \
                     dec_sum(cost_usd) \
                 FROM rollup_hourly \
                 WHERE hour >= ?1 AND hour < ?2 AND cost_usd IS NOT NULL \
                 GROUP BY hour, account, region, model, principal, tags, pricing_mode",
            )
            .map_err(failed)?;
        let raws = stmt
            .query_map([from_hour, to_hour], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(failed)?;
        raws.into_iter()
            .map(
                |(hour, account, region, model, principal, tags, pricing_mode, cost)| {
                    let cost = functions::parse(&cost).map_err(|e| StoreError::Corrupt {
                        path: self.path.clone(),
                        what: format!("{e} in the spend of hour {hour}"),
                    })?;
                    Ok(SpendCell {
                        hour,
                        account,
                        region,
                        model,
                        principal,
                        tags,
                        pricing_mode,
                        cost,
                    })
                },
            )
            .collect()
    }

    /// The first hour the ledger holds, if any.
    pub fn first_hour(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .prepare_cached("SELECT min(hour) FROM rollup_hourly")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(|source| sqlite_error(&self.path, "reading the first hour", source))
    }

    /// The state of one threshold in one period (the default when never evaluated).
    pub fn threshold_state(
        &self,
        budget: &str,
        threshold: &str,
        kind: &str,
        period_start: i64,
    ) -> Result<ThresholdRow, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT state, crossed_at, recovered_at FROM budget_thresholds \
                 WHERE budget = ?1 AND threshold = ?2 AND kind = ?3 AND period_start = ?4",
            )
            .and_then(|mut s| {
                s.query_row(params![budget, threshold, kind, period_start], |r| {
                    Ok(ThresholdRow {
                        state: r.get(0)?,
                        crossed_at: r.get(1)?,
                        recovered_at: r.get(2)?,
                    })
                })
                .optional()
            })
            .map_err(|source| sqlite_error(&self.path, "reading budget state", source))?;
        Ok(row.unwrap_or_default())
    }

    /// Persists a threshold's new state and queues its notifications
    /// (`(receiver, event_key, event JSON)`), in one transaction. A notification whose
    /// `(receiver, event_key)` is already queued is not queued again.
    pub fn record_transition(
        &mut self,
        t: &Transition,
        notifications: &[(String, String, String)],
        now: i64,
    ) -> Result<(), StoreError> {
        self.ensure_writable("record a budget state change")?;
        let path = &self.path;
        let failed = |source| sqlite_error(path, "recording a budget state change", source);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed)?;
        tx.prepare_cached(
            "INSERT INTO budget_thresholds \
                 (budget, threshold, kind, period_start, state, crossed_at, recovered_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (budget, threshold, kind, period_start) DO UPDATE SET \
                 state = excluded.state, crossed_at = excluded.crossed_at, \
                 recovered_at = excluded.recovered_at",
        )
        .and_then(|mut s| {
            s.execute(params![
                t.budget,
                t.threshold,
                t.kind,
                t.period_start,
                t.row.state,
                t.row.crossed_at,
                t.row.recovered_at
            ])
        })
        .map_err(failed)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO notification_outbox (receiver, event_key, event, created_at) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (receiver, event_key) DO NOTHING",
                )
                .map_err(failed)?;
            for (receiver, key, event) in notifications {
                stmt.execute(params![receiver, key, event, now])
                    .map_err(failed)?;
            }
        }
        tx.commit().map_err(failed)
    }

    /// Notifications neither delivered nor abandoned, oldest first.
    pub fn pending_notifications(&self) -> Result<Vec<OutboxRow>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "reading the notification outbox", source);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, receiver, event_key, event, created_at, attempts \
                 FROM notification_outbox \
                 WHERE delivered_at IS NULL AND abandoned_at IS NULL ORDER BY id",
            )
            .map_err(failed)?;
        stmt.query_map([], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                receiver: r.get(1)?,
                event_key: r.get(2)?,
                event: r.get(3)?,
                created_at: r.get(4)?,
                attempts: r.get(5)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(failed)
    }

    /// Marks a notification delivered at `at`.
    pub fn mark_delivered(&mut self, id: i64, at: i64) -> Result<(), StoreError> {
        self.outbox_update(
            "UPDATE notification_outbox SET delivered_at = ?2, attempts = attempts + 1 \
             WHERE id = ?1",
            &[id, at],
        )
    }

    /// Counts a failed delivery cycle of a notification.
    pub fn mark_failed_attempt(&mut self, id: i64) -> Result<(), StoreError> {
        self.outbox_update(
            "UPDATE notification_outbox SET attempts = attempts + 1 WHERE id = ?1",
            &[id],
        )
    }

    /// Gives up on a notification (kept, with `abandoned_at`, for inspection).
    pub fn mark_abandoned(&mut self, id: i64, at: i64) -> Result<(), StoreError> {
        self.outbox_update(
            "UPDATE notification_outbox SET abandoned_at = ?2 WHERE id = ?1",
            &[id, at],
        )
    }

    /// Deletes notifications delivered or abandoned before `before`, and threshold states
    /// of periods that started before `before` (unix seconds). Returns the rows deleted.
    pub fn prune_budget_history(&mut self, before: i64) -> Result<u64, StoreError> {
        self.ensure_writable("prune budget history")?;
        let path = &self.path;
        let failed = |source| sqlite_error(path, "pruning budget history", source);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed)?;
        let mut n = tx
            .prepare_cached(
                "DELETE FROM notification_outbox \
                 WHERE delivered_at < ?1 OR abandoned_at < ?1",
            )
            .and_then(|mut s| s.execute([before]))
            .map_err(failed)?;
        n += tx
            .prepare_cached("DELETE FROM budget_thresholds WHERE period_start < ?1")
            .and_then(|mut s| s.execute([before]))
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
        Ok(n as u64)
    }

    fn outbox_update(&mut self, sql: &str, values: &[i64]) -> Result<(), StoreError> {
        self.ensure_writable("update the notification outbox")?;
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(values)))
            .map_err(|source| {
                sqlite_error(&self.path, "updating the notification outbox", source)
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(state: bool, crossed_at: Option<i64>) -> Transition {
        Transition {
            budget: "b".into(),
            threshold: "80%".into(),
            kind: "actual".into(),
            period_start: 100,
            row: ThresholdRow {
                state,
                crossed_at,
                recovered_at: None,
            },
        }
    }

    #[test]
    fn a_transition_and_its_notifications_commit_together_once() {
        let mut s = Store::open_in_memory().unwrap();
        assert_eq!(
            s.threshold_state("b", "80%", "actual", 100).unwrap(),
            ThresholdRow::default()
        );
        let n = vec![("hook".to_string(), "k1".to_string(), "{}".to_string())];
        s.record_transition(&transition(true, Some(5)), &n, 5)
            .unwrap();
        // The same event queued again (e.g. a replayed evaluation) is not duplicated.
        s.record_transition(&transition(true, Some(5)), &n, 6)
            .unwrap();
        let row = s.threshold_state("b", "80%", "actual", 100).unwrap();
        assert!(row.state);
        assert_eq!(row.crossed_at, Some(5));
        let pending = s.pending_notifications().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].receiver, "hook");
        s.mark_failed_attempt(pending[0].id).unwrap();
        assert_eq!(s.pending_notifications().unwrap()[0].attempts, 1);
        s.mark_delivered(pending[0].id, 7).unwrap();
        assert!(s.pending_notifications().unwrap().is_empty());
        // Another period is another row.
        assert!(!s.threshold_state("b", "80%", "actual", 200).unwrap().state);
    }

    #[test]
    fn pruning_keeps_pending_notifications_and_recent_periods() {
        let mut s = Store::open_in_memory().unwrap();
        let n = |k: &str| vec![("hook".to_string(), k.to_string(), "{}".to_string())];
        s.record_transition(&transition(true, Some(5)), &n("old"), 5)
            .unwrap();
        let mut recent = transition(true, Some(500));
        recent.period_start = 400;
        s.record_transition(&recent, &n("pending"), 500).unwrap();
        let old = s.pending_notifications().unwrap()[0].id;
        s.mark_delivered(old, 10).unwrap();
        // The delivered one and the period that started at 100 go; the rest stays.
        assert_eq!(s.prune_budget_history(300).unwrap(), 2);
        assert_eq!(s.pending_notifications().unwrap().len(), 1);
        assert!(s.threshold_state("b", "80%", "actual", 400).unwrap().state);
        assert!(!s.threshold_state("b", "80%", "actual", 100).unwrap().state);
    }

    #[test]
    fn abandoned_notifications_are_no_longer_pending() {
        let mut s = Store::open_in_memory().unwrap();
        let n = vec![("hook".to_string(), "k1".to_string(), "{}".to_string())];
        s.record_transition(&transition(true, Some(5)), &n, 5)
            .unwrap();
        let id = s.pending_notifications().unwrap()[0].id;
        s.mark_abandoned(id, 9).unwrap();
        assert!(s.pending_notifications().unwrap().is_empty());
    }
}
