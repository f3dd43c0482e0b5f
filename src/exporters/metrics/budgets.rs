//! The budget families of `/metrics`: limit, spend, forecast, period bounds, threshold and
//! anomaly state per budget (from the last evaluation), and notification outcomes per
//! receiver (since the process started). Nothing is rendered when no budget and no
//! receiver is configured.
use super::text::{self, Kind, Value};
use crate::budgets::BudgetStatus;
use std::collections::BTreeMap;

/// A per-budget gauge family: name, help, and the value of a status.
type Family = (&'static str, &'static str, fn(&BudgetStatus) -> Value);

/// What the budget families show.
#[derive(Debug, Clone, Default)]
pub struct BudgetGauges {
    configured: bool,
    statuses: Vec<BudgetStatus>,
    evaluations: u64,
    /// (delivered, failed) per receiver.
    notifications: BTreeMap<String, (u64, u64)>,
}

impl BudgetGauges {
    /// Declares the receivers (so their counters show at zero) and that budgets are on.
    pub fn configure(&mut self, receivers: &[String]) {
        self.configured = true;
        for r in receivers {
            self.notifications.entry(r.clone()).or_default();
        }
    }

    /// The statuses of one evaluation.
    pub fn set(&mut self, statuses: Vec<BudgetStatus>) {
        self.configured = true;
        self.statuses = statuses;
        self.evaluations += 1;
    }

    /// Counts one delivery outcome.
    pub fn notification(&mut self, receiver: &str, delivered: bool) {
        let e = self.notifications.entry(receiver.to_string()).or_default();
        if delivered {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }

    /// Appends the families.
    pub fn render_into(&self, out: &mut String) {
        if !self.configured {
            return;
        }
        let per_budget: [Family; 5] = [
            (
                "bedrock_budget_limit_usd",
                "The budget's limit per period (USD).",
                |s| Value::Dec(s.limit),
            ),
            (
                "bedrock_budget_spend_usd",
                "Spend in the budget's current period so far (USD), from the ledger.",
                |s| Value::Dec(s.spend),
            ),
            (
                "bedrock_budget_forecast_usd",
                "Projected spend at the end of the budget's current period (USD).",
                |s| Value::Dec(s.forecast),
            ),
            (
                "bedrock_budget_period_start_timestamp_seconds",
                "Unix time at which the budget's current period started.",
                |s| Value::Int(s.period.start.timestamp().max(0) as u64),
            ),
            (
                "bedrock_budget_period_end_timestamp_seconds",
                "Unix time at which the budget's current period ends.",
                |s| Value::Int(s.period.end.timestamp().max(0) as u64),
            ),
        ];
        for (name, help, value) in per_budget {
            text::header(out, name, Kind::Gauge, help);
            for s in &self.statuses {
                text::sample(out, name, "", &[("budget", &s.name)], value(s));
            }
        }
        let name = "bedrock_budget_threshold_state";
        text::header(
            out,
            name,
            Kind::Gauge,
            "1 while the budget's threshold is crossed (kind actual: spend so far; forecast: projected spend), else 0.",
        );
        for s in &self.statuses {
            for t in &s.thresholds {
                text::sample(
                    out,
                    name,
                    "",
                    &[
                        ("budget", &s.name),
                        ("threshold", &t.threshold),
                        ("kind", t.kind),
                    ],
                    Value::Int(u64::from(t.crossed)),
                );
            }
        }
        let name = "bedrock_budget_anomaly";
        text::header(
            out,
            name,
            Kind::Gauge,
            "1 while the budget's recent spend rate is far above its baseline (budgets with anomaly detection on).",
        );
        for s in &self.statuses {
            if let Some(a) = s.anomaly {
                text::sample(
                    out,
                    name,
                    "",
                    &[("budget", &s.name)],
                    Value::Int(u64::from(a)),
                );
            }
        }
        let name = "bedrock_meter_budget_evaluations_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Budget evaluation cycles completed since the process started.",
        );
        text::sample(out, name, "", &[], Value::Int(self.evaluations));
        let name = "bedrock_meter_notifications_total";
        text::header(
            out,
            name,
            Kind::Counter,
            "Budget notification deliveries since the process started, by receiver and outcome (failed: every attempt of a delivery cycle failed).",
        );
        for (r, (ok, failed)) in &self.notifications {
            text::sample(
                out,
                name,
                "",
                &[("receiver", r), ("outcome", "delivered")],
                Value::Int(*ok),
            );
            text::sample(
                out,
                name,
                "",
                &[("receiver", r), ("outcome", "failed")],
                Value::Int(*failed),
            );
        }
    }
}
