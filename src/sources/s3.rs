//! The S3 source: reads the bucket Bedrock delivers invocation logs to, in its layout
//! `<prefix>AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/<name>`.
//!
//! Each poll lists the accounts and regions under the prefix, then every object from the
//! hour `relist_hours` before the newest hour read to its end (`ListObjectsV2` with
//! `StartAfter`, in key order, which is time order), so objects delivered late into a
//! recent hour are found. `data/` sidecars (large bodies), the permission-check marker and
//! empty objects are skipped. Objects are streamed and gunzipped (gzip detected by its
//! magic bytes), framed with [`super::framing::Framer`] and sent in chunks of 1,000
//! records, each with a checkpoint (source `s3`, key `s3://<bucket>/<key>`, position =
//! records consumed, `complete` at the end, fingerprint = the ETag), so a partly read
//! object resumes where it stopped and a read object is never read again. An object
//! whose ETag changed is read again from the start; the request-id dedup window drops what
//! was counted before.
//!
//! [`list_backfill`] lists the same layout for `ingest s3://…`, restricted to a range of
//! hours; the command reads the objects with [`read_stream`] and keeps the same
//! checkpoints, so the daemon and a backfill never count an object twice.
//!
//! Owns: listing order, the relist window, the object checkpoints. Must not: call the AWS
//! SDK directly (that is [`super::aws`]), or log object contents.
use super::aws::{self, AwsError, AwsSettings, ListQuery, ObjectInfo, ObjectStoreApi, StartFrom};
use super::files::{FileEnd, FileSink};
use super::{SourceContext, SourceError};
use crate::accounting::Checkpoint;
use crate::pipeline::{Item, SourceChunk};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

/// The checkpoint source kind.
pub const S3_SOURCE: &str = "s3";

/// Records per chunk (and per checkpoint) within an object.
const CHUNK_RECORDS: u64 = 1000;

/// Settings of an S3 source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Spec {
    /// Source name (metrics label).
    pub name: String,
    /// Region, credentials and endpoint.
    pub aws: AwsSettings,
    /// The bucket.
    pub bucket: String,
    /// The key prefix configured in Bedrock's logging settings, before `AWSLogs/`
    /// (`""` or e.g. `bedrock/invocation-logs`; a missing final `/` is added).
    pub prefix: String,
    /// Time between polls.
    pub poll_interval: Duration,
    /// Hours before the newest hour read that each poll lists again.
    pub relist_hours: u32,
    /// Where to start without a checkpoint.
    pub start_from: StartFrom,
}

/// `<prefix>AWSLogs/`, with a `/` between a non-empty prefix and `AWSLogs`.
fn base_of(prefix: &str) -> String {
    let p = prefix.trim_start_matches('/');
    if p.is_empty() {
        "AWSLogs/".to_string()
    } else if p.ends_with('/') {
        format!("{p}AWSLogs/")
    } else {
        format!("{p}/AWSLogs/")
    }
}

impl S3Spec {
    /// `<prefix>AWSLogs/`, with a `/` between a non-empty prefix and `AWSLogs`.
    pub fn base(&self) -> String {
        base_of(&self.prefix)
    }

    fn checkpoint_key(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// What a key in the delivery layout is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyKind {
    /// A log batch: its `…/<region>/` prefix and hour (unix seconds).
    Log { region_prefix: String, hour: i64 },
    /// A `data/` sidecar.
    Data,
    /// The permission-check marker.
    PermissionCheck,
    /// Anything else.
    Other,
}

/// Classifies `key` (a full key) under `base` (`<prefix>AWSLogs/`).
fn key_kind(base: &str, key: &str) -> KeyKind {
    let name = key.rsplit('/').next().unwrap_or_default();
    if name.starts_with("amazon-bedrock-logs-permission-check") {
        return KeyKind::PermissionCheck;
    }
    let Some(rest) = key.strip_prefix(base) else {
        return KeyKind::Other;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.len() < 8 || parts[1] != "BedrockModelInvocationLogs" {
        return KeyKind::Other;
    }
    if parts.len() >= 9 && parts[7] == "data" {
        return KeyKind::Data;
    }
    if parts.len() != 8 || parts[7].is_empty() {
        return KeyKind::Other;
    }
    match parse_hour(&parts[3..7]) {
        Some(hour) => KeyKind::Log {
            region_prefix: format!("{base}{}/{}/{}/", parts[0], parts[1], parts[2]),
            hour,
        },
        None => KeyKind::Other,
    }
}

/// The hour (unix seconds) of `YYYY`, `MM`, `DD`, `HH` path parts.
fn parse_hour(parts: &[&str]) -> Option<i64> {
    let num = |s: &str| s.parse::<u32>().ok();
    match parts {
        [y, m, d, h] => match (num(y), num(m), num(d), num(h)) {
            (Some(y), Some(m), Some(d), Some(h)) if h < 24 => {
                NaiveDate::from_ymd_opt(y as i32, m, d)
                    .and_then(|d| d.and_hms_opt(h, 0, 0))
                    .map(|t| t.and_utc().timestamp())
            }
            _ => None,
        },
        _ => None,
    }
}

/// The hour (unix seconds) of any key under `base` in the delivery layout (log objects and
/// `data/` sidecars alike).
fn layout_hour(base: &str, key: &str) -> Option<i64> {
    let parts: Vec<&str> = key.strip_prefix(base)?.split('/').collect();
    if parts.len() < 8 || parts[1] != "BedrockModelInvocationLogs" {
        return None;
    }
    parse_hour(&parts[3..7])
}

/// `YYYY/MM/DD/HH` of an hour (unix seconds).
fn hour_path(hour: i64) -> String {
    DateTime::<Utc>::from_timestamp(hour, 0)
        .unwrap_or_default()
        .format("%Y/%m/%d/%H")
        .to_string()
}

// ---------------------------------------------------------------------------------------
// Backfill listing (the `ingest s3://…` command)

/// An `s3://<bucket>/<prefix>` location given to `ingest`. The prefix is the one configured
/// in Bedrock's logging settings (before `AWSLogs/`), or a deeper one that ends in or
/// goes below `AWSLogs/` (e.g. `…/AWSLogs/123456789012/`) to read only part of the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (may be empty).
    pub prefix: String,
}

impl S3Url {
    /// `None` if `s` is not an `s3://` URL; an error if it is one without a bucket.
    pub fn parse(s: &str) -> Option<Result<S3Url, String>> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(format!(
                "`{s}` names no bucket; write s3://<bucket>/<prefix>"
            )));
        }
        Some(Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        }))
    }

    /// (`<…>AWSLogs/` to list from, the prefix every key read must start with).
    fn base_and_filter(&self) -> (String, String) {
        let p = self.prefix.trim_start_matches('/');
        if let Some(i) = p.find("AWSLogs/") {
            (p[..i + "AWSLogs/".len()].to_string(), p.to_string())
        } else if p == "AWSLogs" || p.ends_with("/AWSLogs") {
            let b = format!("{p}/");
            (b.clone(), b)
        } else {
            let b = base_of(p);
            (b.clone(), b)
        }
    }

    /// The checkpoint key of an object of this bucket (the same as the daemon's S3 source
    /// uses, so neither reads again what the other committed).
    pub fn checkpoint_key(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// The objects a backfill reads, and what it passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backfill {
    /// Log objects to read, in key order (time order per account and region).
    pub objects: Vec<ObjectInfo>,
    /// Objects passed over, by the reasons local ingest uses (`data_object`,
    /// `permission_check`, `empty`, `not_a_log_file`).
    pub skipped: Vec<(String, &'static str)>,
    /// `ListObjectsV2` calls made.
    pub list_calls: u64,
}

/// Lists the log objects under `url` of every hour that overlaps `[from, to)` (all hours
/// when unset). Only the hour prefixes in the range are listed: each region's listing
/// starts after the first hour (`StartAfter`) and stops at the first key past the last.
pub fn list_backfill<A: ObjectStoreApi>(
    api: &A,
    url: &S3Url,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Backfill, AwsError> {
    let (base, filter) = url.base_and_filter();
    let from_hour = from.map(|t| {
        let t = t.timestamp();
        t - t.rem_euclid(3600)
    });
    let to = to.map(|t| t.timestamp());
    let in_range = |h: i64| from_hour.is_none_or(|f| h >= f) && to.is_none_or(|t| h < t);
    // A prefix is worth listing if it is above the filter or inside it.
    let wanted = |p: &str| p.starts_with(&filter) || filter.starts_with(p);
    let mut out = Backfill::default();
    let mut regions = Vec::new();
    let (accounts, top) = list_level(api, &url.bucket, &base, &mut out.list_calls)?;
    for obj in top {
        if key_kind(&base, &obj.key) == KeyKind::PermissionCheck {
            out.skipped.push((obj.key, "permission_check"));
        }
    }
    for account in accounts.iter().filter(|p| wanted(p)) {
        let logs = format!("{account}BedrockModelInvocationLogs/");
        if !wanted(&logs) {
            continue;
        }
        let (r, _) = list_level(api, &url.bucket, &logs, &mut out.list_calls)?;
        regions.extend(r.into_iter().filter(|p| wanted(p)));
    }
    for region_prefix in regions {
        let mut q = ListQuery {
            bucket: url.bucket.clone(),
            prefix: region_prefix.clone(),
            delimiter: None,
            // Every key of that hour sorts after `…/YYYY/MM/DD/HH`.
            start_after: from_hour.map(|h| format!("{region_prefix}{}", hour_path(h))),
            continuation_token: None,
        };
        'pages: loop {
            out.list_calls += 1;
            let page = api.list_page(&q)?;
            for obj in page.objects {
                let hour = layout_hour(&base, &obj.key);
                if hour.is_some_and(|h| to.is_some_and(|t| h >= t)) {
                    break 'pages;
                }
                if !obj.key.starts_with(&filter) || !hour.is_some_and(in_range) {
                    continue;
                }
                match key_kind(&base, &obj.key) {
                    KeyKind::Log { .. } if obj.size == 0 => out.skipped.push((obj.key, "empty")),
                    KeyKind::Log { .. } => out.objects.push(obj),
                    KeyKind::Data => out.skipped.push((obj.key, "data_object")),
                    KeyKind::PermissionCheck => out.skipped.push((obj.key, "permission_check")),
                    KeyKind::Other => out.skipped.push((obj.key, "not_a_log_file")),
                }
            }
            match page.continuation_token {
                Some(t) => q.continuation_token = Some(t),
                None => break,
            }
        }
    }
    Ok(out)
}

/// The prefixes and the objects one level under `prefix`.
fn list_level<A: ObjectStoreApi>(
    api: &A,
    bucket: &str,
    prefix: &str,
    calls: &mut u64,
) -> Result<(Vec<String>, Vec<ObjectInfo>), AwsError> {
    let mut q = ListQuery {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        delimiter: Some("/".to_string()),
        start_after: None,
        continuation_token: None,
    };
    let (mut prefixes, mut objects) = (Vec::new(), Vec::new());
    loop {
        *calls += 1;
        let page = api.list_page(&q)?;
        prefixes.extend(page.prefixes);
        objects.extend(page.objects);
        match page.continuation_token {
            Some(t) => q.continuation_token = Some(t),
            None => return Ok((prefixes, objects)),
        }
    }
}

/// Reads the bucket until stopped.
pub fn run(spec: &S3Spec, cx: &SourceContext) -> Result<(), SourceError> {
    let client = aws::S3Client::new(&spec.aws)?;
    let mut reader = Reader::new(&client, spec, cx)?;
    super::poll_until_stopped(cx, spec.poll_interval, || reader.poll(cx))
}

/// The state of one S3 source in this process.
struct Reader<'a, A> {
    api: &'a A,
    spec: &'a S3Spec,
    base: String,
    /// Object checkpoints in the relist window, sent or committed: checkpoint key → state.
    sent: HashMap<String, Checkpoint>,
    /// Objects that failed for good (a corrupt gzip) with their ETag: not retried until
    /// they change.
    failed: HashMap<String, String>,
    /// Newest hour (unix seconds) with an object read to the end, per region prefix.
    newest_hour: HashMap<String, i64>,
    /// Newest record time seen (unix seconds).
    newest_record: Option<i64>,
}

impl<'a, A: ObjectStoreApi> Reader<'a, A> {
    fn new(api: &'a A, spec: &'a S3Spec, cx: &SourceContext) -> Result<Self, SourceError> {
        let base = spec.base();
        let mut r = Reader {
            api,
            spec,
            base,
            sent: HashMap::new(),
            failed: HashMap::new(),
            newest_hour: HashMap::new(),
            newest_record: None,
        };
        let ours = format!("s3://{}/", spec.bucket);
        let mut n = 0usize;
        for cp in cx.checkpoints(S3_SOURCE)? {
            let Some(key) = cp.key.strip_prefix(&ours) else {
                continue;
            };
            if let KeyKind::Log {
                region_prefix,
                hour,
            } = key_kind(&r.base, key)
            {
                if cp.complete {
                    let h = r.newest_hour.entry(region_prefix).or_insert(hour);
                    *h = (*h).max(hour);
                }
                r.sent.insert(cp.key.clone(), cp);
                n += 1;
            }
        }
        r.prune();
        if n > 0 {
            tracing::info!(source = %spec.name, objects = n, "Resuming from the object checkpoints.");
        }
        Ok(r)
    }

    /// The first hour each region prefix lists from.
    fn start_hour(&self, region_prefix: &str, floor: i64) -> i64 {
        match self.newest_hour.get(region_prefix) {
            Some(h) => (h - i64::from(self.spec.relist_hours) * 3600).max(floor),
            None => floor,
        }
    }

    /// Forgets checkpoints of hours no poll lists again.
    fn prune(&mut self) {
        let base = self.base.clone();
        let ours = format!("s3://{}/", self.spec.bucket);
        let relist = i64::from(self.spec.relist_hours) * 3600;
        let newest = &self.newest_hour;
        self.sent.retain(
            |k, _| match key_kind(&base, k.strip_prefix(&ours).unwrap_or_default()) {
                KeyKind::Log {
                    region_prefix,
                    hour,
                } => newest
                    .get(&region_prefix)
                    .is_none_or(|h| hour >= h - relist),
                _ => false,
            },
        );
    }

    /// Every prefix one level under `prefix`.
    fn prefixes(&self, cx: &SourceContext, prefix: &str) -> Result<Vec<String>, SourceError> {
        let mut q = ListQuery {
            bucket: self.spec.bucket.clone(),
            prefix: prefix.to_string(),
            delimiter: Some("/".to_string()),
            start_after: None,
            continuation_token: None,
        };
        let mut out = Vec::new();
        loop {
            cx.api_call("ListObjectsV2");
            let page = self.api.list_page(&q)?;
            out.extend(page.prefixes);
            match page.continuation_token {
                Some(t) => q.continuation_token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// One pass over the bucket.
    fn poll(&mut self, cx: &SourceContext) -> Result<(), SourceError> {
        let floor = self.spec.start_from.resolve(cx.now()).timestamp();
        let floor = floor - floor.rem_euclid(3600);
        let mut regions = Vec::new();
        for account in self.prefixes(cx, &self.base)? {
            let logs = format!("{account}BedrockModelInvocationLogs/");
            regions.extend(self.prefixes(cx, &logs)?);
        }
        for region_prefix in regions {
            if cx.stopped() {
                break;
            }
            let start = self.start_hour(&region_prefix, floor);
            let mut q = ListQuery {
                bucket: self.spec.bucket.clone(),
                prefix: region_prefix.clone(),
                delimiter: None,
                // Every key of that hour sorts after `…/YYYY/MM/DD/HH`.
                start_after: Some(format!("{region_prefix}{}", hour_path(start))),
                continuation_token: None,
            };
            loop {
                cx.api_call("ListObjectsV2");
                let page = self.api.list_page(&q)?;
                for obj in &page.objects {
                    if cx.stopped() {
                        return Ok(());
                    }
                    self.object(cx, obj)?;
                }
                match page.continuation_token {
                    Some(t) => q.continuation_token = Some(t),
                    None => break,
                }
            }
        }
        self.prune();
        cx.success(self.newest_record);
        Ok(())
    }

    /// Reads one listed object if it needs reading.
    fn object(&mut self, cx: &SourceContext, obj: &ObjectInfo) -> Result<(), SourceError> {
        let (region_prefix, hour) = match key_kind(&self.base, &obj.key) {
            KeyKind::Log {
                region_prefix,
                hour,
            } => (region_prefix, hour),
            KeyKind::Data | KeyKind::PermissionCheck => return Ok(()),
            KeyKind::Other => {
                tracing::debug!(source = %self.spec.name, key = %obj.key, "Not in the delivery layout; skipped.");
                return Ok(());
            }
        };
        if obj.size == 0 {
            return Ok(());
        }
        let ck = self.spec.checkpoint_key(&obj.key);
        if self.failed.get(&ck) == Some(&obj.etag) {
            return Ok(());
        }
        let skip = match self.sent.get(&ck) {
            Some(c) if c.fingerprint == obj.etag && c.complete => return Ok(()),
            Some(c) if c.fingerprint == obj.etag => c.position,
            _ => 0,
        };
        cx.api_call("GetObject");
        let body = self.api.open(&self.spec.bucket, &obj.key)?;
        let mut sink = ToChannel {
            cx,
            api: self.api,
            body_counters: Vec::new(),
            key: ck.clone(),
            etag: obj.etag.clone(),
            items: Vec::new(),
            newest: None,
            last: skip,
            pending: None,
        };
        let end = read_stream(body, skip, CHUNK_RECORDS, &mut sink)?;
        if let Some(t) = sink.newest {
            self.newest_record = Some(self.newest_record.map_or(t, |n| n.max(t)));
        }
        let counter = match end.failure() {
            Some(reason) => {
                cx.error(reason);
                tracing::warn!(source = %self.spec.name, key = %obj.key, reason, "Object not read to the end.");
                format!("files_failed:{reason}")
            }
            None => "files_read".to_string(),
        };
        let mut last = sink.pending.take().unwrap_or_default();
        last.counters.push((counter, 1));
        cx.send(last)?;
        let complete = end == FileEnd::Complete;
        if end == FileEnd::TruncatedGzip {
            // Reading it again gives the same cut: not until it changes.
            self.failed.insert(ck.clone(), obj.etag.clone());
        }
        if complete {
            let h = self.newest_hour.entry(region_prefix).or_insert(hour);
            *h = (*h).max(hour);
        }
        self.sent.insert(
            ck.clone(),
            Checkpoint {
                source: S3_SOURCE.to_string(),
                key: ck,
                position: sink.last,
                complete,
                fingerprint: obj.etag.clone(),
            },
        );
        Ok(())
    }
}

/// Sends an object's records in chunks, each with the object's checkpoint.
struct ToChannel<'c> {
    cx: &'c SourceContext,
    /// Fetches bodies moved to S3 when a record's counts need them.
    api: &'c dyn ObjectStoreApi,
    /// `body_fetches:<outcome>` counts since the last chunk.
    body_counters: Vec<(String, u64)>,
    key: String,
    etag: String,
    items: Vec<Item>,
    newest: Option<i64>,
    last: u64,
    pending: Option<SourceChunk>,
}

impl FileSink for ToChannel<'_> {
    type Error = SourceError;

    fn record(&mut self, bytes: &[u8]) {
        let item = super::body_fetch::complete(
            Item::parse(bytes),
            bytes,
            self.api,
            self.cx,
            &mut self.body_counters,
        );
        if let Item::Event(ev) = &item {
            let t = ev.timestamp.timestamp();
            self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
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
        // The newest chunk is held back, so that the last one goes out with the object's
        // `files_read`/`files_failed` counter and they are committed together.
        if let Some(previous) = self.pending.take() {
            self.cx.send(previous)?;
        }
        self.pending = Some(SourceChunk {
            items: std::mem::take(&mut self.items),
            checkpoint: Some(Checkpoint {
                source: S3_SOURCE.to_string(),
                key: self.key.clone(),
                position,
                complete,
                fingerprint: self.etag.clone(),
            }),
            counters: std::mem::take(&mut self.body_counters),
        });
        Ok(())
    }
}

/// Reads one object's stream into a sink, skipping the first `skip` items (already
/// accounted for by a checkpoint); the same framing and positions as
/// [`super::files::read_file`], for a stream instead of a path.
pub fn read_stream<R: Read, S: FileSink>(
    stream: R,
    skip: u64,
    every: u64,
    sink: &mut S,
) -> Result<FileEnd, S::Error> {
    let reader = match super::files::decode(stream) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "Cannot read the object.");
            sink.reached(skip, false)?;
            return Ok(FileEnd::ReadError);
        }
    };
    super::files::read_frames(reader, skip, every, sink, &|_| {})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::sources::NoHealth;
    use chrono::TimeZone;
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::io;
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    const HOUR: &str =
        "logs/AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/2026/11/03/07";

    #[test]
    fn keys_are_classified_by_the_delivery_layout() {
        let base = "logs/AWSLogs/";
        let hour = Utc
            .with_ymd_and_hms(2026, 11, 3, 7, 0, 0)
            .unwrap()
            .timestamp();
        assert_eq!(
            key_kind(base, &format!("{HOUR}/20261103T071500Z_ab.json.gz")),
            KeyKind::Log {
                region_prefix: "logs/AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/"
                    .into(),
                hour
            }
        );
        assert_eq!(
            key_kind(base, &format!("{HOUR}/data/req_input.json.gz")),
            KeyKind::Data
        );
        assert_eq!(
            key_kind(base, "logs/AWSLogs/amazon-bedrock-logs-permission-check"),
            KeyKind::PermissionCheck
        );
        assert_eq!(
            key_kind(base, "logs/AWSLogs/123456789012/x.json"),
            KeyKind::Other
        );
        assert_eq!(hour_path(hour), "2026/11/03/07");
    }

    #[test]
    fn the_base_puts_one_slash_before_awslogs() {
        let mut s = spec();
        for (prefix, base) in [
            ("", "AWSLogs/"),
            ("logs", "logs/AWSLogs/"),
            ("logs/", "logs/AWSLogs/"),
            ("a/b", "a/b/AWSLogs/"),
        ] {
            s.prefix = prefix.into();
            assert_eq!(s.base(), base);
        }
    }

    /// A bucket in memory; lists honour prefix, delimiter, start-after and pages of 2.
    struct Fake {
        objects: RefCell<BTreeMap<String, Vec<u8>>>,
        gets: RefCell<Vec<String>>,
    }

    impl ObjectStoreApi for Fake {
        fn list_page(&self, q: &ListQuery) -> Result<ListPage, AwsError> {
            let mut objects = Vec::new();
            let mut prefixes: Vec<String> = Vec::new();
            for (k, v) in self.objects.borrow().iter() {
                if !k.starts_with(&q.prefix) || q.start_after.as_ref().is_some_and(|s| k <= s) {
                    continue;
                }
                if let Some(d) = &q.delimiter
                    && let Some(i) = k[q.prefix.len()..].find(d.as_str())
                {
                    let p = k[..q.prefix.len() + i + 1].to_string();
                    if !prefixes.contains(&p) {
                        prefixes.push(p);
                    }
                    continue;
                }
                objects.push(ObjectInfo {
                    key: k.clone(),
                    etag: format!("{:x}", xxhash_rust::xxh3::xxh3_64(v)),
                    size: v.len() as u64,
                });
            }
            let at: usize = q
                .continuation_token
                .as_deref()
                .map_or(0, |t| t.parse().unwrap());
            let end = (at + 2).min(objects.len());
            Ok(ListPage {
                objects: objects[at..end].to_vec(),
                prefixes,
                continuation_token: (end < objects.len()).then(|| end.to_string()),
            })
        }

        fn open<'a>(&'a self, _: &str, key: &str) -> Result<Box<dyn Read + 'a>, AwsError> {
            self.gets.borrow_mut().push(key.to_string());
            Ok(Box::new(io::Cursor::new(
                self.objects.borrow().get(key).cloned().unwrap_or_default(),
            )))
        }
    }

    use crate::sources::aws::ListPage;

    fn gz(records: &[String]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for r in records {
            writeln!(enc, "{r}").unwrap();
        }
        enc.finish().unwrap()
    }

    fn spec() -> S3Spec {
        S3Spec {
            name: "s3".into(),
            aws: AwsSettings {
                region: "us-east-1".into(),
                assume_role_arn: None,
                external_id: None,
                endpoint_url: None,
            },
            bucket: "b".into(),
            prefix: "logs".into(),
            poll_interval: Duration::from_secs(60),
            relist_hours: 2,
            start_from: StartFrom::MonthStart,
        }
    }

    fn cx() -> (SourceContext, std::sync::mpsc::Receiver<SourceChunk>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(10_000);
        let now = Utc.with_ymd_and_hms(2026, 11, 3, 12, 0, 0).unwrap();
        let cx = SourceContext::new(
            "s3",
            tx,
            Arc::new(AtomicBool::new(false)),
            Arc::new(NoHealth),
            Arc::new(FixedClock(now)),
            None,
        );
        (cx, rx)
    }

    fn items(rx: &std::sync::mpsc::Receiver<SourceChunk>) -> (usize, Vec<(String, u64, bool)>) {
        let (mut n, mut cps) = (0, Vec::new());
        while let Ok(c) = rx.try_recv() {
            n += c.items.len();
            if let Some(cp) = c.checkpoint {
                cps.push((cp.key, cp.position, cp.complete));
            }
        }
        (n, cps)
    }

    #[test]
    fn reads_log_objects_once_skips_sidecars_and_finds_late_objects() {
        let rec = |i: u32| format!("{{\"requestId\":\"r{i}\"}}");
        let fake = Fake {
            objects: RefCell::new(BTreeMap::new()),
            gets: RefCell::new(Vec::new()),
        };
        {
            let mut o = fake.objects.borrow_mut();
            o.insert(format!("{HOUR}/a.json.gz"), gz(&[rec(1), rec(2)]));
            o.insert(format!("{HOUR}/b.json.gz"), gz(&[rec(3)]));
            o.insert(format!("{HOUR}/data/r1_input.json.gz"), gz(&[rec(9)]));
            o.insert(format!("{HOUR}/empty.json.gz"), Vec::new());
            o.insert(
                "logs/AWSLogs/amazon-bedrock-logs-permission-check".into(),
                vec![],
            );
            // Before start_from (the month start): never listed.
            o.insert(
                "logs/AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/2026/10/31/23/old.json.gz"
                    .into(),
                gz(&[rec(7)]),
            );
            // Plain NDJSON, not gzip.
            o.insert(
                "logs/AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/2026/11/03/09/c.json"
                    .into(),
                format!("{}\n", rec(4)).into_bytes(),
            );
        }
        let spec = spec();
        let (cx, rx) = cx();
        let mut r = Reader::new(&fake, &spec, &cx).unwrap();
        r.poll(&cx).unwrap();
        let (n, cps) = items(&rx);
        assert_eq!(n, 4);
        assert_eq!(cps.len(), 3);
        assert!(cps.iter().all(|c| c.2), "{cps:?}");
        assert_eq!(fake.gets.borrow().len(), 3);

        // Nothing new: nothing read. A late object in a recent hour: read.
        r.poll(&cx).unwrap();
        assert_eq!(items(&rx).0, 0);
        assert_eq!(fake.gets.borrow().len(), 3);
        fake.objects
            .borrow_mut()
            .insert(format!("{HOUR}/late.json.gz"), gz(&[rec(5)]));
        r.poll(&cx).unwrap();
        assert_eq!(items(&rx).0, 1);
        assert_eq!(fake.gets.borrow().len(), 4);
    }

    #[test]
    fn a_partly_read_object_resumes_at_its_position() {
        let recs: Vec<String> = (0..2500)
            .map(|i| format!("{{\"requestId\":\"r{i}\"}}"))
            .collect();
        let mut sink = Collect::default();
        let end = read_stream(io::Cursor::new(gz(&recs)), 1000, 1000, &mut sink).unwrap();
        assert_eq!(end, FileEnd::Complete);
        assert_eq!(sink.records, 1500);
        assert_eq!(sink.reached, vec![(2000, false), (2500, true)]);

        // A cut gzip stream keeps the records before the cut and says so.
        let mut bytes = gz(&recs);
        bytes.truncate(bytes.len() / 2);
        let mut sink = Collect::default();
        let end = read_stream(io::Cursor::new(bytes), 0, 1000, &mut sink).unwrap();
        assert_eq!(end, FileEnd::TruncatedGzip);
        assert!(sink.records > 0 && sink.records < 2500);
        assert!(!sink.reached.last().unwrap().1);
    }

    #[test]
    fn a_backfill_lists_only_the_hours_asked_for() {
        let rec = "{\"requestId\":\"r1\"}".to_string();
        let region = "logs/AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1";
        let fake = Fake {
            objects: RefCell::new(BTreeMap::new()),
            gets: RefCell::new(Vec::new()),
        };
        {
            let mut o = fake.objects.borrow_mut();
            for h in ["06", "07", "08"] {
                o.insert(
                    format!("{region}/2026/11/03/{h}/a.json.gz"),
                    gz(std::slice::from_ref(&rec)),
                );
                o.insert(
                    format!("{region}/2026/11/03/{h}/b.json.gz"),
                    gz(std::slice::from_ref(&rec)),
                );
            }
            o.insert(
                format!("{HOUR}/data/x_input.json.gz"),
                gz(std::slice::from_ref(&rec)),
            );
            o.insert(format!("{HOUR}/empty.json.gz"), Vec::new());
            o.insert(
                "logs/AWSLogs/amazon-bedrock-logs-permission-check".into(),
                vec![],
            );
        }
        let url = S3Url::parse("s3://b/logs").unwrap().unwrap();
        let at = |h| Utc.with_ymd_and_hms(2026, 11, 3, h, 0, 0).unwrap();
        let b = list_backfill(&fake, &url, Some(at(7)), Some(at(8))).unwrap();
        let keys: Vec<&str> = b.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [format!("{HOUR}/a.json.gz"), format!("{HOUR}/b.json.gz")]
        );
        let mut skipped: Vec<&str> = b.skipped.iter().map(|s| s.1).collect();
        skipped.sort();
        assert_eq!(skipped, ["data_object", "empty", "permission_check"]);
        assert_eq!(
            list_backfill(&fake, &url, None, None)
                .unwrap()
                .objects
                .len(),
            6
        );
        let deeper = S3Url::parse("s3://b/logs/AWSLogs/999/").unwrap().unwrap();
        assert!(
            list_backfill(&fake, &deeper, None, None)
                .unwrap()
                .objects
                .is_empty()
        );
        assert!(S3Url::parse("/tmp/x").is_none());
        assert!(S3Url::parse("s3:///x").unwrap().is_err());
    }

    #[derive(Default)]
    struct Collect {
        records: u64,
        reached: Vec<(u64, bool)>,
    }

    impl FileSink for Collect {
        type Error = ();
        fn record(&mut self, _: &[u8]) {
            self.records += 1;
        }
        fn garbage(&mut self) {}
        fn reached(&mut self, position: u64, complete: bool) -> Result<(), ()> {
            self.reached.push((position, complete));
            Ok(())
        }
    }
}
