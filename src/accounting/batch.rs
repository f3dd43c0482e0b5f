//! The unit of commit: pre-aggregated rollup deltas, the request ids they cover, source
//! checkpoints and ingest counters. The store writes one [`Batch`] in one transaction, so a
//! checkpoint can never be ahead of (or behind) the rollups it covers.
use crate::money::Usd;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

/// Everything that identifies a rollup row except the meter.
///
/// Hashes as its borrowed view [`DimsRef`] does, so a batch finds a cell from borrowed
/// labels and allocates the owned key only for a new cell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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

/// The meter part of a rollup key. Hashes as its borrowed view [`MeterRef`] does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MeterKey {
    /// Meter name: a priced meter (`input_tokens`, `output_tokens`, `cache_read_tokens`,
    /// `cache_write_5m_tokens`, `cache_write_1h_tokens`, `images`) or an informational one
    /// (`invocations`, `estimated_tokens`, `cache_ttl_assumed_tokens`,
    /// `usage_missing_invocations`).
    pub meter: &'static str,
    /// Detail that the price depends on (`1024x1024/premium` for images), else empty.
    pub detail: String,
    /// Id of the price entry behind the cost, or empty when unpriced or informational.
    /// Shared with the price table's own copy: a cell costs no allocation for it, and keys
    /// from the same entry compare by pointer before comparing text.
    pub price_entry: Arc<str>,
    /// Version of the price table the entry came from (empty when no entry); shared likewise.
    pub pricing_version: Arc<str>,
}

/// The empty price entry and table version (unpriced and informational cells): one shared
/// value, so that empty keys also compare by pointer.
pub fn no_entry() -> &'static Arc<str> {
    static EMPTY: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(""));
    &EMPTY
}

/// A borrowed view of [`Dims`] (same fields, same order): it hashes and compares exactly like
/// the owned key, so looking a cell up needs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DimsRef<'a> {
    /// See [`Dims::hour`].
    pub hour: i64,
    /// See [`Dims::account`].
    pub account: &'a str,
    /// See [`Dims::region`].
    pub region: &'a str,
    /// See [`Dims::model`].
    pub model: &'a str,
    /// See [`Dims::scope`].
    pub scope: &'a str,
    /// See [`Dims::service_tier`].
    pub service_tier: &'a str,
    /// See [`Dims::context_band`].
    pub context_band: &'a str,
    /// See [`Dims::operation`].
    pub operation: &'a str,
    /// See [`Dims::principal`].
    pub principal: &'a str,
    /// See [`Dims::tags`].
    pub tags: &'a str,
    /// See [`Dims::pricing_mode`].
    pub pricing_mode: &'a str,
}

impl Dims {
    /// The borrowed view.
    pub fn as_ref(&self) -> DimsRef<'_> {
        DimsRef {
            hour: self.hour,
            account: &self.account,
            region: &self.region,
            model: &self.model,
            scope: &self.scope,
            service_tier: &self.service_tier,
            context_band: &self.context_band,
            operation: &self.operation,
            principal: &self.principal,
            tags: &self.tags,
            pricing_mode: &self.pricing_mode,
        }
    }
}

impl DimsRef<'_> {
    /// The owned key.
    pub fn to_owned(&self) -> Dims {
        Dims {
            hour: self.hour,
            account: self.account.to_owned(),
            region: self.region.to_owned(),
            model: self.model.to_owned(),
            scope: self.scope.to_owned(),
            service_tier: self.service_tier.to_owned(),
            context_band: self.context_band.to_owned(),
            operation: self.operation.to_owned(),
            principal: self.principal.to_owned(),
            tags: self.tags.to_owned(),
            pricing_mode: self.pricing_mode.to_owned(),
        }
    }
}

impl Hash for Dims {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_ref().hash(state);
    }
}

/// What a map keyed by [`Dims`] can be searched with: the owned key or a [`DimsRef`].
pub trait DimsKey {
    /// The borrowed view of the key.
    fn dims_ref(&self) -> DimsRef<'_>;
}

impl DimsKey for Dims {
    fn dims_ref(&self) -> DimsRef<'_> {
        self.as_ref()
    }
}

impl DimsKey for DimsRef<'_> {
    fn dims_ref(&self) -> DimsRef<'_> {
        *self
    }
}

impl<'a> Borrow<dyn DimsKey + 'a> for Dims {
    fn borrow(&self) -> &(dyn DimsKey + 'a) {
        self
    }
}

impl Hash for dyn DimsKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.dims_ref().hash(state);
    }
}

impl PartialEq for dyn DimsKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.dims_ref() == other.dims_ref()
    }
}

impl Eq for dyn DimsKey + '_ {}

/// A borrowed view of [`MeterKey`] (same fields, same order, same hash and equality).
#[derive(Debug, Clone, Copy)]
pub struct MeterRef<'a> {
    /// See [`MeterKey::meter`].
    pub meter: &'static str,
    /// See [`MeterKey::detail`].
    pub detail: &'a str,
    /// See [`MeterKey::price_entry`].
    pub price_entry: &'a Arc<str>,
    /// See [`MeterKey::pricing_version`].
    pub pricing_version: &'a Arc<str>,
}

/// Equal text, deciding from the lengths or the addresses when they settle it (meter names are
/// the same literals, details are mostly empty) before comparing bytes.
fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

/// Equal exactly when the owned keys are equal; the shared names compare by pointer first
/// (`Arc`'s equality does), so a cell lookup seldom compares text at all.
impl PartialEq for MeterRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        same_text(self.meter, other.meter)
            && same_text(self.detail, other.detail)
            && self.price_entry == other.price_entry
            && self.pricing_version == other.pricing_version
    }
}

impl Eq for MeterRef<'_> {}

impl MeterKey {
    /// The borrowed view.
    pub fn as_ref(&self) -> MeterRef<'_> {
        MeterRef {
            meter: self.meter,
            detail: &self.detail,
            price_entry: &self.price_entry,
            pricing_version: &self.pricing_version,
        }
    }
}

impl MeterRef<'_> {
    /// The owned key.
    pub fn to_owned(&self) -> MeterKey {
        MeterKey {
            meter: self.meter,
            detail: self.detail.to_owned(),
            price_entry: Arc::clone(self.price_entry),
            pricing_version: Arc::clone(self.pricing_version),
        }
    }
}

impl Hash for MeterKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_ref().hash(state);
    }
}

/// Hashes the meter and its detail only: within one set of dimensions the price entry and
/// table version almost never vary, and equal keys still hash equally, so hashing the two
/// long names would only cost time.
impl Hash for MeterRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.meter.hash(state);
        self.detail.hash(state);
    }
}

/// What a map keyed by [`MeterKey`] can be searched with: the owned key or a [`MeterRef`].
pub trait MeterKeyLike {
    /// The borrowed view of the key.
    fn meter_ref(&self) -> MeterRef<'_>;
}

impl MeterKeyLike for MeterKey {
    fn meter_ref(&self) -> MeterRef<'_> {
        self.as_ref()
    }
}

impl MeterKeyLike for MeterRef<'_> {
    fn meter_ref(&self) -> MeterRef<'_> {
        *self
    }
}

impl<'a> Borrow<dyn MeterKeyLike + 'a> for MeterKey {
    fn borrow(&self) -> &(dyn MeterKeyLike + 'a) {
        self
    }
}

impl Hash for dyn MeterKeyLike + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.meter_ref().hash(state);
    }
}

impl PartialEq for dyn MeterKeyLike + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.meter_ref() == other.meter_ref()
    }
}

impl Eq for dyn MeterKeyLike + '_ {}

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

/// Adds an amount to the cell of `meter`, allocating its owned key only when it is new.
pub fn add_to_cell(cells: &mut Cells, meter: MeterRef<'_>, amount: Amount) {
    match cells.get_mut(&meter as &dyn MeterKeyLike) {
        Some(a) => a.add(&amount),
        None => {
            cells.insert(meter.to_owned(), amount);
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn dims() -> Dims {
        Dims {
            hour: 3600,
            account: "111122223333".into(),
            region: "us-east-1".into(),
            model: "anthropic.claude".into(),
            scope: "geo".into(),
            service_tier: "standard".into(),
            context_band: "standard".into(),
            operation: "Converse".into(),
            principal: "role/App/s".into(),
            tags: "{}".into(),
            pricing_mode: "on_demand".into(),
        }
    }

    #[test]
    fn borrowed_keys_hash_and_compare_like_the_owned_ones() {
        let h = FastHash::default();
        let d = dims();
        assert_eq!(h.hash_one(&d), h.hash_one(d.as_ref()));
        assert_eq!(d.as_ref().to_owned(), d);
        let m = MeterKey {
            meter: "input_tokens",
            detail: String::new(),
            price_entry: "e1".into(),
            pricing_version: "v1".into(),
        };
        assert_eq!(h.hash_one(&m), h.hash_one(m.as_ref()));
        assert_eq!(m.as_ref().to_owned(), m);
    }

    #[test]
    fn a_borrowed_lookup_finds_the_cell_an_owned_add_made_and_vice_versa() {
        let mut b = Batch::default();
        let d = dims();
        let m = MeterKey {
            meter: "input_tokens",
            detail: String::new(),
            price_entry: "e1".into(),
            pricing_version: "v1".into(),
        };
        let one = Amount {
            quantity: 1,
            cost: None,
        };
        b.add(&d, m.clone(), one.clone());
        let cells = b.rollups.get_mut(&d.as_ref() as &dyn DimsKey).unwrap();
        add_to_cell(cells, m.as_ref(), one.clone());
        add_to_cell(
            cells,
            MeterRef {
                price_entry: &"e2".into(),
                ..m.as_ref()
            },
            one.clone(),
        );
        // The same names in other allocations (a store row, another table load) find the
        // same cell: pointer equality is only a shortcut.
        let (e1, v1): (Arc<str>, Arc<str>) = ("e1".into(), "v1".into());
        let static_meter: &'static str = String::from("input_tokens").leak();
        add_to_cell(
            cells,
            MeterRef {
                meter: static_meter,
                detail: &static_meter[..0],
                price_entry: &e1,
                pricing_version: &v1,
            },
            one.clone(),
        );
        b.add(&d, m.clone(), one);
        assert_eq!(b.rollups.len(), 1);
        assert_eq!(b.rollups[&d][&m].quantity, 4);
        assert_eq!(b.rollups[&d].len(), 2);
    }
}
