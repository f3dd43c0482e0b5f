//! A watched local directory, e.g. a synced copy of the S3 log bucket: polled on an
//! interval; new files, and files that grew, are read from their checkpoint on.
//!
//! It shares checkpoints (source `file`) with the `ingest` command, so a backfill and the
//! daemon never read the same file twice. Positions it has handed to the writer are tracked
//! in memory, so a poll never re-sends what an uncommitted chunk already carries.
use super::files::{self, FileEnd, FileSink};
use super::{SourceContext, SourceError};
use crate::accounting::Checkpoint;
use crate::ingest::FILE_SOURCE;
use crate::pipeline::{Item, SourceChunk};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of a directory source.
#[derive(Debug, Clone)]
pub struct DirectorySpec {
    /// Source name (metrics label).
    pub name: String,
    /// The directory.
    pub path: PathBuf,
    /// Time between polls.
    pub poll_interval: Duration,
}

struct ToChannel<'c> {
    cx: &'c SourceContext,
    key: String,
    fingerprint: String,
    items: Vec<Item>,
    newest: i64,
    last: u64,
}

impl FileSink for ToChannel<'_> {
    type Error = SourceError;

    fn record(&mut self, bytes: &[u8]) {
        let item = Item::parse(bytes);
        if let Item::Event(ev) = &item {
            self.newest = self.newest.max(ev.timestamp.timestamp());
        }
        self.items.push(item);
    }

    fn garbage(&mut self) {
        self.items.push(Item::Rejected(
            crate::normalize::RejectReason::MalformedJson,
        ));
    }

    fn reached(&mut self, position: u64, complete: bool) -> Result<(), SourceError> {
        self.last = position;
        let chunk = SourceChunk {
            items: std::mem::take(&mut self.items),
            checkpoint: Some(Checkpoint {
                source: FILE_SOURCE.to_string(),
                key: self.key.clone(),
                position,
                complete,
                fingerprint: self.fingerprint.clone(),
            }),
            counters: Vec::new(),
        };
        self.cx.send(chunk)
    }
}

/// Polls a directory until stopped.
pub fn run(spec: &DirectorySpec, cx: &SourceContext) -> Result<(), SourceError> {
    // What this process has sent, by checkpoint key: (position, complete, fingerprint).
    let mut sent: HashMap<String, Checkpoint> = HashMap::new();
    // Files this process read to their end or to a read error, with the fingerprint then:
    // not retried until they change (so a cut file is not re-counted as failed every poll).
    let mut tried: HashMap<String, String> = HashMap::new();
    for cp in cx.checkpoints(FILE_SOURCE)? {
        sent.insert(cp.key.clone(), cp);
    }
    while !cx.stopped() {
        let found = files::discover(std::slice::from_ref(&spec.path));
        if let Some((p, e)) = found.unreadable.first() {
            cx.error("unreadable");
            tracing::warn!(source = %spec.name, path = %p.display(), error = %e, "Cannot read path.");
        }
        let mut newest = i64::MIN;
        for f in &found.files {
            if cx.stopped() {
                break;
            }
            if tried.get(&f.key) == Some(&f.fingerprint) {
                continue;
            }
            let skip = match sent.get(&f.key) {
                Some(c) if c.complete && c.fingerprint == f.fingerprint => continue,
                Some(c) => c.position,
                None => 0,
            };
            let mut sink = ToChannel {
                cx,
                key: f.key.clone(),
                fingerprint: f.fingerprint.clone(),
                items: Vec::new(),
                newest: i64::MIN,
                last: skip,
            };
            let end = files::read_file(&f.path, skip, 1000, &mut sink, &|_| {})?;
            newest = newest.max(sink.newest);
            let counter = match end.failure() {
                Some(reason) => {
                    cx.error(reason);
                    format!("files_failed:{reason}")
                }
                None => "files_read".to_string(),
            };
            cx.send(SourceChunk {
                counters: vec![(counter, 1)],
                ..SourceChunk::default()
            })?;
            tried.insert(f.key.clone(), f.fingerprint.clone());
            if end == FileEnd::Unreadable {
                continue;
            }
            // The last chunk sent carries the final position; remember it.
            sent.insert(
                f.key.clone(),
                Checkpoint {
                    source: FILE_SOURCE.to_string(),
                    key: f.key.clone(),
                    position: sink.last,
                    complete: end == FileEnd::Complete,
                    fingerprint: f.fingerprint.clone(),
                },
            );
        }
        cx.success(if newest == i64::MIN {
            None
        } else {
            Some(newest)
        });
        cx.sleep(spec.poll_interval);
    }
    Ok(())
}
