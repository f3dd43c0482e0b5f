//! Local files and directories: copies of the S3 log bucket, NDJSON or JSON files, and the
//! output of `aws logs filter-log-events`.
//!
//! Directories are walked in sorted order, which in the S3 delivery layout
//! (`…/AWSLogs/<acct>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/*.json.gz`) is time
//! order. The `data/` sidecar objects (large bodies) and the
//! `amazon-bedrock-logs-permission-check` marker are skipped. Gzip is detected from the magic
//! bytes, not the file name.
use serde::Deserialize;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// A file to read, with the names a checkpoint needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Where it is.
    pub path: PathBuf,
    /// Checkpoint key: the part from `AWSLogs/` on when the file sits in the S3 layout (so a
    /// re-synced copy in another directory is recognised), else a hash of the file's first
    /// 16 KiB (so a copy or a renamed file is recognised, and a file that grew keeps its key).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Size and modification time, to notice a file that changed since its checkpoint.
    pub fingerprint: String,
}

/// Why a path was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A `data/` large-body sidecar in the S3 layout.
    DataObject,
    /// The `amazon-bedrock-logs-permission-check` marker.
    PermissionCheck,
    /// An empty file.
    Empty,
    /// A file in a walked directory whose name is not a log file (`.json`, `.json.gz`,
    /// `.jsonl`, `.ndjson`, `.gz`, `.log`).
    NotALogFile,
}

impl SkipReason {
    /// Label for summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::DataObject => "data_object",
            SkipReason::PermissionCheck => "permission_check",
            SkipReason::Empty => "empty",
            SkipReason::NotALogFile => "not_a_log_file",
        }
    }
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files to read, in order.
    pub files: Vec<InputFile>,
    /// Paths passed over on purpose.
    pub skipped: Vec<(PathBuf, SkipReason)>,
    /// Paths that could not be read (missing, permission denied).
    pub unreadable: Vec<(PathBuf, String)>,
}

const LOG_SUFFIXES: [&str; 8] = [
    ".json",
    ".json.gz",
    ".jsonl",
    ".jsonl.gz",
    ".ndjson",
    ".ndjson.gz",
    ".gz",
    ".log",
];

/// Finds the files under the given paths. Explicitly named files are read whatever their
/// name; files found by walking a directory must look like log files.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut d = Discovery::default();
    for p in paths {
        match std::fs::metadata(p) {
            Err(e) => d.unreadable.push((p.clone(), e.to_string())),
            Ok(m) if m.is_dir() => walk(p, &mut d),
            Ok(m) => consider(p, &m, true, &mut d),
        }
    }
    d
}

fn walk(dir: &Path, d: &mut Discovery) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            d.unreadable.push((dir.to_path_buf(), e.to_string()));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for c in children {
        match std::fs::metadata(&c) {
            Err(e) => d.unreadable.push((c, e.to_string())),
            Ok(m) if m.is_dir() => {
                if is_data_dir(&c) {
                    d.skipped.push((c, SkipReason::DataObject));
                } else {
                    walk(&c, d);
                }
            }
            Ok(m) => consider(&c, &m, false, d),
        }
    }
}

/// `…/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/data`
fn is_data_dir(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n == "data")
        && p.components()
            .any(|c| c.as_os_str() == "BedrockModelInvocationLogs")
}

fn consider(p: &Path, m: &std::fs::Metadata, explicit: bool, d: &mut Discovery) {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.starts_with("amazon-bedrock-logs-permission-check") {
        d.skipped
            .push((p.to_path_buf(), SkipReason::PermissionCheck));
        return;
    }
    if p.parent().is_some_and(is_data_dir) {
        d.skipped.push((p.to_path_buf(), SkipReason::DataObject));
        return;
    }
    if !explicit && !LOG_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        d.skipped.push((p.to_path_buf(), SkipReason::NotALogFile));
        return;
    }
    if m.len() == 0 {
        d.skipped.push((p.to_path_buf(), SkipReason::Empty));
        return;
    }
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let key = match checkpoint_key(p) {
        Ok(k) => k,
        Err(e) => {
            d.unreadable.push((p.to_path_buf(), e.to_string()));
            return;
        }
    };
    d.files.push(InputFile {
        path: p.to_path_buf(),
        key,
        size: m.len(),
        fingerprint: format!("size={};mtime_ns={}", m.len(), mtime),
    });
}

/// Bytes hashed for the content key of files outside the S3 layout.
const CONTENT_KEY_BYTES: usize = 16 * 1024;

/// The checkpoint key of a path: from `AWSLogs/` on in the S3 layout, else `content:` and the
/// XXH3-128 of the first 16 KiB of the file as stored (compressed or not).
pub fn checkpoint_key(p: &Path) -> io::Result<String> {
    let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let s = canon.to_string_lossy();
    if let Some(i) = s.find("/AWSLogs/")
        && s.contains("/BedrockModelInvocationLogs/")
    {
        return Ok(format!("s3-layout:{}", &s[i + 1..]));
    }
    let mut head = vec![0u8; CONTENT_KEY_BYTES];
    let n = read_up_to(&mut File::open(p)?, &mut head)?;
    Ok(format!(
        "content:{:032x}",
        xxhash_rust::xxh3::xxh3_128(&head[..n])
    ))
}

/// Opens a file for reading, decompressing gzip (detected by its magic bytes, including
/// multi-member streams) on the fly.
pub fn open(path: &Path) -> io::Result<Box<dyn Read>> {
    decode(File::open(path)?)
}

/// Wraps a stream in a gzip decoder when it starts with the gzip magic bytes (multi-member
/// streams too); otherwise returns it as it is.
pub fn decode<'a, R: Read + 'a>(mut r: R) -> io::Result<Box<dyn Read + 'a>> {
    let mut magic = [0u8; 2];
    let mut n = 0;
    while n < 2 {
        match r.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let chained = io::Cursor::new(magic[..n].to_vec()).chain(r);
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(
            BufReader::with_capacity(256 * 1024, chained),
        )))
    } else {
        Ok(Box::new(chained))
    }
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[derive(Deserialize)]
struct LogEventsOutput {
    events: Vec<LogEvent>,
}

#[derive(Deserialize)]
struct LogEvent {
    message: String,
}

/// When a frame is the JSON printed by `aws logs filter-log-events` (or `get-log-events`),
/// returns the event messages, each one invocation-log record. Only worth calling on the
/// first frame of a file.
pub fn log_events_messages(frame: &[u8]) -> Option<Vec<String>> {
    let head = &frame[..frame.len().min(4096)];
    memchr::memmem::find(head, b"\"events\"")?;
    serde_json::from_slice::<LogEventsOutput>(frame)
        .ok()
        .map(|o| o.events.into_iter().map(|e| e.message).collect())
}

/// Where a file's records go. The reader calls `record` or `garbage` for each framed item in
/// order, and `reached` every `every` items and at the end with the position so far.
pub trait FileSink {
    /// Error of `reached` (e.g. a failed commit), which stops the file.
    type Error;
    /// One record's bytes.
    fn record(&mut self, bytes: &[u8]);
    /// Bytes that were not a complete JSON value.
    fn garbage(&mut self);
    /// `position` items of the file have been handed over; `complete` at the end of a file
    /// read without error.
    fn reached(&mut self, position: u64, complete: bool) -> Result<(), Self::Error>;
}

/// How reading a file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEnd {
    /// Read to the end.
    Complete,
    /// Could not be opened.
    Unreadable,
    /// The gzip stream was cut short or corrupt; the records before were read.
    TruncatedGzip,
    /// Another read error; the records before were read.
    ReadError,
}

impl FileEnd {
    /// Counter label of a failure.
    pub fn failure(self) -> Option<&'static str> {
        match self {
            FileEnd::Complete => None,
            FileEnd::Unreadable => Some("unreadable"),
            FileEnd::TruncatedGzip => Some("truncated_gzip"),
            FileEnd::ReadError => Some("read_error"),
        }
    }
}

/// Reads one file into a sink, skipping the first `skip` items (already accounted for by a
/// checkpoint). Positions count framed items, so they are stable across reads of the same
/// bytes.
pub fn read_file<S: FileSink>(
    path: &Path,
    skip: u64,
    every: u64,
    sink: &mut S,
    progress: &dyn Fn(u64),
) -> Result<FileEnd, S::Error> {
    let reader = match open(path) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "Cannot open file.");
            return Ok(FileEnd::Unreadable);
        }
    };
    read_frames(reader, skip, every, sink, progress)
}

/// Reads an already opened (and, if it was gzip, decompressed) stream into a sink, with the
/// same positions, checkpoints and failure labels as [`read_file`]. `progress` gets the
/// bytes read so far.
pub fn read_frames<R: Read, S: FileSink>(
    reader: R,
    skip: u64,
    every: u64,
    sink: &mut S,
    progress: &dyn Fn(u64),
) -> Result<FileEnd, S::Error> {
    use crate::sources::framing::{Frame, Framer};
    struct Counting<R> {
        inner: R,
        n: u64,
    }
    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let k = self.inner.read(buf)?;
            self.n += k as u64;
            Ok(k)
        }
    }
    let mut framer = Framer::new(Counting {
        inner: reader,
        n: 0,
    });
    let every = every.max(1);
    let mut position: u64 = 0;
    let mut first = true;
    let mut end = FileEnd::Complete;
    let mut since = 0u64;
    loop {
        let frame = match framer.next_frame() {
            Ok(Some(fr)) => fr,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "Input ends early.");
                let msg = e.to_string();
                end = if e.kind() == io::ErrorKind::UnexpectedEof
                    || msg.contains("corrupt deflate")
                    || msg.contains("invalid gzip")
                    || msg.contains("deflate")
                {
                    FileEnd::TruncatedGzip
                } else {
                    FileEnd::ReadError
                };
                break;
            }
        };
        match frame {
            Frame::Garbage(_) => {
                position += 1;
                if position > skip {
                    sink.garbage();
                    since += 1;
                }
            }
            Frame::Value(bytes) => {
                let messages = if first {
                    log_events_messages(bytes)
                } else {
                    None
                };
                match messages {
                    Some(messages) => {
                        for m in messages {
                            position += 1;
                            if position > skip {
                                sink.record(m.as_bytes());
                                since += 1;
                            }
                        }
                    }
                    None => {
                        position += 1;
                        if position > skip {
                            sink.record(bytes);
                            since += 1;
                        }
                    }
                }
            }
        }
        first = false;
        if since >= every {
            since = 0;
            sink.reached(position, false)?;
            progress(framer.get_ref().n);
        }
    }
    sink.reached(position.max(skip), end == FileEnd::Complete)?;
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn s3_layout_files_are_keyed_from_awslogs_and_sidecars_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let hour = dir
            .path()
            .join("copy/AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/2026/04/20/00");
        std::fs::create_dir_all(hour.join("data")).unwrap();
        std::fs::write(hour.join("20260420T001000Z_ab.json.gz"), b"x").unwrap();
        std::fs::write(hour.join("data/req_input.json.gz"), b"x").unwrap();
        std::fs::write(
            dir.path()
                .join("copy/AWSLogs/amazon-bedrock-logs-permission-check"),
            b"",
        )
        .unwrap();
        std::fs::write(hour.join("README.txt"), b"x").unwrap();
        let d = discover(&[dir.path().to_path_buf()]);
        assert_eq!(d.files.len(), 1);
        assert_eq!(
            d.files[0].key,
            "s3-layout:AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/2026/04/20/00/20260420T001000Z_ab.json.gz"
        );
        let reasons: Vec<_> = d.skipped.iter().map(|s| s.1).collect();
        assert!(reasons.contains(&SkipReason::DataObject));
        assert!(reasons.contains(&SkipReason::PermissionCheck));
        assert!(reasons.contains(&SkipReason::NotALogFile));
    }

    #[test]
    fn gzip_is_detected_by_magic_bytes_not_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("records.txt");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"{\"a\":1}\n").unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        let mut s = String::new();
        open(&p).unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "{\"a\":1}\n");
    }

    #[test]
    fn filter_log_events_output_is_unwrapped_to_messages() {
        let out = br#"{"events":[{"logStreamName":"aws/bedrock/modelinvocations","timestamp":1,"message":"{\"requestId\":\"a\"}","eventId":"1"}],"searchedLogStreams":[]}"#;
        assert_eq!(
            log_events_messages(out).unwrap(),
            vec!["{\"requestId\":\"a\"}".to_string()]
        );
        assert!(log_events_messages(b"{\"requestId\":\"a\"}").is_none());
    }
}
