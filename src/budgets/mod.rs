//! Budgets: spend in the current period from the ledger, the forecast at period end, an
//! anomaly flag, and threshold crossings turned into queued notifications.
//!
//! Owns the budget arithmetic (exact, [`Usd`]) and the once-per-period rule. It reads and
//! writes only through [`Store`] (threshold state and the outbox, see `store/budgets.rs`),
//! reads time only from the [`Clock`](crate::clock::Clock) it is given, and never talks
//! HTTP: delivery is [`crate::notify`].
//!
//! # The numbers
//!
//! - **Spend**: the priced cost of the ledger hours `[period start, now]` that match the
//!   budget's filters. Ledger hours are UTC hours; a period boundary inside an hour (zones
//!   with :30/:45 offsets) counts that whole hour in the period that starts in it.
//! - **Forecast**: `spend + rate × (period end − now)`, where `rate` is the matching cost
//!   of the trailing window (the last 24 UTC hours, the current one included, but not
//!   before the ledger's first hour) divided by the window's length up to `now` (at least
//!   one hour). The window ignores the period boundary, so in the first hours of a period
//!   the rate comes from the end of the previous one instead of from a few minutes of
//!   data. Rounded to cents.
//! - **Anomaly**: the cost of the last `window_hours` (the current hour included) is at
//!   least `min_spend_usd` and its rate exceeds `factor ×` the rate of the
//!   `baseline_hours` before it (not before the ledger's first hour). No baseline (a new
//!   ledger): no anomaly.
mod period;

pub use period::{Period, PeriodRule, floor_hour};

use crate::config::{
    BudgetConfig, NotificationsConfig, PeriodSetting, ReceiverConfig, ReceiverSecrets, ThresholdOn,
    threshold_id,
};
use crate::money::{Usd, round_cents};
use crate::store::{SpendCell, Store, StoreError, ThresholdRow, Transition};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything the daemon needs to evaluate budgets and deliver notifications.
#[derive(Debug, Clone, Default)]
pub struct BudgetSettings {
    /// `[[budgets]]`.
    pub budgets: Vec<BudgetConfig>,
    /// `[notifications]`.
    pub notifications: NotificationsConfig,
    /// Receiver secrets by receiver name.
    pub secrets: BTreeMap<String, ReceiverSecrets>,
}

impl BudgetSettings {
    /// True when there is nothing to evaluate or deliver.
    pub fn is_empty(&self) -> bool {
        self.budgets.is_empty() && self.notifications.receivers.is_empty()
    }

    /// The demo's budgets (`bedrock-meter demo`): limits small enough that the generated
    /// traffic (about $2 a second at the default rate) crosses thresholds within minutes,
    /// evaluated every 5 s, notifying a `log` receiver (the daemon's log, no HTTP).
    pub fn demo() -> BudgetSettings {
        let text = r#"
[notifications]
evaluation_interval_secs = 5

[[notifications.receivers]]
name = "demo-log"
kind = "log"

[[budgets]]
name = "demo-daily"
limit_usd = "250"
period = "daily"

[[budgets.thresholds]]
percent = 50
receivers = ["demo-log"]

[[budgets.thresholds]]
percent = 100

[[budgets.thresholds]]
percent = 100
on = "forecast"
receivers = ["demo-log"]

[[budgets]]
name = "demo-claude-monthly"
limit_usd = "5000"
period = "monthly"
models = ["anthropic.claude-*"]

[budgets.anomaly]
enabled = true

[[budgets.thresholds]]
percent = 80

[[budgets.thresholds]]
percent = 100
on = "forecast"
"#;
        match crate::config::Config::from_toml_str(text, "demo budgets") {
            Ok(c) => BudgetSettings {
                budgets: c.budgets,
                notifications: c.notifications,
                secrets: BTreeMap::new(),
            },
            // A test checks this text; never reached.
            Err(_) => BudgetSettings::default(),
        }
    }

    /// The receiver named `name`.
    pub fn receiver(&self, name: &str) -> Option<&ReceiverConfig> {
        self.notifications.receivers.iter().find(|r| r.name == name)
    }
}

/// A `*` glob (any run of characters; everything else literal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    /// A glob from its text.
    pub fn new(pattern: &str) -> Glob {
        Glob(pattern.to_string())
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let parts: Vec<&str> = self.0.split('*').collect();
        if parts.len() == 1 {
            return self.0 == text;
        }
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if !text.starts_with(first) || text.len() < first.len() + last.len() {
            return false;
        }
        if !text.ends_with(last) {
            return false;
        }
        let mut rest = &text[first.len()..text.len() - last.len()];
        for mid in &parts[1..parts.len() - 1] {
            match rest.find(mid) {
                Some(i) => rest = &rest[i + mid.len()..],
                None => return false,
            }
        }
        true
    }
}

/// A budget's scope filters. Empty lists match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    accounts: Vec<String>,
    regions: Vec<String>,
    models: Vec<Glob>,
    principals: Vec<Glob>,
    tags: Vec<(String, String)>,
    cost_kinds: Vec<String>,
}

impl Filter {
    /// The filter of a budget.
    pub fn of(b: &BudgetConfig) -> Filter {
        Filter {
            accounts: b.accounts.clone(),
            regions: b.regions.clone(),
            models: b.models.iter().map(|m| Glob::new(m)).collect(),
            principals: b.principals.iter().map(|m| Glob::new(m)).collect(),
            tags: b
                .tags
                .iter()
                .filter_map(|t| t.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cost_kinds: b.cost_kinds.clone(),
        }
    }

    /// Whether a spend cell is in scope.
    pub fn matches(&self, c: &SpendCell) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        let glob = |list: &[Glob], v: &str| list.is_empty() || list.iter().any(|g| g.matches(v));
        any(&self.accounts, &c.account)
            && any(&self.regions, &c.region)
            && any(&self.cost_kinds, &c.pricing_mode)
            && glob(&self.models, &c.model)
            && glob(&self.principals, &c.principal)
            && (self.tags.is_empty() || {
                let tags: BTreeMap<String, serde_json::Value> =
                    serde_json::from_str(&c.tags).unwrap_or_default();
                self.tags
                    .iter()
                    .all(|(k, v)| tags.get(k).and_then(|t| t.as_str()) == Some(v.as_str()))
            })
    }
}

/// The period rule of a validated budget.
pub fn period_rule(b: &BudgetConfig) -> PeriodRule {
    let tz = b.tz().unwrap_or(chrono_tz::UTC);
    match b.period {
        PeriodSetting::Daily => PeriodRule::Daily(tz),
        PeriodSetting::Weekly => {
            PeriodRule::Weekly(tz, b.week_start_day().unwrap_or(chrono::Weekday::Mon))
        }
        PeriodSetting::Monthly => PeriodRule::Monthly(tz),
        PeriodSetting::Quarterly => PeriodRule::Quarterly(tz),
        PeriodSetting::Custom => PeriodRule::Custom {
            anchor: DateTime::parse_from_rfc3339(&b.period_anchor)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default(),
            length_secs: b.custom_length_secs().unwrap_or(86_400),
        },
    }
}

/// Matching cost per ledger hour.
pub type HourlyCost = BTreeMap<i64, Usd>;

/// Sum of the hours in `[from, to)`.
fn sum(h: &HourlyCost, from: i64, to: i64) -> Usd {
    if from >= to {
        return Usd::ZERO;
    }
    h.range(from..to).fold(Usd::ZERO, |acc, (_, c)| {
        acc.checked_add(*c).unwrap_or(Usd::MAX)
    })
}

/// `a × b ÷ c` without a panic: an overflow saturates (amounts that large are already far
/// past any limit).
fn mul_div(a: Usd, b: Usd, c: Usd) -> Usd {
    a.checked_mul(b)
        .and_then(|p| p.checked_div(c))
        .unwrap_or(Usd::MAX)
}

/// The trailing window of the forecast, hours.
pub const FORECAST_WINDOW_HOURS: i64 = 24;

/// Forecast at period end: see the [module docs](self). `first_hour` is the ledger's first
/// hour.
pub fn forecast(
    hourly: &HourlyCost,
    spend: Usd,
    period: &Period,
    now: DateTime<Utc>,
    first_hour: Option<i64>,
) -> Usd {
    let now_s = now.timestamp();
    let remaining = period.end.timestamp() - now_s;
    let Some(first) = first_hour else {
        return spend;
    };
    if remaining <= 0 {
        return spend;
    }
    let start = (floor_hour(now_s) - (FORECAST_WINDOW_HOURS - 1) * 3600).max(first);
    let window_secs = (now_s - start).max(3600);
    let trailing = sum(hourly, start, floor_hour(now_s) + 3600);
    let projected = mul_div(trailing, Usd::from(remaining), Usd::from(window_secs));
    round_cents(spend.checked_add(projected).unwrap_or(Usd::MAX))
}

/// Whether the recent spend rate is anomalous: see the [module docs](self).
pub fn anomalous(
    hourly: &HourlyCost,
    a: &crate::config::AnomalyConfig,
    now: DateTime<Utc>,
    first_hour: Option<i64>,
) -> bool {
    let Some(first) = first_hour else {
        return false;
    };
    let now_s = now.timestamp();
    let start = floor_hour(now_s) - (i64::from(a.window_hours) - 1) * 3600;
    // At least five minutes, so the first seconds of an hour do not look like a spike.
    let recent_secs = (now_s - start).max(300);
    let recent = sum(hourly, start, floor_hour(now_s) + 3600);
    let base_start = (start - i64::from(a.baseline_hours) * 3600).max(first);
    let base_secs = start - base_start;
    if base_secs <= 0 || recent < a.min_spend_usd {
        return false;
    }
    let baseline = sum(hourly, base_start, start);
    // recent / recent_secs > factor × baseline / base_secs, without dividing.
    let lhs = recent.checked_mul(Usd::from(base_secs));
    let rhs = a
        .factor
        .checked_mul(baseline)
        .and_then(|x| x.checked_mul(Usd::from(recent_secs)));
    match (lhs, rhs) {
        (Some(l), Some(r)) => l > r,
        // Only absurd amounts overflow; the side that did is the larger one.
        (None, Some(_)) => true,
        _ => false,
    }
}

/// One threshold's evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdStatus {
    /// `80%`, `750usd` or `anomaly`.
    pub threshold: String,
    /// `actual`, `forecast` or `anomaly`.
    pub kind: &'static str,
    /// The amount it stands for (the limit for the anomaly flag).
    pub amount: Usd,
    /// Crossed now.
    pub crossed: bool,
}

/// One budget's evaluation at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetStatus {
    /// Budget name.
    pub name: String,
    /// The current period.
    pub period: Period,
    /// Limit per period.
    pub limit: Usd,
    /// Spend so far.
    pub spend: Usd,
    /// Projected spend at period end.
    pub forecast: Usd,
    /// Whether anomaly detection is on, and its flag.
    pub anomaly: Option<bool>,
    /// The thresholds, in config order.
    pub thresholds: Vec<ThresholdStatus>,
}

/// Evaluates one budget from the hourly cost that matches its filter.
pub fn evaluate(
    b: &BudgetConfig,
    hourly: &HourlyCost,
    now: DateTime<Utc>,
    first_hour: Option<i64>,
) -> BudgetStatus {
    let period = period_rule(b).containing(now);
    let spend = sum(hourly, period.start_hour(), period.end_hour());
    let forecast = forecast(hourly, spend, &period, now, first_hour);
    let hundred = Usd::from(100);
    let thresholds = b
        .thresholds
        .iter()
        .map(|t| {
            let amount = match (t.percent, t.amount_usd) {
                (Some(p), _) => mul_div(b.limit_usd, p, hundred),
                (None, Some(a)) => a,
                (None, None) => b.limit_usd,
            };
            let value = match t.on {
                ThresholdOn::Actual => spend,
                ThresholdOn::Forecast => forecast,
            };
            ThresholdStatus {
                threshold: threshold_id(t),
                kind: t.on.as_str(),
                amount,
                crossed: value >= amount,
            }
        })
        .collect();
    BudgetStatus {
        name: b.name.clone(),
        period,
        limit: b.limit_usd,
        spend,
        forecast,
        anomaly: b
            .anomaly
            .enabled
            .then(|| anomalous(hourly, &b.anomaly, now, first_hour)),
        thresholds,
    }
}

/// The payload of a budget notification (the documented webhook body; other receiver
/// kinds are rendered from it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Notification {
    /// Payload version, `1`.
    pub version: u32,
    /// Unique id of the event (the same for every receiver and every re-delivery).
    pub id: String,
    /// `threshold_crossed`, `threshold_recovered`, `anomaly_started` or `anomaly_ended`.
    pub event: String,
    /// `firing` or `resolved`.
    pub state: String,
    /// Budget name.
    pub budget: String,
    /// Period start, RFC 3339.
    pub period_start: String,
    /// Period end (exclusive), RFC 3339.
    pub period_end: String,
    /// `80%`, `750usd` or `anomaly`.
    pub threshold: String,
    /// `actual`, `forecast` or `anomaly`.
    pub kind: String,
    /// The threshold's amount, USD (decimal string).
    pub threshold_usd: String,
    /// Spend so far, USD.
    pub spend_usd: String,
    /// Forecast at period end, USD.
    pub forecast_usd: String,
    /// The limit, USD.
    pub limit_usd: String,
    /// Always `USD`.
    pub currency: String,
    /// When the state changed, RFC 3339.
    pub at: String,
    /// `notifications.dashboard_url`, when set.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dashboard_url: Option<String>,
}

/// What one evaluation cycle did.
#[derive(Debug, Clone, Default)]
pub struct Cycle {
    /// Each budget's status, in config order.
    pub statuses: Vec<BudgetStatus>,
    /// Notifications queued by this cycle.
    pub queued: usize,
}

/// Evaluates every budget at `now`, persists threshold state changes and queues their
/// notifications (one transaction per change).
pub fn run_cycle(
    store: &mut Store,
    settings: &BudgetSettings,
    now: DateTime<Utc>,
) -> Result<Cycle, StoreError> {
    let mut cycle = Cycle::default();
    if settings.budgets.is_empty() {
        return Ok(cycle);
    }
    let now_s = now.timestamp();
    let first_hour = store.first_hour()?;
    // One read covers every budget's period, forecast window and anomaly baseline.
    let mut from = floor_hour(now_s) - FORECAST_WINDOW_HOURS * 3600;
    for b in &settings.budgets {
        from = from.min(period_rule(b).containing(now).start_hour());
        if b.anomaly.enabled {
            let back = i64::from(b.anomaly.window_hours) + i64::from(b.anomaly.baseline_hours);
            from = from.min(floor_hour(now_s) - back * 3600);
        }
    }
    if let Some(first) = first_hour {
        from = from.max(first);
    }
    let cells = store.spend_cells(from, floor_hour(now_s) + 3600)?;
    for b in &settings.budgets {
        let filter = Filter::of(b);
        let mut hourly = HourlyCost::new();
        for c in cells.iter().filter(|c| filter.matches(c)) {
            let e = hourly.entry(c.hour).or_default();
            *e = e.checked_add(c.cost).unwrap_or(Usd::MAX);
        }
        let status = evaluate(b, &hourly, now, first_hour);
        let mut changes: Vec<(ThresholdStatus, bool, Vec<String>)> = status
            .thresholds
            .iter()
            .zip(&b.thresholds)
            .map(|(s, t)| (s.clone(), t.notify_on_recovery, t.receivers.clone()))
            .collect();
        if let Some(flag) = status.anomaly {
            changes.push((
                ThresholdStatus {
                    threshold: "anomaly".to_string(),
                    kind: "anomaly",
                    amount: b.limit_usd,
                    crossed: flag,
                },
                b.anomaly.notify_on_recovery,
                b.anomaly.receivers.clone(),
            ));
        }
        let period_start = status.period.start.timestamp();
        for (t, on_recovery, receivers) in changes {
            let old = store.threshold_state(&b.name, &t.threshold, t.kind, period_start)?;
            if old.state == t.crossed {
                continue;
            }
            let mut row = ThresholdRow {
                state: t.crossed,
                ..old
            };
            let event = if t.crossed && old.crossed_at.is_none() {
                row.crossed_at = Some(now_s);
                Some(if t.kind == "anomaly" {
                    "anomaly_started"
                } else {
                    "threshold_crossed"
                })
            } else if !t.crossed && on_recovery && old.recovered_at.is_none() {
                row.recovered_at = Some(now_s);
                Some(if t.kind == "anomaly" {
                    "anomaly_ended"
                } else {
                    "threshold_recovered"
                })
            } else {
                None
            };
            let mut queued = Vec::new();
            if let Some(event) = event {
                let key = format!(
                    "{}/{}/{}/{}/{}",
                    b.name, t.kind, t.threshold, period_start, event
                );
                let n = Notification {
                    version: 1,
                    id: key.clone(),
                    event: event.to_string(),
                    state: if t.crossed { "firing" } else { "resolved" }.to_string(),
                    budget: b.name.clone(),
                    period_start: rfc3339(status.period.start),
                    period_end: rfc3339(status.period.end),
                    threshold: t.threshold.clone(),
                    kind: t.kind.to_string(),
                    threshold_usd: t.amount.normalize().to_string(),
                    spend_usd: status.spend.normalize().to_string(),
                    forecast_usd: status.forecast.normalize().to_string(),
                    limit_usd: status.limit.normalize().to_string(),
                    currency: "USD".to_string(),
                    at: rfc3339(now),
                    dashboard_url: Some(settings.notifications.dashboard_url.clone())
                        .filter(|u| !u.is_empty()),
                };
                let json = serde_json::to_string(&n).unwrap_or_default();
                for r in &receivers {
                    queued.push((r.clone(), key.clone(), json.clone()));
                }
                tracing::info!(budget = %b.name, threshold = %t.threshold, kind = t.kind, event, receivers = queued.len(), "Budget threshold changed state.");
            }
            cycle.queued += queued.len();
            let transition = Transition {
                budget: b.name.clone(),
                threshold: t.threshold.clone(),
                kind: t.kind.to_string(),
                period_start,
                row,
            };
            store.record_transition(&transition, &queued, now_s)?;
        }
        cycle.statuses.push(status);
    }
    Ok(cycle)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests;
