//! Prometheus metrics: spend counters that finance can reconcile and health that ops can
//! alert on, in the text exposition format 0.0.4.
//!
//! # Restart-safe by construction
//!
//! The spend counters are not independent in-memory counters that start at zero. At start
//! [`SpendMetrics::restore`] reads the cumulative totals of the whole ledger (one streaming
//! pass over the rollups, plus the ingest counters), and the writer calls
//! [`SpendMetrics::apply`] (or [`Telemetry::apply`]) with every batch after
//! [`Store::commit`] succeeded. A restart therefore shows the same totals it would have shown
//! without the restart, and `increase()` never sees a reset. Sums are exact
//! ([`rust_decimal`]) and written with all their digits; the scraper parses them to floats.
//!
//! Process-local health (per-source state, commit latency, commits since start) does reset
//! with the process, as any process metric does.
//!
//! # Cardinality
//!
//! Labels `model`, `principal` and each `tag_<key>` name at most
//! [`MetricsConfig::max_values_per_label`] values; later values are reported as `other`.
//! Admission is by first appearance and never takes a name back: see `admission.rs`. The
//! writer keeps the admitted lists in the ledger's `meta` table ([`AdmissionUpdate`]), so
//! that late (back-filled) records cannot change which
//! values are named after a restart.
//!
//! # Wiring (the daemon's writer)
//!
//! ```no_run
//! # use bedrock_meter::exporters::metrics::{MetricsConfig, SpendMetrics, Telemetry};
//! # use bedrock_meter::store::Store;
//! # use bedrock_meter::accounting::Batch;
//! # fn f(mut store: Store, batch: Batch) -> Result<(), Box<dyn std::error::Error>> {
//! let telemetry = std::sync::Arc::new(Telemetry::new(SpendMetrics::restore(
//!     &store,
//!     MetricsConfig::default(),
//! )?));
//! // for each batch:
//! let started = std::time::Instant::now();
//! store.commit(&batch)?;
//! telemetry.observe_commit(started.elapsed());
//! if let Some(update) = telemetry.apply(&batch) {
//!     store.meta_set(update.key, &update.value)?;
//! }
//! # Ok(()) }
//! ```
mod admission;
mod budgets;
mod cloudwatch;
mod config;
mod inventory;
mod streams;
mod telemetry;
#[cfg(test)]
mod tests;
mod text;

pub use admission::OTHER;
pub use budgets::BudgetGauges;
pub use cloudwatch::{COVERAGE_WINDOW_HOURS, CloudWatchMetrics};
pub use config::{MetricsConfig, PrincipalLabel, tag_label_name};
pub use streams::ProvisionedGauge;
pub use telemetry::{COMMIT_BUCKETS_SECONDS, Telemetry};
pub use text::CONTENT_TYPE;

use crate::accounting::{Amount, Batch, Dims, INFO_METERS};
use crate::money::Usd;
use crate::normalize::{RejectReason, Scope, ServiceTier};
use crate::pricing::{PriceBook, PriceQuery, TokenMeter};
use crate::store::{RollupRow, Store, StoreError};
use admission::{Admitted, Candidates};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use text::{Kind, Value};

/// The `meta` key under which the admitted label values are kept (a JSON object: record
/// key → values in admission order).
pub const ADMISSION_META_KEY: &str = "metrics.admitted_label_values";

/// The common labels every spend series carries, before the attribution labels.
const COMMON_LABELS: [&str; 6] = [
    "account",
    "region",
    "model",
    "scope",
    "service_tier",
    "operation",
];
/// Position of `model` in a series key.
const MODEL: usize = 2;

/// Ledger token meter → `token_type` label, in exposition order.
const TOKEN_TYPES: [(TokenMeter, &str); 5] = [
    (TokenMeter::Input, "input"),
    (TokenMeter::Output, "output"),
    (TokenMeter::CacheRead, "cache_read"),
    (TokenMeter::CacheWrite5m, "cache_write_5m"),
    (TokenMeter::CacheWrite1h, "cache_write_1h"),
];

/// `files_failed:<reason>` reasons the ingest writes, always exposed (at zero) so that the
/// first failure is visible to `increase()`.
const KNOWN_FILE_FAILURES: [&str; 3] = ["read_error", "truncated_gzip", "unreadable"];

fn token_index(meter: &str) -> Option<usize> {
    TOKEN_TYPES.iter().position(|(m, _)| m.as_str() == meter)
}

/// What the writer stores with [`Store::meta_set`]`(update.key, &update.value)` after
/// admitting new label values, so that the admission survives a restart exactly (see the
/// [module docs](self)). Exporters never write the store themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionUpdate {
    /// Always [`ADMISSION_META_KEY`].
    pub key: &'static str,
    /// The record: a JSON object of record key → admitted values in admission order.
    pub value: String,
}

/// Sums of one spend series (one combination of label values).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Sums {
    invocations: u64,
    tokens: [u64; 5],
    images: u64,
    cost: Usd,
    /// Unpriced quantity by `meter` label (token type, `images`, or an unknown meter name).
    unpriced: BTreeMap<String, u64>,
    estimated: u64,
    provisioned: u64,
    /// True when some of the usage was on demand (so the current price is worth showing).
    on_demand: bool,
}

impl Sums {
    fn add(&mut self, pricing_mode: &str, meter: &str, priced: bool, amount: &Amount) {
        let q = amount.quantity;
        let provisioned = pricing_mode == "provisioned";
        match meter {
            "invocations" => self.invocations = self.invocations.saturating_add(q),
            "images" => self.images = self.images.saturating_add(q),
            "estimated_tokens" => self.estimated = self.estimated.saturating_add(q),
            m => {
                if let Some(i) = token_index(m) {
                    self.tokens[i] = self.tokens[i].saturating_add(q);
                    if provisioned {
                        self.provisioned = self.provisioned.saturating_add(q);
                    }
                }
            }
        }
        if let Some(c) = amount.cost {
            self.cost = self.cost.checked_add(c).unwrap_or(Usd::MAX);
        }
        // Tokens sent to a provisioned model are not priced per token; the throughput's
        // own hours (a non-token meter) are, and are unpriced when the table lacks a rate.
        let per_token_provisioned = provisioned && token_index(meter).is_some();
        if !priced && !per_token_provisioned && !INFO_METERS.contains(&meter) {
            let label = match token_index(meter) {
                Some(i) => TOKEN_TYPES[i].1,
                None => meter,
            };
            match self.unpriced.get_mut(label) {
                Some(v) => *v = v.saturating_add(q),
                None => {
                    self.unpriced.insert(label.to_string(), q);
                }
            }
        }
        if pricing_mode == "on_demand" {
            self.on_demand = true;
        }
    }
}

/// One spend series: its pre-rendered, escaped label list and its sums.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Series {
    labels: String,
    sums: Sums,
}

/// One rollup cell, borrowed from a batch or from stored rows.
struct Cell<'a> {
    meter: &'a str,
    detail: &'a str,
    priced: bool,
    amount: &'a Amount,
}

/// The cells of one dimensions tuple.
struct Group<'a> {
    dims: &'a Dims,
    cells: Vec<Cell<'a>>,
}

/// Parsed tag values per distinct `tags` JSON, so a restore parses each distinct tag set
/// once rather than once per row.
#[derive(Default)]
struct TagCache {
    map: HashMap<String, Vec<String>>,
}

/// Cached tag sets before the cache is emptied (bounds memory on a ledger with many).
const TAG_CACHE_MAX: usize = 4096;

impl TagCache {
    fn values(&mut self, tags_json: &str, keys: &[(String, String)]) -> Vec<String> {
        if let Some(v) = self.map.get(tags_json) {
            return v.clone();
        }
        let parsed: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(tags_json).unwrap_or_default();
        let values: Vec<String> = keys
            .iter()
            .map(|(k, _)| match parsed.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            })
            .collect();
        if self.map.len() >= TAG_CACHE_MAX {
            self.map.clear();
        }
        self.map.insert(tags_json.to_string(), values.clone());
        values
    }
}

/// Drops the session of an assumed role: `role/Name/session` → `role/Name`.
fn strip_session(p: &str) -> &str {
    if let Some(rest) = p.strip_prefix("role/")
        && let Some(i) = rest.find('/')
    {
        return &p[..5 + i];
    }
    p
}

/// Cumulative spend over the whole ledger, by label set, plus the ingest counters. See the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct SpendMetrics {
    config: MetricsConfig,
    /// Allow-listed tags: (ledger key, label name).
    tags: Vec<(String, String)>,
    /// Label names in series-key order.
    label_names: Vec<String>,
    /// Capped labels: model, then principal (unless off), then each tag.
    admitted: Vec<Admitted>,
    /// Recorded lists of labels not configured now, written back unchanged.
    foreign_record: BTreeMap<String, Vec<String>>,
    admission_dirty: bool,
    series: BTreeMap<Vec<String>, Series>,
    counters: BTreeMap<String, u64>,
    /// Provisioned-throughput and customization cost by their own labels.
    streams: streams::StreamSums,
}

impl PartialEq for SpendMetrics {
    /// Equal when they would render the same spend: same configuration, admitted values,
    /// series and counters.
    fn eq(&self, o: &SpendMetrics) -> bool {
        self.config == o.config
            && self.series == o.series
            && self.counters == o.counters
            && self.streams == o.streams
            && self.admitted.len() == o.admitted.len()
            && self
                .admitted
                .iter()
                .zip(&o.admitted)
                .all(|(a, b)| a.recorded() == b.recorded())
    }
}

impl SpendMetrics {
    /// Empty metrics (an empty ledger) under `config`. Tag keys that collide after
    /// sanitizing keep the first (see [`MetricsConfig::validate`]).
    pub fn new(config: MetricsConfig) -> SpendMetrics {
        SpendMetrics::with_record(config, BTreeMap::new())
    }

    fn with_record(config: MetricsConfig, mut record: BTreeMap<String, Vec<String>>) -> Self {
        let mut tags: Vec<(String, String)> = Vec::new();
        for key in &config.tag_labels {
            let label = tag_label_name(key);
            if key.is_empty() || tags.iter().any(|(_, l)| *l == label) {
                tracing::warn!(key = %key, label = %label, "Ignoring a duplicate or empty metrics tag label.");
                continue;
            }
            tags.push((key.clone(), label));
        }
        let mut label_names: Vec<String> = COMMON_LABELS.iter().map(|s| s.to_string()).collect();
        let mut record_keys = vec!["model".to_string()];
        if config.principal != PrincipalLabel::Off {
            label_names.push("principal".to_string());
            record_keys.push(format!("principal:{}", config.principal.as_str()));
        }
        for (key, label) in &tags {
            label_names.push(label.clone());
            record_keys.push(format!("tag:{key}"));
        }
        let cap = config.max_values_per_label;
        let admitted = record_keys
            .into_iter()
            .map(|k| {
                let recorded = record.remove(&k).unwrap_or_default();
                Admitted::new(k, cap, &recorded)
            })
            .collect();
        SpendMetrics {
            config,
            tags,
            label_names,
            admitted,
            foreign_record: record,
            admission_dirty: false,
            series: BTreeMap::new(),
            counters: BTreeMap::new(),
            streams: streams::StreamSums::default(),
        }
    }

    /// Loads the cumulative totals of the whole ledger: every rollup row in one streaming
    /// pass in hour order (admitting label values by first appearance as it goes), the
    /// ingest counters, and the recorded admitted label values. Works on a read-only store.
    ///
    /// When the pass admitted values the record lacked, [`SpendMetrics::take_admission_update`]
    /// returns the record to persist.
    pub fn restore(store: &Store, config: MetricsConfig) -> Result<SpendMetrics, StoreError> {
        let record = admission::parse_record(store.meta_get(ADMISSION_META_KEY)?.as_deref());
        let mut m = SpendMetrics::with_record(config, record);
        let mut cache = TagCache::default();
        // Rows of one hour, held until the hour is complete: within an hour, admission
        // orders new values by value, so it needs the whole hour.
        let mut hour: Vec<RollupRow> = Vec::new();
        store.for_each_rollup_row(i64::MIN, i64::MAX, |row| {
            if hour.last().is_some_and(|l| l.dims.hour != row.dims.hour) {
                m.fold_rows(&hour, &mut cache);
                hour.clear();
            }
            hour.push(row);
            Ok::<_, StoreError>(())
        })?;
        m.fold_rows(&hour, &mut cache);
        m.counters = store.counters()?;
        Ok(m)
    }

    /// Adds a committed batch: its rollup deltas and its ingest counters. Call it after
    /// [`Store::commit`] succeeded, with the same batch.
    pub fn apply(&mut self, batch: &Batch) {
        if batch.is_empty() {
            return;
        }
        let groups: Vec<Group<'_>> = batch
            .rollups
            .iter()
            .map(|(dims, cells)| Group {
                dims,
                cells: cells
                    .iter()
                    .map(|(k, amount)| Cell {
                        meter: k.meter,
                        detail: &k.detail,
                        priced: !k.price_entry.is_empty(),
                        amount,
                    })
                    .collect(),
            })
            .collect();
        self.fold(&groups, &mut TagCache::default());
        for (name, n) in &batch.counters {
            match self.counters.get_mut(name) {
                Some(v) => *v = v.saturating_add(*n),
                None => {
                    self.counters.insert(name.clone(), *n);
                }
            }
        }
    }

    /// The admitted-values record to persist ([`AdmissionUpdate`]) when values were
    /// admitted since the last call (or since restore, when the ledger had no record for
    /// them); `None` otherwise.
    pub fn take_admission_update(&mut self) -> Option<AdmissionUpdate> {
        if !self.admission_dirty {
            return None;
        }
        self.admission_dirty = false;
        let mut record = self.foreign_record.clone();
        for a in &self.admitted {
            record.insert(a.record_key.clone(), a.recorded().to_vec());
        }
        Some(AdmissionUpdate {
            key: ADMISSION_META_KEY,
            value: serde_json::to_string(&record).unwrap_or_else(|_| "{}".to_string()),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &MetricsConfig {
        &self.config
    }

    /// Number of spend series (distinct label sets).
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The named values of a capped label (`model`, `principal` or `tag_<key>`) in
    /// admission order; `None` when the label is not configured.
    pub fn admitted_values(&self, label: &str) -> Option<Vec<&str>> {
        let i = match label {
            "model" => 0,
            _ => {
                let pos = self.label_names.iter().position(|l| l == label)?;
                // admitted = [model, principal?, tags…]; label_names = [common…, principal?, tags…]
                if pos < COMMON_LABELS.len() {
                    return None;
                }
                pos - COMMON_LABELS.len() + 1
            }
        };
        let a = self.admitted.get(i)?;
        Some(
            a.recorded()
                .iter()
                .filter(|v| a.is_named(v))
                .map(String::as_str)
                .collect(),
        )
    }

    /// Groups consecutive rows of one hour by dimensions and folds them in.
    fn fold_rows(&mut self, rows: &[RollupRow], cache: &mut TagCache) {
        let mut groups: Vec<Group<'_>> = Vec::new();
        for r in rows {
            let cell = Cell {
                meter: &r.meter,
                detail: &r.detail,
                priced: !r.price_entry.is_empty(),
                amount: &r.amount,
            };
            match groups.last_mut() {
                Some(g) if *g.dims == r.dims => g.cells.push(cell),
                _ => groups.push(Group {
                    dims: &r.dims,
                    cells: vec![cell],
                }),
            }
        }
        self.fold(&groups, cache);
    }

    /// Raw values of the capped labels of `dims`, in `admitted` order.
    fn capped_values(&self, dims: &Dims, cache: &mut TagCache) -> Vec<String> {
        let mut v = Vec::with_capacity(self.admitted.len());
        v.push(dims.model.clone());
        match self.config.principal {
            PrincipalLabel::Off => {}
            PrincipalLabel::Role => v.push(strip_session(&dims.principal).to_string()),
            PrincipalLabel::RoleSession => v.push(dims.principal.clone()),
        }
        if !self.tags.is_empty() {
            v.extend(cache.values(&dims.tags, &self.tags));
        }
        v
    }

    /// Admits the new label values of a chunk (by earliest hour, then value), then adds
    /// every cell to its series.
    fn fold(&mut self, groups: &[Group<'_>], cache: &mut TagCache) {
        if groups.is_empty() {
            return;
        }
        let values: Vec<Vec<String>> = groups
            .iter()
            .map(|g| self.capped_values(g.dims, cache))
            .collect();
        let mut candidates = Candidates::new(self.admitted.len());
        for (g, vals) in groups.iter().zip(&values) {
            for (i, v) in vals.iter().enumerate() {
                candidates.offer(&self.admitted, i, v, g.dims.hour);
            }
        }
        if candidates.admit(&mut self.admitted) {
            self.admission_dirty = true;
        }
        for (g, vals) in groups.iter().zip(values) {
            let d = g.dims;
            let mut key: Vec<String> = Vec::with_capacity(self.label_names.len());
            key.extend([d.account.clone(), d.region.clone()]);
            let mut capped = vals
                .into_iter()
                .zip(&self.admitted)
                .map(|(v, a)| a.label(v));
            key.push(capped.next().unwrap_or_default()); // model
            key.extend([d.scope.clone(), d.service_tier.clone(), d.operation.clone()]);
            key.extend(capped);
            let names = &self.label_names;
            let series = self.series.entry(key).or_insert_with_key(|k| Series {
                labels: render_labels(names, k),
                sums: Sums::default(),
            });
            for c in &g.cells {
                series
                    .sums
                    .add(&d.pricing_mode, c.meter, c.priced, c.amount);
                self.streams.add(d, c.meter, c.detail, c.amount);
            }
        }
    }

    /// Roughly the bytes [`SpendMetrics::render_into`] writes, to size the buffer once.
    fn render_size_hint(&self) -> usize {
        let lines: usize = self
            .series
            .values()
            .map(|s| {
                let n =
                    2 + s.sums.tokens.iter().filter(|t| **t > 0).count() + s.sums.unpriced.len();
                n * (s.labels.len() + 64)
            })
            .sum();
        lines + 64 * 1024
    }

    /// Writes the spend, price and ingest-counter families.
    fn render_into(&self, out: &mut String, book: &PriceBook, now: DateTime<Utc>) {
        self.render_spend(out);
        self.streams.render(out);
        self.render_prices(out, book, now);
        self.render_counters(out);
    }

    fn render_spend(&self, out: &mut String) {
        let all = || self.series.values();
        let name = "bedrock_invocations_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Model invocations metered from the invocation logs, cumulative over the whole ledger.",
        );
        for s in all() {
            text::sample(out, name, &s.labels, &[], Value::Int(s.sums.invocations));
        }

        let name = "bedrock_tokens_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Tokens by type; the five types are disjoint and together are every billable token (provisioned and estimated tokens included).",
        );
        for s in all() {
            for (i, (_, t)) in TOKEN_TYPES.iter().enumerate() {
                if s.sums.tokens[i] > 0 {
                    text::sample(
                        out,
                        name,
                        &s.labels,
                        &[("token_type", t)],
                        Value::Int(s.sums.tokens[i]),
                    );
                }
            }
        }

        let name = "bedrock_images_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Images generated by image models.",
        );
        for s in all().filter(|s| s.sums.images > 0) {
            text::sample(out, name, &s.labels, &[], Value::Int(s.sums.images));
        }

        let name = "bedrock_cost_usd_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Exact cost in US dollars of the priced usage, from the versioned price table (unpriced usage adds nothing; see bedrock_unpriced_usage_total).",
        );
        for s in all() {
            text::sample(out, name, &s.labels, &[], Value::Dec(s.sums.cost));
        }

        let name = "bedrock_unpriced_usage_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Usage of a priced meter that had no price (unknown model, region, tier or meter), by meter: tokens by type, or images. Not in bedrock_cost_usd_total.",
        );
        for s in all() {
            for (meter, q) in &s.sums.unpriced {
                text::sample(out, name, &s.labels, &[("meter", meter)], Value::Int(*q));
            }
        }

        let name = "bedrock_estimated_tokens_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Tokens estimated with a tokenizer because the record had no counts (a subset of bedrock_tokens_total).",
        );
        for s in all().filter(|s| s.sums.estimated > 0) {
            text::sample(out, name, &s.labels, &[], Value::Int(s.sums.estimated));
        }

        let name = "bedrock_provisioned_tokens_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Tokens sent to provisioned-throughput models, which are billed per model-unit hour, not per token (a subset of bedrock_tokens_total).",
        );
        for s in all().filter(|s| s.sums.provisioned > 0) {
            text::sample(out, name, &s.labels, &[], Value::Int(s.sums.provisioned));
        }
    }

    fn render_prices(&self, out: &mut String, book: &PriceBook, now: DateTime<Utc>) {
        // (model, region, scope, service_tier) with on-demand usage under a named model.
        let keys: BTreeSet<(&str, &str, &str, &str)> = self
            .series
            .iter()
            .filter(|(k, s)| s.sums.on_demand && k[MODEL] != OTHER)
            .map(|(k, _)| {
                (
                    k[MODEL].as_str(),
                    k[1].as_str(),
                    k[3].as_str(),
                    k[4].as_str(),
                )
            })
            .collect();
        let mut images: BTreeMap<(&str, &str, String), Usd> = BTreeMap::new();

        let name = "bedrock_price_usd_per_1m_tokens";
        text::header(
            out,
            name,
            Kind::Gauge,
            "Price in US dollars per 1M tokens in effect now, for each model, region, scope and tier with usage (context_band long applies above the entry's threshold).",
        );
        for &(model, region, scope, tier) in &keys {
            let (Some(scope_v), Some(tier_v)) = (Scope::parse(scope), ServiceTier::parse(tier))
            else {
                continue;
            };
            let q = PriceQuery {
                model,
                region,
                scope: scope_v,
                tier: tier_v,
                at: now,
            };
            let standard = book.entry_for(&q, 0);
            let long = book
                .entry_for(&q, u64::MAX)
                .filter(|l| standard.is_none_or(|s| s.id() != l.id()));
            for e in [standard, long].into_iter().flatten() {
                let band = e.context_band().as_str();
                for (meter, t) in TOKEN_TYPES {
                    if let Some(p) = e.token_usd_per_1m(meter) {
                        let labels = [
                            ("model", model),
                            ("region", region),
                            ("scope", scope),
                            ("service_tier", tier),
                            ("context_band", band),
                            ("token_type", t),
                        ];
                        text::sample(out, name, "", &labels, Value::Dec(p));
                    }
                }
            }
            if let Some(e) = standard {
                for b in e.image_bands() {
                    images
                        .entry((model, region, b.label()))
                        .or_insert(b.usd_per_image());
                }
            }
        }

        let name = "bedrock_image_price_usd";
        text::header(
            out,
            name,
            Kind::Gauge,
            "Price in US dollars of one generated image in effect now, by size and quality band, for image models with usage.",
        );
        for ((model, region, band), p) in &images {
            let labels = [
                ("model", *model),
                ("region", *region),
                ("band", band.as_str()),
            ];
            text::sample(out, name, "", &labels, Value::Dec(*p));
        }

        let name = "bedrock_pricing_info";
        text::header(
            out,
            name,
            Kind::Gauge,
            "The price table in use (always 1; the version is a label).",
        );
        text::sample(out, name, "", &[("version", book.version())], Value::Int(1));
    }

    fn render_counters(&self, out: &mut String) {
        let counter = |n: &str| self.counters.get(n).copied().unwrap_or(0);
        let by_prefix = |prefix: &str, always: &[&str]| -> BTreeMap<String, u64> {
            let mut m: BTreeMap<String, u64> = always.iter().map(|r| (r.to_string(), 0)).collect();
            for (k, v) in self.counters.range(prefix.to_string()..) {
                let Some(reason) = k.strip_prefix(prefix) else {
                    break;
                };
                *m.entry(reason.to_string()).or_default() += v;
            }
            m
        };

        let name = "bedrock_meter_records_ingested_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Invocation-log records counted into the ledger.",
        );
        text::sample(out, name, "", &[], Value::Int(counter("records_ingested")));

        let name = "bedrock_meter_records_duplicate_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Records skipped because their request id was already counted (dedup window).",
        );
        text::sample(out, name, "", &[], Value::Int(counter("records_duplicate")));

        let name = "bedrock_meter_records_rejected_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Records rejected, by reason (every reason is always present).",
        );
        let reasons: Vec<&str> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        for (reason, v) in by_prefix("records_rejected:", &reasons) {
            text::sample(out, name, "", &[("reason", &reason)], Value::Int(v));
        }

        let name = "bedrock_meter_files_read_total";
        text::header(out, name, Kind::Counter, "Files read to the end.");
        text::sample(out, name, "", &[], Value::Int(counter("files_read")));

        let name = "bedrock_meter_files_failed_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Files that could not be read to the end, by reason (records before the failure are counted).",
        );
        for (reason, v) in by_prefix("files_failed:", &KNOWN_FILE_FAILURES) {
            text::sample(out, name, "", &[("reason", &reason)], Value::Int(v));
        }

        // Present once the S3 source fetched a body moved to S3 (absent before, so an
        // exposition without any is unchanged).
        let fetches = by_prefix(crate::sources::body_fetch::COUNTER_PREFIX, &[]);
        if !fetches.is_empty() {
            let name = "bedrock_meter_body_fetches_total";
            text::header(
                out,
                name,
                Kind::Counter,
                "Request/response bodies moved to S3 that were fetched because a record's counts needed them, by outcome.",
            );
            for (outcome, v) in fetches {
                text::sample(out, name, "", &[("outcome", &outcome)], Value::Int(v));
            }
        }
    }
}

/// `name="value",…` for a series key.
fn render_labels(names: &[String], values: &[String]) -> String {
    let pairs: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(values.iter().map(String::as_str))
        .collect();
    let mut s = String::new();
    text::labels_into(&mut s, &pairs);
    s
}
