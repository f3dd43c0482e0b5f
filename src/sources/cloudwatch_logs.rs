//! The CloudWatch Logs source: tails the log group Bedrock delivers invocation logs to,
//! with `FilterLogEvents`, from a committed checkpoint.
//!
//! The checkpoint (source `cloudwatch_logs`, key `<region>/<log group>`, prefixed with the
//! assumed role's account when there is one) holds the time in ms below which every event
//! has been read. It is committed in the same transaction as the records before it (the
//! writer commits a chunk's checkpoint with its items). Time is read in slices of at most
//! an hour, each paged to its end before the checkpoint moves, so a restart re-reads at
//! most one slice. Every poll re-reads the last `overlap` before the checkpoint for events
//! that arrived late; events this process already sent are skipped by their event id, and
//! after a restart the writer's request-id dedup window drops the re-read ones, so nothing
//! is counted twice. Events later than `overlap` are not seen.
//!
//! Owns: the polling loop, the time slices and the checkpoint. Must not: call the AWS SDK
//! directly (that is [`super::aws`]), or log message contents.
use super::aws::{self, AwsSettings, FilterQuery, LogEventsApi, StartFrom};
use super::{SourceContext, SourceError};
use crate::accounting::Checkpoint;
use crate::pipeline::{Item, SourceChunk};
use std::collections::HashMap;
use std::time::Duration;

/// The checkpoint source kind.
pub const CLOUDWATCH_SOURCE: &str = "cloudwatch_logs";

/// The longest time slice read before the checkpoint moves.
const SLICE_MS: i64 = 3_600_000;

/// Settings of a CloudWatch Logs source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudWatchLogsSpec {
    /// Source name (metrics label).
    pub name: String,
    /// Region, credentials and endpoint.
    pub aws: AwsSettings,
    /// The log group.
    pub log_group: String,
    /// One log stream (Bedrock writes `aws/bedrock/modelinvocations`), or every stream.
    pub log_stream: Option<String>,
    /// Time between polls.
    pub poll_interval: Duration,
    /// How far before the checkpoint each poll reads again, for late events.
    pub overlap: Duration,
    /// Where to start without a checkpoint.
    pub start_from: StartFrom,
}

impl CloudWatchLogsSpec {
    /// The checkpoint key: `<region>/<log group>`, or `<account>/<region>/<log group>` when
    /// a role in another account is assumed.
    pub fn checkpoint_key(&self) -> String {
        match self.aws.role_account() {
            Some(account) => format!("{account}/{}/{}", self.aws.region, self.log_group),
            None => format!("{}/{}", self.aws.region, self.log_group),
        }
    }
}

/// Tails the log group until stopped.
pub fn run(spec: &CloudWatchLogsSpec, cx: &SourceContext) -> Result<(), SourceError> {
    let client = aws::LogsClient::new(&spec.aws)?;
    let mut tail = Tail::new(&client, spec, cx)?;
    // A throttled poll keeps its progress: the slice is re-read, its sent events skipped.
    super::poll_until_stopped(cx, spec.poll_interval, || tail.poll(cx))
}

/// The tailing state of one source in this process.
struct Tail<'a, A> {
    api: &'a A,
    spec: &'a CloudWatchLogsSpec,
    key: String,
    /// Every event before this time (ms) has been handed to the writer.
    position: Option<i64>,
    /// Events sent by this process that a later poll may read again: event id → time (ms).
    sent: HashMap<String, i64>,
}

impl<'a, A: LogEventsApi> Tail<'a, A> {
    fn new(
        api: &'a A,
        spec: &'a CloudWatchLogsSpec,
        cx: &SourceContext,
    ) -> Result<Self, SourceError> {
        let key = spec.checkpoint_key();
        let position = cx.position(CLOUDWATCH_SOURCE, &key)?;
        if let Some(p) = position {
            tracing::info!(source = %spec.name, key = %key, position_ms = p, "Resuming from the checkpoint.");
        }
        Ok(Tail {
            api,
            spec,
            key,
            position,
            sent: HashMap::new(),
        })
    }

    /// Reads from the checkpoint (less the overlap) up to now, slice by slice.
    fn poll(&mut self, cx: &SourceContext) -> Result<(), SourceError> {
        let now = cx.now();
        let now_ms = now.timestamp_millis();
        let floor = self.spec.start_from.resolve(now).timestamp_millis();
        let overlap_ms = i64::try_from(self.spec.overlap.as_millis()).unwrap_or(i64::MAX);
        let mut from = match self.position {
            Some(p) => p.saturating_sub(overlap_ms).max(floor),
            None => floor,
        };
        let (mut calls, mut read, mut skipped) = (0u64, 0u64, 0u64);
        while from < now_ms && !cx.stopped() {
            let to = from.saturating_add(SLICE_MS).min(now_ms);
            let mut q = FilterQuery {
                log_group: self.spec.log_group.clone(),
                log_stream: self.spec.log_stream.clone(),
                start_ms: from,
                end_ms: to - 1,
                next_token: None,
            };
            loop {
                cx.api_call("FilterLogEvents");
                calls += 1;
                let page = self.api.filter_page(&q)?;
                let mut items = Vec::with_capacity(page.events.len());
                for ev in page.events {
                    if self.sent.contains_key(&ev.event_id) {
                        skipped += 1;
                        continue;
                    }
                    items.push(Item::parse(ev.message.as_bytes()));
                    self.sent.insert(ev.event_id, ev.timestamp_ms);
                }
                read += items.len() as u64;
                let last = page.next_token.is_none();
                // The position moves only once the whole slice is read: pages are not in
                // time order across streams.
                let moved = self.position.is_none_or(|p| to > p);
                let checkpoint = (last && moved).then(|| Checkpoint {
                    source: CLOUDWATCH_SOURCE.to_string(),
                    key: self.key.clone(),
                    position: to as u64,
                    complete: false,
                    fingerprint: String::new(),
                });
                if !items.is_empty() || checkpoint.is_some() {
                    cx.send(SourceChunk {
                        items,
                        checkpoint,
                        counters: Vec::new(),
                    })?;
                }
                match page.next_token {
                    Some(t) => q.next_token = Some(t),
                    None => break,
                }
            }
            if self.position.is_none_or(|p| to > p) {
                self.position = Some(to);
            }
            from = to;
            // Events before the next poll's window are never read again by this process:
            // forget their ids, so memory holds one overlap's worth, even in a backfill.
            let keep_from = to.saturating_sub(overlap_ms);
            self.sent.retain(|_, t| *t >= keep_from);
            cx.success(Some(to.div_euclid(1000)));
        }
        tracing::debug!(source = %self.spec.name, api_calls = calls, records = read, already_sent = skipped, "Polled.");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::sources::NoHealth;
    use crate::sources::aws::{AwsError, EventsPage, LogEvent};
    use chrono::{TimeZone, Utc};
    use std::cell::RefCell;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    /// Events in a fake log group, served `page` at a time, in event-id order (not time
    /// order, as across streams).
    struct Fake {
        events: RefCell<Vec<LogEvent>>,
        page: usize,
        calls: RefCell<Vec<FilterQuery>>,
    }

    impl LogEventsApi for Fake {
        fn filter_page(&self, q: &FilterQuery) -> Result<EventsPage, AwsError> {
            self.calls.borrow_mut().push(q.clone());
            let all: Vec<LogEvent> = self
                .events
                .borrow()
                .iter()
                .filter(|e| e.timestamp_ms >= q.start_ms && e.timestamp_ms <= q.end_ms)
                .cloned()
                .collect();
            let at: usize = q.next_token.as_deref().map_or(0, |t| t.parse().unwrap());
            let end = (at + self.page).min(all.len());
            Ok(EventsPage {
                events: all[at..end].to_vec(),
                next_token: (end < all.len()).then(|| end.to_string()),
            })
        }
    }

    fn event(id: u32, ms: i64) -> LogEvent {
        LogEvent {
            event_id: format!("e{id:04}"),
            timestamp_ms: ms,
            message: format!("{{\"requestId\":\"r{id}\"}}"),
        }
    }

    fn spec() -> CloudWatchLogsSpec {
        CloudWatchLogsSpec {
            name: "cw".into(),
            aws: AwsSettings {
                region: "us-east-1".into(),
                assume_role_arn: None,
                external_id: None,
                endpoint_url: None,
            },
            log_group: "/aws/bedrock/modelinvocations".into(),
            log_stream: Some("aws/bedrock/modelinvocations".into()),
            poll_interval: Duration::from_secs(30),
            overlap: Duration::from_secs(300),
            start_from: StartFrom::MonthStart,
        }
    }

    fn cx_at(ms: i64) -> (SourceContext, std::sync::mpsc::Receiver<SourceChunk>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(10_000);
        let clock = FixedClock(Utc.timestamp_millis_opt(ms).unwrap());
        let cx = SourceContext::new(
            "cw",
            tx,
            Arc::new(AtomicBool::new(false)),
            Arc::new(NoHealth),
            Arc::new(clock),
            None,
        );
        (cx, rx)
    }

    fn drain(rx: &std::sync::mpsc::Receiver<SourceChunk>) -> (usize, Vec<u64>) {
        let (mut items, mut cps) = (0, Vec::new());
        while let Ok(c) = rx.try_recv() {
            items += c.items.len();
            if let Some(cp) = c.checkpoint {
                assert_eq!(cp.source, "cloudwatch_logs");
                assert_eq!(cp.key, "us-east-1//aws/bedrock/modelinvocations");
                cps.push(cp.position);
            }
        }
        (items, cps)
    }

    #[test]
    fn reads_from_month_start_in_hour_slices_and_never_resends_within_the_overlap() {
        let month = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .unwrap()
            .timestamp_millis();
        let hour = 3_600_000;
        let fake = Fake {
            events: RefCell::new(vec![
                event(1, month - 1), // before start_from: not read
                event(2, month + 10),
                event(3, month + hour + 5),
                event(4, month + hour + 6),
                event(5, month + 2 * hour + 30 * 60_000),
            ]),
            page: 1,
            calls: RefCell::new(Vec::new()),
        };
        let spec = spec();
        let now = month + 2 * hour + 40 * 60_000;
        let (cx, rx) = cx_at(now);
        let mut tail = Tail::new(&fake, &spec, &cx).unwrap();
        tail.poll(&cx).unwrap();
        let (items, cps) = drain(&rx);
        assert_eq!(items, 4);
        assert_eq!(
            cps,
            vec![(month + hour) as u64, (month + 2 * hour) as u64, now as u64]
        );
        let q = fake.calls.borrow();
        assert_eq!(q[0].start_ms, month);
        assert_eq!(q[0].end_ms, month + hour - 1);
        drop(q);

        // A late event inside the overlap and one before it; a second poll sends only
        // the late one inside the window.
        fake.events.borrow_mut().push(event(6, now - 60_000));
        fake.events.borrow_mut().push(event(7, now - 400_000));
        tail.poll(&cx).unwrap();
        let (items, cps) = drain(&rx);
        assert_eq!(items, 1, "only the late event inside the overlap");
        assert!(cps.is_empty(), "the position did not move");
        let last = fake.calls.borrow().last().unwrap().clone();
        assert_eq!(last.start_ms, now - 300_000);
    }

    #[test]
    fn resumes_from_the_checkpoint_less_the_overlap() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("l.db");
        let mut store = crate::store::Store::open(&db).unwrap();
        let month = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .unwrap()
            .timestamp_millis();
        let pos = month + 5 * 3_600_000;
        let mut batch = crate::accounting::Batch::default();
        batch.checkpoints.push(Checkpoint {
            source: CLOUDWATCH_SOURCE.into(),
            key: spec().checkpoint_key(),
            position: pos as u64,
            complete: false,
            fingerprint: String::new(),
        });
        store.commit(&batch).unwrap();
        drop(store);
        let fake = Fake {
            events: RefCell::new(vec![event(1, pos - 1000), event(2, pos + 1000)]),
            page: 10,
            calls: RefCell::new(Vec::new()),
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(100);
        let cx = SourceContext::new(
            "cw",
            tx,
            Arc::new(AtomicBool::new(false)),
            Arc::new(NoHealth),
            Arc::new(FixedClock(Utc.timestamp_millis_opt(pos + 60_000).unwrap())),
            Some(db),
        );
        let spec = spec();
        let mut tail = Tail::new(&fake, &spec, &cx).unwrap();
        tail.poll(&cx).unwrap();
        assert_eq!(fake.calls.borrow()[0].start_ms, pos - 300_000);
        let (items, cps) = drain(&rx);
        assert_eq!(
            items, 2,
            "the overlap is re-read; the writer's dedup drops repeats"
        );
        assert_eq!(cps, vec![(pos + 60_000) as u64]);
    }

    #[test]
    fn the_checkpoint_key_names_the_role_account() {
        let mut s = spec();
        s.aws.assume_role_arn = Some("arn:aws:iam::210987654321:role/Read".into());
        assert_eq!(
            s.checkpoint_key(),
            "210987654321/us-east-1//aws/bedrock/modelinvocations"
        );
    }
}
