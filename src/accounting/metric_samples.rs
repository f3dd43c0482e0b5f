//! CloudWatch metric samples (namespace `AWS/Bedrock`, one value per region, `ModelId`,
//! metric and minute) and the rule that prices them in "primary" mode.
//!
//! A sample is a *level*, not a delta: CloudWatch minutes can grow with late data, so a
//! re-read minute replaces its stored value. The writer turns the growth of a value
//! (new − stored) into rollup deltas with [`price_minute`], through the same
//! [`Ledger`] rule as invocation logs, under `operation = "CloudWatchMetrics"` and
//! `principal = "unattributed"`: the metrics carry no caller. Must not: read SQLite (the
//! writer looks the stored value up), or price in "cross_check" mode (which never adds cost).
use super::{Batch, Ledger};
use crate::normalize::{
    CountSource, ImageQuality, ImageUsage, Operation, Principal, ServiceTier, TokenCounts,
    UsageEvent,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The `operation` label of usage priced from CloudWatch metrics alone.
pub const CLOUDWATCH_OPERATION: &str = "CloudWatchMetrics";
/// The `principal` label of usage that no record attributes to a caller.
pub const UNATTRIBUTED: &str = "unattributed";

/// Which stored value a sample replaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SampleKey {
    /// The account (or `""` when the source does not know it).
    pub account: String,
    /// The region the metrics were read in.
    pub region: String,
    /// The `ModelId` dimension value, as CloudWatch has it.
    pub model_id: String,
    /// The CloudWatch metric name (`Invocations`, `InputTokenCount`, …).
    pub metric: String,
    /// Start of the period, unix seconds (a minute, or 5 minutes / an hour for old data).
    pub minute: i64,
}

/// A sample's value and what it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleValue {
    /// The period in seconds the value sums over.
    pub period: i64,
    /// The sum (counts and tokens are whole numbers).
    pub value: u64,
}

/// Samples of one commit, by key; a later sample of a key replaces an earlier one.
pub type MetricSamples = BTreeMap<SampleKey, SampleValue>;

/// What a metric means to the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Successful (accepted) invocations.
    Invocations,
    /// Uncached input tokens.
    Input,
    /// Output tokens.
    Output,
    /// Prompt-cache read tokens.
    CacheRead,
    /// Prompt-cache write tokens (the TTL is unknown: priced as 5-minute writes).
    CacheWrite,
    /// Generated images.
    Images,
    /// Invocations that ended in a 4xx.
    ClientErrors,
    /// Invocations that ended in a 5xx.
    ServerErrors,
    /// Throttled requests.
    Throttles,
}

impl MetricKind {
    /// The kind of a CloudWatch metric name (both spellings of the cache metrics), or
    /// `None` for a metric this meter does not read.
    pub fn of(metric: &str) -> Option<MetricKind> {
        Some(match metric {
            "Invocations" => MetricKind::Invocations,
            "InputTokenCount" => MetricKind::Input,
            "OutputTokenCount" => MetricKind::Output,
            "CacheReadInputTokenCount" | "CacheReadInputTokens" => MetricKind::CacheRead,
            "CacheWriteInputTokenCount" | "CacheWriteInputTokens" => MetricKind::CacheWrite,
            "OutputImageCount" => MetricKind::Images,
            "InvocationClientErrors" => MetricKind::ClientErrors,
            "InvocationServerErrors" => MetricKind::ServerErrors,
            "InvocationThrottles" => MetricKind::Throttles,
            _ => return None,
        })
    }
}

/// The growth of one (region, `ModelId`, minute) in primary mode, by metric kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteGrowth {
    /// Invocations.
    pub invocations: u64,
    /// Input, output, cache-read and cache-write tokens.
    pub tokens: [u64; 4],
    /// Images.
    pub images: u64,
}

impl MinuteGrowth {
    /// Adds `delta` of a metric kind (errors and throttles carry no cost and are ignored).
    pub fn add(&mut self, kind: MetricKind, delta: u64) {
        let slot = match kind {
            MetricKind::Invocations => &mut self.invocations,
            MetricKind::Input => &mut self.tokens[0],
            MetricKind::Output => &mut self.tokens[1],
            MetricKind::CacheRead => &mut self.tokens[2],
            MetricKind::CacheWrite => &mut self.tokens[3],
            MetricKind::Images => &mut self.images,
            _ => return,
        };
        *slot = slot.saturating_add(delta);
    }

    fn is_empty(&self) -> bool {
        self.invocations == 0 && self.images == 0 && self.tokens.iter().all(|t| *t == 0)
    }
}

/// Books the growth of one minute into `batch`, priced by the ledger's rule for a record of
/// `model_id` in `region` at `minute`, relabelled `operation = CloudWatchMetrics`,
/// `principal = unattributed`, no tags, and with `invocations` set to the metric's count.
pub fn price_minute(
    ledger: &Ledger<'_>,
    account: &str,
    region: &str,
    model_id: &str,
    minute: i64,
    g: &MinuteGrowth,
    batch: &mut Batch,
) {
    if g.is_empty() {
        return;
    }
    let timestamp = DateTime::<Utc>::from_timestamp(minute, 0).unwrap_or_default();
    let ev = UsageEvent {
        request_id: format!("cloudwatch:{region}:{model_id}:{minute}"),
        timestamp,
        account: if account.is_empty() {
            "unknown".to_string()
        } else {
            account.to_string()
        },
        region: region.to_string(),
        inference_region: None,
        operation: Operation::Other,
        model: crate::normalize::resolve_model_id(model_id),
        service_tier: ServiceTier::Standard,
        principal: Principal::default(),
        tags: Vec::new(),
        tokens: TokenCounts {
            input: g.tokens[0],
            output: g.tokens[1],
            cache_read: g.tokens[2],
            cache_write_5m: g.tokens[3],
            ..TokenCounts::default()
        },
        count_source: CountSource::Record,
        cache_ttl_assumed: g.tokens[3] > 0,
        images: (g.images > 0).then(|| ImageUsage {
            count: u32::try_from(g.images).unwrap_or(u32::MAX),
            width: None,
            height: None,
            quality: ImageQuality::Standard,
            counted_from_response: false,
        }),
        embedding: false,
        guardrail_intervened: false,
        body_in_s3: false,
    };
    let mut one = Batch::default();
    ledger.record(&ev, &mut one);
    for (mut dims, cells) in one.rollups {
        dims.operation = CLOUDWATCH_OPERATION.to_string();
        dims.principal = UNATTRIBUTED.to_string();
        dims.tags = "{}".to_string();
        for (meter, mut amount) in cells {
            // The ledger books one invocation per record; this "record" is a minute.
            if meter.meter == "invocations" {
                amount.quantity = g.invocations;
            }
            if amount.quantity > 0 {
                batch.add(&dims, meter, amount);
            }
        }
    }
}
