//! Cost streams that no invocation record carries: provisioned throughput (model-unit
//! hours, accrued every second a throughput exists, used or not) and model customization
//! (training jobs, custom-model storage).
//!
//! Owns: the accrual rule ([`accrue_provisioned`], [`accrue_storage`], [`training_cost`]),
//! the daemon's accrual thread ([`run`]) and the provisioned gauges (model units,
//! utilization, idle). The thread reads the [`InventoryHandle`] (filled from config here and
//! from the Bedrock control plane elsewhere) and sends [`Item::Priced`] rollup deltas
//! together with a per-entry checkpoint in one [`SourceChunk`], so the writer commits both
//! in one transaction: a restart resumes from the committed checkpoint, neither losing nor
//! repeating a second.
//!
//! Must not: talk to AWS, write SQLite (the writer does), or read the clock other than
//! through the injected [`Clock`](crate::clock::Clock) (via [`SourceContext::now`]).
#![deny(clippy::float_arithmetic)]

mod accrue;
mod demo;
mod gauges;

pub use accrue::*;
pub use demo::{DEMO_MU_TPM, DEMO_PT_MODEL, demo_settings};
pub use gauges::{UsageWindow, compute_gauges, invocation_label};

use crate::accounting::Checkpoint;
use crate::exporters::metrics::Telemetry;
use crate::inventory::{
    CustomModel, CustomizationJob, Inventory, InventoryHandle, ProvisionedThroughput,
};
use crate::pipeline::{Item, SourceChunk};
use crate::pricing::PriceBook;
use crate::sources::{SourceContext, SourceError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Checkpoint source of provisioned-throughput accrual (key: the throughput ARN; position:
/// unix seconds accrued up to; fingerprint: `mu=<units accrued with>`).
pub const CP_PROVISIONED: &str = "provisioned";
/// Checkpoint source of custom-model storage accrual (key: the custom model ARN).
pub const CP_STORAGE: &str = "custom_model_storage";
/// Checkpoint source of training jobs (key: the job ARN; complete once booked).
pub const CP_TRAINING: &str = "customization_job";

/// What the accrual thread needs, built from the config.
#[derive(Debug, Clone, Default)]
pub struct ProvisionedSettings {
    /// The inventory it reads (shared with the control-plane poller, when one runs).
    pub inventory: InventoryHandle,
    /// Entries declared in the config; put into the inventory where the control plane has
    /// no entry of the same ARN (the control plane wins: it is what AWS bills).
    pub declared: Inventory,
    /// Unit schedules by provisioned-throughput ARN (from the config).
    pub schedules: BTreeMap<String, Vec<UnitChange>>,
    /// How often to accrue.
    pub interval: Duration,
    /// No invocation for this long flags a throughput idle.
    pub idle_after_secs: i64,
    /// Tokens per minute one model unit serves, by base model (AWS does not publish it).
    pub tokens_per_minute_per_model_unit: BTreeMap<String, u64>,
}

impl ProvisionedSettings {
    /// True when there is something to accrue or the inventory may be filled by others.
    pub fn is_empty(&self) -> bool {
        self.declared == Inventory::default()
    }
}

/// Puts declared entries into the inventory where no entry of the same ARN exists.
pub fn merge_declared(inv: &mut Inventory, declared: &Inventory) {
    for (k, v) in &declared.provisioned {
        inv.provisioned
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    for (k, v) in &declared.jobs {
        inv.jobs.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &declared.custom_models {
        inv.custom_models
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
}

/// Positions reached so far (restored from committed checkpoints at start).
#[derive(Debug, Default)]
pub struct Positions {
    provisioned: BTreeMap<String, (i64, Option<u32>)>,
    storage: BTreeMap<String, i64>,
    trained: std::collections::BTreeSet<String>,
}

impl Positions {
    /// Reads the committed checkpoints.
    pub fn restore(cx: &SourceContext) -> Result<Positions, SourceError> {
        let mut p = Positions::default();
        for c in cx.checkpoints(CP_PROVISIONED)? {
            let units = c
                .fingerprint
                .strip_prefix("mu=")
                .and_then(|u| u.parse().ok());
            p.provisioned.insert(c.key, (c.position as i64, units));
        }
        for c in cx.checkpoints(CP_STORAGE)? {
            p.storage.insert(c.key, c.position as i64);
        }
        for c in cx.checkpoints(CP_TRAINING)? {
            if c.complete {
                p.trained.insert(c.key);
            }
        }
        Ok(p)
    }
}

/// The schedule to accrue `pt` with from `from`: the configured one, else a unit change
/// seen on the control plane since the last accrual (old units until `last_modified_at`).
fn schedule_for(
    pt: &ProvisionedThroughput,
    configured: Option<&Vec<UnitChange>>,
    from: i64,
    last_units: Option<u32>,
) -> Vec<UnitChange> {
    if let Some(s) = configured {
        return s.clone();
    }
    match (last_units, pt.last_modified_at) {
        (Some(old), Some(at)) if old != pt.model_units && at.timestamp() > from => vec![
            UnitChange {
                at: from,
                model_units: old,
            },
            UnitChange {
                at: at.timestamp(),
                model_units: pt.model_units,
            },
        ],
        _ => Vec::new(),
    }
}

/// Accrues everything in the inventory up to `now` (unix seconds): one chunk per entry
/// with its rollup deltas and its checkpoint. Returns the chunks in a stable order.
pub fn accrue_all(
    inv: &Inventory,
    settings: &ProvisionedSettings,
    book: &PriceBook,
    positions: &mut Positions,
    now: i64,
) -> Vec<SourceChunk> {
    let mut out = Vec::new();
    for pt in inv.provisioned.values() {
        // A throughput that failed to create is not billed.
        if pt.status.eq_ignore_ascii_case("failed") {
            continue;
        }
        let (from, last_units) = positions
            .provisioned
            .get(&pt.arn)
            .copied()
            .unwrap_or((pt.created_at.timestamp(), None));
        let from = from.max(pt.created_at.timestamp());
        let end = pt.deleted_at.map_or(now, |d| now.min(d.timestamp()));
        if end <= from {
            continue;
        }
        let schedule = schedule_for(pt, settings.schedules.get(&pt.arn), from, last_units);
        let units_now = units_at(&schedule, pt.model_units, end - 1);
        let items = accrue_provisioned(pt, &schedule, book, from, end)
            .into_iter()
            .map(|p| Item::Priced(Box::new(p)))
            .collect();
        out.push(SourceChunk {
            items,
            checkpoint: Some(Checkpoint {
                source: CP_PROVISIONED.to_string(),
                key: pt.arn.clone(),
                position: end as u64,
                complete: pt.deleted_at.is_some_and(|d| d.timestamp() <= end),
                fingerprint: format!("mu={units_now}"),
            }),
            counters: Vec::new(),
        });
        positions
            .provisioned
            .insert(pt.arn.clone(), (end, Some(units_now)));
    }
    for m in inv.custom_models.values() {
        out.extend(storage_chunk(m, book, positions, now));
    }
    for job in inv.jobs.values() {
        out.extend(training_chunk(job, book, positions));
    }
    out
}

fn storage_chunk(
    m: &CustomModel,
    book: &PriceBook,
    positions: &mut Positions,
    now: i64,
) -> Option<SourceChunk> {
    let from = positions
        .storage
        .get(&m.arn)
        .copied()
        .unwrap_or(i64::MIN)
        .max(m.created_at.timestamp());
    let end = m.deleted_at.map_or(now, |d| now.min(d.timestamp()));
    if end <= from {
        return None;
    }
    let items = accrue_storage(m, book, from, end)
        .into_iter()
        .map(|p| Item::Priced(Box::new(p)))
        .collect();
    positions.storage.insert(m.arn.clone(), end);
    Some(SourceChunk {
        items,
        checkpoint: Some(Checkpoint {
            source: CP_STORAGE.to_string(),
            key: m.arn.clone(),
            position: end as u64,
            complete: m.deleted_at.is_some_and(|d| d.timestamp() <= end),
            fingerprint: String::new(),
        }),
        counters: Vec::new(),
    })
}

fn training_chunk(
    job: &CustomizationJob,
    book: &PriceBook,
    positions: &mut Positions,
) -> Option<SourceChunk> {
    if positions.trained.contains(&job.arn) {
        return None;
    }
    let priced = training_cost(job, book)?;
    positions.trained.insert(job.arn.clone());
    Some(SourceChunk {
        items: vec![Item::Priced(Box::new(priced))],
        checkpoint: Some(Checkpoint {
            source: CP_TRAINING.to_string(),
            key: job.arn.clone(),
            position: 1,
            complete: true,
            fingerprint: String::new(),
        }),
        counters: Vec::new(),
    })
}

/// The accrual thread's body: restore positions, then every `settings.interval` accrue up
/// to now, send the chunks, and refresh the provisioned gauges. Ends on shutdown.
pub fn run(
    settings: &ProvisionedSettings,
    book: &PriceBook,
    telemetry: &Telemetry,
    store_path: Option<&std::path::Path>,
    cx: &SourceContext,
) -> Result<(), SourceError> {
    let mut positions = Positions::restore(cx)?;
    while !cx.stopped() {
        settings
            .inventory
            .update(|inv| merge_declared(inv, &settings.declared));
        let inv = settings.inventory.snapshot();
        let now = cx.now();
        for chunk in accrue_all(&inv, settings, book, &mut positions, now.timestamp()) {
            cx.send(chunk)?;
        }
        let usage = match store_path {
            Some(p) => UsageWindow::read(p, &inv, now, settings.idle_after_secs),
            None => Ok(UsageWindow::default()),
        };
        match usage {
            Ok(u) => telemetry.set_provisioned_gauges(compute_gauges(&inv, settings, &u, now)),
            Err(e) => {
                tracing::warn!(error = %e, "Cannot read recent usage for the provisioned gauges.");
                cx.error("store");
            }
        }
        cx.success(None);
        cx.sleep(settings.interval);
    }
    Ok(())
}

/// Spawns [`run`] on its own thread (restarted with backoff after an error, like a source).
pub fn spawn(
    settings: ProvisionedSettings,
    book: Arc<PriceBook>,
    telemetry: Arc<Telemetry>,
    store_path: std::path::PathBuf,
    cx: SourceContext,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("provisioned".into())
        .spawn(move || {
            let mut backoff = Duration::from_secs(1);
            loop {
                match run(&settings, &book, &telemetry, Some(&store_path), &cx) {
                    Ok(()) | Err(SourceError::Closed) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "Provisioned accrual failed; retrying.");
                        cx.error("store");
                    }
                }
                cx.sleep(backoff);
                if cx.stopped() {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(300));
            }
        })
}

#[cfg(test)]
mod tests;
