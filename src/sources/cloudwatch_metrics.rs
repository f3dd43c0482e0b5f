//! The CloudWatch metrics source: polls Bedrock's runtime metrics (namespace `AWS/Bedrock`,
//! dimension `ModelId`) per minute, to cross-check the invocation logs (`cross_check`) or,
//! where logging is off, to price usage from the metrics alone (`primary`).
//!
//! Each poll discovers the metric names present with `ListMetrics` (the cache-token metrics
//! have two spellings; both are accepted, one per model), then reads `Sum` per period with
//! `GetMetricData` (at most 500 queries per call, paged) in slices of at most a day, from
//! the checkpoint less `overlap` up to now less `delay` (whole minutes). CloudWatch keeps
//! 1-minute data for 15 days, 5-minute data for 63 and hourly data longer, so older slices
//! are read at 300 s or 3600 s. Each slice is one chunk: its samples (levels, which replace
//! stored values of the same minute, so a minute that grew with late data is corrected, not
//! added) and the checkpoint (source `cloudwatch_metrics`, key `<region>` or
//! `<account>/<region>`, position = the end of the slice in unix seconds), committed in one
//! transaction by the writer.
//!
//! Owns: the polling window, the choice of metrics and periods, and the checkpoint. Must
//! not: call the AWS SDK directly (that is [`super::aws::cloudwatch`]), price, or write
//! SQLite.
use super::aws::cloudwatch::{MetricDataRequest, MetricsApi, MetricsClient, ModelMetric};
use super::aws::{AwsSettings, StartFrom};
use super::{SourceContext, SourceError};
use crate::accounting::{Checkpoint, MetricKind};
use crate::pipeline::{Item, MetricReadings, MetricSample, SourceChunk};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The checkpoint source kind.
pub const CLOUDWATCH_METRICS_SOURCE: &str = "cloudwatch_metrics";

/// The longest time slice read before the checkpoint moves.
const SLICE_SECS: i64 = 86_400;
/// Queries per `GetMetricData` call (the API's limit).
const MAX_QUERIES: usize = 500;
/// CloudWatch keeps 1-minute data this long, then 5-minute data until [`HOURLY_AFTER`].
const FIVE_MINUTE_AFTER: i64 = 15 * 86_400;
/// After this age only hourly data is left.
const HOURLY_AFTER: i64 = 63 * 86_400;

/// What the source does with the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Export them beside the log totals, with a coverage ratio; never adds cost.
    CrossCheck,
    /// Price usage from them (no principal attribution): for regions without logs.
    Primary,
}

/// Settings of a CloudWatch metrics source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudWatchMetricsSpec {
    /// Source name (metrics label).
    pub name: String,
    /// Region, credentials and endpoint.
    pub aws: AwsSettings,
    /// Cross-check or primary.
    pub mode: Mode,
    /// The account the metrics belong to (`""`: the assumed role's account, else unknown).
    pub account: String,
    /// Time between polls.
    pub poll_interval: Duration,
    /// How far behind now the read window ends (CloudWatch minutes fill in late).
    pub delay: Duration,
    /// How far before the checkpoint each poll reads again (minutes that grew late).
    pub overlap: Duration,
    /// Where to start without a checkpoint.
    pub start_from: StartFrom,
}

impl CloudWatchMetricsSpec {
    /// The checkpoint key: `<region>`, or `<account>/<region>` when the account is known.
    pub fn checkpoint_key(&self) -> String {
        match self.account_id() {
            "" => self.aws.region.clone(),
            a => format!("{a}/{}", self.aws.region),
        }
    }

    /// The account: configured, else the assumed role's, else `""`.
    pub fn account_id(&self) -> &str {
        if !self.account.is_empty() {
            return &self.account;
        }
        self.aws.role_account().unwrap_or_default()
    }
}

/// Polls until stopped.
pub fn run(spec: &CloudWatchMetricsSpec, cx: &SourceContext) -> Result<(), SourceError> {
    let client = MetricsClient::new(&spec.aws)?;
    let mut poller = Poller::new(&client, spec, cx)?;
    super::poll_until_stopped(cx, spec.poll_interval, || poller.poll(cx))
}

/// The period CloudWatch still has for data that starts at `start`, seen at `now`.
fn period_for(start: i64, now: i64) -> i64 {
    match now - start {
        age if age > HOURLY_AFTER => 3600,
        age if age > FIVE_MINUTE_AFTER => 300,
        _ => 60,
    }
}

/// The metrics worth reading: known names with a `ModelId` dimension only, one spelling of
/// each cache metric per model (the `…Count` one when both exist).
pub fn wanted(found: impl IntoIterator<Item = ModelMetric>) -> Vec<ModelMetric> {
    let mut all: BTreeSet<ModelMetric> = found
        .into_iter()
        .filter(|m| MetricKind::of(&m.metric).is_some())
        .collect();
    let dupes: Vec<ModelMetric> = all
        .iter()
        .filter(|m| m.metric.ends_with("InputTokens"))
        .filter(|m| {
            all.contains(&ModelMetric {
                metric: format!("{}Count", m.metric.trim_end_matches('s')),
                model_id: m.model_id.clone(),
            })
        })
        .cloned()
        .collect();
    for d in dupes {
        all.remove(&d);
    }
    all.into_iter().collect()
}

struct Poller<'a, A> {
    api: &'a A,
    spec: &'a CloudWatchMetricsSpec,
    key: String,
    /// Every complete period before this time (unix seconds) has been read.
    position: Option<i64>,
}

impl<'a, A: MetricsApi> Poller<'a, A> {
    fn new(
        api: &'a A,
        spec: &'a CloudWatchMetricsSpec,
        cx: &SourceContext,
    ) -> Result<Self, SourceError> {
        let key = spec.checkpoint_key();
        let position = cx.position(CLOUDWATCH_METRICS_SOURCE, &key)?;
        if let Some(p) = position {
            tracing::info!(source = %spec.name, key = %key, position_secs = p, "Resuming from the checkpoint.");
        }
        Ok(Poller {
            api,
            spec,
            key,
            position,
        })
    }

    fn list(&self, cx: &SourceContext) -> Result<Vec<ModelMetric>, SourceError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            cx.api_call("ListMetrics");
            let page = self.api.list_page(token.as_deref())?;
            found.extend(page.metrics);
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(wanted(found))
    }

    fn poll(&mut self, cx: &SourceContext) -> Result<(), SourceError> {
        let now = cx.now();
        let now_s = now.timestamp();
        let delay = i64::try_from(self.spec.delay.as_secs()).unwrap_or(i64::MAX);
        let overlap = i64::try_from(self.spec.overlap.as_secs()).unwrap_or(i64::MAX);
        let end = (now_s - delay).div_euclid(60) * 60;
        let floor = self.spec.start_from.resolve(now).timestamp().div_euclid(60) * 60;
        let mut from = match self.position {
            Some(p) => p.saturating_sub(overlap).max(floor),
            None => floor,
        };
        if from >= end {
            cx.success(self.position);
            return Ok(());
        }
        let metrics = self.list(cx)?;
        let account = self.spec.account_id().to_string();
        while from < end && !cx.stopped() {
            let period = period_for(from, now_s);
            let start = from.div_euclid(period) * period;
            let to = (start + SLICE_SECS).min(end);
            // A coarse period must cover whole periods: stop at the last whole one.
            let to = if period > 60 {
                (to.div_euclid(period) * period).max(start + period)
            } else {
                to
            };
            let mut samples = Vec::new();
            for batch in metrics.chunks(MAX_QUERIES) {
                let mut q = MetricDataRequest {
                    metrics: batch.to_vec(),
                    start: DateTime::<Utc>::from_timestamp(start, 0).unwrap_or_default(),
                    end: DateTime::<Utc>::from_timestamp(to, 0).unwrap_or_default(),
                    period_secs: i32::try_from(period).unwrap_or(60),
                    next_token: None,
                };
                loop {
                    cx.api_call("GetMetricData");
                    let page = self.api.data_page(&q)?;
                    // Sums of counts are whole numbers; a negative or non-finite sum is not data.
                    let mut sums: BTreeMap<(usize, i64), u64> = BTreeMap::new();
                    for (i, t, v) in page.points {
                        if !v.is_finite() || v < 0.0 {
                            continue;
                        }
                        let minute = t.timestamp().div_euclid(period) * period;
                        *sums.entry((i, minute)).or_default() += v.round() as u64;
                    }
                    for ((i, minute), v) in sums {
                        let m = &batch[i];
                        samples.push((m.model_id.clone(), m.metric.clone(), minute, v));
                    }
                    match page.next_token {
                        Some(t) => q.next_token = Some(t),
                        None => break,
                    }
                }
            }
            let moved = self.position.is_none_or(|p| to > p);
            let checkpoint = moved.then(|| Checkpoint {
                source: CLOUDWATCH_METRICS_SOURCE.to_string(),
                key: self.key.clone(),
                position: to.max(0) as u64,
                complete: false,
                fingerprint: String::new(),
            });
            let items = if samples.is_empty() {
                Vec::new()
            } else {
                vec![Item::Metrics(Box::new(MetricReadings {
                    account: account.clone(),
                    region: self.spec.aws.region.clone(),
                    primary: self.spec.mode == Mode::Primary,
                    period,
                    samples,
                }))]
            };
            if !items.is_empty() || checkpoint.is_some() {
                cx.send(SourceChunk {
                    items,
                    checkpoint,
                    counters: Vec::new(),
                })?;
            }
            if moved {
                self.position = Some(to);
            }
            from = to;
            cx.success(Some(to));
        }
        Ok(())
    }
}

/// The demo's CloudWatch metrics stream: per-minute sums of the synthetic records, as
/// CloudWatch would report them, but counting a few more invocations than the logs hold
/// (one in twenty, plus one a minute, that "the logs missed"), so that
/// `bedrock_logs_coverage_ratio` sits a little below 1. Cross-check only: adds no cost.
#[derive(Debug, Default)]
pub struct DemoMetrics {
    /// (account, region, model id, minute) → invocations, input, output, cache read, cache
    /// write, images.
    minutes: BTreeMap<(String, String, String, i64), [u64; 6]>,
    /// Minutes changed since the last flush.
    dirty: BTreeSet<(String, String, String, i64)>,
}

/// Metric names in the order of [`DemoMetrics`]'s counts.
const DEMO_METRICS: [&str; 6] = [
    "Invocations",
    "InputTokenCount",
    "OutputTokenCount",
    "CacheReadInputTokenCount",
    "CacheWriteInputTokenCount",
    "OutputImageCount",
];

impl DemoMetrics {
    /// Adds the usage events among `items`.
    pub fn observe(&mut self, items: &[Item]) {
        for item in items {
            let Item::Event(ev) = item else {
                continue;
            };
            let minute = ev.timestamp.timestamp().div_euclid(60) * 60;
            let key = (
                ev.account.clone(),
                ev.region.clone(),
                ev.model.label().to_string(),
                minute,
            );
            self.dirty.insert(key.clone());
            let c = self.minutes.entry(key).or_default();
            let t = &ev.tokens;
            let add = [
                1,
                t.input,
                t.output,
                t.cache_read,
                t.cache_write_5m + t.cache_write_1h,
                ev.images.map_or(0, |i| u64::from(i.count)),
            ];
            for (c, a) in c.iter_mut().zip(add) {
                *c = c.saturating_add(a);
            }
        }
    }

    /// The minutes that changed since the last flush (the one in progress too, as
    /// CloudWatch shows a minute that is still filling in) as metric readings with a
    /// checkpoint at `now`, one chunk per account and region. Called after each chunk of
    /// records is sent, so the metrics keep step with the logs; a later flush of the same
    /// minute replaces its values, and closed minutes are then forgotten.
    pub fn flush(&mut self, now: DateTime<Utc>) -> Vec<SourceChunk> {
        let now_s = now.timestamp();
        let current = now_s.div_euclid(60) * 60;
        let mut by_region: BTreeMap<(String, String), Vec<MetricSample>> = BTreeMap::new();
        for key in std::mem::take(&mut self.dirty) {
            let Some(counts) = self.minutes.get(&key).copied() else {
                continue;
            };
            let (account, region, model, minute) = key;
            let samples = by_region.entry((account, region)).or_default();
            for (i, (name, mut v)) in DEMO_METRICS.iter().zip(counts).enumerate() {
                if i == 0 {
                    v += v / 20 + 1;
                }
                if v > 0 {
                    samples.push((model.clone(), name.to_string(), minute, v));
                }
            }
        }
        self.minutes.retain(|k, _| k.3 >= current);
        by_region
            .into_iter()
            .map(|((account, region), samples)| SourceChunk {
                checkpoint: Some(Checkpoint {
                    source: CLOUDWATCH_METRICS_SOURCE.to_string(),
                    key: format!("{account}/{region}"),
                    position: now_s.max(0) as u64,
                    complete: false,
                    fingerprint: String::new(),
                }),
                items: vec![Item::Metrics(Box::new(MetricReadings {
                    account,
                    region,
                    primary: false,
                    period: 60,
                    samples,
                }))],
                counters: Vec::new(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::sources::NoHealth;
    use crate::sources::aws::AwsError;
    use crate::sources::aws::cloudwatch::{MetricDataPage, MetricsPage};
    use chrono::TimeZone;
    use std::cell::RefCell;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    /// Points per (metric index in `metrics`, minute), served one metric per page.
    struct Fake {
        metrics: Vec<ModelMetric>,
        points: RefCell<BTreeMap<(ModelMetric, i64), f64>>,
        calls: RefCell<Vec<MetricDataRequest>>,
        throttle_next: RefCell<bool>,
    }

    impl MetricsApi for Fake {
        fn list_page(&self, token: Option<&str>) -> Result<MetricsPage, AwsError> {
            let at: usize = token.map_or(0, |t| t.parse().unwrap());
            let end = (at + 2).min(self.metrics.len());
            Ok(MetricsPage {
                metrics: self.metrics[at..end].to_vec(),
                next_token: (end < self.metrics.len()).then(|| end.to_string()),
            })
        }
        fn data_page(&self, q: &MetricDataRequest) -> Result<MetricDataPage, AwsError> {
            if self.throttle_next.replace(false) {
                return Err(AwsError::Throttled {
                    api: "GetMetricData",
                    detail: "slow down".into(),
                });
            }
            self.calls.borrow_mut().push(q.clone());
            let i: usize = q.next_token.as_deref().map_or(0, |t| t.parse().unwrap());
            let m = &q.metrics[i];
            let points = self
                .points
                .borrow()
                .iter()
                .filter(|((pm, t), _)| {
                    pm == m && *t >= q.start.timestamp() && *t < q.end.timestamp()
                })
                .map(|((_, t), v)| (i, DateTime::from_timestamp(*t, 0).unwrap(), *v))
                .collect();
            Ok(MetricDataPage {
                points,
                next_token: (i + 1 < q.metrics.len()).then(|| (i + 1).to_string()),
            })
        }
    }

    fn mm(metric: &str, model: &str) -> ModelMetric {
        ModelMetric {
            metric: metric.into(),
            model_id: model.into(),
        }
    }

    fn spec() -> CloudWatchMetricsSpec {
        CloudWatchMetricsSpec {
            name: "cwm".into(),
            aws: AwsSettings {
                region: "us-east-1".into(),
                assume_role_arn: None,
                external_id: None,
                endpoint_url: None,
            },
            mode: Mode::CrossCheck,
            account: "123456789012".into(),
            poll_interval: Duration::from_secs(60),
            delay: Duration::from_secs(300),
            overlap: Duration::from_secs(3600),
            start_from: StartFrom::At(Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap()),
        }
    }

    fn cx_at(t: DateTime<Utc>) -> (SourceContext, std::sync::mpsc::Receiver<SourceChunk>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(10_000);
        let cx = SourceContext::new(
            "cwm",
            tx,
            Arc::new(AtomicBool::new(false)),
            Arc::new(NoHealth),
            Arc::new(FixedClock(t)),
            None,
        );
        (cx, rx)
    }

    type Readings = (Vec<MetricSample>, Vec<u64>);

    fn readings(rx: &std::sync::mpsc::Receiver<SourceChunk>) -> Readings {
        let mut samples = Vec::new();
        let mut cps = Vec::new();
        while let Ok(c) = rx.try_recv() {
            for i in c.items {
                if let Item::Metrics(m) = i {
                    samples.extend(m.samples);
                }
            }
            if let Some(cp) = c.checkpoint {
                cps.push(cp.position);
            }
        }
        (samples, cps)
    }

    #[test]
    fn only_known_metrics_and_one_cache_spelling_per_model_are_read() {
        let got = wanted(vec![
            mm("Invocations", "a"),
            mm("InvocationLatency", "a"),
            mm("CacheReadInputTokens", "a"),
            mm("CacheReadInputTokenCount", "a"),
            mm("CacheWriteInputTokens", "b"),
        ]);
        assert_eq!(
            got,
            vec![
                mm("CacheReadInputTokenCount", "a"),
                mm("CacheWriteInputTokens", "b"),
                mm("Invocations", "a"),
            ]
        );
    }

    #[test]
    fn the_demo_stream_counts_a_little_more_than_the_logs_and_replaces_growing_minutes() {
        let mut synth = crate::synth::Synth::new(7, crate::synth::SynthConfig::default());
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 10).unwrap();
        let records = |n: usize, t: DateTime<Utc>, synth: &mut crate::synth::Synth| {
            let mut buf = Vec::new();
            for _ in 0..n {
                synth.record(t, &mut buf);
            }
            buf.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(Item::parse)
                .collect::<Vec<_>>()
        };
        let mut demo = DemoMetrics::default();
        let first = records(40, t0, &mut synth);
        let logged = first.iter().filter(|i| matches!(i, Item::Event(_))).count() as u64;
        demo.observe(&first);
        let invocations = |chunks: &[SourceChunk]| -> u64 {
            chunks
                .iter()
                .flat_map(|c| &c.items)
                .filter_map(|i| match i {
                    Item::Metrics(m) => Some(m.samples.clone()),
                    _ => None,
                })
                .flatten()
                .filter(|s| s.1 == "Invocations")
                .map(|s| s.3)
                .sum()
        };
        let chunks = demo.flush(t0);
        assert!(chunks.iter().all(|c| c.checkpoint.is_some()));
        let counted = invocations(&chunks);
        assert!(counted > logged && counted <= logged + logged / 20 + chunks.len() as u64 * 8);
        // Nothing new: nothing to send.
        assert!(demo.flush(t0).is_empty());
        // More traffic in the same minute: the minute is sent again with its new level.
        demo.observe(&records(40, t0, &mut synth));
        assert!(invocations(&demo.flush(t0)) > counted);
        // The next minute forgets the closed one.
        demo.observe(&records(1, t0 + chrono::Duration::minutes(1), &mut synth));
        demo.flush(t0 + chrono::Duration::minutes(1));
        assert!(demo.minutes.keys().all(|k| k.3 >= t0.timestamp() + 50));
    }

    #[test]
    fn periods_follow_cloudwatch_retention() {
        let now = 100 * 86_400;
        assert_eq!(period_for(now - 14 * 86_400, now), 60);
        assert_eq!(period_for(now - 16 * 86_400, now), 300);
        assert_eq!(period_for(now - 64 * 86_400, now), 3600);
    }

    #[test]
    fn polls_read_whole_minutes_up_to_the_delay_and_reread_the_overlap() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
            .unwrap()
            .timestamp();
        let metrics: Vec<ModelMetric> = (0..3)
            .map(|i| mm("Invocations", &format!("m{i}")))
            .chain([mm("InputTokenCount", "m0")])
            .collect();
        let fake = Fake {
            metrics: metrics.clone(),
            points: RefCell::new(BTreeMap::new()),
            calls: RefCell::new(Vec::new()),
            throttle_next: RefCell::new(false),
        };
        fake.points
            .borrow_mut()
            .insert((mm("Invocations", "m0"), t0 + 60), 3.0);
        fake.points
            .borrow_mut()
            .insert((mm("InputTokenCount", "m0"), t0 + 60), 120.0);
        fake.points
            .borrow_mut()
            .insert((mm("Invocations", "m1"), t0 + 1800), 1.0);
        // Not yet past the delay: not read in this poll.
        fake.points
            .borrow_mut()
            .insert((mm("Invocations", "m2"), t0 + 3300), 9.0);
        let spec = spec();
        let now = DateTime::from_timestamp(t0 + 3600 + 30, 0).unwrap();
        let (cx, rx) = cx_at(now);
        let mut p = Poller::new(&fake, &spec, &cx).unwrap();
        p.poll(&cx).unwrap();
        let (samples, cps) = readings(&rx);
        let end = t0 + 3600 - 300;
        assert_eq!(cps, vec![end as u64]);
        assert_eq!(
            samples,
            vec![
                ("m0".into(), "InputTokenCount".into(), t0 + 60, 120),
                ("m0".into(), "Invocations".into(), t0 + 60, 3),
                ("m1".into(), "Invocations".into(), t0 + 1800, 1),
            ]
        );
        assert!(fake.calls.borrow().iter().all(|q| q.period_secs == 60));

        // The minute at +60 grew late; the next poll (within the overlap) reads the new level.
        fake.points
            .borrow_mut()
            .insert((mm("Invocations", "m0"), t0 + 60), 5.0);
        let (cx, rx) = cx_at(DateTime::from_timestamp(t0 + 3600 + 90, 0).unwrap());
        *fake.throttle_next.borrow_mut() = true;
        assert!(matches!(
            p.poll(&cx),
            Err(SourceError::Aws(AwsError::Throttled { .. }))
        ));
        p.poll(&cx).unwrap();
        let (samples, cps) = readings(&rx);
        assert_eq!(cps, vec![(end + 60) as u64]);
        assert!(samples.contains(&("m0".into(), "Invocations".into(), t0 + 60, 5)));
        assert!(samples.contains(&("m2".into(), "Invocations".into(), t0 + 3300, 9)));
    }

    #[test]
    fn old_data_is_read_at_the_period_cloudwatch_still_keeps() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let fake = Fake {
            metrics: vec![mm("Invocations", "m0")],
            points: RefCell::new(BTreeMap::new()),
            calls: RefCell::new(Vec::new()),
            throttle_next: RefCell::new(false),
        };
        let spec = CloudWatchMetricsSpec {
            start_from: StartFrom::At(now - chrono::Duration::days(20)),
            ..spec()
        };
        let (cx, rx) = cx_at(now);
        Poller::new(&fake, &spec, &cx).unwrap().poll(&cx).unwrap();
        let calls = fake.calls.borrow();
        assert_eq!(calls.first().unwrap().period_secs, 300);
        assert_eq!(calls.last().unwrap().period_secs, 60);
        // Slices are contiguous: nothing skipped between them.
        for w in calls.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        let (_, cps) = readings(&rx);
        assert_eq!(*cps.last().unwrap() as i64, now.timestamp() - 300);
    }
}
