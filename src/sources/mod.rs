//! Sources: find and read invocation-log records.
//!
//! Owns: discovering inputs (local files and directories in the S3 delivery layout), gzip
//! detection by magic bytes, framing a byte stream into JSON records, unwrapping
//! `aws logs filter-log-events` output, naming each input for checkpoints, and the daemon's
//! source threads (watched directory, stdin, CloudWatch Logs, an S3 log bucket, the demo's
//! synthetic traffic), each feeding the writer through a bounded channel. Only [`aws`]
//! uses the AWS SDK. Must not: price, write SQLite, or log record contents.
//! A source that fails is retried with backoff and reported through [`HealthSink`]; it never
//! takes the process down.
pub mod aws;
pub mod body_fetch;
pub mod cloudwatch_logs;
pub mod cloudwatch_metrics;
pub mod control_plane;
pub mod directory;
pub mod files;
pub mod framing;
pub mod s3;
pub mod stdin;
pub mod synthetic;

use crate::accounting::Checkpoint;
use crate::clock::Clock;
use crate::pipeline::SourceChunk;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

/// Where sources report their health (implemented by the metrics exporter).
pub trait HealthSink: Send + Sync {
    /// The source is running (`true`) or failing/stopped (`false`).
    fn up(&self, source: &str, up: bool);
    /// A poll or read succeeded at `at`; `lag_secs` is how far behind the newest record is.
    fn success(&self, source: &str, at: DateTime<Utc>, lag_secs: Option<f64>);
    /// A failure of a bounded kind (`unreadable`, `truncated_gzip`, `io`, `panic`, …).
    fn error(&self, source: &str, kind: &'static str);
    /// A call to a paid or rate-limited API (`FilterLogEvents`, `ListObjectsV2`,
    /// `GetObject`) was made. The default logs it at debug level.
    fn api_call(&self, source: &str, api: &'static str) {
        tracing::debug!(source, api, "API call.");
    }
}

/// A health sink that drops everything (tests, one-shot runs).
#[derive(Debug, Default)]
pub struct NoHealth;

impl HealthSink for NoHealth {
    fn up(&self, _: &str, _: bool) {}
    fn success(&self, _: &str, _: DateTime<Utc>, _: Option<f64>) {}
    fn error(&self, _: &str, _: &'static str) {}
}

/// Why a source stopped.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The writer is gone (shutting down).
    #[error("the writer has stopped")]
    Closed,
    /// Reading failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    /// Reading checkpoints failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An AWS call failed (credentials, access, a missing log group or bucket, …).
    #[error(transparent)]
    Aws(#[from] aws::AwsError),
}

impl SourceError {
    fn kind(&self) -> &'static str {
        match self {
            SourceError::Closed => "closed",
            SourceError::Io(_) => "io",
            SourceError::Store(_) => "store",
            SourceError::Aws(e) => e.kind(),
        }
    }
}

/// What a running source gets: where to send, when to stop, how to report.
#[derive(Clone)]
pub struct SourceContext {
    name: String,
    tx: SyncSender<SourceChunk>,
    stop: Arc<AtomicBool>,
    health: Arc<dyn HealthSink>,
    clock: Arc<dyn Clock>,
    store_path: Option<PathBuf>,
}

impl SourceContext {
    /// A context for source `name`.
    pub fn new(
        name: &str,
        tx: SyncSender<SourceChunk>,
        stop: Arc<AtomicBool>,
        health: Arc<dyn HealthSink>,
        clock: Arc<dyn Clock>,
        store_path: Option<PathBuf>,
    ) -> SourceContext {
        SourceContext {
            name: name.to_string(),
            tx,
            stop,
            health,
            clock,
            store_path,
        }
    }

    /// The source name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends a chunk to the writer, waiting while the channel is full (backpressure).
    pub fn send(&self, chunk: SourceChunk) -> Result<(), SourceError> {
        self.tx.send(chunk).map_err(|_| SourceError::Closed)
    }

    /// The current time, from the daemon's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// True once shutdown began.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Committed checkpoints of a source kind, read through a read-only connection.
    pub fn checkpoints(&self, source: &str) -> Result<Vec<Checkpoint>, SourceError> {
        match &self.store_path {
            Some(p) => Ok(Store::open_read_only(p)?.checkpoints(source)?),
            None => Ok(Vec::new()),
        }
    }

    /// The committed position of one checkpoint (`None`: none yet), for sources that keep a
    /// single time-like position per key.
    pub fn position(&self, source: &str, key: &str) -> Result<Option<i64>, SourceError> {
        let cp = match &self.store_path {
            Some(p) => Store::open_read_only(p)?.checkpoint(source, key)?,
            None => None,
        };
        Ok(cp.map(|c| i64::try_from(c.position).unwrap_or(i64::MAX)))
    }

    /// Reports success; `newest` is the newest record time seen (unix seconds).
    pub fn success(&self, newest: Option<i64>) {
        let now = self.clock.now();
        let lag = newest.map(|t| (now.timestamp() - t).max(0) as f64);
        self.health.up(&self.name, true);
        self.health.success(&self.name, now, lag);
    }

    /// Reports a failure of a bounded kind.
    pub fn error(&self, kind: &'static str) {
        self.health.error(&self.name, kind);
    }

    /// Reports a call to an AWS API.
    pub fn api_call(&self, api: &'static str) {
        self.health.api_call(&self.name, api);
    }

    /// Sleeps up to `d`, waking early on shutdown.
    pub fn sleep(&self, d: Duration) {
        let step = Duration::from_millis(50);
        let mut left = d;
        while !self.stopped() && !left.is_zero() {
            let s = left.min(step);
            std::thread::sleep(s);
            left -= s;
        }
    }
}

/// Polls until shutdown: `poll` once per `interval`. Throttling (which the SDK has already
/// retried) backs off from 1 s doubling to 2 min, keeping the source up; any other error ends
/// the loop, and [`spawn`] restarts the source with its own backoff.
pub(crate) fn poll_until_stopped(
    cx: &SourceContext,
    interval: Duration,
    mut poll: impl FnMut() -> Result<(), SourceError>,
) -> Result<(), SourceError> {
    let mut backoff = Duration::from_secs(1);
    while !cx.stopped() {
        match poll() {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(SourceError::Aws(e @ aws::AwsError::Throttled { .. })) => {
                tracing::warn!(source = %cx.name, error = %e, retry_secs = backoff.as_secs(), "Throttled; backing off.");
                cx.error(e.kind());
                cx.sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(120));
                continue;
            }
            Err(e) => return Err(e),
        }
        cx.sleep(interval);
    }
    Ok(())
}

/// A source the daemon can run.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// A watched local directory.
    Directory(directory::DirectorySpec),
    /// NDJSON on standard input.
    Stdin {
        /// Source name.
        name: String,
    },
    /// Generated traffic for the demo.
    Synthetic(synthetic::SyntheticSpec),
    /// A CloudWatch Logs log group, tailed with `FilterLogEvents`.
    CloudWatchLogs(cloudwatch_logs::CloudWatchLogsSpec),
    /// An S3 bucket in Bedrock's delivery layout.
    S3(s3::S3Spec),
    /// Bedrock's CloudWatch metrics (`AWS/Bedrock`), polled with `GetMetricData`.
    CloudWatchMetrics(cloudwatch_metrics::CloudWatchMetricsSpec),
}

impl SourceSpec {
    /// The source name.
    pub fn name(&self) -> &str {
        match self {
            SourceSpec::Directory(d) => &d.name,
            SourceSpec::Stdin { name } => name,
            SourceSpec::Synthetic(s) => &s.name,
            SourceSpec::CloudWatchLogs(s) => &s.name,
            SourceSpec::S3(s) => &s.name,
            SourceSpec::CloudWatchMetrics(s) => &s.name,
        }
    }
}

/// Runs a source on its own thread until it ends or shutdown begins, restarting it with
/// exponential backoff (1 s doubling to 5 min) after an error or a panic.
pub fn spawn(spec: SourceSpec, cx: SourceContext) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name(format!("source-{}", spec.name())).spawn(move || {
        let mut backoff = Duration::from_secs(1);
        loop {
            cx.health.up(&cx.name, true);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &spec {
                SourceSpec::Directory(d) => directory::run(d, &cx),
                SourceSpec::Stdin { .. } => stdin::run(std::io::stdin().lock(), &cx),
                SourceSpec::Synthetic(s) => synthetic::run(s, &cx),
                SourceSpec::CloudWatchLogs(s) => cloudwatch_logs::run(s, &cx),
                SourceSpec::S3(s) => s3::run(s, &cx),
                SourceSpec::CloudWatchMetrics(s) => cloudwatch_metrics::run(s, &cx),
            }));
            match result {
                Ok(Ok(())) => {
                    tracing::info!(source = %cx.name, "Source finished.");
                    return;
                }
                Ok(Err(SourceError::Closed)) => return,
                Ok(Err(e)) => {
                    tracing::warn!(source = %cx.name, error = %e, retry_secs = backoff.as_secs(), "Source failed; retrying.");
                    cx.error(e.kind());
                }
                Err(_) => {
                    tracing::error!(source = %cx.name, retry_secs = backoff.as_secs(), "Source panicked; retrying.");
                    cx.error("panic");
                }
            }
            cx.health.up(&cx.name, false);
            cx.sleep(backoff);
            if cx.stopped() {
                return;
            }
            backoff = (backoff * 2).min(Duration::from_secs(300));
        }
    })
}
