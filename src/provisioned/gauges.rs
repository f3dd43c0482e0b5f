//! The provisioned gauges: model units now, utilization (tokens per minute over capacity)
//! and the idle flag, from the inventory and the ledger's recent hourly rollups.
use super::ProvisionedSettings;
use crate::accounting::hour_of;
use crate::exporters::metrics::ProvisionedGauge;
use crate::inventory::{Commitment, Inventory, ProvisionedThroughput};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeMap;
use std::path::Path;

/// Tokens and last invocation hour of each provisioned throughput, from the ledger.
#[derive(Debug, Clone, Default)]
pub struct UsageWindow {
    /// Tokens sent since the start of the previous UTC hour, by ARN.
    pub tokens: BTreeMap<String, u64>,
    /// Start of the last hour with an invocation, by ARN (searched back `idle_after` + 1 h).
    pub last_hour: BTreeMap<String, i64>,
}

/// The model label invocation logs give a throughput (`provisioned-model/<id>`).
pub fn invocation_label(pt: &ProvisionedThroughput) -> String {
    match pt.arn.rsplit_once(':') {
        Some((_, resource)) => resource.to_string(),
        None => pt.arn.clone(),
    }
}

impl UsageWindow {
    /// Reads the rollups of the provisioned models' invocations over the window needed.
    pub fn read(
        path: &Path,
        inv: &Inventory,
        now: DateTime<Utc>,
        idle_after_secs: i64,
    ) -> Result<UsageWindow, StoreError> {
        let mut w = UsageWindow::default();
        if inv.provisioned.is_empty() {
            return Ok(w);
        }
        let by_label: BTreeMap<(String, String, String), String> = inv
            .provisioned
            .values()
            .map(|pt| {
                (
                    (pt.account.clone(), pt.region.clone(), invocation_label(pt)),
                    pt.arn.clone(),
                )
            })
            .collect();
        let now_h = hour_of(now);
        let from = now_h - 3600 - idle_after_secs.max(0) - 3600;
        let store = Store::open_read_only(path)?;
        store.for_each_rollup_row(from, now_h + 3600, |row| {
            let d = &row.dims;
            if d.pricing_mode != "provisioned" {
                return Ok::<_, StoreError>(());
            }
            let Some(arn) = by_label.get(&(d.account.clone(), d.region.clone(), d.model.clone()))
            else {
                return Ok(());
            };
            if row.meter == "invocations" && row.amount.quantity > 0 {
                let h = w.last_hour.entry(arn.clone()).or_insert(d.hour);
                *h = (*h).max(d.hour);
            } else if row.meter.ends_with("_tokens")
                && !crate::accounting::INFO_METERS.contains(&row.meter.as_str())
                && d.hour >= now_h - 3600
            {
                *w.tokens.entry(arn.clone()).or_default() += row.amount.quantity;
            }
            Ok(())
        })?;
        Ok(w)
    }
}

/// The gauges of every throughput that exists at `now`.
pub fn compute_gauges(
    inv: &Inventory,
    settings: &ProvisionedSettings,
    usage: &UsageWindow,
    now: DateTime<Utc>,
) -> Vec<ProvisionedGauge> {
    let t = now.timestamp();
    let mut out = Vec::new();
    for pt in inv.provisioned.values() {
        if pt.created_at.timestamp() > t || pt.deleted_at.is_some_and(|d| d.timestamp() <= t) {
            continue;
        }
        let schedule = settings.schedules.get(&pt.arn).cloned().unwrap_or_default();
        let units = super::units_at(&schedule, pt.model_units, t);
        let commitment = match pt.commitment_expires_at {
            Some(e) if e <= now => Commitment::None,
            _ => pt.commitment,
        };
        // Tokens per minute since the previous hour began (or since creation).
        let since = (hour_of(now) - 3600).max(pt.created_at.timestamp());
        let minutes = Decimal::from((t - since).max(60)) / Decimal::from(60);
        let tokens = usage.tokens.get(&pt.arn).copied().unwrap_or(0);
        let utilization = settings
            .tokens_per_minute_per_model_unit
            .get(&pt.model)
            .filter(|c| **c > 0 && units > 0)
            .and_then(|c| {
                let capacity = Decimal::from(*c) * Decimal::from(units);
                (Decimal::from(tokens) / minutes / capacity).to_f64()
            });
        let last_seen = usage
            .last_hour
            .get(&pt.arn)
            .map_or(pt.created_at.timestamp(), |h| h + 3600);
        let idle = t - last_seen >= settings.idle_after_secs;
        out.push(ProvisionedGauge {
            account: pt.account.clone(),
            region: pt.region.clone(),
            model: pt.model.clone(),
            provisioned_model: pt.name.clone(),
            commitment: commitment.as_str().to_string(),
            model_units: units,
            utilization,
            idle,
        });
    }
    out
}
