//! Body reading for token accounting: the usage fallbacks for records whose envelope lacks
//! counts, the prompt-cache TTL split, the service tier and the guardrail verdict.
//!
//! Owns: the lazily parsed summary of the output body (one typed pass that folds an object
//! body or an array of stream chunks into the few numbers and flags accounting needs), and
//! the cheap `memmem` checks that decide whether that pass is needed at all.
//! Must not: parse a body unless a check says it is needed, build a `serde_json::Value`, keep
//! or return any body text, or put body content into a rejection detail (field names only).
use std::fmt;
use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

use super::event::ServiceTier;
use super::wire::{JList, JNum, JObj, JStr};
use super::{MAX_TOKENS, RejectReason, Rejection};

static INTERVENED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("INTERVENED"));
static GUARDRAIL_STOP: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new("guardrail_intervened"));
static CACHE_CREATION: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new("\"cache_creation\""));
static CACHE_DETAILS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"cacheDetails\""));
/// A prefix of every cache-count key below: one scan that usually rules out all four.
static CACHE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"cache"));
static CACHE_READ_ANTHROPIC: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new("\"cache_read_input_tokens\""));
static CACHE_WRITE_ANTHROPIC: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new("\"cache_creation_input_tokens\""));
static CACHE_READ_CONVERSE: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new("\"cacheReadInputTokens\""));
static CACHE_WRITE_CONVERSE: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new("\"cacheWriteInputTokens\""));
static SERVICE_TIER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"serviceTier\""));
static PERFORMANCE_CONFIG: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new("\"performanceConfig\""));

fn has(f: &Finder<'_>, hay: &str) -> bool {
    f.find(hay.as_bytes()).is_some()
}

/// What the structural scan of a body (`fastwire`) saw among its string tokens, as
/// [`token_hint`] bits; it lets [`Bodies`] skip the `memmem` passes.
///
/// The passes only decide whether the summary parse is worth doing, and the summary only
/// acts on exact (decoded) keys and values. A bit is set whenever such a token is written
/// plainly; a string with escapes that could decode to one sets [`hint::UNSURE`], and then
/// the passes run as before. So the answers are the same with or without hints.
pub(crate) mod hint {
    /// `INTERVENED`, `guardrail_intervened`.
    pub(crate) const GUARDRAIL: u16 = 1;
    /// `serviceTier`, `performanceConfig`.
    pub(crate) const TIER: u16 = 2;
    /// `cache_creation`, `cacheDetails` (the TTL split).
    pub(crate) const SPLIT: u16 = 4;
    /// The four cache-count keys.
    pub(crate) const CACHE: u16 = 8;
    /// A string with escapes that could decode to any of the above.
    pub(crate) const UNSURE: u16 = 0x8000;
}

/// The longest token [`token_hint`] looks for, in bytes.
const LONGEST_TOKEN: usize = "cache_creation_input_tokens".len();

/// Token lengths worth comparing (bit `n` set: some token is `n` bytes long).
const TOKEN_LENGTHS: u32 = (1 << 10)
    | (1 << 11)
    | (1 << 12)
    | (1 << 14)
    | (1 << 17)
    | (1 << 20)
    | (1 << 21)
    | (1 << 23)
    | (1 << 27);

/// The [`hint`] bits of one string token of a body: `raw` is its text between the quotes,
/// `escaped` whether it holds a backslash escape.
///
/// Called for every string of every record, so the common answer (no token of a length
/// worth comparing, no escape) is decided inline and the rest is out of line.
#[inline]
pub(crate) fn token_hint(raw: &[u8], escaped: bool) -> u16 {
    let len = raw.len();
    if !escaped && (len > LONGEST_TOKEN || TOKEN_LENGTHS & (1 << len) == 0) {
        return 0;
    }
    token_hint_compare(raw, escaped)
}

/// [`token_hint`] for a string that may be one of the tokens.
#[inline(never)]
fn token_hint_compare(raw: &[u8], escaped: bool) -> u16 {
    if escaped {
        return if could_spell_a_token(raw) {
            hint::UNSURE
        } else {
            0
        };
    }
    match raw {
        b"INTERVENED" | b"guardrail_intervened" => hint::GUARDRAIL,
        b"serviceTier" | b"performanceConfig" => hint::TIER,
        b"cache_creation" | b"cacheDetails" => hint::SPLIT,
        b"cache_read_input_tokens"
        | b"cache_creation_input_tokens"
        | b"cacheReadInputTokens"
        | b"cacheWriteInputTokens" => hint::CACHE,
        _ => 0,
    }
}

/// Whether an escaped string could decode to one of [`token_hint`]'s tokens. They are all
/// ASCII letters and `_`: only a `\uXXXX` escape can produce one of those (`\n`, `\"` and
/// the other short escapes cannot), and every other byte must already be one. Each character
/// takes at most six bytes escaped.
fn could_spell_a_token(raw: &[u8]) -> bool {
    if raw.len() > 6 * LONGEST_TOKEN {
        return false;
    }
    let mut i = 0;
    while let Some(&c) = raw.get(i) {
        match c {
            b'\\' if raw.get(i + 1) == Some(&b'u') => i += 6,
            c if c.is_ascii_alphanumeric() || c == b'_' => i += 1,
            _ => return false,
        }
    }
    true
}

/// Whether a body may hold one of the tokens of `bit`: from its hints when they are sure,
/// else by `search`ing its text.
fn may_hold(hints: Option<u16>, bit: u16, search: impl FnOnce() -> bool) -> bool {
    match hints {
        Some(h) if h & hint::UNSURE == 0 => h & bit != 0,
        _ => search(),
    }
}

/// Token counts read from a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct BodyTokens {
    /// Uncached input.
    pub(crate) input: u64,
    /// Output.
    pub(crate) output: u64,
    /// Cache reads.
    pub(crate) cache_read: u64,
    /// Cache writes (both TTLs).
    pub(crate) cache_write: u64,
}

/// The cache-write total split by TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CacheSplit {
    /// 5-minute writes.
    pub(crate) five_m: u64,
    /// 1-hour writes.
    pub(crate) one_h: u64,
    /// True when the body gave no split and everything was assumed to be 5-minute.
    pub(crate) assumed: bool,
}

/// The inline request and response bodies of one record, as raw JSON text.
pub(crate) struct Bodies<'a> {
    input: Option<&'a str>,
    output: Option<&'a str>,
    /// [`hint`] bits of the request and response bodies, when a scan gave them.
    hints: [Option<u16>; 2],
    summary: Option<OutSummary>,
}

impl<'a> Bodies<'a> {
    /// Wraps the raw bodies; nothing is parsed yet.
    pub(crate) fn new(input: Option<&'a str>, output: Option<&'a str>) -> Self {
        Bodies {
            input,
            output,
            hints: [None, None],
            summary: None,
        }
    }

    /// Adds the [`hint`] bits a scan found in the request and response bodies.
    pub(crate) fn with_hints(mut self, input: u16, output: u16) -> Self {
        self.hints = [Some(input), Some(output)];
        self
    }

    /// The raw request body.
    pub(crate) fn input(&self) -> Option<&'a str> {
        self.input
    }

    /// The raw response body.
    pub(crate) fn output(&self) -> Option<&'a str> {
        self.output
    }

    fn summary(&mut self) -> &OutSummary {
        let output = self.output;
        self.summary
            .get_or_insert_with(|| output.map(OutSummary::parse).unwrap_or_default())
    }

    /// True when the response says a guardrail intervened
    /// (`amazon-bedrock-guardrailAction: INTERVENED`, or Converse
    /// `stopReason: guardrail_intervened`). The body is parsed only after a substring hit.
    pub(crate) fn guardrail_intervened(&mut self) -> bool {
        let Some(out) = self.output else {
            return false;
        };
        if !may_hold(self.hints[1], hint::GUARDRAIL, || {
            has(&INTERVENED, out) || has(&GUARDRAIL_STOP, out)
        }) {
            return false;
        }
        self.summary().guardrail
    }

    /// Token counts from the response body's usage blocks, for records whose envelope has
    /// none. `Ok(None)` when the body has no usable counts.
    pub(crate) fn counts(&mut self) -> Result<Option<BodyTokens>, Rejection> {
        if self.output.is_none() {
            return Ok(None);
        }
        self.summary().counts()
    }

    /// Prompt-cache counts from the response body, for records whose envelope carries token
    /// counts but no cache fields (seen in real 2025 InvokeModel records whose Anthropic body
    /// still reported cache tokens). `None` when the body does not mention cache tokens or
    /// reports none; body counts that fail validation are ignored here rather than rejecting
    /// a record whose envelope is sound.
    pub(crate) fn cache_counts(&mut self) -> Option<(u64, u64)> {
        let out = self.output?;
        let mentioned = may_hold(self.hints[1], hint::CACHE, || {
            has(&CACHE_KEY, out)
                && [
                    &*CACHE_READ_ANTHROPIC,
                    &*CACHE_WRITE_ANTHROPIC,
                    &*CACHE_READ_CONVERSE,
                    &*CACHE_WRITE_CONVERSE,
                ]
                .iter()
                .any(|f| has(f, out))
        });
        if !mentioned {
            return None;
        }
        let t = self.summary().counts().ok().flatten()?;
        (t.cache_read > 0 || t.cache_write > 0).then_some((t.cache_read, t.cache_write))
    }

    /// Splits `total` cache-write tokens into 5-minute and 1-hour writes from the body
    /// (Anthropic `usage.cache_creation`, Converse `usage.cacheDetails`). Without a usable
    /// split everything is 5-minute and `assumed` is set. The 1-hour part is capped by
    /// `total`; the rest is 5-minute.
    pub(crate) fn cache_split(&mut self, total: u64) -> CacheSplit {
        if total == 0 {
            return CacheSplit {
                five_m: 0,
                one_h: 0,
                assumed: false,
            };
        }
        let from_body = match self.output {
            Some(out)
                if may_hold(self.hints[1], hint::SPLIT, || {
                    has(&CACHE_CREATION, out) || has(&CACHE_DETAILS, out)
                }) =>
            {
                self.summary().split
            }
            _ => None,
        };
        match from_body {
            Some((five_m, one_h)) if five_m.saturating_add(one_h) > 0 => {
                let one_h = one_h.min(total);
                CacheSplit {
                    five_m: total - one_h,
                    one_h,
                    assumed: false,
                }
            }
            _ => CacheSplit {
                five_m: total,
                one_h: 0,
                assumed: true,
            },
        }
    }

    /// The service tier: from the response (`serviceTier`, `performanceConfig`), else from the
    /// request, else standard. Each body is parsed only after a substring hit.
    pub(crate) fn service_tier(&mut self) -> ServiceTier {
        let tier_keys = |text: &str| has(&SERVICE_TIER, text) || has(&PERFORMANCE_CONFIG, text);
        if let Some(out) = self.output
            && may_hold(self.hints[1], hint::TIER, || tier_keys(out))
            && let Some(t) = self.summary().tier
        {
            return t;
        }
        if let Some(inp) = self.input
            && may_hold(self.hints[0], hint::TIER, || tier_keys(inp))
            && let Ok(JObj::Val(r)) = serde_json::from_str::<JObj<TierFields<'_>>>(inp)
            && let Some(t) = r.tier()
        {
            return t;
        }
        ServiceTier::Standard
    }
}

/// One count read from a body, with where it was (for rejection details).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BodyNum {
    value: JNum,
    /// `output.outputBodyJson` or `output.outputBodyJson[]`.
    prefix: &'static str,
    /// The path inside the body, e.g. `.usage.inputTokens`.
    path: &'static str,
}

impl BodyNum {
    /// A present, non-null value.
    fn usable(self) -> bool {
        matches!(self.value, JNum::Int(_) | JNum::Negative)
    }

    fn check(self) -> Result<Option<u64>, Rejection> {
        match self.value {
            JNum::Int(v) if v > MAX_TOKENS => Err(Rejection {
                reason: RejectReason::AbsurdCount,
                detail: format!(
                    "field {}{}: more than {MAX_TOKENS} tokens",
                    self.prefix, self.path
                ),
            }),
            JNum::Int(v) => Ok(Some(v)),
            JNum::Negative => Err(Rejection {
                reason: RejectReason::NegativeCount,
                detail: format!("field {}{}: negative count", self.prefix, self.path),
            }),
            _ => Ok(None),
        }
    }
}

fn check(n: Option<BodyNum>) -> Result<u64, Rejection> {
    Ok(match n {
        Some(n) => n.check()?.unwrap_or(0),
        None => 0,
    })
}

/// The four token kinds from one usage-like block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct UsageNums {
    input: Option<BodyNum>,
    output: Option<BodyNum>,
    cache_read: Option<BodyNum>,
    cache_write: Option<BodyNum>,
}

impl UsageNums {
    fn has_any(&self) -> bool {
        [self.input, self.output, self.cache_read, self.cache_write]
            .into_iter()
            .flatten()
            .any(BodyNum::usable)
    }

    fn tokens(&self) -> Result<BodyTokens, Rejection> {
        Ok(BodyTokens {
            input: check(self.input)?,
            output: check(self.output)?,
            cache_read: check(self.cache_read)?,
            cache_write: check(self.cache_write)?,
        })
    }
}

/// The first present of several spellings of one count.
fn pick(prefix: &'static str, options: &[(JNum, &'static str)]) -> Option<BodyNum> {
    options
        .iter()
        .find(|(n, _)| n.is_present())
        .map(|&(value, path)| BodyNum {
            value,
            prefix,
            path,
        })
}

fn num(prefix: &'static str, value: JNum, path: &'static str) -> Option<BodyNum> {
    value.is_present().then_some(BodyNum {
        value,
        prefix,
        path,
    })
}

/// A usage block: Converse `TokenUsage`, Anthropic `usage`, Nova native usage.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Usage<'a> {
    #[serde(rename = "inputTokens")]
    c_input: JNum,
    #[serde(rename = "outputTokens")]
    c_output: JNum,
    #[serde(rename = "cacheReadInputTokens")]
    c_cache_read: JNum,
    #[serde(rename = "cacheWriteInputTokens")]
    c_cache_write: JNum,
    #[serde(rename = "cacheReadInputTokenCount")]
    n_cache_read: JNum,
    #[serde(rename = "cacheWriteInputTokenCount")]
    n_cache_write: JNum,
    #[serde(rename = "cacheDetails", borrow)]
    cache_details: JList<JObj<CacheDetail<'a>>>,
    input_tokens: JNum,
    output_tokens: JNum,
    cache_read_input_tokens: JNum,
    cache_creation_input_tokens: JNum,
    cache_creation: JObj<CacheCreation>,
}

/// A usage block seen at some path of the body, e.g. `.usage.` or `.message.usage.`.
macro_rules! usage_nums {
    ($u:expr, $prefix:expr, $path:literal) => {{
        let u = $u;
        let prefix = $prefix;
        UsageNums {
            input: pick(
                prefix,
                &[
                    (u.c_input, concat!($path, "inputTokens")),
                    (u.input_tokens, concat!($path, "input_tokens")),
                ],
            ),
            output: pick(
                prefix,
                &[
                    (u.c_output, concat!($path, "outputTokens")),
                    (u.output_tokens, concat!($path, "output_tokens")),
                ],
            ),
            cache_read: pick(
                prefix,
                &[
                    (u.c_cache_read, concat!($path, "cacheReadInputTokens")),
                    (u.n_cache_read, concat!($path, "cacheReadInputTokenCount")),
                    (
                        u.cache_read_input_tokens,
                        concat!($path, "cache_read_input_tokens"),
                    ),
                ],
            ),
            cache_write: pick(
                prefix,
                &[
                    (u.c_cache_write, concat!($path, "cacheWriteInputTokens")),
                    (u.n_cache_write, concat!($path, "cacheWriteInputTokenCount")),
                    (
                        u.cache_creation_input_tokens,
                        concat!($path, "cache_creation_input_tokens"),
                    ),
                ],
            ),
        }
    }};
}

impl Usage<'_> {
    /// The (5m, 1h) cache-write split, when the block carries one.
    fn split(&self) -> Option<(u64, u64)> {
        if let Some(c) = self.cache_creation.get()
            && (c.ephemeral_5m_input_tokens.is_present()
                || c.ephemeral_1h_input_tokens.is_present())
        {
            return Some((
                c.ephemeral_5m_input_tokens.int().unwrap_or(0),
                c.ephemeral_1h_input_tokens.int().unwrap_or(0),
            ));
        }
        let mut found = false;
        let (mut five_m, mut one_h) = (0u64, 0u64);
        for d in self.cache_details.0.iter().filter_map(JObj::get) {
            let n = d.input_tokens.int().unwrap_or(0);
            match d.ttl.as_str() {
                Some("5m") => five_m = five_m.saturating_add(n),
                Some("1h") => one_h = one_h.saturating_add(n),
                _ => continue,
            }
            found = true;
        }
        found.then_some((five_m, one_h))
    }
}

/// Converse `CacheDetail`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CacheDetail<'a> {
    #[serde(rename = "inputTokens")]
    input_tokens: JNum,
    #[serde(borrow)]
    ttl: JStr<'a>,
}

/// Anthropic `usage.cache_creation`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CacheCreation {
    ephemeral_5m_input_tokens: JNum,
    ephemeral_1h_input_tokens: JNum,
}

/// `amazon-bedrock-invocationMetrics` on stream chunks.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InvocationMetrics {
    #[serde(rename = "inputTokenCount")]
    input: JNum,
    #[serde(rename = "outputTokenCount")]
    output: JNum,
    #[serde(rename = "cacheReadInputTokenCount")]
    cache_read: JNum,
    #[serde(rename = "cacheWriteInputTokenCount")]
    cache_write: JNum,
}

/// `serviceTier` (`{"type": …}`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TierObj<'a> {
    #[serde(rename = "type", borrow)]
    kind: JStr<'a>,
}

/// `performanceConfig` (`{"latency": …}`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PerfObj<'a> {
    #[serde(borrow)]
    latency: JStr<'a>,
}

/// The two tier fields, as they appear on a Converse request, response or metadata event.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TierFields<'a> {
    #[serde(rename = "serviceTier", borrow)]
    service_tier: JObj<TierObj<'a>>,
    #[serde(rename = "performanceConfig", borrow)]
    performance_config: JObj<PerfObj<'a>>,
}

impl TierFields<'_> {
    fn tier(&self) -> Option<ServiceTier> {
        tier_of(
            self.service_tier.get().and_then(|t| t.kind.as_str()),
            self.performance_config
                .get()
                .and_then(|p| p.latency.as_str()),
        )
    }
}

/// `priority`/`flex` win; otherwise latency `optimized`; otherwise standard when either field
/// was given; `None` when neither says anything.
fn tier_of(service: Option<&str>, latency: Option<&str>) -> Option<ServiceTier> {
    match service {
        Some("priority") => return Some(ServiceTier::Priority),
        Some("flex") => return Some(ServiceTier::Flex),
        _ => {}
    }
    if latency == Some("optimized") {
        return Some(ServiceTier::LatencyOptimized);
    }
    (service.is_some() || latency.is_some()).then_some(ServiceTier::Standard)
}

/// Anthropic `message_start.message`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MessageStart<'a> {
    #[serde(borrow)]
    usage: JObj<Usage<'a>>,
}

/// Converse stream `metadata` event.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Metadata<'a> {
    #[serde(borrow)]
    usage: JObj<Usage<'a>>,
    #[serde(rename = "serviceTier", borrow)]
    service_tier: JObj<TierObj<'a>>,
    #[serde(rename = "performanceConfig", borrow)]
    performance_config: JObj<PerfObj<'a>>,
}

/// Converse stream `messageStop` event.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MessageStop<'a> {
    #[serde(rename = "stopReason", borrow)]
    stop_reason: JStr<'a>,
}

/// Titan `results[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TitanResult {
    #[serde(rename = "tokenCount")]
    token_count: JNum,
}

/// An object response body, or one stream chunk: every field any supported shape uses.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Node<'a> {
    #[serde(rename = "type", borrow)]
    kind: JStr<'a>,
    #[serde(borrow)]
    usage: JObj<Usage<'a>>,
    #[serde(borrow)]
    message: JObj<MessageStart<'a>>,
    #[serde(borrow)]
    metadata: JObj<Metadata<'a>>,
    #[serde(rename = "messageStop", borrow)]
    message_stop: JObj<MessageStop<'a>>,
    #[serde(rename = "inputTextTokenCount")]
    titan_input: JNum,
    #[serde(rename = "totalOutputTextTokenCount")]
    titan_output_total: JNum,
    results: JList<JObj<TitanResult>>,
    prompt_token_count: JNum,
    generation_token_count: JNum,
    #[serde(rename = "amazon-bedrock-invocationMetrics")]
    metrics: JObj<InvocationMetrics>,
    #[serde(rename = "amazon-bedrock-guardrailAction", borrow)]
    guardrail_action: JStr<'a>,
    #[serde(rename = "stopReason", borrow)]
    stop_reason: JStr<'a>,
    #[serde(rename = "serviceTier", borrow)]
    service_tier: JObj<TierObj<'a>>,
    #[serde(rename = "performanceConfig", borrow)]
    performance_config: JObj<PerfObj<'a>>,
}

const OBJ: &str = "output.outputBodyJson";
const CHUNK: &str = "output.outputBodyJson[]";

/// What accounting needs from the response body, folded in one pass.
#[derive(Debug, Default)]
struct OutSummary {
    guardrail: bool,
    tier: Option<ServiceTier>,
    /// The last `amazon-bedrock-invocationMetrics`.
    metrics: Option<UsageNums>,
    /// A top-level (or Converse `metadata`) usage block.
    usage: Option<UsageNums>,
    /// Anthropic `message_start.message.usage`.
    msg_start: Option<UsageNums>,
    /// The last Anthropic `message_delta.usage.output_tokens`.
    delta_output: Option<BodyNum>,
    titan_input: Option<BodyNum>,
    titan_output: Option<BodyNum>,
    llama_input: Option<BodyNum>,
    llama_output: Option<BodyNum>,
    /// The first (5m, 1h) cache-write split seen.
    split: Option<(u64, u64)>,
}

impl OutSummary {
    /// Parses a response body; a body that does not parse yields an empty summary.
    fn parse(raw: &str) -> OutSummary {
        struct Folded(OutSummary);
        impl<'de> Deserialize<'de> for Folded {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(FoldVisitor)
            }
        }
        struct FoldVisitor;
        impl<'de> Visitor<'de> for FoldVisitor {
            type Value = Folded;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a response body")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Folded, A::Error> {
                let node = Node::deserialize(MapAccessDeserializer::new(map))?;
                let mut s = OutSummary::default();
                s.absorb(&node, OBJ);
                Ok(Folded(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Folded, A::Error> {
                let mut s = OutSummary::default();
                while let Some(chunk) = seq.next_element::<JObj<Node<'de>>>()? {
                    if let JObj::Val(node) = chunk {
                        s.absorb(&node, CHUNK);
                    }
                }
                Ok(Folded(s))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Folded, E> {
                Ok(Folded(OutSummary::default()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Folded, E> {
                Ok(Folded(OutSummary::default()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Folded, E> {
                Ok(Folded(OutSummary::default()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Folded, E> {
                Ok(Folded(OutSummary::default()))
            }
            fn visit_str<E>(self, _: &str) -> Result<Folded, E> {
                Ok(Folded(OutSummary::default()))
            }
            fn visit_unit<E>(self) -> Result<Folded, E> {
                Ok(Folded(OutSummary::default()))
            }
        }
        serde_json::from_str::<Folded>(raw)
            .map(|f| f.0)
            .unwrap_or_default()
    }

    fn absorb(&mut self, n: &Node<'_>, prefix: &'static str) {
        if n.guardrail_action.is("INTERVENED")
            || n.stop_reason.is("guardrail_intervened")
            || n.message_stop
                .get()
                .is_some_and(|m| m.stop_reason.is("guardrail_intervened"))
        {
            self.guardrail = true;
        }
        if self.tier.is_none() {
            self.tier = tier_of(
                n.service_tier.get().and_then(|t| t.kind.as_str()),
                n.performance_config.get().and_then(|p| p.latency.as_str()),
            )
            .or_else(|| {
                n.metadata.get().and_then(|m| {
                    tier_of(
                        m.service_tier.get().and_then(|t| t.kind.as_str()),
                        m.performance_config.get().and_then(|p| p.latency.as_str()),
                    )
                })
            });
        }
        if let Some(m) = n.metrics.get() {
            let nums = UsageNums {
                input: num(
                    prefix,
                    m.input,
                    ".amazon-bedrock-invocationMetrics.inputTokenCount",
                ),
                output: num(
                    prefix,
                    m.output,
                    ".amazon-bedrock-invocationMetrics.outputTokenCount",
                ),
                cache_read: num(
                    prefix,
                    m.cache_read,
                    ".amazon-bedrock-invocationMetrics.cacheReadInputTokenCount",
                ),
                cache_write: num(
                    prefix,
                    m.cache_write,
                    ".amazon-bedrock-invocationMetrics.cacheWriteInputTokenCount",
                ),
            };
            if nums.has_any() {
                self.metrics = Some(nums);
            }
        }
        if let Some(u) = n.usage.get() {
            if n.kind.is("message_delta") {
                if let Some(out) = num(prefix, u.output_tokens, ".usage.output_tokens") {
                    self.delta_output = Some(out);
                }
            } else {
                let nums = usage_nums!(u, prefix, ".usage.");
                if nums.has_any() {
                    self.usage = Some(nums);
                }
            }
            self.note_split(u);
        }
        if let Some(u) = n.message.get().and_then(|m| m.usage.get()) {
            let nums = usage_nums!(u, prefix, ".message.usage.");
            if nums.has_any() {
                self.msg_start = Some(nums);
            }
            self.note_split(u);
        }
        if let Some(u) = n.metadata.get().and_then(|m| m.usage.get()) {
            let nums = usage_nums!(u, prefix, ".metadata.usage.");
            if nums.has_any() {
                self.usage = Some(nums);
            }
            self.note_split(u);
        }
        if let Some(v) = num(prefix, n.titan_input, ".inputTextTokenCount") {
            self.titan_input = Some(v);
        }
        if let Some(v) = num(prefix, n.titan_output_total, ".totalOutputTextTokenCount") {
            self.titan_output = Some(v);
        } else if !n.results.0.is_empty() {
            let mut sum = JNum::Missing;
            for r in n.results.0.iter().filter_map(JObj::get) {
                sum = match (sum, r.token_count) {
                    (JNum::Negative, _) | (_, JNum::Negative) => JNum::Negative,
                    (JNum::Int(a), JNum::Int(b)) => JNum::Int(a.saturating_add(b)),
                    (_, JNum::Int(b)) => JNum::Int(b),
                    (s, _) => s,
                };
            }
            if let Some(v) = num(prefix, sum, ".results[].tokenCount") {
                self.titan_output = Some(v);
            }
        }
        if let Some(v) = num(prefix, n.prompt_token_count, ".prompt_token_count") {
            self.llama_input = Some(v);
        }
        if let Some(v) = num(prefix, n.generation_token_count, ".generation_token_count") {
            self.llama_output = Some(v);
        }
    }

    fn note_split(&mut self, u: &Usage<'_>) {
        if self.split.is_none() {
            self.split = u.split();
        }
    }

    /// The best counts the body offers: invocation metrics, then a usage block, then the
    /// Anthropic stream events, then Titan, then Llama fields.
    fn counts(&self) -> Result<Option<BodyTokens>, Rejection> {
        let usable = |n: &Option<BodyNum>| n.is_some_and(BodyNum::usable);
        let candidate = if let Some(m) = self.metrics {
            Some(m)
        } else if let Some(u) = self.usage {
            Some(u)
        } else if let Some(mut m) = self.msg_start {
            if usable(&self.delta_output) {
                m.output = self.delta_output;
            }
            Some(m)
        } else if usable(&self.titan_input) || usable(&self.titan_output) {
            Some(UsageNums {
                input: self.titan_input,
                output: self.titan_output,
                ..UsageNums::default()
            })
        } else if usable(&self.llama_input) || usable(&self.llama_output) {
            Some(UsageNums {
                input: self.llama_input,
                output: self.llama_output,
                ..UsageNums::default()
            })
        } else {
            None
        };
        candidate.map(|c| c.tokens()).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn bodies<'a>(input: Option<&'a RawValue>, output: Option<&'a RawValue>) -> Bodies<'a> {
        Bodies::new(input.map(RawValue::get), output.map(RawValue::get))
    }

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn converse_usage_gives_body_counts() {
        let out = raw(
            r#"{"output":{"message":{"content":[{"text":"hi"}]}},"usage":{"inputTokens":12,
               "outputTokens":7,"cacheReadInputTokens":100,"cacheWriteInputTokens":50,"totalTokens":169}}"#,
        );
        let mut b = bodies(None, Some(&out));
        assert_eq!(
            b.counts().unwrap(),
            Some(BodyTokens {
                input: 12,
                output: 7,
                cache_read: 100,
                cache_write: 50
            })
        );
    }

    #[test]
    fn anthropic_usage_gives_body_counts() {
        let out = raw(
            r#"{"type":"message","content":[],"usage":{"input_tokens":3,"cache_creation_input_tokens":40,
               "cache_read_input_tokens":5,"output_tokens":9}}"#,
        );
        assert_eq!(
            bodies(None, Some(&out)).counts().unwrap(),
            Some(BodyTokens {
                input: 3,
                output: 9,
                cache_read: 5,
                cache_write: 40
            })
        );
    }

    #[test]
    fn titan_results_are_summed_for_output() {
        let out = raw(
            r#"{"inputTextTokenCount":5,"results":[{"tokenCount":4,"outputText":"a"},{"tokenCount":6}]}"#,
        );
        assert_eq!(
            bodies(None, Some(&out)).counts().unwrap(),
            Some(BodyTokens {
                input: 5,
                output: 10,
                ..BodyTokens::default()
            })
        );
    }

    #[test]
    fn the_last_invocation_metrics_chunk_wins_over_everything_else() {
        let out = raw(
            r#"[{"type":"message_start","message":{"usage":{"input_tokens":1,"output_tokens":1}}},
                {"amazon-bedrock-invocationMetrics":{"inputTokenCount":2,"outputTokenCount":2}},
                {"amazon-bedrock-invocationMetrics":{"inputTokenCount":8,"outputTokenCount":9,
                 "cacheReadInputTokenCount":3,"cacheWriteInputTokenCount":4}}]"#,
        );
        assert_eq!(
            bodies(None, Some(&out)).counts().unwrap(),
            Some(BodyTokens {
                input: 8,
                output: 9,
                cache_read: 3,
                cache_write: 4
            })
        );
    }

    #[test]
    fn anthropic_stream_without_metrics_uses_message_start_and_the_final_delta() {
        let out = raw(
            r#"[{"type":"message_start","message":{"usage":{"input_tokens":20,
                 "cache_read_input_tokens":7,"cache_creation_input_tokens":0,"output_tokens":1}}},
                {"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}},
                {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}},
                {"type":"message_delta","delta":{},"usage":{"output_tokens":31}},
                {"type":"message_stop"}]"#,
        );
        assert_eq!(
            bodies(None, Some(&out)).counts().unwrap(),
            Some(BodyTokens {
                input: 20,
                output: 31,
                cache_read: 7,
                cache_write: 0
            })
        );
    }

    #[test]
    fn titan_stream_chunks_give_input_and_total_output() {
        let out = raw(
            r#"[{"outputText":"a","inputTextTokenCount":6,"totalOutputTextTokenCount":null},
                {"outputText":"b","inputTextTokenCount":null,"totalOutputTextTokenCount":14}]"#,
        );
        assert_eq!(
            bodies(None, Some(&out)).counts().unwrap(),
            Some(BodyTokens {
                input: 6,
                output: 14,
                ..BodyTokens::default()
            })
        );
    }

    #[test]
    fn a_body_without_usage_has_no_counts() {
        for s in [
            r#"{"output":"x"}"#,
            "[]",
            r#""str""#,
            "7",
            r#"{"usage":{"inputTokens":"3"}}"#,
        ] {
            let out = raw(s);
            assert_eq!(bodies(None, Some(&out)).counts().unwrap(), None, "{s}");
        }
        assert_eq!(bodies(None, None).counts().unwrap(), None);
    }

    #[test]
    fn negative_or_absurd_body_counts_reject_naming_the_field_only() {
        let out = raw(r#"{"usage":{"inputTokens":-4,"outputTokens":1}}"#);
        let r = bodies(None, Some(&out)).counts().unwrap_err();
        assert_eq!(r.reason, RejectReason::NegativeCount);
        assert_eq!(
            r.detail,
            "field output.outputBodyJson.usage.inputTokens: negative count"
        );
        let out = raw(r#"[{"amazon-bedrock-invocationMetrics":{"outputTokenCount":100000001}}]"#);
        let r = bodies(None, Some(&out)).counts().unwrap_err();
        assert_eq!(r.reason, RejectReason::AbsurdCount);
        assert!(r.detail.starts_with(
            "field output.outputBodyJson[].amazon-bedrock-invocationMetrics.outputTokenCount"
        ));
    }

    #[test]
    fn cache_split_reads_converse_cache_details() {
        let out = raw(
            r#"{"usage":{"inputTokens":1,"outputTokens":1,"cacheWriteInputTokens":300,
               "cacheDetails":[{"inputTokens":200,"ttl":"1h"},{"inputTokens":100,"ttl":"5m"}]}}"#,
        );
        assert_eq!(
            bodies(None, Some(&out)).cache_split(300),
            CacheSplit {
                five_m: 100,
                one_h: 200,
                assumed: false
            }
        );
    }

    #[test]
    fn cache_split_reads_anthropic_cache_creation_in_objects_and_message_start() {
        let obj = raw(r#"{"usage":{"cache_creation_input_tokens":90,
               "cache_creation":{"ephemeral_5m_input_tokens":30,"ephemeral_1h_input_tokens":60}}}"#);
        let stream = raw(
            r#"[{"type":"message_start","message":{"usage":{"cache_creation":
               {"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":90}}}}]"#,
        );
        assert_eq!(
            bodies(None, Some(&obj)).cache_split(90),
            CacheSplit {
                five_m: 30,
                one_h: 60,
                assumed: false
            }
        );
        assert_eq!(
            bodies(None, Some(&stream)).cache_split(90),
            CacheSplit {
                five_m: 0,
                one_h: 90,
                assumed: false
            }
        );
    }

    #[test]
    fn a_body_split_that_disagrees_with_the_total_keeps_capped_one_hour_and_rest_five_minute() {
        let out = raw(
            r#"{"usage":{"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":500}}}"#,
        );
        assert_eq!(
            bodies(None, Some(&out)).cache_split(300),
            CacheSplit {
                five_m: 0,
                one_h: 300,
                assumed: false
            }
        );
        assert_eq!(
            bodies(None, Some(&out)).cache_split(1000),
            CacheSplit {
                five_m: 500,
                one_h: 500,
                assumed: false
            }
        );
    }

    #[test]
    fn without_a_body_split_all_cache_writes_are_assumed_five_minute() {
        let out = raw(r#"{"usage":{"cache_creation_input_tokens":70}}"#);
        let want = CacheSplit {
            five_m: 70,
            one_h: 0,
            assumed: true,
        };
        assert_eq!(bodies(None, Some(&out)).cache_split(70), want);
        assert_eq!(bodies(None, None).cache_split(70), want);
        let zero = raw(
            r#"{"usage":{"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0}}}"#,
        );
        assert_eq!(bodies(None, Some(&zero)).cache_split(70), want);
        assert_eq!(
            bodies(None, None).cache_split(0),
            CacheSplit {
                five_m: 0,
                one_h: 0,
                assumed: false
            }
        );
    }

    #[test]
    fn service_tier_comes_from_the_response_then_the_request() {
        let cases: [(Option<&str>, Option<&str>, ServiceTier); 8] = [
            (
                None,
                Some(r#"{"serviceTier":{"type":"priority"}}"#),
                ServiceTier::Priority,
            ),
            (
                None,
                Some(r#"{"serviceTier":{"type":"flex"}}"#),
                ServiceTier::Flex,
            ),
            (
                None,
                Some(r#"{"serviceTier":{"type":"reserved"}}"#),
                ServiceTier::Standard,
            ),
            (
                Some(r#"{"serviceTier":{"type":"priority"}}"#),
                Some(r#"{"serviceTier":{"type":"default"}}"#),
                ServiceTier::Standard,
            ),
            (
                Some(r#"{"messages":[],"performanceConfig":{"latency":"optimized"}}"#),
                Some(r#"{"usage":{}}"#),
                ServiceTier::LatencyOptimized,
            ),
            (
                Some(r#"{"performanceConfig":{"latency":"standard"}}"#),
                None,
                ServiceTier::Standard,
            ),
            (
                None,
                Some(r#"[{"metadata":{"usage":{},"serviceTier":{"type":"flex"}}}]"#),
                ServiceTier::Flex,
            ),
            (
                Some(r#"{"messages":[{"content":[{"text":"say \"serviceTier\""}]}]}"#),
                None,
                ServiceTier::Standard,
            ),
        ];
        for (i, o, want) in cases {
            let (i, o) = (i.map(raw), o.map(raw));
            let mut b = bodies(i.as_deref(), o.as_deref());
            assert_eq!(b.service_tier(), want, "{i:?} {o:?}");
        }
    }

    #[test]
    fn guardrail_intervention_is_confirmed_not_just_matched() {
        let cases = [
            (
                r#"{"amazon-bedrock-guardrailAction":"INTERVENED","content":[]}"#,
                true,
            ),
            (r#"{"stopReason":"guardrail_intervened","output":{}}"#, true),
            (
                r#"[{"completion":"x"},{"amazon-bedrock-guardrailAction":"INTERVENED"}]"#,
                true,
            ),
            (
                r#"[{"messageStop":{"stopReason":"guardrail_intervened"}}]"#,
                true,
            ),
            (
                r#"{"amazon-bedrock-guardrailAction":"NONE","content":[{"text":"INTERVENED"}]}"#,
                false,
            ),
            (r#"{"content":[{"text":"no guardrail here"}]}"#, false),
        ];
        for (s, want) in cases {
            let out = raw(s);
            assert_eq!(bodies(None, Some(&out)).guardrail_intervened(), want, "{s}");
        }
        assert!(!bodies(None, None).guardrail_intervened());
    }
}
