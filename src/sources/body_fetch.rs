//! Fetching bodies that Bedrock moved to S3, for records whose counts need them (see
//! [`crate::normalize::s3_body`]): the S3 source reads each needed `*BodyS3Path` object
//! with `GetObject` (counted as an API call), gunzips it when it is gzip, and the record
//! is parsed again with the body in place. Every fetch is counted in the ledger counter
//! `body_fetches:<outcome>` (committed with the records it served), exported as
//! `bedrock_meter_body_fetches_total{outcome}`.
//!
//! Outcomes: `fetched` (one per body), `failed` (the object could not be read: access,
//! missing, network), `too_large` (over [`MAX_BODY_BYTES`]), `unreadable` (not gzip/JSON).
//! A failed fetch keeps the record as first parsed: it is still counted, with what the
//! record alone says. Must not: log or keep body contents.
use super::SourceContext;
use super::aws::ObjectStoreApi;
use crate::normalize::s3_body::{BodySide, MovedBody, moved_bodies_needed, parse_with_bodies};
use crate::pipeline::Item;
use std::io::Read;

/// The largest body fetched (decompressed): an image response is a few MB of base64.
pub const MAX_BODY_BYTES: u64 = 64 << 20;

/// The ledger counter prefix (`body_fetches:fetched`, …).
pub const COUNTER_PREFIX: &str = "body_fetches:";

fn count(counters: &mut Vec<(String, u64)>, outcome: &str, n: u64) {
    let name = format!("{COUNTER_PREFIX}{outcome}");
    match counters.iter_mut().find(|(k, _)| *k == name) {
        Some((_, v)) => *v += n,
        None => counters.push((name, n)),
    }
}

fn read_body(api: &dyn ObjectStoreApi, m: &MovedBody) -> Result<Vec<u8>, &'static str> {
    let r = api.open(&m.bucket, &m.key).map_err(|e| {
        tracing::debug!(bucket = %m.bucket, error = %e, "Cannot fetch a moved body.");
        "failed"
    })?;
    let mut raw = Vec::new();
    r.take(MAX_BODY_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|_| "failed")?;
    if raw.len() as u64 > MAX_BODY_BYTES {
        return Err("too_large");
    }
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .take(MAX_BODY_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|_| "unreadable")?;
    if out.len() as u64 > MAX_BODY_BYTES {
        return Err("too_large");
    }
    Ok(out)
}

/// `item` (parsed from `record`) completed with the moved bodies its counts need, fetched
/// through `api`; `item` itself when it needs none or a fetch fails.
pub fn complete(
    item: Item,
    record: &[u8],
    api: &dyn ObjectStoreApi,
    cx: &SourceContext,
    counters: &mut Vec<(String, u64)>,
) -> Item {
    let Item::Event(ev) = &item else {
        return item;
    };
    let need = moved_bodies_needed(ev, record);
    if need.is_empty() {
        return item;
    }
    let mut fetched: Vec<(BodySide, Vec<u8>)> = Vec::new();
    for m in &need {
        cx.api_call("GetObject");
        match read_body(api, m) {
            Ok(b) => fetched.push((m.side, b)),
            Err(outcome) => {
                count(counters, outcome, 1);
                return item;
            }
        }
    }
    match parse_with_bodies(record, &fetched) {
        Ok(Some(ev)) => {
            count(counters, "fetched", fetched.len() as u64);
            Item::Event(Box::new(ev))
        }
        Ok(None) | Err(_) => {
            count(counters, "unreadable", 1);
            item
        }
    }
}
