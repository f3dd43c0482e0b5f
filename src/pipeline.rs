//! The write side of every ingest path: normalized items in, exact rollups, dedup ids,
//! checkpoints and counters out, committed together.
//!
//! [`Writer`] is used directly by the `ingest` command and, on its own thread behind a
//! bounded channel, by the daemon. It owns the [`Store`] (the only writer of SQLite), the
//! [`Ledger`] rule and the [`Dedup`] window. A batch is committed in one transaction; when a
//! commit fails the batch is kept and retried, so nothing accepted is dropped.
use crate::accounting::{
    Amount, Batch, Checkpoint, Dedup, Dims, INFO_METERS, Ledger, MeterKey, hour_of,
};
use crate::money::Usd;
use crate::normalize::{RejectReason, UsageEvent, parse_record};
use crate::store::{Store, StoreError};
use std::collections::BTreeMap;

/// One record after normalization.
#[derive(Debug, Clone)]
pub enum Item {
    /// A usage event.
    Event(Box<UsageEvent>),
    /// A record rejected for this reason.
    Rejected(RejectReason),
    /// Usage that arrives already priced, not as an invocation-log record: provisioned
    /// throughput hours, model customization, usage priced from CloudWatch metrics alone.
    /// Added to the rollups as is (no dedup: the producer's checkpoint, committed in the same
    /// chunk, is what keeps it from being counted twice).
    Priced(Box<PricedUsage>),
    /// CloudWatch metric samples (levels, not deltas): stored replacing earlier values of
    /// the same minute; in primary mode their growth is priced (see
    /// [`crate::accounting::price_minute`]).
    Metrics(Box<MetricReadings>),
}

/// What the `cloudwatch_metrics` source read in one slice (see [`Item::Metrics`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricReadings {
    /// The account (`""` when the source does not know it).
    pub account: String,
    /// The region read.
    pub region: String,
    /// True in primary mode: price the growth of the values.
    pub primary: bool,
    /// The period of the values, seconds.
    pub period: i64,
    /// The samples read.
    pub samples: Vec<MetricSample>,
}

/// (`ModelId`, metric name, period start in unix seconds, sum).
pub type MetricSample = (String, String, i64, u64);

/// One pre-priced rollup delta (see [`Item::Priced`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedUsage {
    /// The rollup dimensions (hour, account, region, model, …, `pricing_mode`).
    pub dims: Dims,
    /// The meter, its detail, and the price entry and table version behind the cost.
    pub meter: MeterKey,
    /// Quantity in the meter's unit and the exact cost (`None` when unpriced).
    pub amount: Amount,
}

impl Item {
    /// Normalizes raw record bytes.
    pub fn parse(bytes: &[u8]) -> Item {
        match parse_record(bytes) {
            Ok(ev) => Item::Event(Box::new(ev)),
            Err(rej) => {
                tracing::trace!(reason = rej.reason.as_str(), detail = %rej.detail, "Rejected record.");
                Item::Rejected(rej.reason)
            }
        }
    }
}

/// What a run or a daemon has written so far. Serialises to the JSON summary documented in
/// README.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct IngestSummary {
    /// Files read to the end.
    pub files_read: u64,
    /// Files already fully ingested (unchanged since their checkpoint).
    pub files_already_ingested: u64,
    /// Files passed over by reason (`data_object`, `permission_check`, `empty`, …).
    pub files_skipped: BTreeMap<String, u64>,
    /// Files that failed by reason (`unreadable`, `truncated_gzip`, `read_error`).
    pub files_failed: BTreeMap<String, u64>,
    /// Records newly counted.
    pub records_ingested: u64,
    /// Records already counted before (dedup window).
    pub records_duplicate: u64,
    /// Records rejected, by reason.
    pub records_rejected: BTreeMap<String, u64>,
    /// Exact cost of the records ingested.
    #[serde(serialize_with = "ser_usd")]
    pub cost_usd: Usd,
    /// Priced-meter quantities without a price, by meter.
    pub unpriced: BTreeMap<String, u64>,
}

fn ser_usd<S: serde::Serializer>(v: &Usd, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::money::format_usd(*v))
}

impl IngestSummary {
    /// Records rejected in total.
    pub fn rejected_total(&self) -> u64 {
        self.records_rejected.values().sum()
    }

    /// Records seen in total (ingested + duplicate + rejected).
    pub fn records_total(&self) -> u64 {
        self.records_ingested + self.records_duplicate + self.rejected_total()
    }

    /// Files that failed in total.
    pub fn failed_total(&self) -> u64 {
        self.files_failed.values().sum()
    }
}

/// Accounts items into batches and commits them.
pub struct Writer<'a> {
    store: Store,
    ledger: Ledger<'a>,
    dedup: Dedup,
    batch: Batch,
    /// Records ingested and duplicates since the last commit, added to the batch's counters
    /// at commit (not with a string-keyed map update per record).
    pending: (u64, u64),
    /// Totals of everything accepted by this writer.
    pub summary: IngestSummary,
}

impl<'a> Writer<'a> {
    /// A writer over an open store; restores the dedup window from it.
    pub fn new(
        store: Store,
        ledger: Ledger<'a>,
        dedup_window_hours: i64,
    ) -> Result<Writer<'a>, StoreError> {
        let mut store = store;
        let mut dedup = Dedup::new(dedup_window_hours);
        dedup.restore(store.load_seen(i64::MIN)?);
        if let Some(cutoff) = dedup.prune() {
            store.prune_seen(cutoff)?;
        }
        Ok(Writer {
            store,
            ledger,
            dedup,
            batch: Batch::default(),
            pending: (0, 0),
            summary: IngestSummary::default(),
        })
    }

    /// The store (for reads such as checkpoints).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, for writes that are not rollups (the metrics' label admission record).
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> Store {
        self.store
    }

    /// Records waiting for the next commit.
    pub fn pending_records(&self) -> u64 {
        self.batch.records
    }

    /// Accounts one item.
    pub fn item(&mut self, item: &Item) {
        match item {
            Item::Event(ev) => self.event(ev),
            Item::Rejected(r) => self.reject(*r),
            Item::Priced(p) => self.priced(p),
            Item::Metrics(m) => self.metric_readings(m),
        }
    }

    /// Stores CloudWatch samples (each replacing the stored value of its minute) and, in
    /// primary mode, prices how much each minute grew since it was last stored.
    pub fn metric_readings(&mut self, m: &MetricReadings) {
        use crate::accounting::{MetricKind, MinuteGrowth, SampleKey, SampleValue};
        let mut growth: BTreeMap<(&str, i64), MinuteGrowth> = BTreeMap::new();
        // Counted as one record so that the writer's commit-on-time rule applies.
        self.batch.records += 1;
        for (model_id, metric, minute, value) in &m.samples {
            let key = SampleKey {
                account: m.account.clone(),
                region: m.region.clone(),
                model_id: model_id.clone(),
                metric: metric.clone(),
                minute: *minute,
            };
            // Only primary mode prices growth; cross-check just replaces the level.
            let before = match self.batch.metric_samples.get(&key) {
                _ if !m.primary => 0,
                Some(v) => v.value,
                None => match self.store.metric_sample(&key) {
                    Ok(v) => v.unwrap_or(0),
                    Err(e) => {
                        // Counting the whole value again could double count: skip pricing it.
                        tracing::warn!(error = %e, "Cannot read a stored CloudWatch sample.");
                        *value
                    }
                },
            };
            if m.primary
                && *value > before
                && let Some(kind) = MetricKind::of(metric)
            {
                growth
                    .entry((model_id.as_str(), *minute))
                    .or_default()
                    .add(kind, value - before);
            }
            self.batch.metric_samples.insert(
                key,
                SampleValue {
                    period: m.period,
                    value: *value,
                },
            );
        }
        for ((model_id, minute), g) in growth {
            crate::accounting::price_minute(
                &self.ledger,
                &m.account,
                &m.region,
                model_id,
                minute,
                &g,
                &mut self.batch,
            );
        }
    }

    /// Normalizes and accounts one record's bytes (as [`Item::parse`] then [`Writer::item`],
    /// without boxing the event).
    pub fn record(&mut self, bytes: &[u8]) {
        match parse_record(bytes) {
            Ok(ev) => self.event(&ev),
            Err(rej) => {
                tracing::trace!(reason = rej.reason.as_str(), detail = %rej.detail, "Rejected record.");
                self.reject(rej.reason);
            }
        }
    }

    /// Accounts one usage event (or counts it as a duplicate).
    pub fn event(&mut self, ev: &UsageEvent) {
        self.batch.records += 1;
        if self
            .dedup
            .check_and_insert(&ev.request_id, hour_of(ev.timestamp), &mut self.batch)
        {
            self.pending.1 += 1;
            self.summary.records_duplicate += 1;
        } else {
            self.ledger.record(ev, &mut self.batch);
            self.pending.0 += 1;
            self.summary.records_ingested += 1;
        }
    }

    /// Adds a pre-priced rollup delta.
    pub fn priced(&mut self, p: &PricedUsage) {
        // Counts toward commit sizing, so a pre-priced stream commits on its own schedule
        // even when no invocation record is pending.
        self.batch.records += 1;
        self.batch.add(&p.dims, p.meter.clone(), p.amount.clone());
    }

    /// Counts a rejected record.
    pub fn reject(&mut self, reason: RejectReason) {
        self.batch.records += 1;
        self.batch
            .count(&format!("records_rejected:{}", reason.as_str()), 1);
        *self
            .summary
            .records_rejected
            .entry(reason.as_str().to_string())
            .or_default() += 1;
    }

    /// Adds to a counter (`files_read`, `files_failed:<reason>`, …), committed with the batch.
    pub fn count(&mut self, name: &str, n: u64) {
        self.batch.count(name, n);
        if name == "files_read" {
            self.summary.files_read += n;
        } else if let Some(reason) = name.strip_prefix("files_failed:") {
            *self
                .summary
                .files_failed
                .entry(reason.to_string())
                .or_default() += n;
        }
    }

    /// Moves a source checkpoint forward with the next commit.
    pub fn checkpoint(&mut self, cp: Checkpoint) {
        if let Some(prev) = self
            .batch
            .checkpoints
            .iter_mut()
            .find(|c| c.source == cp.source && c.key == cp.key)
        {
            *prev = cp;
        } else {
            self.batch.checkpoints.push(cp);
        }
    }

    /// Commits the open batch in one transaction and returns it (for metrics), or `None`
    /// when there was nothing to commit. On error the batch stays pending and the next call
    /// retries it.
    pub fn commit(&mut self) -> Result<Option<Batch>, StoreError> {
        let (ingested, duplicate) = std::mem::take(&mut self.pending);
        if ingested > 0 {
            self.batch.count("records_ingested", ingested);
        }
        if duplicate > 0 {
            self.batch.count("records_duplicate", duplicate);
        }
        if self.batch.is_empty() {
            return Ok(None);
        }
        self.store.commit(&self.batch)?;
        let batch = std::mem::take(&mut self.batch);
        for (dims, cells) in &batch.rollups {
            for (k, a) in cells {
                match a.cost {
                    Some(c) => self.summary.cost_usd += c,
                    None if k.price_entry.is_empty()
                        && !INFO_METERS.contains(&k.meter)
                        && (dims.pricing_mode != "provisioned"
                            || crate::provisioned::STREAM_METERS.contains(&k.meter)) =>
                    {
                        *self
                            .summary
                            .unpriced
                            .entry(k.meter.to_string())
                            .or_default() += a.quantity
                    }
                    None => {}
                }
            }
        }
        if let Some(cutoff) = self.dedup.prune() {
            self.store.prune_seen(cutoff)?;
        }
        Ok(Some(batch))
    }
}

/// What a source hands to the writer: normalized items, then (optionally) the checkpoint
/// they reach and counters to add. The writer applies a chunk as a whole, so a checkpoint is
/// never committed without the items before it.
#[derive(Debug, Default)]
pub struct SourceChunk {
    /// Items in source order.
    pub items: Vec<Item>,
    /// The position these items reach.
    pub checkpoint: Option<Checkpoint>,
    /// Counters to add (`files_read`, `files_failed:<reason>`).
    pub counters: Vec<(String, u64)>,
}

impl Writer<'_> {
    /// Applies a source chunk.
    pub fn chunk(&mut self, chunk: SourceChunk) {
        for item in &chunk.items {
            self.item(item);
        }
        for (name, n) in &chunk.counters {
            self.count(name, *n);
        }
        if let Some(cp) = chunk.checkpoint {
            self.checkpoint(cp);
        }
    }
}

#[cfg(test)]
mod metric_reading_tests {
    use super::*;
    use crate::accounting::{LedgerConfig, UNATTRIBUTED};
    use crate::pricing::PriceBook;

    const MINUTE: i64 = 1_795_600_800; // 2026-11-26T06:40:00Z

    fn readings(primary: bool, input: u64, invocations: u64) -> Item {
        Item::Metrics(Box::new(MetricReadings {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            primary,
            period: 60,
            samples: vec![
                (
                    "us.amazon.nova-lite-v1:0".into(),
                    "InputTokenCount".into(),
                    MINUTE,
                    input,
                ),
                (
                    "us.amazon.nova-lite-v1:0".into(),
                    "Invocations".into(),
                    MINUTE,
                    invocations,
                ),
                // Not read by the meter: stored, never priced.
                (
                    "us.amazon.nova-lite-v1:0".into(),
                    "InvocationLatency".into(),
                    MINUTE,
                    999,
                ),
            ],
        }))
    }

    fn stored(w: &Writer<'_>, metric: &str) -> Option<u64> {
        w.store()
            .metric_sample(&crate::accounting::SampleKey {
                account: "123456789012".into(),
                region: "us-east-1".into(),
                model_id: "us.amazon.nova-lite-v1:0".into(),
                metric: metric.into(),
                minute: MINUTE,
            })
            .unwrap()
    }

    #[test]
    fn primary_readings_price_only_the_growth_of_a_minute_and_cross_check_never_prices() {
        let book = PriceBook::embedded().unwrap();
        let ledger = Ledger::new(&book, LedgerConfig::default());
        let mut w = Writer::new(Store::open_in_memory().unwrap(), ledger, 24).unwrap();
        let usd = |s: &str| s.parse::<Usd>().unwrap();

        // 1M input tokens of Nova Lite through the us. profile: $0.06.
        w.item(&readings(true, 1_000_000, 10));
        let b = w.commit().unwrap().unwrap();
        assert_eq!(w.summary.cost_usd, usd("0.06"));
        let (dims, cells) = b.rollups.iter().next().unwrap();
        assert_eq!(b.rollups.len(), 1);
        assert_eq!(dims.operation, "CloudWatchMetrics");
        assert_eq!(dims.principal, UNATTRIBUTED);
        assert_eq!(dims.model, "amazon.nova-lite-v1:0");
        assert_eq!(dims.scope, "geo");
        let inv = cells
            .iter()
            .find(|(k, _)| k.meter == "invocations")
            .unwrap();
        assert_eq!(inv.1.quantity, 10);
        assert_eq!(stored(&w, "InputTokenCount"), Some(1_000_000));
        assert_eq!(stored(&w, "InvocationLatency"), Some(999));

        // The same levels again (a re-read): nothing more.
        w.item(&readings(true, 1_000_000, 10));
        let b = w.commit().unwrap().unwrap();
        assert!(b.rollups.is_empty());
        assert_eq!(w.summary.cost_usd, usd("0.06"));

        // The minute grew (late data): only the growth, twice in one batch counted once.
        w.item(&readings(true, 1_200_000, 11));
        w.item(&readings(true, 1_500_000, 12));
        let b = w.commit().unwrap().unwrap();
        assert_eq!(w.summary.cost_usd, usd("0.09"));
        let cells = b.rollups.values().next().unwrap();
        let inv = cells
            .iter()
            .find(|(k, _)| k.meter == "invocations")
            .unwrap();
        assert_eq!(inv.1.quantity, 2);
        assert_eq!(stored(&w, "InputTokenCount"), Some(1_500_000));

        // Cross-check stores the level, adds no cost and no rollup.
        w.item(&readings(false, 2_000_000, 20));
        let b = w.commit().unwrap().unwrap();
        assert!(b.rollups.is_empty());
        assert_eq!(w.summary.cost_usd, usd("0.09"));
        assert_eq!(stored(&w, "InputTokenCount"), Some(2_000_000));
    }
}
