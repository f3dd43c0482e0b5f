//! Normalize: one raw `ModelInvocationLog` record (bytes of one JSON object) becomes one
//! [`UsageEvent`] or a [`Rejection`] with a bounded reason.
//!
//! Owns: the wire structs that mirror the record schema, model-id resolution, principal
//! normalization, image counting and the tokenizer estimate for records without counts.
//! Must not: price anything, touch SQLite, log per record above TRACE, or let any body text
//! (prompts, completions, images) out of this module.
//!
//! Sub-modules, in the order [`parse_record`] uses them:
//! - `wire`: borrowed serde mirrors of the envelope and the lenient leaf types;
//! - `fastwire`: the same envelope read without serde walking the bodies (serde is the
//!   fallback for anything unusual);
//! - `model_id`: `modelId` → [`ModelRef`];
//! - `principal`: `identity.arn` → [`Principal`];
//! - `body`: lazily parsed response summary (usage fallbacks, cache TTL split, service tier,
//!   guardrail verdict);
//! - `estimate`: the tokenizer estimate for records without any counts;
//! - `images`: image counts, sizes and quality for image models.
//!
//! Performance: the envelope is parsed once into borrowed fields; bodies are kept as raw JSON
//! text and only parsed when a cheap check (a missing count, a cache write, a `memmem` hit, an
//! image model) says the answer is inside.
mod body;
mod estimate;
mod event;
mod fastwire;
mod images;
mod model_id;
mod principal;
pub mod s3_body;
#[cfg(test)]
mod tests;
mod wire;

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde_json::error::Category;

pub use event::*;

/// Resolves a `modelId` as written anywhere (a record, CloudWatch's `ModelId` dimension):
/// base id, profile id or ARN → [`ModelRef`], whose [`ModelRef::label`] is the ledger's model
/// label.
pub fn resolve_model_id(raw: &str) -> ModelRef {
    model_id::resolve(raw)
}

use body::{Bodies, BodyTokens};
use wire::{JNum, JObj, JStr, Record};

/// The largest token count accepted in one field of one record; more is
/// [`RejectReason::AbsurdCount`].
pub const MAX_TOKENS: u64 = 100_000_000;

/// The largest image count accepted for one record; more is [`RejectReason::AbsurdCount`].
pub const MAX_IMAGES: u64 = 10_000;

/// The only accepted `schemaType` (a missing one is accepted too).
const SCHEMA_TYPE: &str = "ModelInvocationLog";

/// The most `requestMetadata` pairs kept, and the longest key or value.
const MAX_TAGS: usize = 64;
const MAX_TAG_LEN: usize = 256;

/// The longest kept `requestId`, and `accountId`/`region`/`inferenceRegion`.
const MAX_REQUEST_ID: usize = 256;
const MAX_SHORT: usize = 128;

/// Why a record was rejected. The set is closed so it can label metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Not valid JSON (or not a JSON object).
    MalformedJson,
    /// Valid JSON with a `schemaType` other than `ModelInvocationLog`.
    NotInvocationLog,
    /// A required field (`requestId`, `timestamp`, `modelId`, `region`, `accountId`,
    /// `operation`) is missing or empty.
    MissingField,
    /// A field has the wrong JSON type (e.g. a string token count).
    WrongType,
    /// `timestamp` is not an ISO-8601 UTC time.
    BadTimestamp,
    /// A token or image count is negative.
    NegativeCount,
    /// A token or image count is beyond anything Bedrock can produce for one request.
    AbsurdCount,
}

impl RejectReason {
    /// All reasons, for zero-initialised counters.
    pub const ALL: [RejectReason; 7] = [
        RejectReason::MalformedJson,
        RejectReason::NotInvocationLog,
        RejectReason::MissingField,
        RejectReason::WrongType,
        RejectReason::BadTimestamp,
        RejectReason::NegativeCount,
        RejectReason::AbsurdCount,
    ];

    /// The snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::NotInvocationLog => "not_invocation_log",
            RejectReason::MissingField => "missing_field",
            RejectReason::WrongType => "wrong_type",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::NegativeCount => "negative_count",
            RejectReason::AbsurdCount => "absurd_count",
        }
    }
}

/// A rejected record: the reason, and a short detail safe to log (field names only, never
/// body content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The bounded reason.
    pub reason: RejectReason,
    /// A short human explanation, e.g. `field input.inputTokenCount: expected an integer`.
    pub detail: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.detail)
    }
}

impl std::error::Error for Rejection {}

/// Parses one record: the bytes of one `ModelInvocationLog` JSON object.
///
/// Never panics. Token counts come from the envelope when it has any; otherwise from the
/// response body's usage blocks; otherwise (no guardrail block) from a tokenizer estimate of
/// the inline body text; otherwise they are zero with [`CountSource::None`].
pub fn parse_record(bytes: &[u8]) -> Result<UsageEvent, Rejection> {
    parse_with(bytes, true)
}

/// [`parse_record`]; `use_hints: false` ignores the body hints of the fast reader (the tests
/// check that the answer is the same either way).
fn parse_with(bytes: &[u8], use_hints: bool) -> Result<UsageEvent, Rejection> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(reject(RejectReason::MalformedJson, "not a JSON object"));
    }
    // One UTF-8 check of the whole record; `from_str` then re-validates neither the raw
    // bodies (`RawValue`) nor the parsed strings (bench: +8 % parse at 3 KB records).
    // simdutf8 validates with SIMD (chosen at run time); the same answer as std's.
    let text = simdutf8::basic::from_utf8(bytes)
        .map_err(|_| reject(RejectReason::MalformedJson, "not valid UTF-8"))?;
    // The fast reader takes well-formed compact records; anything else (and every malformed
    // record) goes through serde_json, which names the rejection.
    let (rec, hints): (Record<'_>, _) = match fastwire::parse(text) {
        Some((rec, hints)) => (rec, Some(hints)),
        None => (
            serde_json::from_str(text).map_err(|e| json_rejection(&e))?,
            None,
        ),
    };

    match &rec.schema_type {
        JStr::Missing | JStr::Null => {}
        s if s.is(SCHEMA_TYPE) => {}
        _ => {
            return Err(reject(
                RejectReason::NotInvocationLog,
                "field schemaType: not ModelInvocationLog",
            ));
        }
    }
    let request_id = required(&rec.request_id, "requestId")?;
    let timestamp = required(&rec.timestamp, "timestamp")?;
    let model_id = required(&rec.model_id, "modelId")?;
    let region = required(&rec.region, "region")?;
    let account = required(&rec.account_id, "accountId")?;
    let operation = required(&rec.operation, "operation")?;
    let timestamp = parse_timestamp(timestamp).ok_or_else(|| {
        reject(
            RejectReason::BadTimestamp,
            "field timestamp: not an ISO-8601 UTC date-time",
        )
    })?;

    let input = section(&rec.input, "input")?;
    let output = section(&rec.output, "output")?;
    let env_input = envelope_count(input.map(|i| i.input_tokens), "input.inputTokenCount")?;
    let env_cache_read = envelope_count(
        input.map(|i| i.cache_read_tokens),
        "input.cacheReadInputTokenCount",
    )?;
    let env_cache_write = envelope_count(
        input.map(|i| i.cache_write_tokens),
        "input.cacheWriteInputTokenCount",
    )?;
    let env_output = envelope_count(output.map(|o| o.output_tokens), "output.outputTokenCount")?;
    let body_in_s3 = input.is_some_and(|i| non_empty(&i.s3_path).is_some())
        || output.is_some_and(|o| non_empty(&o.s3_path).is_some());

    let model = memo(&MODELS, model_id, model_id::resolve);
    let image_model = model
        .base_model
        .as_deref()
        .is_some_and(images::is_image_model);
    let mut bodies = Bodies::new(input.and_then(|i| i.body), output.and_then(|o| o.body));
    if let Some([input_hints, output_hints]) = hints.filter(|_| use_hints) {
        bodies = bodies.with_hints(input_hints, output_hints);
    }
    let guardrail_intervened = bodies.guardrail_intervened();

    let envelope = [env_input, env_output, env_cache_read, env_cache_write];
    let (counts, count_source) = if envelope.iter().any(Option::is_some) {
        let [input, output, mut cache_read, mut cache_write] = envelope.map(|c| c.unwrap_or(0));
        // Some records omit the cache fields while the body reports cache tokens; taking
        // them from the body avoids undercounting a cached prompt.
        if env_cache_read.is_none()
            && env_cache_write.is_none()
            && let Some((read, write)) = bodies.cache_counts()
        {
            cache_read = read;
            cache_write = write;
        }
        let counts = BodyTokens {
            input,
            output,
            cache_read,
            cache_write,
        };
        (counts, CountSource::Record)
    } else if guardrail_intervened {
        (BodyTokens::default(), CountSource::None)
    } else if let Some(counts) = bodies.counts()? {
        (counts, CountSource::Body)
    } else if let Some((input, output)) = (!image_model)
        .then(|| estimate::estimate(bodies.input(), bodies.output()))
        .flatten()
    {
        let counts = BodyTokens {
            input,
            output,
            ..BodyTokens::default()
        };
        (counts, CountSource::Estimated)
    } else {
        (BodyTokens::default(), CountSource::None)
    };
    let split = bodies.cache_split(counts.cache_write);
    let service_tier = bodies.service_tier();
    let images = match model.base_model.as_deref() {
        Some(base) if image_model => images::image_usage(base, bodies.input(), bodies.output())?,
        _ => None,
    };
    let embedding = model.label().contains("embed");

    Ok(UsageEvent {
        request_id: truncate(request_id, MAX_REQUEST_ID).to_owned(),
        timestamp,
        account: truncate(account, MAX_SHORT).to_owned(),
        region: truncate(region, MAX_SHORT).to_owned(),
        inference_region: non_empty(&rec.inference_region)
            .map(|r| truncate(r, MAX_SHORT).to_owned()),
        operation: Operation::parse(operation),
        model,
        service_tier,
        principal: match rec.identity.get().and_then(|i| i.arn.as_str()) {
            Some(arn) => memo(&PRINCIPALS, arn, |a| principal::parse(Some(a))),
            None => principal::parse(None),
        },
        tags: tags(rec.request_metadata.0),
        tokens: TokenCounts {
            input: counts.input,
            output: counts.output,
            cache_read: counts.cache_read,
            cache_write_5m: split.five_m,
            cache_write_1h: split.one_h,
        },
        count_source,
        cache_ttl_assumed: split.assumed,
        images,
        embedding,
        guardrail_intervened,
        body_in_s3,
    })
}

fn reject(reason: RejectReason, detail: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        detail: detail.into(),
    }
}

/// Maps a serde_json error to a rejection without its message (which could quote content).
fn json_rejection(e: &serde_json::Error) -> Rejection {
    let detail = match e.classify() {
        Category::Eof => "unexpected end of input".to_owned(),
        Category::Data => {
            // Duplicate-field messages name one of this module's own field names.
            let msg = e.to_string();
            match msg
                .strip_prefix("duplicate field `")
                .and_then(|m| m.split_once('`'))
            {
                Some((field, _)) => format!("duplicate field {field}"),
                None => format!(
                    "invalid structure at line {} column {}",
                    e.line(),
                    e.column()
                ),
            }
        }
        Category::Syntax | Category::Io => {
            format!("invalid JSON at line {} column {}", e.line(), e.column())
        }
    };
    reject(RejectReason::MalformedJson, detail)
}

/// A non-empty string field, or the matching rejection.
fn required<'r>(v: &'r JStr<'_>, field: &str) -> Result<&'r str, Rejection> {
    match v {
        JStr::Str(s) if has_text(s) => Ok(s),
        JStr::Wrong => Err(reject(
            RejectReason::WrongType,
            format!("field {field}: expected a string"),
        )),
        _ => Err(reject(
            RejectReason::MissingField,
            format!("field {field}: missing or empty"),
        )),
    }
}

fn non_empty<'r>(v: &'r JStr<'_>) -> Option<&'r str> {
    v.as_str().filter(|s| has_text(s))
}

/// The most distinct model ids or ARNs [`memo`] remembers before it starts over.
const MEMO_ENTRIES: usize = 4096;

type Memo<T> = std::cell::RefCell<rustc_hash::FxHashMap<Box<str>, T>>;

thread_local! {
    /// `modelId` → its resolution: a log holds a handful of distinct model ids.
    static MODELS: Memo<ModelRef> = Memo::default();
    /// `identity.arn` → its principal: a log holds few distinct callers.
    static PRINCIPALS: Memo<Principal> = Memo::default();
}

/// `f(key)`, remembered per thread: both functions are pure, and cloning the answer costs a
/// fraction of recomputing it. Bounded: a full memo is emptied and refilled.
fn memo<T: Clone>(
    cell: &'static std::thread::LocalKey<Memo<T>>,
    key: &str,
    f: impl FnOnce(&str) -> T,
) -> T {
    cell.with(|m| {
        if let Some(v) = m.borrow().get(key) {
            return v.clone();
        }
        let v = f(key);
        let mut m = m.borrow_mut();
        if m.len() >= MEMO_ENTRIES {
            m.clear();
        }
        m.insert(key.into(), v.clone());
        v
    })
}

/// True when `s` is more than whitespace (as `str::trim` sees it); a string starting with a
/// visible ASCII character, as nearly every field does, is decided without trimming.
fn has_text(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(b'!'..=b'~') => true,
        _ => !s.trim().is_empty(),
    }
}

/// `input` / `output`: absent or null reads as an empty section; any other non-object rejects.
fn section<'r, T>(v: &'r JObj<T>, field: &str) -> Result<Option<&'r T>, Rejection> {
    match v {
        JObj::Val(t) => Ok(Some(t)),
        JObj::Missing | JObj::Null => Ok(None),
        JObj::Wrong => Err(reject(
            RejectReason::WrongType,
            format!("field {field}: expected an object"),
        )),
    }
}

/// One envelope token count; absent or null is `None`.
fn envelope_count(n: Option<JNum>, field: &str) -> Result<Option<u64>, Rejection> {
    match n.unwrap_or_default() {
        JNum::Missing | JNum::Null => Ok(None),
        JNum::Int(v) if v > MAX_TOKENS => Err(reject(
            RejectReason::AbsurdCount,
            format!("field {field}: more than {MAX_TOKENS} tokens"),
        )),
        JNum::Int(v) => Ok(Some(v)),
        JNum::Negative => Err(reject(
            RejectReason::NegativeCount,
            format!("field {field}: negative count"),
        )),
        JNum::Wrong => Err(reject(
            RejectReason::WrongType,
            format!("field {field}: expected a non-negative integer"),
        )),
    }
}

/// RFC 3339 / ISO-8601 (`Z`, `+00:00` or another offset, optional fractional seconds), or a
/// date-time without offset taken as UTC; truncated to whole seconds.
fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Some(t) = parse_utc_seconds(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc).trunc_subsecs(0));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().trunc_subsecs(0))
}

/// Fast path for the shape Bedrock writes, `YYYY-MM-DDTHH:MM:SSZ`; `None` for anything else
/// (including a leap second), which the general parser then handles.
fn parse_utc_seconds(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time = date.and_hms_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?)?;
    Some(time.and_utc())
}

/// `requestMetadata` pairs sorted by key (first of duplicate keys kept), at most
/// [`MAX_TAGS`], keys and values truncated.
fn tags(mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)>) -> Vec<(String, String)> {
    pairs.retain(|(k, _)| !k.is_empty());
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.dedup_by(|later, earlier| later.0 == earlier.0);
    pairs
        .iter()
        .take(MAX_TAGS)
        .map(|(k, v)| {
            (
                truncate(k, MAX_TAG_LEN).to_owned(),
                truncate(v, MAX_TAG_LEN).to_owned(),
            )
        })
        .collect()
}

/// The first `max` characters of `s`.
fn truncate(s: &str, max: usize) -> &str {
    // No more bytes than `max` means no more characters either.
    if s.len() <= max {
        return s;
    }
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `s` truncated to `max` characters, with every character outside
/// `[A-Za-z0-9._:/@+=,-]` replaced by `_`: safe for labels and identifiers.
pub(crate) fn sanitize(s: &str, max: usize) -> String {
    // Fast path (nearly every IAM name, session and resource id): short and already safe,
    // so one copy instead of a char-by-char rebuild.
    if s.len() <= max && s.bytes().all(label_safe) {
        return s.to_owned();
    }
    s.chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._:/@+=,-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// True for the ASCII bytes [`sanitize`] keeps.
fn label_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'.' | b'_' | b':' | b'/' | b'@' | b'+' | b'=' | b',' | b'-'
        )
}
