//! [`Telemetry`]: the spend metrics plus live health, shared by the writer, the sources
//! and the HTTP handler that renders the exposition.
use super::text::{self, Kind, Value};
use super::{AdmissionUpdate, MetricsConfig, SpendMetrics};
use crate::accounting::Batch;
use crate::pricing::PriceBook;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Upper bounds (seconds) of the commit-duration histogram buckets; `+Inf` is implied.
pub const COMMIT_BUCKETS_SECONDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Health of one source.
#[derive(Debug, Clone, Default)]
struct SourceHealth {
    up: bool,
    last_success: Option<DateTime<Utc>>,
    lag_secs: Option<f64>,
    errors: BTreeMap<&'static str, u64>,
    api_calls: BTreeMap<&'static str, u64>,
}

/// Commit statistics since the process started.
#[derive(Debug, Clone, Default)]
struct Commits {
    /// Non-cumulative counts per bucket of [`COMMIT_BUCKETS_SECONDS`], then `+Inf`.
    buckets: [u64; COMMIT_BUCKETS_SECONDS.len() + 1],
    observed: u64,
    sum_secs: f64,
    /// Batches applied (committed) since start.
    applied: u64,
}

/// Everything `/metrics` shows, shareable as `Arc<Telemetry>` across threads.
///
/// Each part has its own [`Mutex`], held only for a quick update or for rendering (never
/// across an `.await` or I/O), so a source reporting health never waits for a render of the
/// spend series. A poisoned lock is recovered: the data are plain counters, consistent
/// after every statement.
#[derive(Debug)]
pub struct Telemetry {
    spend: Mutex<SpendMetrics>,
    sources: Mutex<BTreeMap<String, SourceHealth>>,
    commits: Mutex<Commits>,
    inventory: Mutex<Option<crate::inventory::InventoryHandle>>,
    cloudwatch: Mutex<super::CloudWatchMetrics>,
    /// Provisioned-throughput gauges, replaced by the accrual thread on each tick.
    provisioned: Mutex<Vec<super::ProvisionedGauge>>,
    budgets: Mutex<super::BudgetGauges>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Telemetry {
    /// Telemetry over restored spend metrics.
    pub fn new(spend: SpendMetrics) -> Telemetry {
        Telemetry {
            spend: Mutex::new(spend),
            sources: Mutex::new(BTreeMap::new()),
            commits: Mutex::new(Commits::default()),
            inventory: Mutex::new(None),
            cloudwatch: Mutex::new(super::CloudWatchMetrics::default()),
            provisioned: Mutex::new(Vec::new()),
            budgets: Mutex::new(super::BudgetGauges::default()),
        }
    }

    /// [`SpendMetrics::restore`] wrapped in a new `Telemetry`.
    pub fn restore(store: &Store, config: MetricsConfig) -> Result<Telemetry, StoreError> {
        Ok(Telemetry::new(SpendMetrics::restore(store, config)?))
    }

    /// Adds a committed batch (see [`SpendMetrics::apply`]) and counts the commit. Returns
    /// the admission record to persist when new label values were admitted
    /// (`store.meta_set(update.key, &update.value)`).
    pub fn apply(&self, batch: &Batch) -> Option<AdmissionUpdate> {
        if !batch.is_empty() {
            lock(&self.commits).applied += 1;
        }
        let mut spend = lock(&self.spend);
        spend.apply(batch);
        spend.take_admission_update()
    }

    /// Replaces the spend metrics, e.g. with a fresh [`SpendMetrics::restore`] after a
    /// re-price rewrote stored costs. Returns the admission record to persist, if any.
    pub fn replace_spend(&self, spend: SpendMetrics) -> Option<AdmissionUpdate> {
        let mut guard = lock(&self.spend);
        *guard = spend;
        guard.take_admission_update()
    }

    /// Re-reads the CloudWatch metric totals and the logs coverage ratio from the ledger
    /// (after a commit that carried CloudWatch samples, and at start).
    pub fn refresh_cloudwatch(&self, store: &Store) -> Result<(), StoreError> {
        let m = super::CloudWatchMetrics::load(store)?;
        *lock(&self.cloudwatch) = m;
        Ok(())
    }

    /// True once a CloudWatch metrics source has read something (the coverage ratio then
    /// also moves with log commits).
    pub fn cloudwatch_active(&self) -> bool {
        lock(&self.cloudwatch).active()
    }

    /// Runs `f` on the spend metrics (for inspection and tests).
    pub fn with_spend<R>(&self, f: impl FnOnce(&SpendMetrics) -> R) -> R {
        f(&lock(&self.spend))
    }

    /// Exports the control-plane inventory's gauges (`bedrock_control_plane_*`,
    /// `bedrock_inference_profiles`, `bedrock_foundation_models`) from now on.
    pub fn set_inventory(&self, inventory: crate::inventory::InventoryHandle) {
        *lock(&self.inventory) = Some(inventory);
    }

    /// Replaces the provisioned-throughput gauges (model units, utilization, idle).
    pub fn set_provisioned_gauges(&self, gauges: Vec<super::ProvisionedGauge>) {
        *lock(&self.provisioned) = gauges;
    }

    /// Marks a source up or down (`bedrock_meter_source_up`).
    pub fn set_source_up(&self, name: &str, up: bool) {
        self.source(name, |h| h.up = up);
    }

    /// Records a successful read of a source at `at`, `lag_secs` behind the newest data it
    /// could have read. A success also marks the source up.
    pub fn source_success(&self, name: &str, at: DateTime<Utc>, lag_secs: f64) {
        self.source(name, |h| {
            h.up = true;
            h.last_success = Some(at);
            h.lag_secs = Some(lag_secs);
        });
    }

    /// Counts an error of a source by kind (a short, fixed label such as `read_error`).
    /// Does not change whether the source is up.
    pub fn source_error(&self, name: &str, kind: &'static str) {
        self.source(name, |h| *h.errors.entry(kind).or_default() += 1);
    }

    /// Counts a call to a paid or rate-limited AWS API (`FilterLogEvents`, `ListObjectsV2`,
    /// `GetObject`, …) made by a source: the meter's own cost, visible.
    pub fn api_call(&self, name: &str, api: &'static str) {
        self.source(name, |h| *h.api_calls.entry(api).or_default() += 1);
    }

    fn source(&self, name: &str, f: impl FnOnce(&mut SourceHealth)) {
        let mut sources = lock(&self.sources);
        match sources.get_mut(name) {
            Some(h) => f(h),
            None => {
                let mut h = SourceHealth::default();
                f(&mut h);
                sources.insert(name.to_string(), h);
            }
        }
    }

    /// Runs `f` on the budget families (the budget thread updates them).
    pub fn with_budgets<R>(&self, f: impl FnOnce(&mut super::BudgetGauges) -> R) -> R {
        f(&mut lock(&self.budgets))
    }

    /// Observes how long one store commit took.
    pub fn observe_commit(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = COMMIT_BUCKETS_SECONDS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(COMMIT_BUCKETS_SECONDS.len());
        let mut c = lock(&self.commits);
        c.buckets[i] += 1;
        c.observed += 1;
        c.sum_secs += secs;
    }

    /// The exposition (text format 0.0.4, see [`super::CONTENT_TYPE`]): spend counters,
    /// prices in effect at `now` from `book`, ingest counters, source health, commit
    /// statistics and build info. Families come in a fixed order and series sorted by their
    /// label values, so equal state renders byte-identical text.
    pub fn render(&self, book: &PriceBook, now: DateTime<Utc>) -> String {
        let mut out = String::new();
        {
            let spend = lock(&self.spend);
            out.reserve(spend.render_size_hint());
            spend.render_into(&mut out, book, now);
        }
        lock(&self.cloudwatch).render_into(&mut out);
        super::streams::render_gauges(&mut out, &lock(&self.provisioned));
        self.render_sources(&mut out);
        self.render_commits(&mut out);
        if let Some(inv) = lock(&self.inventory).clone() {
            inv.read(|i| super::inventory::render(&mut out, i));
        }
        lock(&self.budgets).render_into(&mut out);
        let name = "bedrock_meter_build_info";
        text::header(
            &mut out,
            name,
            Kind::Gauge,
            "The bedrock-meter build (always 1; the version is a label).",
        );
        text::sample(
            &mut out,
            name,
            "",
            &[("version", env!("CARGO_PKG_VERSION"))],
            Value::Int(1),
        );
        out
    }

    fn render_sources(&self, out: &mut String) {
        let sources = lock(&self.sources).clone();
        let name = "bedrock_meter_source_up";
        text::header(
            out,
            name,
            Kind::Gauge,
            "1 when the source is reading, 0 when it is down.",
        );
        for (s, h) in &sources {
            text::sample(out, name, "", &[("source", s)], Value::Int(u64::from(h.up)));
        }
        let name = "bedrock_meter_source_last_success_timestamp_seconds";
        text::header(
            out,
            name,
            Kind::Gauge,
            "Unix time of the source's last successful read (absent until the first).",
        );
        for (s, h) in &sources {
            if let Some(at) = h.last_success {
                let t = at.timestamp_millis() as f64 / 1000.0;
                text::sample(out, name, "", &[("source", s)], Value::Float(t));
            }
        }
        let name = "bedrock_meter_source_lag_seconds";
        text::header(
            out,
            name,
            Kind::Gauge,
            "How far the source was behind the newest available data at its last successful read.",
        );
        for (s, h) in &sources {
            if let Some(lag) = h.lag_secs {
                text::sample(out, name, "", &[("source", s)], Value::Float(lag));
            }
        }
        let name = "bedrock_meter_source_errors_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Source errors since the process started, by kind.",
        );
        for (s, h) in &sources {
            for (kind, n) in &h.errors {
                text::sample(
                    out,
                    name,
                    "",
                    &[("source", s), ("kind", kind)],
                    Value::Int(*n),
                );
            }
        }
        let name = "bedrock_meter_aws_api_calls_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "AWS API calls made by sources since the process started, by API (they are billed).",
        );
        for (s, h) in &sources {
            for (api, n) in &h.api_calls {
                text::sample(
                    out,
                    name,
                    "",
                    &[("source", s), ("api", api)],
                    Value::Int(*n),
                );
            }
        }
    }

    fn render_commits(&self, out: &mut String) {
        let c = lock(&self.commits).clone();
        let name = "bedrock_meter_store_commit_duration_seconds";
        text::header(
            out,
            name,
            Kind::Histogram,
            "Time taken by ledger commits (one transaction per batch) since the process started.",
        );
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, le) in COMMIT_BUCKETS_SECONDS.iter().enumerate() {
            cumulative += c.buckets[i];
            text::sample(
                out,
                &bucket,
                "",
                &[("le", &le.to_string())],
                Value::Int(cumulative),
            );
        }
        cumulative += c.buckets[COMMIT_BUCKETS_SECONDS.len()];
        text::sample(out, &bucket, "", &[("le", "+Inf")], Value::Int(cumulative));
        text::sample(
            out,
            &format!("{name}_sum"),
            "",
            &[],
            Value::Float(c.sum_secs),
        );
        text::sample(
            out,
            &format!("{name}_count"),
            "",
            &[],
            Value::Int(c.observed),
        );

        let name = "bedrock_meter_store_commits_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Batches committed to the ledger and applied to these metrics since the process started.",
        );
        text::sample(out, name, "", &[], Value::Int(c.applied));
    }
}
