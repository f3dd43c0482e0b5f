//! The CloudWatch metrics families: cumulative totals of the stored `AWS/Bedrock` samples
//! (`bedrock_cloudwatch_*_total`) and `bedrock_logs_coverage_ratio`, read from the ledger
//! (so they are restart-safe: a restart reads the same table) after every commit that
//! carried samples, and now and then after other commits (the log side of the ratio).
//!
//! Coverage window, per region: the last 24 UTC hours up to the CloudWatch metrics
//! source's checkpoint (the end of what it has read), hour-aligned at the start: CloudWatch
//! minutes from the start of the hour 23 hours before the checkpoint's hour up to the
//! checkpoint, and the log invocations of those same hours (the ledger keeps logs by hour).
//! In the hour in progress the logs may run ahead of CloudWatch by up to the source's
//! `delay_secs`. Must not: write SQLite.
use super::text::{self, Kind, Value};
use crate::store::{Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// Hours in the coverage window.
pub const COVERAGE_WINDOW_HOURS: i64 = 24;

/// Totals of one (account, region, model) series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Totals {
    invocations: u64,
    /// input, output, cache_read, cache_write_5m.
    tokens: [u64; 4],
    images: u64,
    /// client, server, throttled.
    errors: [u64; 3],
}

const TOKEN_TYPES: [&str; 4] = ["input", "output", "cache_read", "cache_write_5m"];
const ERRORS: [&str; 3] = ["client", "server", "throttled"];

/// What the CloudWatch families show. Empty (and not rendered) until a CloudWatch metrics
/// source has read something.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloudWatchMetrics {
    /// (account, region, model) → totals.
    totals: BTreeMap<(String, String, String), Totals>,
    /// (account, region, model) → (log invocations, CloudWatch invocations) in the window.
    coverage: BTreeMap<(String, String, String), (u64, u64)>,
    /// True once a CloudWatch metrics source has a checkpoint.
    active: bool,
}

/// The end of the hour that holds the instant just before `t` (the hours a window ending
/// at `t` touches end there).
fn hour_after(t: i64) -> i64 {
    (t - 1).div_euclid(3600) * 3600 + 3600
}

fn model_label(model_id: &str) -> String {
    crate::normalize::resolve_model_id(model_id)
        .label()
        .to_string()
}

impl CloudWatchMetrics {
    /// True once a CloudWatch metrics source has read something.
    pub fn active(&self) -> bool {
        self.active
    }

    /// Reads the totals and the coverage window from the ledger.
    pub fn load(store: &Store) -> Result<CloudWatchMetrics, StoreError> {
        let checkpoints =
            store.checkpoints(crate::sources::cloudwatch_metrics::CLOUDWATCH_METRICS_SOURCE)?;
        let mut m = CloudWatchMetrics {
            active: !checkpoints.is_empty(),
            ..CloudWatchMetrics::default()
        };
        // The one account the logs of a region name, for samples whose account is unknown.
        let mut log_accounts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        // (account named by the checkpoint key, region, start, end).
        let mut windows: Vec<(Option<String>, String, i64, i64)> = Vec::new();
        for cp in &checkpoints {
            let (key_account, region) = match cp.key.split_once('/') {
                Some((a, r)) => (Some(a.to_string()), r.to_string()),
                None => (None, cp.key.clone()),
            };
            let end = i64::try_from(cp.position).unwrap_or(i64::MAX);
            let start = end.div_euclid(3600) * 3600 - (COVERAGE_WINDOW_HOURS - 1) * 3600;
            let logs = store.log_invocations(&region, start, hour_after(end))?;
            log_accounts
                .entry(region.clone())
                .or_default()
                .extend(logs.iter().map(|(a, _, _)| a.clone()));
            windows.push((key_account, region, start, end));
        }
        let account_of = |account: &str, region: &str| -> String {
            if !account.is_empty() {
                return account.to_string();
            }
            match log_accounts.get(region) {
                Some(a) if a.len() == 1 => a.iter().next().cloned().unwrap_or_default(),
                _ => "unknown".to_string(),
            }
        };
        for t in store.metric_totals()? {
            let Some(kind) = crate::accounting::MetricKind::of(&t.metric) else {
                continue;
            };
            let key = (
                account_of(&t.account, &t.region),
                t.region.clone(),
                model_label(&t.model_id),
            );
            let s = m.totals.entry(key).or_default();
            use crate::accounting::MetricKind as K;
            let slot = match kind {
                K::Invocations => &mut s.invocations,
                K::Input => &mut s.tokens[0],
                K::Output => &mut s.tokens[1],
                K::CacheRead => &mut s.tokens[2],
                K::CacheWrite => &mut s.tokens[3],
                K::Images => &mut s.images,
                K::ClientErrors => &mut s.errors[0],
                K::ServerErrors => &mut s.errors[1],
                K::Throttles => &mut s.errors[2],
            };
            *slot = slot.saturating_add(t.value);
        }
        for (key_account, region, start, end) in windows {
            let mut cw: BTreeMap<(String, String), u64> = BTreeMap::new();
            for t in store.metric_window(&region, "Invocations", start, end)? {
                if key_account.as_ref().is_some_and(|a| *a != t.account) {
                    continue;
                }
                *cw.entry((account_of(&t.account, &region), model_label(&t.model_id)))
                    .or_default() += t.value;
            }
            let logs = store.log_invocations(&region, start, hour_after(end))?;
            for ((account, model), n) in cw {
                let seen: u64 = logs
                    .iter()
                    .filter(|(a, m, _)| *m == model && (account == "unknown" || *a == account))
                    .map(|(_, _, q)| *q)
                    .sum();
                m.coverage
                    .insert((account, region.clone(), model), (seen, n));
            }
        }
        Ok(m)
    }

    /// Writes the families (nothing until a CloudWatch metrics source has read something).
    pub(super) fn render_into(&self, out: &mut String) {
        if !self.active && self.totals.is_empty() {
            return;
        }
        let labels = |(a, r, m): &(String, String, String)| {
            let mut s = String::new();
            text::labels_into(&mut s, &[("account", a), ("region", r), ("model", m)]);
            s
        };
        let name = "bedrock_cloudwatch_invocations_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Invocations CloudWatch counted (AWS/Bedrock Invocations, Sum), cumulative over every minute the cloudwatch_metrics source has read.",
        );
        for (k, t) in &self.totals {
            text::sample(out, name, &labels(k), &[], Value::Int(t.invocations));
        }
        let name = "bedrock_cloudwatch_tokens_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Tokens CloudWatch counted (InputTokenCount, OutputTokenCount, cache read and write metrics), by the token_type of bedrock_tokens_total; CloudWatch does not split cache writes by TTL, so they are all cache_write_5m.",
        );
        for (k, t) in &self.totals {
            let l = labels(k);
            for (i, tt) in TOKEN_TYPES.iter().enumerate() {
                if t.tokens[i] > 0 {
                    text::sample(
                        out,
                        name,
                        &l,
                        &[("token_type", tt)],
                        Value::Int(t.tokens[i]),
                    );
                }
            }
        }
        let name = "bedrock_cloudwatch_images_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Images CloudWatch counted (OutputImageCount, Sum).",
        );
        for (k, t) in self.totals.iter().filter(|(_, t)| t.images > 0) {
            text::sample(out, name, &labels(k), &[], Value::Int(t.images));
        }
        let name = "bedrock_cloudwatch_invocation_errors_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Failed invocations CloudWatch counted: error=client (InvocationClientErrors, 4xx), server (InvocationServerErrors, 5xx), throttled (InvocationThrottles).",
        );
        for (k, t) in &self.totals {
            let l = labels(k);
            for (i, e) in ERRORS.iter().enumerate() {
                text::sample(out, name, &l, &[("error", e)], Value::Int(t.errors[i]));
            }
        }
        let name = "bedrock_logs_coverage_ratio";
        text::header(
            out,
            name,
            Kind::Gauge,
            "Invocations counted from the invocation logs divided by the invocations CloudWatch counted, over the last 24 UTC hours (hour-aligned start) up to what the cloudwatch_metrics source has read; below 1 means traffic the logs miss (in the hour in progress the logs may run ahead by up to delay_secs). Absent when CloudWatch counted none.",
        );
        for (k, (seen, n)) in &self.coverage {
            if *n > 0 {
                let ratio = *seen as f64 / *n as f64;
                text::sample(out, name, &labels(k), &[], Value::Float(ratio));
            }
        }
    }
}
