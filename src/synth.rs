//! Synthetic invocation-log records: a deterministic generator of realistic
//! `ModelInvocationLog` NDJSON lines, for `bedrock-meter demo` (a live feed, no AWS needed) and
//! `bedrock-meter bench` (the benchmark corpora).
//!
//! Records follow the shapes of the real records in `tests/fixtures/invocation-logs/` and
//! `bedrock-formats.md` §1 and §6: field order as in real CloudWatch messages, Converse and
//! ConverseStream logged as a finished Converse response, InvokeModelWithResponseStream as an
//! array of decoded chunks with `amazon-bedrock-invocationMetrics` on the last one, system and
//! geographic cross-region profiles with `inferenceRegion`, prompt caching with the TTL split
//! in the body (Converse `usage.cacheDetails`, Anthropic `usage.cache_creation`), embeddings,
//! image generation, a provisioned-model ARN, several principals, `requestMetadata` tags and a
//! few deliberately malformed lines.
//!
//! Everything is a function of the seed and the config: a SplitMix64 generator drives every
//! choice, tables are slices (no hash-map iteration order), and the text comes from a fixed,
//! pre-escaped pool. The same seed, config and timestamps give the same bytes.
//!
//! Must not: read the clock (callers pass each record's time), do I/O, or hold per-record
//! state beyond a counter (it feeds million-record corpora).
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::sync::LazyLock;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Configuration

/// How large the request and response bodies are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySize {
    /// Bodies follow the token counts (≈ 4 bytes of text per token), inline text capped at a
    /// few KB per record so a live demo stays light; prompts above ~25k tokens go to S3
    /// (`inputBodyS3Path`), as Bedrock does for bodies over 100 KB. Mean ≈ 2–4 KB.
    Realistic,
    /// Text lengths drawn around a target mean record size in bytes (the benchmark corpora):
    /// request text uniform, response text log-uniform, scaled so that the mean record comes
    /// out within a few percent of the target.
    MeanBytes(usize),
}

/// Which models and operations appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// The demo mix: chat, embedding and image models, a provisioned model; Converse 45 %,
    /// ConverseStream 25 %, InvokeModel 18 %, InvokeModelWithResponseStream 12 % for chat.
    Demo,
    /// Chat models only, with the operation mix of the performance research corpus
    /// (Converse 59 %, ConverseStream 21 %, InvokeModel 14 %, InvokeModelWithResponseStream 7 %).
    Chat,
}

/// Generator settings. [`Default`] is the demo mix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthConfig {
    /// Body sizes.
    pub body_bytes: BodySize,
    /// Models and operations.
    pub mix: Mix,
    /// Deliberately malformed records per thousand (truncated line, string token count,
    /// negative count, bad timestamp, missing `requestId`), to exercise rejection counting.
    pub malformed_per_mille: u32,
    /// Anthropic InvokeModel records blocked by a guardrail (no token counts, `INTERVENED`),
    /// per thousand records of that kind.
    pub guardrail_per_mille: u32,
    /// AWS account ids the applications run in (at least one; applications are spread over
    /// them in order).
    pub accounts: Vec<String>,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            body_bytes: BodySize::Realistic,
            mix: Mix::Demo,
            malformed_per_mille: 2,
            guardrail_per_mille: 30,
            accounts: vec![
                "111122223333".to_string(),
                "444455556666".to_string(),
                "777788889999".to_string(),
            ],
        }
    }
}

impl SynthConfig {
    /// The benchmark's main corpus: chat records of ≈ 18 KB, every record with token counts,
    /// 1 ‰ malformed.
    pub fn bench_large() -> SynthConfig {
        SynthConfig {
            body_bytes: BodySize::MeanBytes(18_000),
            mix: Mix::Chat,
            malformed_per_mille: 1,
            guardrail_per_mille: 0,
            ..SynthConfig::default()
        }
    }

    /// The benchmark's small-record corpus: chat records of ≈ 3 KB.
    pub fn bench_small() -> SynthConfig {
        SynthConfig {
            body_bytes: BodySize::MeanBytes(3_000),
            ..SynthConfig::bench_large()
        }
    }
}

/// Why a generated record is malformed (what the parser should reject it for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The line is cut short (`malformed_json`).
    Truncated,
    /// `input.inputTokenCount` is a string (`wrong_type`).
    StringCount,
    /// `output.outputTokenCount` is negative (`negative_count`).
    NegativeCount,
    /// `timestamp` is not a valid date-time (`bad_timestamp`).
    BadTimestamp,
    /// `requestId` is missing (`missing_field`).
    MissingRequestId,
}

/// Counts of what a [`Synth`] produced so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynthStats {
    /// Records (lines) written.
    pub records: u64,
    /// Of which deliberately malformed.
    pub malformed: u64,
    /// Bytes written, newlines included.
    pub bytes: u64,
}

// ---------------------------------------------------------------------------------------
// Random numbers

/// SplitMix64: tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
struct Rng(u64);

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(mix64(seed ^ 0x6A09_E667_F3BC_C909))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    fn per_mille(&mut self, p: u32) -> bool {
        self.below(1000) < u64::from(p)
    }

    /// Right-skewed in `lo..=hi`: a uniformly chosen octave, then uniform inside it (a
    /// piecewise log-uniform law, in integers so every platform draws the same values).
    fn skewed(&mut self, lo: u64, hi: u64) -> u64 {
        let lo = lo.max(1);
        let hi = hi.max(lo);
        let octaves = 63 - (hi / lo).leading_zeros();
        let a = lo << self.below(u64::from(octaves) + 1);
        let b = a.saturating_mul(2).min(hi);
        self.between(a.min(b), b)
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    fn weighted<'a, T>(&mut self, xs: &'a [(T, u32)]) -> &'a T {
        let total: u64 = xs.iter().map(|x| u64::from(x.1)).sum();
        let mut r = self.below(total.max(1));
        for (x, w) in xs {
            if r < u64::from(*w) {
                return x;
            }
            r -= u64::from(*w);
        }
        &xs[xs.len() - 1].0
    }
}

// ---------------------------------------------------------------------------------------
// Text

/// A fixed pool of prose and code, already escaped as JSON string content, with the offsets
/// where a slice may start or end (never inside an escape or a UTF-8 character).
struct Pool {
    text: Vec<u8>,
    starts: Vec<u32>,
}

const POOL_BYTES: usize = 1 << 20;

static POOL: LazyLock<Pool> = LazyLock::new(Pool::build);

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "or",
    "from",
    "at",
    "which",
    "an",
    "but",
    "not",
    "have",
    "has",
    "their",
    "they",
    "will",
    "can",
    "would",
    "should",
    "could",
    "we",
    "you",
    "our",
    "your",
    "customer",
    "order",
    "invoice",
    "policy",
    "report",
    "summary",
    "request",
    "response",
    "account",
    "region",
    "service",
    "model",
    "prompt",
    "token",
    "budget",
    "quarter",
    "revenue",
    "growth",
    "team",
    "project",
    "deadline",
    "meeting",
    "review",
    "analysis",
    "data",
    "table",
    "query",
    "result",
    "error",
    "warning",
    "latency",
    "throughput",
    "cache",
    "storage",
    "document",
    "contract",
    "clause",
    "payment",
    "shipping",
    "return",
    "refund",
    "product",
    "feature",
    "release",
    "version",
    "update",
    "migration",
    "deployment",
    "cluster",
    "database",
    "index",
    "search",
    "vector",
    "embedding",
    "context",
    "window",
    "answer",
    "question",
    "explain",
    "describe",
    "compare",
    "summarize",
    "translate",
    "classify",
    "extract",
    "write",
    "please",
    "following",
    "between",
    "because",
    "however",
    "therefore",
    "although",
    "while",
    "important",
    "necessary",
    "possible",
    "available",
    "previous",
    "current",
    "additional",
    "specific",
    "general",
    "several",
    "different",
    "similar",
    "monthly",
    "weekly",
    "daily",
    "travel",
    "hotel",
    "flight",
    "receipt",
    "expense",
    "approval",
    "manager",
    "employee",
    "support",
    "ticket",
    "issue",
    "resolution",
    "escalation",
    "priority",
    "status",
    "details",
    "information",
    "example",
    "section",
    "paragraph",
    "bullet",
    "points",
    "steps",
    "process",
];

/// Words outside ASCII (typography, accents, CJK), used for about one word in 150: ≈ 0.3 %
/// of the text's bytes, as in mostly-English traffic.
const NON_ASCII: &[&str] = &[
    "café",
    "naïve",
    "résumé",
    "Zürich",
    "São",
    "Paulo",
    "—",
    "→",
    "“quoted”",
    "東京",
    "データ",
    "±5%",
    "€120",
    "…",
];

const CODE: &[&str] = &[
    r#"fn parse_config(input: &str) -> Result<Config, Error> {\n"#,
    r#"    let name = map.get(\"name\").ok_or(Error::Missing(\"name\"))?;\n"#,
    r#"    for (i, line) in input.lines().enumerate() {\n"#,
    r#"        if line.trim().is_empty() { continue; }\n"#,
    r#"    }\n"#,
    r#"}\n"#,
    r#"def handler(event, context):\n"#,
    r#"    body = json.loads(event[\"body\"])\n"#,
    r#"    return {\"statusCode\": 200, \"body\": json.dumps(result)}\n"#,
    r#"SELECT region, SUM(cost_usd) AS cost FROM usage WHERE day >= '2026-11-01' GROUP BY region;\n"#,
    r#"const client = new BedrockRuntimeClient({ region: \"us-east-1\" });\n"#,
    r#"\tawait client.send(new ConverseCommand(input));\n"#,
    r#"# Install: pip install boto3 \u0026\u0026 python run.py --verbose\n"#,
    r#"    path = \"C:\\Users\\build\\output.log\"\n"#,
    r#"  \"retries\": 3, \"timeoutMs\": 30000, \"tags\": [\"prod\", \"eu\"]\n"#,
];

impl Pool {
    fn build() -> Pool {
        let mut rng = Rng::new(0x7E57_C0DE);
        let mut text = Vec::with_capacity(POOL_BYTES + 4096);
        let mut starts = Vec::with_capacity(POOL_BYTES / 5);
        let mut token = |text: &mut Vec<u8>, bytes: &[u8]| {
            starts.push(text.len() as u32);
            text.extend_from_slice(bytes);
        };
        while text.len() < POOL_BYTES {
            if rng.per_mille(250) {
                for _ in 0..rng.between(3, 12) {
                    let line = rng.pick(CODE).as_bytes();
                    token(&mut text, line);
                }
                token(&mut text, br"\n");
                continue;
            }
            for _ in 0..rng.between(2, 6) {
                let n = rng.between(5, 20);
                for w in 0..n {
                    let list = if rng.per_mille(7) { NON_ASCII } else { WORDS };
                    let mut word = rng.pick(list).as_bytes().to_vec();
                    if w == 0 && word[0].is_ascii_lowercase() {
                        word[0] = word[0].to_ascii_uppercase();
                    }
                    let mut t = Vec::with_capacity(word.len() + 6);
                    let quoted = rng.per_mille(20);
                    if quoted {
                        t.extend_from_slice(br#"\""#);
                    }
                    t.extend_from_slice(&word);
                    if quoted {
                        t.extend_from_slice(br#"\""#);
                    }
                    if w + 1 == n {
                        t.extend_from_slice(if rng.per_mille(150) { b"? " } else { b". " });
                    } else if rng.per_mille(80) {
                        t.extend_from_slice(b", ");
                    } else {
                        t.push(b' ');
                    }
                    token(&mut text, &t);
                }
            }
            token(&mut text, br"\n\n");
        }
        Pool { text, starts }
    }

    /// About `len` bytes of escaped text starting and ending on token boundaries.
    fn slice(&self, rng: &mut Rng, len: usize) -> &[u8] {
        let len = len.clamp(1, self.text.len() / 2);
        let max_start = self.text.len() - len;
        let n = self.starts.partition_point(|&s| s as usize <= max_start);
        let i = rng.below(n as u64) as usize;
        let s = self.starts[i] as usize;
        let j = self.starts.partition_point(|&x| (x as usize) < s + len);
        let e = self.starts.get(j).map_or(self.text.len(), |&x| x as usize);
        &self.text[s..e]
    }

    /// Splits a slice returned by [`Pool::slice`] into pieces of about `piece` bytes, on
    /// token boundaries (the deltas of a streamed response).
    fn pieces<'a>(&self, slice: &'a [u8], piece: usize) -> Vec<&'a [u8]> {
        let base = slice.as_ptr() as usize - self.text.as_ptr() as usize;
        let first = self.starts.partition_point(|&x| (x as usize) < base);
        let mut out = Vec::new();
        let mut from = 0;
        for &s in &self.starts[first..] {
            let off = s as usize - base;
            if off >= slice.len() {
                break;
            }
            if off - from >= piece {
                out.push(&slice[from..off]);
                from = off;
            }
        }
        if from < slice.len() || out.is_empty() {
            out.push(&slice[from..]);
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Models, applications, principals

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Anthropic,
    Nova,
    Llama,
    Embed,
    NovaCanvas,
    TitanImage,
    /// A provisioned-throughput model (Titan Text body), priced per model-unit hour.
    Provisioned,
}

impl Family {
    fn chat(self) -> bool {
        matches!(self, Family::Anthropic | Family::Nova | Family::Llama)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Converse,
    ConverseStream,
    InvokeModel,
    InvokeStream,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Converse => "Converse",
            Op::ConverseStream => "ConverseStream",
            Op::InvokeModel => "InvokeModel",
            Op::InvokeStream => "InvokeModelWithResponseStream",
        }
    }
}

const OPS_DEMO: &[(Op, u32)] = &[
    (Op::Converse, 45),
    (Op::ConverseStream, 25),
    (Op::InvokeModel, 18),
    (Op::InvokeStream, 12),
];
const OPS_CHAT: &[(Op, u32)] = &[
    (Op::Converse, 59),
    (Op::ConverseStream, 21),
    (Op::InvokeModel, 14),
    (Op::InvokeStream, 7),
];

/// Prompt caching a model supports (and the table prices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cache {
    None,
    /// Reads and 5-minute writes (Nova).
    FiveMinute,
    /// Reads, 5-minute and 1-hour writes (Anthropic).
    Full,
}

struct Model {
    /// `modelId` as the caller passes it (unused for [`Family::Provisioned`]).
    id: &'static str,
    family: Family,
    /// Model name inside Anthropic responses.
    wire: &'static str,
    /// Source regions (where the request was sent).
    regions: &'static [&'static str],
    /// Regions a profile routes to; empty for plain model ids (no `inferenceRegion`).
    routes: &'static [&'static str],
    /// Prompt tokens (whole prompt, cached parts included) and output tokens, lo..=hi.
    prompt: (u64, u64),
    output: (u64, u64),
    cache: Cache,
}

const US: &[&str] = &["us-east-1", "us-west-2"];
const US_ROUTES: &[&str] = &["us-east-1", "us-east-2", "us-west-2"];
const GLOBAL_ROUTES: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-2",
];
const EU_ROUTES: &[&str] = &["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"];

const SONNET_GLOBAL: usize = 0;
const HAIKU_US: usize = 1;
const OPUS_GLOBAL: usize = 2;
const SONNET_EU: usize = 3;
const NOVA_LITE: usize = 4;
const NOVA_PRO: usize = 5;
const NOVA_PREMIER: usize = 6;
const LLAMA: usize = 7;
const EMBED: usize = 8;
const CANVAS: usize = 9;
const TITAN_IMAGE: usize = 10;
const PROVISIONED: usize = 11;

const MODELS: &[Model] = &[
    Model {
        id: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        family: Family::Anthropic,
        wire: "claude-sonnet-4-5-20250929",
        regions: US,
        routes: GLOBAL_ROUTES,
        prompt: (300, 60_000),
        output: (50, 4_000),
        cache: Cache::Full,
    },
    Model {
        id: "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        family: Family::Anthropic,
        wire: "claude-haiku-4-5-20251001",
        regions: US,
        routes: US_ROUTES,
        prompt: (100, 20_000),
        output: (20, 1_500),
        cache: Cache::Full,
    },
    Model {
        id: "global.anthropic.claude-opus-4-6-v1",
        family: Family::Anthropic,
        wire: "claude-opus-4-6",
        regions: &["us-east-1", "us-west-2", "eu-central-1"],
        routes: GLOBAL_ROUTES,
        prompt: (1_000, 120_000),
        output: (100, 8_000),
        cache: Cache::Full,
    },
    Model {
        id: "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        family: Family::Anthropic,
        wire: "claude-sonnet-4-5-20250929",
        regions: &["eu-central-1"],
        routes: EU_ROUTES,
        prompt: (300, 40_000),
        output: (50, 3_000),
        cache: Cache::Full,
    },
    Model {
        id: "amazon.nova-lite-v1:0",
        family: Family::Nova,
        wire: "",
        regions: &["us-east-1"],
        routes: &[],
        prompt: (50, 8_000),
        output: (20, 1_000),
        cache: Cache::FiveMinute,
    },
    Model {
        id: "amazon.nova-pro-v1:0",
        family: Family::Nova,
        wire: "",
        regions: US,
        routes: &[],
        prompt: (200, 20_000),
        output: (50, 2_000),
        cache: Cache::FiveMinute,
    },
    Model {
        id: "us.amazon.nova-premier-v1:0",
        family: Family::Nova,
        wire: "",
        regions: &["us-east-1"],
        routes: US_ROUTES,
        prompt: (500, 50_000),
        output: (100, 4_000),
        cache: Cache::None,
    },
    Model {
        id: "meta.llama3-3-70b-instruct-v1:0",
        family: Family::Llama,
        wire: "",
        regions: &["us-east-2"],
        routes: &[],
        prompt: (100, 8_000),
        output: (50, 2_000),
        cache: Cache::None,
    },
    Model {
        id: "amazon.titan-embed-text-v2:0",
        family: Family::Embed,
        wire: "",
        regions: &["us-east-1"],
        routes: &[],
        prompt: (5, 2_000),
        output: (0, 0),
        cache: Cache::None,
    },
    Model {
        id: "amazon.nova-canvas-v1:0",
        family: Family::NovaCanvas,
        wire: "",
        regions: &["us-east-1"],
        routes: &[],
        prompt: (0, 0),
        output: (0, 0),
        cache: Cache::None,
    },
    Model {
        id: "amazon.titan-image-generator-v2:0",
        family: Family::TitanImage,
        wire: "",
        regions: US,
        routes: &[],
        prompt: (0, 0),
        output: (0, 0),
        cache: Cache::None,
    },
    Model {
        id: "",
        family: Family::Provisioned,
        wire: "",
        regions: &["us-east-1"],
        routes: &[],
        prompt: (20, 2_000),
        output: (10, 500),
        cache: Cache::None,
    },
];

/// Provisioned-model resource ids, one per account slot.
pub const PROVISIONED_IDS: &[&str] = &["w8z4n2q7r5t1", "k3p9x2m7q4vd", "t8r2w6n4z1yb"];

enum Who {
    /// `arn:aws:sts::<acct>:assumed-role/<role>/<session>`.
    Role(&'static str, &'static [&'static str]),
    /// `arn:aws:iam::<acct>:user/<path/name>`.
    User(&'static str),
}

struct App {
    /// `requestMetadata.app`; `None` team means the caller sends no `requestMetadata`.
    name: &'static str,
    team: Option<&'static str>,
    weight: u32,
    /// Index into the configured accounts (modulo their number).
    account: usize,
    who: &'static [Who],
    models: &'static [(usize, u32)],
}

const APPS: &[App] = &[
    App {
        name: "chat-web",
        team: Some("product"),
        weight: 30,
        account: 0,
        who: &[Who::Role(
            "ChatBackend",
            &[
                "i-0a1b2c3d4e5f60718",
                "i-0f9e8d7c6b5a40312",
                "i-03c5e7a9b1d2f4608",
                "i-0d4c2b1a0f9e8d7c6",
            ],
        )],
        models: &[
            (SONNET_GLOBAL, 40),
            (HAIKU_US, 30),
            (NOVA_LITE, 20),
            (NOVA_PRO, 10),
        ],
    },
    App {
        name: "support-bot",
        team: Some("support"),
        weight: 20,
        account: 0,
        who: &[Who::Role("SupportBotLambdaRole", &["support-bot-handler"])],
        models: &[(HAIKU_US, 50), (NOVA_LITE, 30), (SONNET_EU, 20)],
    },
    App {
        name: "notebooks",
        team: Some("research"),
        weight: 12,
        account: 1,
        who: &[
            Who::Role(
                "AWSReservedSSO_DataScientist_0123456789abcdef",
                &["alice@example.com", "bob@example.com", "carol@example.com"],
            ),
            Who::User("engineering/dave"),
        ],
        models: &[
            (OPUS_GLOBAL, 35),
            (SONNET_GLOBAL, 25),
            (NOVA_PREMIER, 15),
            (LLAMA, 25),
        ],
    },
    App {
        name: "search-indexer",
        team: Some("search"),
        weight: 18,
        account: 0,
        who: &[Who::Role(
            "SearchIndexer",
            &["indexer-1", "indexer-2", "indexer-3"],
        )],
        models: &[(EMBED, 85), (NOVA_LITE, 15)],
    },
    App {
        name: "campaign-studio",
        team: Some("marketing"),
        weight: 4,
        account: 2,
        who: &[
            Who::User("designer-bob"),
            Who::Role("MarketingStudio", &["campaign-q3", "campaign-q4"]),
        ],
        models: &[(CANVAS, 45), (TITAN_IMAGE, 35), (NOVA_PRO, 20)],
    },
    App {
        name: "ci-evals",
        team: Some("research"),
        weight: 7,
        account: 1,
        who: &[Who::User("ci-bot")],
        models: &[(LLAMA, 30), (NOVA_PRO, 30), (HAIKU_US, 20), (SONNET_EU, 20)],
    },
    App {
        name: "doc-translator",
        team: Some("support"),
        weight: 4,
        account: 2,
        who: &[Who::Role(
            "TranslatorBatch",
            &["translator-1", "translator-2"],
        )],
        models: &[(PROVISIONED, 100)],
    },
    App {
        name: "adhoc",
        team: None,
        weight: 5,
        account: 1,
        who: &[Who::User("engineering/erin"), Who::User("frank")],
        models: &[(SONNET_GLOBAL, 50), (HAIKU_US, 30), (NOVA_LITE, 20)],
    },
];

// ---------------------------------------------------------------------------------------
// One record's plan

#[derive(Debug, Clone, Copy, Default)]
struct Tokens {
    input: u64,
    output: u64,
    cache_read: u64,
    write_5m: u64,
    write_1h: u64,
}

impl Tokens {
    fn cache_write(&self) -> u64 {
        self.write_5m + self.write_1h
    }
    fn prompt(&self) -> u64 {
        self.input + self.cache_read + self.cache_write()
    }
}

struct Plan {
    app: &'static App,
    account: usize,
    model: &'static Model,
    op: Op,
    region: &'static str,
    route: Option<&'static str>,
    tokens: Tokens,
    /// Request and response text lengths in bytes.
    in_len: usize,
    out_len: usize,
    /// The prompt went to S3 (`inputBodyS3Path`).
    in_s3: bool,
    /// Converse body without `cacheDetails` (the TTL split is then assumed).
    no_cache_details: bool,
    guardrail: bool,
    image: Option<ImageSpec>,
    malformed: Option<Malformed>,
}

/// An image-generation request.
#[derive(Debug, Clone, Copy)]
struct ImageSpec {
    count: u64,
    width: u64,
    height: u64,
    premium: bool,
}

/// Deterministic generator of invocation-log records. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Synth {
    rng: Rng,
    config: SynthConfig,
    /// Text-length multiplier calibrated for [`BodySize::MeanBytes`] (1.0 otherwise).
    scale: f64,
    /// Per-mille weights of the applications in this mix, with their eligible models.
    apps: Vec<(usize, u32)>,
    seq: u64,
    stats: SynthStats,
    last_malformed: Option<Malformed>,
}

impl Synth {
    /// A generator for `seed`. With [`BodySize::MeanBytes`] it first calibrates its text
    /// lengths on a private sample (a few milliseconds).
    pub fn new(seed: u64, mut config: SynthConfig) -> Synth {
        if config.accounts.is_empty() {
            config.accounts.push("111122223333".to_string());
        }
        let apps = APPS
            .iter()
            .enumerate()
            .filter(|(_, a)| config.mix == Mix::Demo || a.models.iter().any(|m| chat(m.0)))
            .map(|(i, a)| (i, a.weight))
            .collect();
        let mut s = Synth {
            rng: Rng::new(seed),
            config,
            scale: 1.0,
            apps,
            seq: 0,
            stats: SynthStats::default(),
            last_malformed: None,
        };
        if let BodySize::MeanBytes(target) = s.config.body_bytes {
            s.calibrate(target);
        }
        s
    }

    /// The configuration.
    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// What was produced so far.
    pub fn stats(&self) -> SynthStats {
        self.stats
    }

    /// Whether the last record written was deliberately malformed, and how.
    pub fn last_malformed(&self) -> Option<Malformed> {
        self.last_malformed
    }

    /// Appends one record, timestamped `at` (second precision), as one compact JSON line
    /// followed by `\n`.
    pub fn record(&mut self, at: DateTime<Utc>, out: &mut Vec<u8>) {
        let start = out.len();
        let plan = self.plan();
        self.write(&plan, at, out);
        if plan.malformed == Some(Malformed::Truncated) {
            // Cut somewhere in the middle, never right after a backslash (the framer would
            // read the newline as escaped and run into the next record).
            let len = out.len() - start;
            let mut cut = start + len / 10 + self.rng.below((len * 8 / 10) as u64) as usize;
            while cut > start + 1 && out[cut - 1] == b'\\' {
                cut -= 1;
            }
            out.truncate(cut);
        }
        out.push(b'\n');
        self.seq += 1;
        self.last_malformed = plan.malformed;
        self.stats.records += 1;
        self.stats.malformed += u64::from(plan.malformed.is_some());
        self.stats.bytes += (out.len() - start) as u64;
    }

    /// How many records should have been emitted `elapsed` after the start of a live feed
    /// at `base_rate_per_sec`, with bursts of 5× the base rate for the first 10 s of every
    /// minute (see [`RateSchedule`]).
    pub fn records_due(&mut self, elapsed: Duration, base_rate_per_sec: f64) -> u64 {
        RateSchedule::bursty(base_rate_per_sec).due(elapsed)
    }

    fn mean_mode(&self) -> Option<usize> {
        match self.config.body_bytes {
            BodySize::MeanBytes(t) => Some(t),
            BodySize::Realistic => None,
        }
    }

    fn calibrate(&mut self, target: usize) {
        // Text lengths scale with `self.scale`; the rest of a record does not. Two rounds
        // on a fixed private sample (so the scale depends on the config only).
        const N: usize = 1_500;
        let saved = (self.rng.clone(), self.seq, self.stats);
        let mut buf = Vec::with_capacity(target * 4);
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        for _ in 0..2 {
            self.rng = Rng::new(0xCA11_B8A7E);
            let (mut bytes, mut text) = (0usize, 0usize);
            for _ in 0..N {
                let plan = self.plan();
                buf.clear();
                self.write(&plan, at, &mut buf);
                bytes += buf.len() + 1;
                text += plan.in_len + plan.out_len;
            }
            let overhead = bytes.saturating_sub(text) as f64;
            if text > 0 {
                let want = (target * N) as f64 - overhead;
                self.scale = (self.scale * want / text as f64).clamp(0.01, 100.0);
            }
        }
        (self.rng, self.seq, self.stats) = saved;
    }

    fn plan(&mut self) -> Plan {
        let app = &APPS[*self.rng.weighted(&self.apps)];
        let models: Vec<(usize, u32)> = app
            .models
            .iter()
            .copied()
            .filter(|m| self.config.mix == Mix::Demo || chat(m.0))
            .collect();
        let model = &MODELS[*self.rng.weighted(&models)];
        let op = match model.family {
            f if f.chat() => *self.rng.weighted(match self.config.mix {
                Mix::Demo => OPS_DEMO,
                Mix::Chat => OPS_CHAT,
            }),
            Family::Provisioned => *self
                .rng
                .weighted(&[(Op::InvokeModel, 70), (Op::Converse, 30)]),
            _ => Op::InvokeModel,
        };
        let region = *self.rng.pick(model.regions);
        let route = (!model.routes.is_empty()).then(|| *self.rng.pick(model.routes));
        let mut plan = Plan {
            app,
            account: app.account % self.config.accounts.len(),
            model,
            op,
            region,
            route,
            tokens: Tokens::default(),
            in_len: 0,
            out_len: 0,
            in_s3: false,
            no_cache_details: false,
            guardrail: false,
            image: None,
            malformed: None,
        };
        self.size(&mut plan);
        if matches!(model.family, Family::NovaCanvas | Family::TitanImage) {
            let (width, height) = *self.rng.pick(if model.family == Family::NovaCanvas {
                &[
                    (1024, 1024),
                    (1024, 1024),
                    (1280, 720),
                    (2048, 1024),
                    (512, 512),
                ]
            } else {
                &[
                    (1024, 1024),
                    (1024, 1024),
                    (512, 512),
                    (1152, 640),
                    (768, 1152),
                ]
            });
            plan.image = Some(ImageSpec {
                count: *self.rng.weighted(&[(1u64, 60), (2, 20), (3, 10), (4, 10)]),
                width,
                height,
                premium: self.rng.per_mille(300),
            });
        }
        plan.guardrail = model.family == Family::Anthropic
            && op == Op::InvokeModel
            && self.rng.per_mille(self.config.guardrail_per_mille);
        if plan.guardrail {
            plan.route = None;
            plan.out_len = 60;
        }
        if self.rng.per_mille(self.config.malformed_per_mille) {
            plan.malformed = Some(*self.rng.pick(&[
                Malformed::Truncated,
                Malformed::Truncated,
                Malformed::StringCount,
                Malformed::StringCount,
                Malformed::NegativeCount,
                Malformed::BadTimestamp,
                Malformed::MissingRequestId,
            ]));
            if plan.malformed != Some(Malformed::Truncated) {
                plan.guardrail = false;
            }
            // Plant count faults only where the record carries that count.
            let counts = plan.image.is_none();
            let output_count = counts && model.family != Family::Embed;
            plan.malformed = match plan.malformed {
                Some(Malformed::StringCount) if !counts => Some(Malformed::BadTimestamp),
                Some(Malformed::NegativeCount) if !output_count => {
                    Some(Malformed::MissingRequestId)
                }
                m => m,
            };
        }
        plan
    }

    /// Token counts and text lengths.
    fn size(&mut self, p: &mut Plan) {
        let m = p.model;
        let rng = &mut self.rng;
        let (prompt, output, in_len, out_len) = match self.config.body_bytes {
            BodySize::MeanBytes(target) => {
                let t = target as f64 * self.scale;
                let in_len = (t * 0.85 * (0.1 + 1.8 * unit(rng))) as usize;
                let out_max = (t / 4.5).clamp(200.0, 4_096.0) as u64;
                let out_len = rng.skewed(50, out_max) as usize;
                let jitter = |rng: &mut Rng, n: usize| (n as u64 / 4) * rng.between(80, 120) / 100;
                let prompt = jitter(rng, in_len).max(1);
                let output = jitter(rng, out_len).max(1);
                (prompt, output, in_len.max(16), out_len)
            }
            BodySize::Realistic => {
                let prompt = rng.skewed(m.prompt.0, m.prompt.1);
                let output = if m.output.1 == 0 {
                    0
                } else {
                    rng.skewed(m.output.0, m.output.1)
                };
                let in_len = (prompt as usize * 4).clamp(16, 6_000);
                let out_len = (output as usize * 4).clamp(16, 3_000);
                p.in_s3 = prompt > 25_000;
                (prompt, output, in_len, out_len)
            }
        };
        p.in_len = in_len;
        p.out_len = out_len;
        let output = if m.family == Family::Embed { 0 } else { output };
        let mut t = Tokens {
            input: prompt,
            output,
            ..Tokens::default()
        };
        let caching = match m.cache {
            Cache::Full => prompt >= 1_024 && rng.per_mille(350),
            Cache::FiveMinute => prompt >= 1_024 && rng.per_mille(200),
            Cache::None => false,
        };
        if caching {
            let cached = prompt * rng.between(50, 95) / 100;
            if rng.per_mille(650) {
                t.cache_read = cached;
            } else {
                let one_h = match (m.cache, rng.below(10)) {
                    (Cache::Full, 0..=1) => cached,
                    (Cache::Full, 2) => cached / 3,
                    _ => 0,
                };
                t.write_1h = one_h;
                t.write_5m = cached - one_h;
                p.no_cache_details = m.family == Family::Anthropic && rng.per_mille(150);
            }
            t.input = prompt - cached;
        }
        p.tokens = t;
    }

    fn request_id(&mut self, out: &mut Vec<u8>) {
        // 64 random bits (with the version nibble), then 60 bits that are a bijection of the
        // record counter: unique within a generator whatever the seed.
        let hi = self.rng.next();
        let lo = unique60(self.seq);
        hex(out, hi >> 32, 8);
        out.push(b'-');
        hex(out, (hi >> 16) & 0xFFFF, 4);
        out.push(b'-');
        hex(out, 0x4000 | (hi & 0x0FFF), 4);
        out.push(b'-');
        hex(
            out,
            0x8000 | ((lo >> 48) & 0x0FFF) | ((hi >> 12) & 0x3000),
            4,
        );
        out.push(b'-');
        hex(out, lo & 0xFFFF_FFFF_FFFF, 12);
    }

    // -----------------------------------------------------------------------------------
    // Writing

    fn write(&mut self, p: &Plan, at: DateTime<Utc>, out: &mut Vec<u8>) {
        let account = self.config.accounts[p.account].clone();
        let acct = account.as_bytes();
        put(out, b"{\"timestamp\":\"");
        if p.malformed == Some(Malformed::BadTimestamp) {
            put(out, b"2026-13-32T25:61:00Z");
        } else {
            timestamp(out, at);
        }
        put(out, b"\",\"accountId\":\"");
        put(out, acct);
        put(out, b"\",\"identity\":{\"arn\":\"");
        match self.rng.pick(p.app.who) {
            Who::Role(role, sessions) => {
                put(out, b"arn:aws:sts::");
                put(out, acct);
                put(out, b":assumed-role/");
                put(out, role.as_bytes());
                out.push(b'/');
                put(out, self.rng.pick(sessions).as_bytes());
            }
            Who::User(name) => {
                put(out, b"arn:aws:iam::");
                put(out, acct);
                put(out, b":user/");
                put(out, name.as_bytes());
            }
        }
        put(out, b"\"},\"region\":\"");
        put(out, p.region.as_bytes());
        put(out, b"\",");
        let mut request_id = [b'0'; 36];
        if p.malformed != Some(Malformed::MissingRequestId) {
            put(out, b"\"requestId\":\"");
            let at = out.len();
            self.request_id(out);
            request_id.copy_from_slice(&out[at..]);
            put(out, b"\",");
        }
        put(out, b"\"operation\":\"");
        put(out, p.op.name().as_bytes());
        put(out, b"\",\"modelId\":\"");
        if p.model.family == Family::Provisioned {
            put(out, b"arn:aws:bedrock:");
            put(out, p.region.as_bytes());
            out.push(b':');
            put(out, acct);
            put(out, b":provisioned-model/");
            put(
                out,
                PROVISIONED_IDS[p.account % PROVISIONED_IDS.len()].as_bytes(),
            );
        } else {
            put(out, p.model.id.as_bytes());
        }
        put(
            out,
            b"\",\"input\":{\"inputContentType\":\"application/json\",",
        );
        if p.in_s3 {
            put(out, b"\"inputBodyS3Path\":\"");
            s3_path(out, acct, p.region, at, &request_id, "input");
            out.push(b'"');
        } else {
            put(out, b"\"inputBodyJson\":");
            self.input_body(p, out);
        }
        let t = &p.tokens;
        let family = p.model.family;
        let counts = !p.guardrail && !matches!(family, Family::NovaCanvas | Family::TitanImage);
        if counts {
            put(out, b",\"inputTokenCount\":");
            if p.malformed == Some(Malformed::StringCount) {
                out.push(b'"');
                num(out, t.input);
                out.push(b'"');
            } else {
                num(out, t.input);
            }
            if p.model.cache != Cache::None {
                put(out, b",\"cacheReadInputTokenCount\":");
                num(out, t.cache_read);
                put(out, b",\"cacheWriteInputTokenCount\":");
                num(out, t.cache_write());
            }
        }
        put(
            out,
            b"},\"output\":{\"outputContentType\":\"application/json\",\"outputBodyJson\":",
        );
        self.output_body(p, out);
        if counts && family != Family::Embed {
            put(out, b",\"outputTokenCount\":");
            if p.malformed == Some(Malformed::NegativeCount) {
                out.push(b'-');
                num(out, t.output.max(1));
            } else {
                num(out, t.output);
            }
        }
        out.push(b'}');
        if let Some(team) = p.app.team {
            put(out, b",\"requestMetadata\":{\"team\":\"");
            put(out, team.as_bytes());
            put(out, b"\",\"app\":\"");
            put(out, p.app.name.as_bytes());
            out.push(b'"');
            if p.account == 0 {
                put(out, b",\"env\":\"prod\"");
            }
            out.push(b'}');
        }
        if let Some(route) = p.route {
            put(out, b",\"inferenceRegion\":\"");
            put(out, route.as_bytes());
            out.push(b'"');
        }
        put(
            out,
            b",\"schemaType\":\"ModelInvocationLog\",\"schemaVersion\":\"1.0\"}",
        );
    }

    /// Splits `total` bytes of text into `parts` pieces of random proportions.
    fn split(&mut self, total: usize, parts: usize) -> Vec<usize> {
        let w: Vec<u64> = (0..parts).map(|_| self.rng.between(1, 4)).collect();
        let sum: u64 = w.iter().sum();
        w.iter()
            .map(|x| ((total as u64 * x / sum) as usize).max(8))
            .collect()
    }

    fn text(&mut self, out: &mut Vec<u8>, len: usize) {
        out.push(b'"');
        put(out, POOL.slice(&mut self.rng, len));
        out.push(b'"');
    }

    fn input_body(&mut self, p: &Plan, out: &mut Vec<u8>) {
        let len = p.in_len;
        match p.model.family {
            Family::Embed => {
                put(out, b"{\"inputText\":");
                self.text(out, len);
                put(out, b",\"dimensions\":");
                num(out, embed_dims(self.mean_mode()));
                put(out, b",\"normalize\":true}");
            }
            Family::NovaCanvas | Family::TitanImage => {
                let img = p.image.unwrap_or(ImageSpec {
                    count: 1,
                    width: 1024,
                    height: 1024,
                    premium: false,
                });
                put(
                    out,
                    b"{\"taskType\":\"TEXT_IMAGE\",\"textToImageParams\":{\"text\":",
                );
                let prompt_len = if self.mean_mode().is_some() { 200 } else { 120 };
                self.text(out, prompt_len);
                put(out, b"},\"imageGenerationConfig\":{\"numberOfImages\":");
                num(out, img.count);
                put(out, b",\"quality\":\"");
                put(out, if img.premium { b"premium" } else { b"standard" });
                put(out, b"\",\"width\":");
                num(out, img.width);
                put(out, b",\"height\":");
                num(out, img.height);
                put(out, b",\"cfgScale\":6.5,\"seed\":");
                num(out, self.rng.below(2_147_483_647));
                put(out, b"}}");
            }
            Family::Provisioned if p.op == Op::InvokeModel => {
                put(out, b"{\"inputText\":");
                self.text(out, len);
                put(
                    out,
                    b",\"textGenerationConfig\":{\"maxTokenCount\":1024,\"temperature\":0}}",
                );
            }
            _ => match p.op {
                Op::Converse | Op::ConverseStream => self.converse_request(p, out),
                Op::InvokeModel | Op::InvokeStream => match p.model.family {
                    Family::Anthropic => self.anthropic_request(p, out),
                    Family::Llama => {
                        put(out, b"{\"prompt\":\"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\n");
                        put(out, POOL.slice(&mut self.rng, len));
                        put(out, b"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n\",\"max_gen_len\":");
                        num(out, max_tokens(p));
                        put(out, b",\"temperature\":0.5,\"top_p\":0.9}");
                    }
                    _ => {
                        put(out, b"{\"schemaVersion\":\"messages-v1\",");
                        self.converse_turns(p, out, false);
                        put(out, b",\"inferenceConfig\":{\"maxTokens\":");
                        num(out, max_tokens(p));
                        put(out, b",\"temperature\":0.7}}");
                    }
                },
            },
        }
    }

    /// `"messages":[…],"system":[…]` (Converse and Nova native shapes).
    fn converse_turns(&mut self, p: &Plan, out: &mut Vec<u8>, cache_point: bool) {
        let system = self.rng.per_mille(700);
        let turns = *self.rng.pick(&[1usize, 1, 1, 3, 3, 5]);
        let lens = self.split(p.in_len, turns + usize::from(system));
        put(out, b"\"messages\":[");
        for (i, len) in lens.iter().take(turns).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put(out, b"{\"role\":\"");
            put(out, if i % 2 == 0 { b"user" } else { b"assistant" });
            put(out, b"\",\"content\":[{\"text\":");
            self.text(out, *len);
            put(out, b"}]}");
        }
        out.push(b']');
        if system {
            put(out, b",\"system\":[{\"text\":");
            self.text(out, lens[turns]);
            out.push(b'}');
            if cache_point && p.tokens.cache_read + p.tokens.cache_write() > 0 {
                put(out, b",{\"cachePoint\":{\"type\":\"default\"");
                if p.tokens.write_1h > 0 {
                    put(out, b",\"ttl\":\"1h\"");
                }
                put(out, b"}}");
            }
            out.push(b']');
        }
    }

    fn converse_request(&mut self, p: &Plan, out: &mut Vec<u8>) {
        out.push(b'{');
        self.converse_turns(p, out, true);
        put(out, b",\"inferenceConfig\":{\"maxTokens\":");
        num(out, max_tokens(p));
        put(out, b",\"temperature\":0.7,\"topP\":0.9}");
        if p.model.family == Family::Anthropic && self.rng.per_mille(200) {
            put(
                out,
                b",\"additionalModelRequestFields\":{\"anthropic_beta\":[\"token-efficient-tools-2025-02-19\"]}",
            );
        }
        out.push(b'}');
    }

    fn anthropic_request(&mut self, p: &Plan, out: &mut Vec<u8>) {
        let turns = *self.rng.pick(&[1usize, 1, 3, 5]);
        let lens = self.split(p.in_len, turns + 1);
        put(
            out,
            b"{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":",
        );
        num(out, max_tokens(p));
        put(out, b",\"system\":[{\"type\":\"text\",\"text\":");
        self.text(out, lens[turns]);
        if p.tokens.cache_read + p.tokens.cache_write() > 0 {
            put(out, b",\"cache_control\":{\"type\":\"ephemeral\"");
            if p.tokens.write_1h > 0 {
                put(out, b",\"ttl\":\"1h\"");
            }
            out.push(b'}');
        }
        put(out, b"}],\"messages\":[");
        for (i, len) in lens.iter().take(turns).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put(out, b"{\"role\":\"");
            put(out, if i % 2 == 0 { b"user" } else { b"assistant" });
            put(out, b"\",\"content\":[{\"type\":\"text\",\"text\":");
            self.text(out, *len);
            put(out, b"}]}");
        }
        put(out, b"],\"temperature\":0.7}");
    }

    fn output_body(&mut self, p: &Plan, out: &mut Vec<u8>) {
        let t = p.tokens;
        let family = p.model.family;
        if p.guardrail {
            put(out, b"{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Sorry, I can't help with that request.\"}],\"amazon-bedrock-trace\":{\"guardrail\":{\"input\":{\"q7w8e9r0t1y2\":{\"topicPolicy\":{\"topics\":[{\"name\":\"Investment advice\",\"type\":\"DENY\",\"action\":\"BLOCKED\",\"detected\":true}]},\"invocationMetrics\":{\"guardrailProcessingLatency\":");
            num(out, self.rng.between(80, 400));
            put(out, b",\"usage\":{\"topicPolicyUnits\":1,\"contentPolicyUnits\":1,\"wordPolicyUnits\":0,\"sensitiveInformationPolicyUnits\":0,\"sensitiveInformationPolicyFreeUnits\":0,\"contextualGroundingPolicyUnits\":0}}}},\"actionReason\":\"Guardrail blocked.\"}},\"amazon-bedrock-guardrailAction\":\"INTERVENED\"}");
            return;
        }
        match family {
            Family::Embed => {
                put(out, b"{\"embedding\":[");
                for i in 0..embed_dims(self.mean_mode()) {
                    if i > 0 {
                        out.push(b',');
                    }
                    fake_float(out, self.rng.next());
                }
                put(out, b"],\"inputTextTokenCount\":");
                num(out, t.input);
                out.push(b'}');
            }
            Family::NovaCanvas | Family::TitanImage => {
                let images = p.image.map_or(1, |i| i.count);
                let each = match self.mean_mode() {
                    Some(_) => (p.in_len / images.max(1) as usize).max(64),
                    None => self.rng.between(64, 160) as usize,
                };
                put(out, b"{\"images\":[");
                for i in 0..images {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'"');
                    fake_base64(out, &mut self.rng, each);
                    out.push(b'"');
                }
                put(out, b"],\"error\":null}");
            }
            Family::Provisioned if p.op == Op::InvokeModel => {
                put(out, b"{\"inputTextTokenCount\":");
                num(out, t.input);
                put(out, b",\"results\":[{\"tokenCount\":");
                num(out, t.output);
                put(out, b",\"outputText\":");
                self.text(out, p.out_len);
                put(out, b",\"completionReason\":\"FINISH\"}]}");
            }
            _ => match (p.op, family) {
                (Op::Converse | Op::ConverseStream, _) => self.converse_response(p, out),
                (Op::InvokeModel, Family::Anthropic) => self.anthropic_response(p, out),
                (Op::InvokeStream, Family::Anthropic) => self.anthropic_stream(p, out),
                (Op::InvokeModel, Family::Llama) => {
                    put(out, b"{\"generation\":");
                    self.text(out, p.out_len);
                    put(out, b",\"prompt_token_count\":");
                    num(out, t.input);
                    put(out, b",\"generation_token_count\":");
                    num(out, t.output);
                    put(out, b",\"stop_reason\":\"stop\"}");
                }
                (Op::InvokeStream, Family::Llama) => self.llama_stream(p, out),
                (Op::InvokeStream, _) => self.nova_stream(p, out),
                _ => {
                    // Nova native InvokeModel.
                    put(out, b"{\"output\":{\"message\":{\"content\":[{\"text\":");
                    self.text(out, p.out_len);
                    put(out, b"}],\"role\":\"assistant\"}},\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":");
                    num(out, t.input);
                    put(out, b",\"outputTokens\":");
                    num(out, t.output);
                    put(out, b",\"totalTokens\":");
                    num(out, t.prompt() + t.output);
                    put(out, b",\"cacheReadInputTokenCount\":");
                    num(out, t.cache_read);
                    put(out, b",\"cacheWriteInputTokenCount\":");
                    num(out, t.cache_write());
                    put(out, b"}}");
                }
            },
        }
    }

    fn converse_response(&mut self, p: &Plan, out: &mut Vec<u8>) {
        let t = p.tokens;
        put(
            out,
            b"{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":",
        );
        self.text(out, p.out_len);
        put(out, b"}]}},\"stopReason\":\"");
        put(out, stop_reason(&mut self.rng, "end_turn", "max_tokens"));
        put(out, b"\",\"metrics\":{\"latencyMs\":");
        num(out, latency(&mut self.rng, t.output));
        put(out, b"},\"usage\":{\"inputTokens\":");
        num(out, t.input);
        put(out, b",\"outputTokens\":");
        num(out, t.output);
        put(out, b",\"totalTokens\":");
        num(out, t.prompt() + t.output);
        if p.model.cache != Cache::None {
            put(out, b",\"cacheReadInputTokens\":");
            num(out, t.cache_read);
            put(out, b",\"cacheWriteInputTokens\":");
            num(out, t.cache_write());
            if t.cache_write() > 0 && !p.no_cache_details {
                put(out, b",\"cacheDetails\":[");
                if t.write_1h > 0 {
                    put(out, b"{\"inputTokens\":");
                    num(out, t.write_1h);
                    put(out, b",\"ttl\":\"1h\"}");
                }
                if t.write_5m > 0 {
                    if t.write_1h > 0 {
                        out.push(b',');
                    }
                    put(out, b"{\"inputTokens\":");
                    num(out, t.write_5m);
                    put(out, b",\"ttl\":\"5m\"}");
                }
                out.push(b']');
            }
        }
        put(out, b"}}");
    }

    fn anthropic_usage(&mut self, p: &Plan, out: &mut Vec<u8>, output: u64) {
        let t = p.tokens;
        put(out, b"{\"input_tokens\":");
        num(out, t.input);
        put(out, b",\"cache_creation_input_tokens\":");
        num(out, t.cache_write());
        put(out, b",\"cache_read_input_tokens\":");
        num(out, t.cache_read);
        put(out, b",\"output_tokens\":");
        num(out, output);
        if t.cache_write() > 0 && !p.no_cache_details {
            put(out, b",\"cache_creation\":{\"ephemeral_5m_input_tokens\":");
            num(out, t.write_5m);
            put(out, b",\"ephemeral_1h_input_tokens\":");
            num(out, t.write_1h);
            out.push(b'}');
        }
        out.push(b'}');
    }

    fn anthropic_response(&mut self, p: &Plan, out: &mut Vec<u8>) {
        put(out, b"{\"id\":\"msg_bdrk_01");
        base62(out, &mut self.rng, 22);
        put(
            out,
            b"\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"",
        );
        put(out, p.model.wire.as_bytes());
        put(out, b"\",\"content\":[{\"type\":\"text\",\"text\":");
        self.text(out, p.out_len);
        put(out, b"}],\"stop_reason\":\"");
        put(out, stop_reason(&mut self.rng, "end_turn", "max_tokens"));
        put(out, b"\",\"stop_sequence\":null,\"usage\":");
        self.anthropic_usage(p, out, p.tokens.output);
        out.push(b'}');
    }

    fn invocation_metrics(&mut self, p: &Plan, out: &mut Vec<u8>, cache: bool) {
        let t = p.tokens;
        let first = self.rng.between(150, 900);
        put(
            out,
            b"\"amazon-bedrock-invocationMetrics\":{\"inputTokenCount\":",
        );
        num(out, t.input);
        put(out, b",\"outputTokenCount\":");
        num(out, t.output);
        put(out, b",\"invocationLatency\":");
        num(out, first + latency(&mut self.rng, t.output));
        put(out, b",\"firstByteLatency\":");
        num(out, first);
        if cache {
            put(out, b",\"cacheReadInputTokenCount\":");
            num(out, t.cache_read);
            put(out, b",\"cacheWriteInputTokenCount\":");
            num(out, t.cache_write());
        }
        out.push(b'}');
    }

    fn anthropic_stream(&mut self, p: &Plan, out: &mut Vec<u8>) {
        put(
            out,
            b"[{\"type\":\"message_start\",\"message\":{\"id\":\"msg_bdrk_01",
        );
        base62(out, &mut self.rng, 22);
        put(
            out,
            b"\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"",
        );
        put(out, p.model.wire.as_bytes());
        put(
            out,
            b"\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":",
        );
        self.anthropic_usage(p, out, 1);
        put(out, b"}},{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
        let text = POOL.slice(&mut self.rng, p.out_len);
        for piece in POOL.pieces(text, 40) {
            put(out, b",{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"");
            put(out, piece);
            put(out, b"\"}}");
        }
        put(out, b",{\"type\":\"content_block_stop\",\"index\":0},{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"");
        put(out, stop_reason(&mut self.rng, "end_turn", "max_tokens"));
        put(
            out,
            b"\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":",
        );
        num(out, p.tokens.output);
        put(out, b"}},{\"type\":\"message_stop\",");
        self.invocation_metrics(p, out, true);
        put(out, b"}]");
    }

    fn llama_stream(&mut self, p: &Plan, out: &mut Vec<u8>) {
        let text = POOL.slice(&mut self.rng, p.out_len);
        let pieces = POOL.pieces(text, 40);
        out.push(b'[');
        let n = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put(out, b"{\"generation\":\"");
            put(out, piece);
            put(out, b"\",\"prompt_token_count\":");
            if i == 0 {
                num(out, p.tokens.input);
            } else {
                put(out, b"null");
            }
            put(out, b",\"generation_token_count\":");
            num(out, (p.tokens.output * (i as u64 + 1) / n as u64).max(1));
            if i + 1 == n {
                put(out, b",\"stop_reason\":\"stop\",");
                self.invocation_metrics(p, out, false);
                out.push(b'}');
            } else {
                put(out, b",\"stop_reason\":null}");
            }
        }
        out.push(b']');
    }

    fn nova_stream(&mut self, p: &Plan, out: &mut Vec<u8>) {
        let t = p.tokens;
        put(out, b"[{\"messageStart\":{\"role\":\"assistant\"}}");
        let text = POOL.slice(&mut self.rng, p.out_len);
        for piece in POOL.pieces(text, 40) {
            put(out, b",{\"contentBlockDelta\":{\"delta\":{\"text\":\"");
            put(out, piece);
            put(out, b"\"},\"contentBlockIndex\":0}}");
        }
        put(out, b",{\"contentBlockStop\":{\"contentBlockIndex\":0}},{\"messageStop\":{\"stopReason\":\"end_turn\"}},{\"metadata\":{\"usage\":{\"inputTokens\":");
        num(out, t.input);
        put(out, b",\"outputTokens\":");
        num(out, t.output);
        put(out, b",\"cacheReadInputTokenCount\":");
        num(out, t.cache_read);
        put(out, b",\"cacheWriteInputTokenCount\":");
        num(out, t.cache_write());
        put(out, b"},\"metrics\":{},\"trace\":{}},");
        self.invocation_metrics(p, out, p.model.cache != Cache::None);
        put(out, b"}]");
    }
}

fn chat(model: usize) -> bool {
    MODELS[model].family.chat()
}

fn unit(rng: &mut Rng) -> f64 {
    (rng.next() >> 11) as f64 / (1u64 << 53) as f64
}

fn max_tokens(p: &Plan) -> u64 {
    let want = p.tokens.output.max(256);
    [512, 1024, 2048, 4096, 8192, 16384]
        .into_iter()
        .find(|&m| m >= want)
        .unwrap_or(32768)
}

fn stop_reason(rng: &mut Rng, normal: &'static str, cut: &'static str) -> &'static [u8] {
    (if rng.per_mille(80) { cut } else { normal }).as_bytes()
}

fn latency(rng: &mut Rng, output: u64) -> u64 {
    200 + output * rng.between(8, 30) + rng.below(300)
}

fn embed_dims(mean: Option<usize>) -> u64 {
    match mean {
        Some(t) if t < 8_000 => 256,
        Some(_) => 1024,
        None => 256,
    }
}

/// A bijection of the low 60 bits of `x` (odd multiplications and xor-shifts modulo 2^60).
fn unique60(x: u64) -> u64 {
    const MASK: u64 = (1 << 60) - 1;
    let mut v = x & MASK;
    v = v.wrapping_mul(0x9E37_79B9_7F4A_7C15 | 1) & MASK;
    v ^= v >> 29;
    v = v.wrapping_mul(0xBF58_476D_1CE4_E5B9 | 1) & MASK;
    v ^= v >> 32;
    v
}

fn put(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(b);
}

fn num(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn pad2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

fn timestamp(out: &mut Vec<u8>, at: DateTime<Utc>) {
    let y = at.year().clamp(0, 9999) as u32;
    pad2(out, y / 100);
    pad2(out, y % 100);
    out.push(b'-');
    pad2(out, at.month());
    out.push(b'-');
    pad2(out, at.day());
    out.push(b'T');
    pad2(out, at.hour());
    out.push(b':');
    pad2(out, at.minute());
    out.push(b':');
    pad2(out, at.second());
    out.push(b'Z');
}

fn hex(out: &mut Vec<u8>, v: u64, digits: u32) {
    for i in (0..digits).rev() {
        out.push(b"0123456789abcdef"[((v >> (4 * i)) & 0xF) as usize]);
    }
}

fn base62(out: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for _ in 0..n {
        out.push(A[rng.below(62) as usize]);
    }
}

fn fake_base64(out: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    put(out, b"iVBORw0KGgoAAAANSUhEUgAA");
    let mut bits = 0u64;
    for i in 0..n.saturating_sub(26) {
        if i % 10 == 0 {
            bits = rng.next();
        }
        out.push(A[(bits & 63) as usize]);
        bits >>= 6;
    }
    put(out, b"==");
}

/// A float-looking decimal such as `-0.0123456` (no float arithmetic).
fn fake_float(out: &mut Vec<u8>, bits: u64) {
    if bits & 1 == 1 {
        out.push(b'-');
    }
    put(out, b"0.0");
    let mut v = (bits >> 1) % 10_000_000;
    let mut digits = [b'0'; 7];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    put(out, &digits);
}

fn s3_path(
    out: &mut Vec<u8>,
    acct: &[u8],
    region: &str,
    at: DateTime<Utc>,
    request_id: &[u8],
    kind: &str,
) {
    put(out, b"s3://bedrock-logs-");
    put(out, acct);
    out.push(b'-');
    put(out, region.as_bytes());
    put(out, b"/AWSLogs/");
    put(out, acct);
    put(out, b"/BedrockModelInvocationLogs/");
    put(out, region.as_bytes());
    out.push(b'/');
    let y = at.year().clamp(0, 9999) as u32;
    pad2(out, y / 100);
    pad2(out, y % 100);
    out.push(b'/');
    pad2(out, at.month());
    out.push(b'/');
    pad2(out, at.day());
    out.push(b'/');
    pad2(out, at.hour());
    put(out, b"/data/");
    put(out, request_id);
    out.push(b'_');
    put(out, kind.as_bytes());
    put(out, b".json.gz");
}

// ---------------------------------------------------------------------------------------
// Live-feed timing

/// A steady rate with periodic bursts, for a live feed: `base_per_sec` records per second,
/// except the first `burst_secs` of every `period_secs`, which run at `burst_factor` times
/// that. Rates are floats; nothing here touches money.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSchedule {
    /// Records per second outside bursts.
    pub base_per_sec: f64,
    /// Rate multiplier during a burst.
    pub burst_factor: f64,
    /// Burst length in seconds (at the start of each period).
    pub burst_secs: f64,
    /// Period in seconds.
    pub period_secs: f64,
}

impl RateSchedule {
    /// `base` records per second with 5× bursts for the first 10 s of every minute.
    pub fn bursty(base: f64) -> RateSchedule {
        RateSchedule {
            base_per_sec: base,
            burst_factor: 5.0,
            burst_secs: 10.0,
            period_secs: 60.0,
        }
    }

    /// Records due in total `elapsed` after the start (non-decreasing in `elapsed`).
    pub fn due(&self, elapsed: Duration) -> u64 {
        let period = self.period_secs.max(1e-3);
        let burst = self.burst_secs.clamp(0.0, period);
        let factor = self.burst_factor.max(0.0);
        let per_period = (period - burst) + burst * factor;
        let t = elapsed.as_secs_f64();
        let periods = (t / period).floor();
        let r = t - periods * period;
        let within = if r <= burst {
            r * factor
        } else {
            burst * factor + (r - burst)
        };
        let due = self.base_per_sec.max(0.0) * (periods * per_period + within);
        if due.is_finite() { due as u64 } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::{Batch, INFO_METERS, Ledger, LedgerConfig};
    use crate::normalize::{RejectReason, parse_record};
    use crate::pricing::PriceBook;
    use std::collections::{BTreeMap, BTreeSet};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-02T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn lines(seed: u64, config: SynthConfig, n: usize) -> (Vec<u8>, Vec<Option<Malformed>>) {
        let mut s = Synth::new(seed, config);
        let mut out = Vec::new();
        let mut kinds = Vec::new();
        for i in 0..n {
            s.record(t0() + chrono::Duration::seconds(i as i64 / 4), &mut out);
            kinds.push(s.last_malformed());
        }
        (out, kinds)
    }

    fn expected(m: Malformed) -> RejectReason {
        match m {
            Malformed::Truncated => RejectReason::MalformedJson,
            Malformed::StringCount => RejectReason::WrongType,
            Malformed::NegativeCount => RejectReason::NegativeCount,
            Malformed::BadTimestamp => RejectReason::BadTimestamp,
            Malformed::MissingRequestId => RejectReason::MissingField,
        }
    }

    /// Every record parses (or is rejected for the planted reason), every priced meter of
    /// every non-provisioned record has a price in the embedded table, request ids are
    /// unique, and the demo mix covers what it claims to.
    fn check_corpus(config: SynthConfig, n: usize) -> BTreeMap<String, u64> {
        let (buf, kinds) = lines(7, config, n);
        let book = PriceBook::embedded().unwrap();
        let ledger = Ledger::new(&book, LedgerConfig::default());
        let mut ids = BTreeSet::new();
        let mut seen = BTreeMap::<String, u64>::new();
        let mut count = |k: String| *seen.entry(k).or_default() += 1;
        let body: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
        assert_eq!(body.len(), n + 1, "one line per record");
        for (line, kind) in body.iter().zip(&kinds) {
            match (parse_record(line), kind) {
                (Err(rej), Some(m)) => {
                    assert_eq!(rej.reason, expected(*m), "{m:?}");
                    count(format!("malformed:{m:?}"));
                }
                (Ok(_), Some(m)) => panic!("planted {m:?} was accepted"),
                (Err(rej), None) => panic!(
                    "rejected: {rej}\n{}",
                    String::from_utf8_lossy(&line[..line.len().min(3000)])
                ),
                (Ok(ev), None) => {
                    assert!(ids.insert(ev.request_id.clone()), "duplicate request id");
                    count(format!("op:{}", ev.operation.as_str()));
                    count(format!("model:{}", ev.model.label()));
                    count(format!("principal:{}", ev.principal.with_session()));
                    if let Some(team) = ev.tags.iter().find(|t| t.0 == "team") {
                        count(format!("team:{}", team.1));
                    }
                    if ev.inference_region.is_some() {
                        count("inference_region".into());
                    }
                    if ev.tokens.cache_read > 0 {
                        count("cache_read".into());
                    }
                    if ev.tokens.cache_write_5m > 0 {
                        count("cache_write_5m".into());
                    }
                    if ev.tokens.cache_write_1h > 0 {
                        count("cache_write_1h".into());
                    }
                    if ev.cache_ttl_assumed {
                        count("cache_ttl_assumed".into());
                    }
                    if ev.guardrail_intervened {
                        count("guardrail".into());
                    }
                    if ev.images.is_some() {
                        count("images".into());
                    }
                    if ev.body_in_s3 {
                        count("s3_body".into());
                    }
                    assert_ne!(
                        ev.count_source,
                        crate::normalize::CountSource::Estimated,
                        "no record should need the tokenizer"
                    );
                    let mut batch = Batch::default();
                    ledger.record(&ev, &mut batch);
                    for cells in batch.rollups.values() {
                        for (k, a) in cells {
                            if ev.model.provisioned || INFO_METERS.contains(&k.meter) {
                                continue;
                            }
                            assert!(
                                a.cost.is_some(),
                                "unpriced {} for {} in {} ({:?}, {} in)",
                                k.meter,
                                ev.model.label(),
                                ev.region,
                                ev.model.scope,
                                ev.tokens.total_input()
                            );
                        }
                    }
                }
            }
        }
        seen
    }

    #[test]
    fn demo_mix_parses_is_priced_and_covers_the_cases() {
        let seen = check_corpus(SynthConfig::default(), 6_000);
        for k in [
            "op:Converse",
            "op:ConverseStream",
            "op:InvokeModel",
            "op:InvokeModelWithResponseStream",
            "model:anthropic.claude-sonnet-4-5-20250929-v1:0",
            "model:anthropic.claude-haiku-4-5-20251001-v1:0",
            "model:anthropic.claude-opus-4-6-v1",
            "model:amazon.nova-lite-v1:0",
            "model:amazon.nova-pro-v1:0",
            "model:amazon.nova-premier-v1:0",
            "model:meta.llama3-3-70b-instruct-v1:0",
            "model:amazon.titan-embed-text-v2:0",
            "model:amazon.nova-canvas-v1:0",
            "model:amazon.titan-image-generator-v2:0",
            "inference_region",
            "cache_read",
            "cache_write_5m",
            "cache_write_1h",
            "cache_ttl_assumed",
            "guardrail",
            "images",
            "s3_body",
            "team:product",
            "team:support",
            "team:research",
            "team:search",
            "team:marketing",
            "principal:user/ci-bot",
            "principal:role/SupportBotLambdaRole/support-bot-handler",
        ] {
            assert!(seen.contains_key(k), "demo mix lacks {k}: {seen:#?}");
        }
        assert!(
            seen.keys()
                .any(|k| k.starts_with("model:provisioned-model/"))
        );
        assert!(seen.keys().any(|k| k.starts_with("malformed:")));
    }

    #[test]
    fn bench_corpora_parse_are_priced_and_hit_their_mean_size() {
        for (config, target) in [
            (SynthConfig::bench_large(), 18_000.0),
            (SynthConfig::bench_small(), 3_000.0),
        ] {
            let n = 3_000;
            let seen = check_corpus(config.clone(), n);
            assert!(!seen.keys().any(|k| k.contains("titan-embed")), "chat only");
            let (buf, _) = lines(99, config, n);
            let mean = buf.len() as f64 / n as f64;
            assert!(
                (mean / target - 1.0).abs() < 0.06,
                "mean record {mean:.0} B, target {target}"
            );
        }
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        for config in [SynthConfig::default(), SynthConfig::bench_small()] {
            let a = lines(42, config.clone(), 500).0;
            let b = lines(42, config.clone(), 500).0;
            let c = lines(43, config, 500).0;
            assert_eq!(a, b);
            assert_ne!(a, c);
        }
    }

    #[test]
    fn request_ids_are_unique_and_uuid_shaped() {
        let mut s = Synth::new(1, SynthConfig::default());
        let mut ids = BTreeSet::new();
        for i in 0..20_000u64 {
            let mut id = Vec::new();
            s.seq = i;
            s.request_id(&mut id);
            let id = String::from_utf8(id).unwrap();
            let parts: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
            assert_eq!(&id[14..15], "4");
            assert!("89ab".contains(&id[19..20]), "{id}");
            assert!(ids.insert(id));
        }
        assert_eq!(
            (0..1 << 16).map(unique60).collect::<BTreeSet<_>>().len(),
            1 << 16
        );
    }

    #[test]
    fn bursts_run_five_times_the_base_rate() {
        let r = RateSchedule::bursty(10.0);
        let s = Duration::from_secs;
        assert_eq!(r.due(s(0)), 0);
        assert_eq!(r.due(s(10)), 500);
        assert_eq!(r.due(s(60)), 500 + 500);
        assert_eq!(r.due(s(120)), 2_000);
        assert_eq!(r.due(s(125)), 2_250);
        assert_eq!(r.due(s(135)), 2_550);
        // The same figures as the demo source's own schedule.
        assert_eq!(RateSchedule::bursty(2.0).due(s(70)), 300);
        let mut prev = 0;
        for ms in (0..200_000).step_by(250) {
            let d = r.due(Duration::from_millis(ms));
            assert!(d >= prev);
            prev = d;
        }
        let mut synth = Synth::new(0, SynthConfig::default());
        assert_eq!(synth.records_due(s(60), 2.0), 200);
    }

    #[test]
    fn truncated_lines_never_end_in_a_backslash() {
        let config = SynthConfig {
            malformed_per_mille: 1000,
            ..SynthConfig::bench_small()
        };
        let (buf, kinds) = lines(5, config, 400);
        for (line, k) in buf.split(|&b| b == b'\n').zip(kinds) {
            if k == Some(Malformed::Truncated) {
                assert_ne!(line.last(), Some(&b'\\'));
            }
        }
    }
}
