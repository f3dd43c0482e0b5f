//! The unit of commit: pre-aggregated rollup deltas, the request ids they cover, source
//! checkpoints and ingest counters. The store writes one [`Batch`] in one transaction, so a
//! checkpoint can never be ahead of (or behind) the rollups it covers.
use crate::money::Usd;
use std::collections::HashMap;

/// Everything that identifies a rollup row except the meter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dims {
    /// Start of the UTC hour, unix seconds.
    pub hour: i64,
    /// AWS account id.
    pub account: String,
    /// Source region.
    pub region: String,
    /// Model label (base model id, or the unresolved resource label).
    pub model: String,
    /// `in_region`, `geo` or `global`.
    pub scope: String,
    /// Service tier label.
    pub service_tier: String,
    /// `standard` or `long`.
    pub context_band: String,
    /// Operation label.
    pub operation: String,
    /// Principal label (`role/Name/session`, `user/name`, …) at the configured granularity.
    pub principal: String,
    /// Attribution tags kept by configuration, canonical JSON object with sorted keys
    /// (`{}` when none).
    pub tags: String,
    /// `on_demand` or `provisioned`.
    pub pricing_mode: String,
}

/// The meter part of a rollup key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeterKey {
    /// Meter name: a priced meter (`input_tokens`, `output_tokens`, `cache_read_tokens`,
    /// `cache_write_5m_tokens`, `cache_write_1h_tokens`, `images`) or an informational one
    /// (`invocations`, `estimated_tokens`, `cache_ttl_assumed_tokens`,
    /// `usage_missing_invocations`).
    pub meter: &'static str,
    /// Detail that the price depends on (`1024x1024/premium` for images), else empty.
    pub detail: String,
    /// Id of the price entry behind the cost, or empty when unpriced or informational.
    pub price_entry: String,
    /// Version of the price table the entry came from (empty when no entry).
    pub pricing_version: String,
}

/// Quantity and exact cost of one rollup cell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Amount {
    /// Tokens, images or invocations.
    pub quantity: u64,
    /// Exact cost; `None` for informational meters and for unpriced usage.
    pub cost: Option<Usd>,
}

impl Amount {
    /// Adds another amount (costs add exactly; `None + x = x`).
    ///
    /// Quantities saturate rather than wrap (no record can come near `u64::MAX`; the store
    /// refuses anything above `i64::MAX` with a clear error). Decimal sums keep every digit up
    /// to 28 significant digits, far beyond any cost this ledger can hold.
    pub fn add(&mut self, other: &Amount) {
        self.quantity = self.quantity.saturating_add(other.quantity);
        self.cost = match (self.cost, other.cost) {
            (Some(a), Some(b)) => Some(a.saturating_add(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Meters whose usage carries no price of its own (never counted as unpriced).
pub const INFO_METERS: [&str; 4] = [
    "invocations",
    "estimated_tokens",
    "cache_ttl_assumed_tokens",
    "usage_missing_invocations",
];

/// A position in a source, committed with the rollups it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The source kind and name, e.g. `file`.
    pub source: String,
    /// What was read: a canonical file key, a log-stream window, an S3 key.
    pub key: String,
    /// How far: records consumed from the start of the (decompressed) object.
    pub position: u64,
    /// True when the object was read to the end.
    pub complete: bool,
    /// Size and modification time (or ETag) of the object, so a changed object is re-read
    /// from its last position rather than skipped.
    pub fingerprint: String,
}

/// A request id seen in this batch, for the dedup window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeenId {
    /// 128-bit XXH3 hash of the request id.
    pub hash: u128,
    /// Event hour (unix seconds) of the record, for pruning.
    pub hour: i64,
}

/// One commit's worth of work.
#[derive(Debug, Default)]
pub struct Batch {
    /// Pre-aggregated rollup deltas.
    pub rollups: Rollups,
    /// Request ids first seen in this batch.
    pub seen: Vec<SeenId>,
    /// Checkpoints to move forward.
    pub checkpoints: Vec<Checkpoint>,
    /// Ingest counters to add (name → value), e.g. `records_ingested`,
    /// `records_duplicate`, `records_rejected:malformed_json`.
    pub counters: HashMap<String, u64>,
    /// Number of records represented (for commit sizing).
    pub records: u64,
    /// CloudWatch metric samples to store, replacing the stored value of each key.
    pub metric_samples: super::MetricSamples,
}

/// A fast, unkeyed hasher for batch maps: their keys are this program's own labels and a
/// batch lives for one commit, so SipHash's flooding resistance buys nothing here.
pub type FastHash = std::hash::BuildHasherDefault<rustc_hash::FxHasher>;

/// The rollup cells of one set of dimensions, by meter.
pub type Cells = HashMap<MeterKey, Amount, FastHash>;

/// Rollup deltas by dimensions.
pub type Rollups = HashMap<Dims, Cells, FastHash>;

impl Batch {
    /// The cells of `dims` (created empty), found with one hash of the dimensions.
    pub fn cells(&mut self, dims: Dims) -> &mut Cells {
        self.rollups.entry(dims).or_default()
    }

    /// Adds an amount to a rollup cell.
    pub fn add(&mut self, dims: &Dims, meter: MeterKey, amount: Amount) {
        let cells = match self.rollups.get_mut(dims) {
            Some(c) => c,
            None => self.rollups.entry(dims.clone()).or_default(),
        };
        cells.entry(meter).or_default().add(&amount);
    }

    /// Adds to an ingest counter.
    pub fn count(&mut self, name: &str, n: u64) {
        match self.counters.get_mut(name) {
            Some(v) => *v += n,
            None => {
                self.counters.insert(name.to_string(), n);
            }
        }
    }

    /// True when there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.rollups.is_empty()
            && self.seen.is_empty()
            && self.checkpoints.is_empty()
            && self.counters.is_empty()
            && self.metric_samples.is_empty()
    }
}
