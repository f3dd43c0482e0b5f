//! The provisioned-throughput and customization families: cost counters folded from the
//! ledger's rollups (restart-safe like every spend counter: restored from the ledger, then
//! advanced by each committed batch) and the gauges the accrual thread computes
//! (model units, utilization, idle), set through [`super::Telemetry::set_provisioned_gauges`].
//!
//! The cost counters are subsets of `bedrock_cost_usd_total`, which carries every cost.
use super::text::{self, Kind, Value};
use crate::accounting::{Amount, Dims};
use crate::money::Usd;
use crate::provisioned::{
    METER_MU_SECONDS, METER_STORAGE_SECONDS, METER_TRAINING_TOKENS, OP_CUSTOMIZATION,
    OP_PROVISIONED, OP_STORAGE, split_provisioned_detail,
};
use std::collections::BTreeMap;

/// Cumulative provisioned and customization cost by label set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct StreamSums {
    /// (account, region, model, provisioned_model, commitment) → cost.
    provisioned: BTreeMap<[String; 5], Usd>,
    /// (account, region, model, kind) → cost.
    customization: BTreeMap<[String; 4], Usd>,
}

impl StreamSums {
    /// Adds one rollup cell when it belongs to a provisioned or customization stream.
    pub(super) fn add(&mut self, d: &Dims, meter: &str, detail: &str, amount: &Amount) {
        let cost = amount.cost.unwrap_or_default();
        if meter == METER_MU_SECONDS && d.operation == OP_PROVISIONED {
            let (commitment, name) = split_provisioned_detail(detail);
            let key = [
                d.account.clone(),
                d.region.clone(),
                d.model.clone(),
                name.to_string(),
                commitment.to_string(),
            ];
            *self.provisioned.entry(key).or_default() += cost;
        } else if (meter == METER_TRAINING_TOKENS && d.operation == OP_CUSTOMIZATION)
            || (meter == METER_STORAGE_SECONDS && d.operation == OP_STORAGE)
        {
            let kind = if meter == METER_TRAINING_TOKENS {
                "training"
            } else {
                "storage"
            };
            let key = [
                d.account.clone(),
                d.region.clone(),
                d.model.clone(),
                kind.to_string(),
            ];
            *self.customization.entry(key).or_default() += cost;
        }
    }

    /// Writes the two counter families (only when the ledger has such rows, so a ledger
    /// without provisioned models renders as before).
    pub(super) fn render(&self, out: &mut String) {
        if !self.provisioned.is_empty() {
            let name = "bedrock_provisioned_cost_usd_total";
            text::header(
                out,
                name,
                Kind::Counter,
                "Exact cost in US dollars of provisioned-throughput model-unit hours, accrued every second each throughput exists, used or not (a subset of bedrock_cost_usd_total; commitment is the term billed).",
            );
            for ([account, region, model, pm, commitment], v) in &self.provisioned {
                let labels = [
                    ("account", account.as_str()),
                    ("region", region.as_str()),
                    ("model", model.as_str()),
                    ("provisioned_model", pm.as_str()),
                    ("commitment", commitment.as_str()),
                ];
                text::sample(out, name, "", &labels, Value::Dec(*v));
            }
        }
        if !self.customization.is_empty() {
            let name = "bedrock_customization_cost_usd_total";
            text::header(
                out,
                name,
                Kind::Counter,
                "Exact cost in US dollars of model customization: training jobs (tokens x epochs, booked when a job completes) and custom-model storage (prorated to the second). A subset of bedrock_cost_usd_total.",
            );
            for ([account, region, model, kind], v) in &self.customization {
                let labels = [
                    ("account", account.as_str()),
                    ("region", region.as_str()),
                    ("model", model.as_str()),
                    ("kind", kind.as_str()),
                ];
                text::sample(out, name, "", &labels, Value::Dec(*v));
            }
        }
    }
}

/// The live state of one provisioned throughput, as the accrual thread last computed it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisionedGauge {
    /// AWS account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Base model label.
    pub model: String,
    /// The throughput's name (never its ARN).
    pub provisioned_model: String,
    /// Commitment term now billed (`none`, `1_month`, `6_months`).
    pub commitment: String,
    /// Model units now in effect.
    pub model_units: u32,
    /// Tokens per minute over capacity, when the capacity per model unit is configured.
    pub utilization: Option<f64>,
    /// True when no invocation reached it for the configured idle time.
    pub idle: bool,
}

/// Writes the gauge families for `gauges` (nothing when empty).
pub(super) fn render_gauges(out: &mut String, gauges: &[ProvisionedGauge]) {
    if gauges.is_empty() {
        return;
    }
    let name = "bedrock_provisioned_model_units";
    text::header(
        out,
        name,
        Kind::Gauge,
        "Model units in effect for each provisioned throughput that exists now.",
    );
    for g in gauges {
        let labels = [
            ("account", g.account.as_str()),
            ("region", g.region.as_str()),
            ("model", g.model.as_str()),
            ("provisioned_model", g.provisioned_model.as_str()),
            ("commitment", g.commitment.as_str()),
        ];
        text::sample(out, name, "", &labels, Value::Int(u64::from(g.model_units)));
    }
    let name = "bedrock_provisioned_utilization_ratio";
    text::header(
        out,
        name,
        Kind::Gauge,
        "Tokens per minute sent to the throughput (previous and current UTC hour) over model units x the configured tokens per minute per model unit; absent when that capacity is not configured (AWS does not publish it).",
    );
    for g in gauges {
        if let Some(u) = g.utilization {
            text::sample(out, name, "", &gauge_labels(g), Value::Float(u));
        }
    }
    let name = "bedrock_provisioned_idle";
    text::header(
        out,
        name,
        Kind::Gauge,
        "1 when no invocation reached the provisioned throughput for the configured idle time (hour granularity: flagged at most one hour late), else 0.",
    );
    for g in gauges {
        text::sample(
            out,
            name,
            "",
            &gauge_labels(g),
            Value::Int(u64::from(g.idle)),
        );
    }
}

fn gauge_labels(g: &ProvisionedGauge) -> [(&str, &str); 4] {
    [
        ("account", g.account.as_str()),
        ("region", g.region.as_str()),
        ("model", g.model.as_str()),
        ("provisioned_model", g.provisioned_model.as_str()),
    ]
}
