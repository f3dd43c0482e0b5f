//! The normalized usage event: everything accounting needs from one invocation-log record,
//! and nothing else. No prompt, completion or image content is ever stored here.
use chrono::{DateTime, Utc};

/// The Bedrock runtime operation that produced a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `Converse`
    Converse,
    /// `ConverseStream`
    ConverseStream,
    /// `InvokeModel`
    InvokeModel,
    /// `InvokeModelWithResponseStream`
    InvokeModelWithResponseStream,
    /// Any operation name this version does not know (kept bounded as `other`).
    Other,
}

impl Operation {
    /// Parses the `operation` field; unknown names become [`Operation::Other`].
    pub fn parse(s: &str) -> Operation {
        match s {
            "Converse" => Operation::Converse,
            "ConverseStream" => Operation::ConverseStream,
            "InvokeModel" => Operation::InvokeModel,
            "InvokeModelWithResponseStream" => Operation::InvokeModelWithResponseStream,
            _ => Operation::Other,
        }
    }

    /// The label used in the ledger, metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Converse => "Converse",
            Operation::ConverseStream => "ConverseStream",
            Operation::InvokeModel => "InvokeModel",
            Operation::InvokeModelWithResponseStream => "InvokeModelWithResponseStream",
            Operation::Other => "other",
        }
    }
}

/// Where a request was allowed to run, which changes the price for newer models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The base model in the caller's region (also provisioned and custom models).
    InRegion,
    /// A geographic cross-region profile (`us.`, `eu.`, `apac.`, `jp.`, `au.`, `ca.`, `us-gov.`).
    Geo,
    /// A `global.` cross-region profile.
    Global,
}

impl Scope {
    /// The label used in the price table, ledger, metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::InRegion => "in_region",
            Scope::Geo => "geo",
            Scope::Global => "global",
        }
    }

    /// Parses a label written by [`Scope::as_str`].
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "in_region" => Some(Scope::InRegion),
            "geo" => Some(Scope::Geo),
            "global" => Some(Scope::Global),
            _ => None,
        }
    }
}

/// The service tier a request was billed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceTier {
    /// On-demand standard (the default; what the logs imply when they say nothing).
    Standard,
    /// Batch inference.
    Batch,
    /// Flex tier (discounted).
    Flex,
    /// Priority tier (premium).
    Priority,
    /// Latency-optimized inference.
    LatencyOptimized,
}

impl ServiceTier {
    /// All tiers, in table order.
    pub const ALL: [ServiceTier; 5] = [
        ServiceTier::Standard,
        ServiceTier::Batch,
        ServiceTier::Flex,
        ServiceTier::Priority,
        ServiceTier::LatencyOptimized,
    ];

    /// The label used in the price table, ledger, metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Standard => "standard",
            ServiceTier::Batch => "batch",
            ServiceTier::Flex => "flex",
            ServiceTier::Priority => "priority",
            ServiceTier::LatencyOptimized => "latency_optimized",
        }
    }

    /// Parses a label written by [`ServiceTier::as_str`].
    pub fn parse(s: &str) -> Option<ServiceTier> {
        ServiceTier::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// How the `modelId` of a record was written by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelIdForm {
    /// A base model id such as `amazon.nova-lite-v1:0`.
    BaseId,
    /// `arn:aws:bedrock:<region>::foundation-model/<id>`.
    FoundationModelArn,
    /// A system inference-profile id such as `us.anthropic.claude-…` or `global.…`.
    SystemProfileId,
    /// `arn:aws:bedrock:<region>:<acct>:inference-profile/<profile id>`.
    SystemProfileArn,
    /// `arn:aws:bedrock:<region>:<acct>:application-inference-profile/<id>`.
    ApplicationProfileArn,
    /// `arn:aws:bedrock:<region>:<acct>:provisioned-model/<id>`.
    ProvisionedModelArn,
    /// `…:custom-model/…`, `…:custom-model-deployment/…`.
    CustomModelArn,
    /// `…:imported-model/…`.
    ImportedModelArn,
    /// Anything else (kept, flagged unresolved).
    Unknown,
}

/// A record's `modelId` resolved as far as the record alone allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// How the caller wrote it.
    pub form: ModelIdForm,
    /// The base model id used for pricing (`anthropic.claude-sonnet-4-20250514-v1:0`), or
    /// `None` when the record alone cannot tell (application profiles, provisioned, custom and
    /// imported models, unknown forms). A later stage may resolve it through the Bedrock API.
    pub base_model: Option<String>,
    /// Pricing scope: `global.` → Global, other geo prefixes → Geo, otherwise InRegion.
    pub scope: Scope,
    /// The geographic prefix of a system profile (`us`, `eu`, `apac`, `jp`, `au`, `ca`,
    /// `us-gov`, `global`).
    pub geo: Option<String>,
    /// The inference-profile id (system profile id, or application profile id).
    pub profile: Option<String>,
    /// True for provisioned-model ARNs: tokens are counted but never priced per token.
    pub provisioned: bool,
    /// The resource id of an ARN that could not be resolved (`application-inference-profile/
    /// abc123`, `provisioned-model/xyz`, `custom-model/…`), used as the ledger's model label
    /// until it is resolved. Never a full ARN with the account in it.
    pub unresolved_label: Option<String>,
}

impl ModelRef {
    /// The label the ledger and reports use for this model: the base model id when known,
    /// otherwise the unresolved resource label, otherwise `unknown`.
    pub fn label(&self) -> &str {
        self.base_model
            .as_deref()
            .or(self.unresolved_label.as_deref())
            .unwrap_or("unknown")
    }
}

/// Who made the call, from `identity.arn`, reduced to what attribution needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Principal {
    /// `user`, `role`, `root`, `federated-user`, or `unknown`.
    pub kind: String,
    /// IAM user name or role name (no path, no account). Empty for `root`/`unknown`.
    pub name: String,
    /// The STS session name for assumed roles.
    pub session: Option<String>,
}

impl Principal {
    /// `user/alice`, `role/Admin`, `root`, `unknown`.
    pub fn without_session(&self) -> String {
        if self.name.is_empty() {
            self.kind.clone()
        } else {
            format!("{}/{}", self.kind, self.name)
        }
    }

    /// `role/Admin/session-1` for assumed roles, otherwise as [`Principal::without_session`].
    pub fn with_session(&self) -> String {
        match &self.session {
            Some(s) => format!("{}/{}", self.without_session(), s),
            None => self.without_session(),
        }
    }
}

/// Token counts of one invocation. The five priced kinds are disjoint: their sum is every
/// billable token of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenCounts {
    /// Uncached input tokens (`input.inputTokenCount`).
    pub input: u64,
    /// Output tokens (`output.outputTokenCount`).
    pub output: u64,
    /// Prompt-cache read tokens (`input.cacheReadInputTokenCount`).
    pub cache_read: u64,
    /// Prompt-cache write tokens with a 5-minute TTL.
    pub cache_write_5m: u64,
    /// Prompt-cache write tokens with a 1-hour TTL.
    pub cache_write_1h: u64,
}

impl TokenCounts {
    /// Input + cache read + cache writes: the request's whole prompt, which decides the
    /// long-context band.
    pub fn total_input(&self) -> u64 {
        self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h
    }

    /// All five kinds added.
    pub fn total(&self) -> u64 {
        self.total_input() + self.output
    }
}

/// Where the token counts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountSource {
    /// The record's own `input`/`output` counters (exact).
    Record,
    /// A usage block inside the logged body (exact, but the envelope lacked counts).
    Body,
    /// Counted with an OpenAI tokenizer from the inline body text: an estimate.
    Estimated,
    /// No counts anywhere and nothing to estimate from (guardrail block, body moved to S3,
    /// no body): an invocation with zero tokens.
    None,
}

/// Image quality tier (Titan Image Generator, Nova Canvas; SDXL steps > 50 = premium).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageQuality {
    /// `standard` (default).
    Standard,
    /// `premium`.
    Premium,
}

impl ImageQuality {
    /// `standard` or `premium`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageQuality::Standard => "standard",
            ImageQuality::Premium => "premium",
        }
    }
}

/// Images generated by one invocation, with what their price depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageUsage {
    /// Number of images billed.
    pub count: u32,
    /// Requested width in pixels, when known.
    pub width: Option<u32>,
    /// Requested height in pixels, when known.
    pub height: Option<u32>,
    /// Quality tier (`quality` field, or SDXL steps > 50 → premium).
    pub quality: ImageQuality,
    /// True when the count came from the response (`images[]`/`artifacts[]`), false when it
    /// came from the request (`numberOfImages`, `samples`, or the default of 1).
    pub counted_from_response: bool,
}

/// One invocation, normalized. Built by [`crate::normalize::parse_record`].
#[derive(Debug, Clone, PartialEq)]
pub struct UsageEvent {
    /// `requestId`: the deduplication key.
    pub request_id: String,
    /// `timestamp` (second precision, UTC).
    pub timestamp: DateTime<Utc>,
    /// `accountId`.
    pub account: String,
    /// `region`: the source region the request was sent to (prices key on this).
    pub region: String,
    /// `inferenceRegion`: where it actually ran, when logged.
    pub inference_region: Option<String>,
    /// The operation.
    pub operation: Operation,
    /// The resolved model.
    pub model: ModelRef,
    /// Service tier, from the body when logged (`serviceTier`, `performanceConfig`), else
    /// standard.
    pub service_tier: ServiceTier,
    /// The caller.
    pub principal: Principal,
    /// `requestMetadata` key/values, sorted by key.
    pub tags: Vec<(String, String)>,
    /// Token counts.
    pub tokens: TokenCounts,
    /// Where the counts came from.
    pub count_source: CountSource,
    /// True when the cache-write tokens could not be split by TTL from the body and were all
    /// assumed to be 5-minute writes.
    pub cache_ttl_assumed: bool,
    /// Images generated, for image models.
    pub images: Option<ImageUsage>,
    /// True for embedding models (priced on input only).
    pub embedding: bool,
    /// True when the guardrail intervened (`amazon-bedrock-guardrailAction: INTERVENED`).
    pub guardrail_intervened: bool,
    /// True when a body was moved to S3 (`inputBodyS3Path` / `outputBodyS3Path`).
    pub body_in_s3: bool,
}
