//! Ingest: wires local sources → normalize → accounting → store for a backfill run.
//!
//! Every record read ends up counted exactly once as ingested, duplicate or rejected (by
//! reason). Work is committed in batches; each commit carries the checkpoint of the file
//! position it covers, so a run killed at any point resumes where its last commit ended and
//! never counts a record twice. Must not: parse record fields itself, price, or open SQLite
//! except through [`crate::store::Store`].
use crate::accounting::{Batch, Checkpoint, Dedup, Ledger, hour_of};
use crate::money::Usd;
use crate::normalize::{RejectReason, parse_record};
use crate::sources::files::{self, InputFile};
use crate::sources::framing::{Frame, Framer};
use crate::store::{Store, StoreError};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The checkpoint source name of local files.
pub const FILE_SOURCE: &str = "file";

/// Options of one ingest run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Records per commit.
    pub batch_records: usize,
    /// Dedup window in hours of event time.
    pub dedup_window_hours: i64,
    /// Draw a progress bar (only when stderr is a terminal).
    pub progress: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            batch_records: 1000,
            dedup_window_hours: crate::accounting::DEFAULT_WINDOW_HOURS,
            progress: false,
        }
    }
}

/// What a run did. Serialises to the JSON summary documented in README.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct IngestSummary {
    /// Files read to the end in this run.
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
    /// Exact cost of the records ingested in this run.
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

/// Ingest failure that stops the run (bad input never does: it is counted).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The store failed; what was committed before stays committed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts bytes read from the underlying (compressed) file, for the progress bar.
struct Counting<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// One ingest run over local paths.
pub struct Ingest<'a> {
    store: &'a mut Store,
    ledger: &'a Ledger<'a>,
    opts: IngestOptions,
    dedup: Dedup,
    batch: Batch,
    summary: IngestSummary,
}

impl<'a> Ingest<'a> {
    /// Prepares a run: restores the dedup window from the store.
    pub fn new(
        store: &'a mut Store,
        ledger: &'a Ledger<'a>,
        opts: IngestOptions,
    ) -> Result<Ingest<'a>, IngestError> {
        let mut dedup = Dedup::new(opts.dedup_window_hours);
        dedup.restore(store.load_seen(i64::MIN)?);
        if let Some(cutoff) = dedup.prune() {
            store.prune_seen(cutoff)?;
        }
        Ok(Ingest {
            store,
            ledger,
            opts,
            dedup,
            batch: Batch::default(),
            summary: IngestSummary::default(),
        })
    }

    /// Reads every file under `paths` and returns the summary.
    pub fn run(mut self, paths: &[PathBuf]) -> Result<IngestSummary, IngestError> {
        let found = files::discover(paths);
        for (p, reason) in &found.skipped {
            tracing::debug!(path = %p.display(), reason = reason.as_str(), "Skipped path.");
            *self
                .summary
                .files_skipped
                .entry(reason.as_str().to_string())
                .or_default() += 1;
        }
        for (p, err) in &found.unreadable {
            tracing::warn!(path = %p.display(), error = %err, "Cannot read path.");
            self.fail_file("unreadable");
        }
        let total: u64 = found.files.iter().map(|f| f.size).sum();
        let bar = if self.opts.progress {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        } else {
            ProgressBar::hidden()
        };
        let mut done_bytes = 0u64;
        for f in &found.files {
            self.file(f, &bar, done_bytes)?;
            done_bytes += f.size;
            bar.set_position(done_bytes);
        }
        self.flush()?;
        bar.finish_and_clear();
        Ok(self.summary)
    }

    fn fail_file(&mut self, reason: &str) {
        *self
            .summary
            .files_failed
            .entry(reason.to_string())
            .or_default() += 1;
        self.batch.count(&format!("files_failed:{reason}"), 1);
    }

    fn file(&mut self, f: &InputFile, bar: &ProgressBar, base: u64) -> Result<(), IngestError> {
        let cp = self.store.checkpoint(FILE_SOURCE, &f.key)?;
        let skip = match &cp {
            Some(c) if c.complete && c.fingerprint == f.fingerprint => {
                self.summary.files_already_ingested += 1;
                return Ok(());
            }
            Some(c) => c.position,
            None => 0,
        };
        let counter = Arc::new(AtomicU64::new(0));
        let reader = match files::open(&f.path) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(path = %f.path.display(), error = %e, "Cannot open file.");
                self.fail_file("unreadable");
                return Ok(());
            }
        };
        let mut framer = Framer::new(Counting {
            inner: reader,
            n: counter.clone(),
        });
        let mut position: u64 = 0;
        let mut first = true;
        let mut failure: Option<&'static str> = None;
        loop {
            let frame = match framer.next_frame() {
                Ok(Some(fr)) => fr,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(path = %f.path.display(), error = %e, "File ends early.");
                    failure = Some(
                        if e.kind() == io::ErrorKind::UnexpectedEof
                            || e.to_string().contains("corrupt deflate")
                            || e.to_string().contains("invalid gzip")
                        {
                            "truncated_gzip"
                        } else {
                            "read_error"
                        },
                    );
                    break;
                }
            };
            match frame {
                Frame::Garbage(_) => {
                    position += 1;
                    if position > skip {
                        self.reject(RejectReason::MalformedJson);
                    }
                }
                Frame::Value(bytes) => {
                    if first && let Some(messages) = files::log_events_messages(bytes) {
                        first = false;
                        for m in messages {
                            position += 1;
                            if position > skip {
                                record(
                                    &mut self.batch,
                                    &mut self.dedup,
                                    self.ledger,
                                    &mut self.summary,
                                    m.as_bytes(),
                                );
                            }
                        }
                        continue;
                    }
                    first = false;
                    position += 1;
                    if position > skip {
                        record(
                            &mut self.batch,
                            &mut self.dedup,
                            self.ledger,
                            &mut self.summary,
                            bytes,
                        );
                    }
                }
            }
            if self.batch.records as usize >= self.opts.batch_records {
                self.batch.checkpoints.push(Checkpoint {
                    source: FILE_SOURCE.to_string(),
                    key: f.key.clone(),
                    position,
                    complete: false,
                    fingerprint: f.fingerprint.clone(),
                });
                self.flush()?;
                bar.set_position(base + counter.load(Ordering::Relaxed).min(f.size));
                bar.set_message(format!("{} records", self.summary.records_total()));
            }
        }
        if let Some(reason) = failure {
            self.fail_file(reason);
        } else {
            self.summary.files_read += 1;
            self.batch.count("files_read", 1);
        }
        self.batch.checkpoints.push(Checkpoint {
            source: FILE_SOURCE.to_string(),
            key: f.key.clone(),
            position: position.max(skip),
            complete: failure.is_none(),
            fingerprint: f.fingerprint.clone(),
        });
        self.flush()
    }

    fn reject(&mut self, reason: RejectReason) {
        reject(&mut self.batch, &mut self.summary, reason);
    }

    /// Commits the open batch (rollups, dedup ids, checkpoints and counters together).
    fn flush(&mut self) -> Result<(), IngestError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        for cells in self.batch.rollups.values() {
            for (k, a) in cells {
                match a.cost {
                    Some(c) => self.summary.cost_usd += c,
                    None if k.price_entry.is_empty()
                        && k.meter != "invocations"
                        && !crate::accounting::INFO_METERS.contains(&k.meter) =>
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
        let batch = std::mem::take(&mut self.batch);
        self.store.commit(&batch)?;
        if let Some(cutoff) = self.dedup.prune() {
            self.store.prune_seen(cutoff)?;
        }
        Ok(())
    }
}

fn reject(batch: &mut Batch, summary: &mut IngestSummary, reason: RejectReason) {
    batch.records += 1;
    batch.count(&format!("records_rejected:{}", reason.as_str()), 1);
    *summary
        .records_rejected
        .entry(reason.as_str().to_string())
        .or_default() += 1;
}

/// Normalizes, dedups and books one record.
fn record(
    batch: &mut Batch,
    dedup: &mut Dedup,
    ledger: &Ledger<'_>,
    summary: &mut IngestSummary,
    bytes: &[u8],
) {
    match parse_record(bytes) {
        Err(rej) => {
            tracing::trace!(reason = rej.reason.as_str(), detail = %rej.detail, "Rejected record.");
            reject(batch, summary, rej.reason);
        }
        Ok(ev) => {
            batch.records += 1;
            if dedup.check_and_insert(&ev.request_id, hour_of(ev.timestamp), batch) {
                batch.count("records_duplicate", 1);
                summary.records_duplicate += 1;
            } else {
                ledger.record(&ev, batch);
                batch.count("records_ingested", 1);
                summary.records_ingested += 1;
            }
        }
    }
}
