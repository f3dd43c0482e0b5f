//! The `ingest` command's run: local files and `s3://` log buckets → normalize →
//! [`Writer`] → store, with a progress bar and a summary.
//!
//! Every record read ends up counted exactly once as ingested, duplicate or rejected (by
//! reason). Work is committed in batches; each commit carries the checkpoint of the file
//! or object position it covers (source `file`, or `s3` with the key and ETag the daemon's
//! S3 source uses), so a run killed at any point resumes where its last commit ended and
//! never counts a record twice. Objects are listed and read through
//! [`crate::sources::s3`] and [`crate::sources::aws`]; this module must not use the AWS SDK
//! itself, nor log record contents.
use crate::accounting::{Checkpoint, Ledger};
use crate::pipeline::Writer;
use crate::sources::aws::{AwsError, AwsSettings, ObjectStoreApi, S3Client};
use crate::sources::files::{self, FileSink};
use crate::sources::s3::{self, S3_SOURCE, S3Url};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Read;
use std::path::PathBuf;

pub use crate::pipeline::IngestSummary;

/// The checkpoint source name of local files.
pub const FILE_SOURCE: &str = "file";

/// Records per commit of `ingest` unless `--commit-records` says otherwise.
pub const DEFAULT_COMMIT_RECORDS: usize = 25_000;

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
            // The distinct rollup cells of a batch grow far slower than its records, so bigger
            // batches mean fewer upserts per record: from 1,000 to 10,000, +12 % at 18 KB and
            // +30 % at 3 KB records; from 10,000 to 25,000, +7 % at 3 KB (bench), and no
            // gain beyond. A crash re-reads at most this many records (a fraction of a
            // second of work); `ingest --commit-records` sets it.
            batch_records: DEFAULT_COMMIT_RECORDS,
            dedup_window_hours: crate::accounting::DEFAULT_WINDOW_HOURS,
            progress: false,
        }
    }
}

/// Ingest failure that stops the run (bad input never does: it is counted).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The store failed; what was committed before stays committed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Listing or reading an S3 bucket failed; what was committed before stays committed.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// An S3 log bucket to backfill from.
#[derive(Debug, Clone)]
pub struct S3Input {
    /// The bucket and prefix.
    pub url: S3Url,
    /// Region, credentials and endpoint.
    pub aws: AwsSettings,
    /// Only hours that end after this.
    pub from: Option<DateTime<Utc>>,
    /// Only hours that start before this.
    pub to: Option<DateTime<Utc>>,
}

/// One ingest run over local paths.
pub struct Ingest<'a> {
    writer: Writer<'a>,
    opts: IngestOptions,
}

/// Feeds one file's or object's records into the writer and commits at checkpoints.
struct ToWriter<'w, 'a> {
    writer: &'w mut Writer<'a>,
    source: &'static str,
    key: &'w str,
    fingerprint: &'w str,
    batch_records: u64,
}

/// Counts the bytes read through it (for the progress bar).
struct Counting<'p, R> {
    inner: R,
    read: u64,
    progress: &'p dyn Fn(u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.progress)(self.read);
        Ok(n)
    }
}

impl FileSink for ToWriter<'_, '_> {
    type Error = StoreError;

    fn record(&mut self, bytes: &[u8]) {
        self.writer.record(bytes);
    }

    fn garbage(&mut self) {
        self.writer
            .reject(crate::normalize::RejectReason::MalformedJson);
    }

    fn reached(&mut self, position: u64, complete: bool) -> Result<(), StoreError> {
        self.writer.checkpoint(Checkpoint {
            source: self.source.to_string(),
            key: self.key.to_string(),
            position,
            complete,
            fingerprint: self.fingerprint.to_string(),
        });
        if complete || self.writer.pending_records() >= self.batch_records {
            self.writer.commit()?;
        }
        Ok(())
    }
}

impl<'a> Ingest<'a> {
    /// Prepares a run over an open store.
    pub fn new(
        store: Store,
        ledger: Ledger<'a>,
        opts: IngestOptions,
    ) -> Result<Ingest<'a>, IngestError> {
        let writer = Writer::new(store, ledger, opts.dedup_window_hours)?;
        Ok(Ingest { writer, opts })
    }

    /// Reads every file under `paths`; returns the summary and the store.
    pub fn run(self, paths: &[PathBuf]) -> Result<(IngestSummary, Store), IngestError> {
        self.run_all(paths, &[])
    }

    /// Reads every file under `paths`, then the log objects of each bucket; returns the
    /// summary and the store.
    pub fn run_all(
        mut self,
        paths: &[PathBuf],
        buckets: &[S3Input],
    ) -> Result<(IngestSummary, Store), IngestError> {
        let mut listed = Vec::new();
        for b in buckets {
            let client = S3Client::new(&b.aws)?;
            let found = s3::list_backfill(&client, &b.url, b.from, b.to)?;
            tracing::info!(
                bucket = %b.url.bucket,
                objects = found.objects.len(),
                list_calls = found.list_calls,
                "Listed the bucket."
            );
            for (key, reason) in &found.skipped {
                tracing::debug!(bucket = %b.url.bucket, key = %key, reason, "Skipped object.");
                *self
                    .writer
                    .summary
                    .files_skipped
                    .entry(reason.to_string())
                    .or_default() += 1;
            }
            listed.push((b, client, found.objects));
        }
        let found = files::discover(paths);
        for (p, reason) in &found.skipped {
            tracing::debug!(path = %p.display(), reason = reason.as_str(), "Skipped path.");
            *self
                .writer
                .summary
                .files_skipped
                .entry(reason.as_str().to_string())
                .or_default() += 1;
        }
        for (p, err) in &found.unreadable {
            tracing::warn!(path = %p.display(), error = %err, "Cannot read path.");
            self.writer.count("files_failed:unreadable", 1);
        }
        let total: u64 = found.files.iter().map(|f| f.size).sum::<u64>()
            + listed
                .iter()
                .flat_map(|l| l.2.iter())
                .map(|o| o.size)
                .sum::<u64>();
        let bar = if self.opts.progress {
            let b = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}",
            ) {
                b.set_style(style);
            }
            b
        } else {
            ProgressBar::hidden()
        };
        let mut done = 0u64;
        for f in &found.files {
            let cp = self.writer.store().checkpoint(FILE_SOURCE, &f.key)?;
            let skip = match &cp {
                Some(c) if c.complete && c.fingerprint == f.fingerprint => {
                    self.writer.summary.files_already_ingested += 1;
                    done += f.size;
                    bar.set_position(done);
                    continue;
                }
                Some(c) => c.position,
                None => 0,
            };
            let every = self.opts.batch_records as u64;
            let mut sink = ToWriter {
                writer: &mut self.writer,
                source: FILE_SOURCE,
                key: &f.key,
                fingerprint: &f.fingerprint,
                batch_records: every,
            };
            let progress = |n: u64| bar.set_position(done + n.min(f.size));
            let end = files::read_file(&f.path, skip, every, &mut sink, &progress)?;
            match end.failure() {
                Some(reason) => self.writer.count(&format!("files_failed:{reason}"), 1),
                None => self.writer.count("files_read", 1),
            }
            self.writer.commit()?;
            done += f.size;
            bar.set_position(done);
            bar.set_message(format!("{} records", self.writer.summary.records_total()));
        }
        for (b, client, objects) in &listed {
            for obj in objects {
                let key = b.url.checkpoint_key(&obj.key);
                let cp = self.writer.store().checkpoint(S3_SOURCE, &key)?;
                let skip = match &cp {
                    Some(c) if c.complete && c.fingerprint == obj.etag => {
                        self.writer.summary.files_already_ingested += 1;
                        done += obj.size;
                        bar.set_position(done);
                        continue;
                    }
                    // Changed since (another ETag): read again from the start; the dedup
                    // window drops what was counted before.
                    Some(c) if c.fingerprint == obj.etag => c.position,
                    _ => 0,
                };
                let progress = |n: u64| bar.set_position(done + n.min(obj.size));
                let body = Counting {
                    inner: client.open(&b.url.bucket, &obj.key)?,
                    read: 0,
                    progress: &progress,
                };
                let every = self.opts.batch_records as u64;
                let mut sink = ToWriter {
                    writer: &mut self.writer,
                    source: S3_SOURCE,
                    key: &key,
                    fingerprint: &obj.etag,
                    batch_records: every,
                };
                let end = s3::read_stream(body, skip, every, &mut sink)?;
                match end.failure() {
                    Some(reason) => self.writer.count(&format!("files_failed:{reason}"), 1),
                    None => self.writer.count("files_read", 1),
                }
                self.writer.commit()?;
                done += obj.size;
                bar.set_position(done);
                bar.set_message(format!("{} records", self.writer.summary.records_total()));
            }
        }
        self.writer.commit()?;
        bar.finish_and_clear();
        let summary = self.writer.summary.clone();
        Ok((summary, self.writer.into_store()))
    }
}
