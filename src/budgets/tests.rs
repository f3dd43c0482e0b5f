//! Budget arithmetic, filters and the once-per-period rule against a real (in-memory) ledger.
use super::*;
use crate::accounting::{Amount, Batch, Dims, MeterKey};
use crate::config::{AnomalyConfig, Config};
use std::str::FromStr;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn usd(s: &str) -> Usd {
    Usd::from_str(s).unwrap()
}

fn hour(s: &str) -> i64 {
    at(s).timestamp()
}

#[test]
fn globs_match_whole_strings_with_star_as_any_run() {
    let g = Glob::new("anthropic.claude-*");
    assert!(g.matches("anthropic.claude-sonnet-4"));
    assert!(g.matches("anthropic.claude-"));
    assert!(!g.matches("us.anthropic.claude-sonnet-4"));
    assert!(Glob::new("*claude*v1:0").matches("us.anthropic.claude-3-haiku-v1:0"));
    assert!(!Glob::new("*claude*v1:0").matches("us.anthropic.claude-3-haiku-v2:0"));
    assert!(Glob::new("a*a").matches("aa"));
    assert!(!Glob::new("a*a").matches("a"));
    assert!(Glob::new("exact").matches("exact"));
    assert!(!Glob::new("exact").matches("exactly"));
    assert!(Glob::new("*").matches(""));
}

fn cell(model: &str, principal: &str, tags: &str, mode: &str) -> SpendCell {
    SpendCell {
        hour: 0,
        account: "111".into(),
        region: "us-east-1".into(),
        model: model.into(),
        principal: principal.into(),
        tags: tags.into(),
        pricing_mode: mode.into(),
        cost: Usd::ONE,
    }
}

fn budget(toml: &str) -> BudgetConfig {
    let c = Config::from_toml_str(
        &format!("[[budgets]]\nname = \"b\"\nlimit_usd = \"100\"\n{toml}"),
        "t",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    c.budgets[0].clone()
}

#[test]
fn filters_combine_lists_globs_tags_and_cost_kinds() {
    let b = budget(
        "models = [\"anthropic.*\"]\nprincipals = [\"role/App/*\"]\ntags = [\"team=search\"]\n\
         cost_kinds = [\"on_demand\"]\naccounts = [\"111\"]",
    );
    let f = Filter::of(&b);
    let tags = r#"{"env":"prod","team":"search"}"#;
    assert!(f.matches(&cell("anthropic.claude", "role/App/s1", tags, "on_demand")));
    assert!(!f.matches(&cell("amazon.nova", "role/App/s1", tags, "on_demand")));
    assert!(!f.matches(&cell(
        "anthropic.claude",
        "role/Other/s1",
        tags,
        "on_demand"
    )));
    assert!(!f.matches(&cell(
        "anthropic.claude",
        "role/App/s1",
        r#"{"team":"ads"}"#,
        "on_demand"
    )));
    assert!(!f.matches(&cell("anthropic.claude", "role/App/s1", "{}", "on_demand")));
    assert!(!f.matches(&cell(
        "anthropic.claude",
        "role/App/s1",
        tags,
        "provisioned"
    )));
    let mut other_account = cell("anthropic.claude", "role/App/s1", tags, "on_demand");
    other_account.account = "222".into();
    assert!(!f.matches(&other_account));
    assert!(Filter::default().matches(&other_account));
}

fn hourly(pairs: &[(&str, &str)]) -> HourlyCost {
    pairs.iter().map(|(h, c)| (hour(h), usd(c))).collect()
}

#[test]
fn forecast_is_spend_plus_the_trailing_rate_times_the_time_left() {
    // A 10-day custom period; spend 2.40 in each of 12 hours before now.
    let period = Period {
        start: at("2026-11-20T00:00:00Z"),
        end: at("2026-11-30T00:00:00Z"),
    };
    let mut h = HourlyCost::new();
    for i in 0..12 {
        h.insert(hour("2026-11-25T00:00:00Z") + i * 3600, usd("2.40"));
    }
    let spend = usd("28.80");
    // now = 12:00 exactly; the ledger starts at 00:00 the day before, so the window is the
    // full 24 hours [2026-11-24T13:00, now] ... but it ends at now: 23 hours of window
    // (13:00 the day before to 12:00) hold 28.80 → rate 28.80 / 82800 s.
    let now = at("2026-11-25T12:00:00Z");
    let first = Some(hour("2026-11-24T00:00:00Z"));
    // time left: 4.5 days = 388800 s; 28.80 × 388800 / 82800 = 135.2347826… → 135.23
    assert_eq!(forecast(&h, spend, &period, now, first), usd("164.03"));
    // A ledger that started at 00:00 today: the window is 12 hours, 28.80/43200 s ×
    // 388800 s = 259.20 exactly.
    let first = Some(hour("2026-11-25T00:00:00Z"));
    assert_eq!(forecast(&h, spend, &period, now, first), usd("288.00"));
    // No ledger: the forecast is the spend. Past the end: the spend.
    assert_eq!(forecast(&h, spend, &period, now, None), spend);
    assert_eq!(
        forecast(&h, spend, &period, at("2026-11-30T00:00:00Z"), first),
        spend
    );
}

#[test]
fn early_in_a_period_the_forecast_uses_the_previous_periods_rate() {
    // Daily UTC budget at 00:30: the period has 0.10 so far; the last 24 hours spent 1.00
    // per hour before midnight.
    let b = budget("period = \"daily\"");
    let mut h = HourlyCost::new();
    for i in 1..=23 {
        h.insert(hour("2026-11-26T00:00:00Z") - i * 3600, usd("1"));
    }
    h.insert(hour("2026-11-26T00:00:00Z"), usd("0.10"));
    let now = at("2026-11-26T00:30:00Z");
    let s = evaluate(&b, &h, now, Some(hour("2026-11-20T00:00:00Z")));
    assert_eq!(s.spend, usd("0.10"));
    // window: 23:00 h + 30 min = 84600 s, cost 23.10; left 84600 s → exactly 23.10 more.
    assert_eq!(s.forecast, usd("23.20"));
    assert_eq!(s.period.start, at("2026-11-26T00:00:00Z"));
}

#[test]
fn thresholds_compare_percent_and_amount_against_actual_and_forecast() {
    let b = budget(
        "period = \"daily\"\n\
         [[budgets.thresholds]]\npercent = 50\n\
         [[budgets.thresholds]]\npercent = \"100\"\n\
         [[budgets.thresholds]]\namount_usd = 150\non = \"forecast\"\n",
    );
    let h = hourly(&[
        ("2026-11-26T00:00:00Z", "30"),
        ("2026-11-26T01:00:00Z", "20"),
    ]);
    let s = evaluate(
        &b,
        &h,
        at("2026-11-26T02:00:00Z"),
        Some(hour("2026-11-26T00:00:00Z")),
    );
    assert_eq!(s.spend, usd("50"));
    let got: Vec<(&str, &str, Usd, bool)> = s
        .thresholds
        .iter()
        .map(|t| (t.threshold.as_str(), t.kind, t.amount, t.crossed))
        .collect();
    // forecast: 50 + 50/7200 s × 79200 s = 600.
    assert_eq!(s.forecast, usd("600"));
    assert_eq!(
        got,
        vec![
            ("50%", "actual", usd("50"), true),
            ("100%", "actual", usd("100"), false),
            ("150usd", "forecast", usd("150"), true),
        ]
    );
}

#[test]
fn an_anomaly_is_a_recent_rate_far_above_its_baseline() {
    let a = AnomalyConfig {
        enabled: true,
        factor: usd("5"),
        min_spend_usd: usd("1"),
        window_hours: 1,
        baseline_hours: 24,
        ..AnomalyConfig::default()
    };
    let now = at("2026-11-26T12:30:00Z");
    let first = Some(hour("2026-11-20T00:00:00Z"));
    let mut h = HourlyCost::new();
    for i in 1..=24 {
        h.insert(hour("2026-11-26T12:00:00Z") - i * 3600, usd("1"));
    }
    // Baseline 1/h. 2.50 in half an hour is 5/h: not above 5×.
    h.insert(hour("2026-11-26T12:00:00Z"), usd("2.50"));
    assert!(!anomalous(&h, &a, now, first));
    h.insert(hour("2026-11-26T12:00:00Z"), usd("2.51"));
    assert!(anomalous(&h, &a, now, first));
    // Below the minimum spend it is never an anomaly.
    let quiet: HourlyCost = h.iter().map(|(k, v)| (*k, *v / Usd::from(100))).collect();
    assert!(!anomalous(&quiet, &a, now, first));
    // No history before the window: no baseline, no anomaly.
    assert!(!anomalous(&h, &a, now, Some(hour("2026-11-26T12:00:00Z"))));
}

fn spend_batch(hour: i64, cost: &str, model: &str) -> Batch {
    let mut b = Batch::default();
    let dims = Dims {
        hour,
        account: "111".into(),
        region: "us-east-1".into(),
        model: model.into(),
        scope: "in_region".into(),
        service_tier: "standard".into(),
        context_band: "standard".into(),
        operation: "Converse".into(),
        principal: "role/App/s".into(),
        tags: "{}".into(),
        pricing_mode: "on_demand".into(),
    };
    b.add(
        &dims,
        MeterKey {
            meter: "input_tokens",
            detail: String::new(),
            price_entry: "e1".into(),
            pricing_version: "v1".into(),
        },
        Amount {
            quantity: 1,
            cost: Some(usd(cost)),
        },
    );
    b
}

fn settings(toml: &str) -> BudgetSettings {
    let c = Config::from_toml_str(toml, "t").unwrap_or_else(|e| panic!("{e}"));
    BudgetSettings {
        budgets: c.budgets,
        notifications: c.notifications,
        secrets: Default::default(),
    }
}

const CYCLE_CONFIG: &str = r#"
[[notifications.receivers]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:1/"

[[budgets]]
name = "b"
limit_usd = "10"
period = "daily"
models = ["anthropic.*"]

[[budgets.thresholds]]
percent = 50
receivers = ["hook"]

[[budgets.thresholds]]
percent = 100
notify_on_recovery = true
receivers = ["hook"]
"#;

fn events(store: &Store) -> Vec<(String, String)> {
    store
        .pending_notifications()
        .unwrap()
        .into_iter()
        .map(|r| {
            let n: Notification = serde_json::from_str(&r.event).unwrap();
            (format!("{}:{}", n.threshold, n.event), n.spend_usd)
        })
        .collect()
}

#[test]
fn each_crossing_is_queued_once_per_period_and_recovery_when_configured() {
    let mut store = Store::open_in_memory().unwrap();
    let s = settings(CYCLE_CONFIG);
    let h0 = hour("2026-11-26T00:00:00Z");
    store
        .commit(&spend_batch(h0, "6", "anthropic.claude"))
        .unwrap();
    // Spend outside the filter does not count.
    store.commit(&spend_batch(h0, "50", "amazon.nova")).unwrap();
    let now = at("2026-11-26T00:30:00Z");
    let c = run_cycle(&mut store, &s, now).unwrap();
    assert_eq!(c.statuses[0].spend, usd("6"));
    assert_eq!(c.queued, 1);
    assert_eq!(
        events(&store),
        vec![("50%:threshold_crossed".into(), "6".into())]
    );
    // Evaluating again (or after a restart: the state is in the ledger) queues nothing.
    assert_eq!(run_cycle(&mut store, &s, now).unwrap().queued, 0);
    store
        .commit(&spend_batch(h0, "5", "anthropic.claude"))
        .unwrap();
    assert_eq!(run_cycle(&mut store, &s, now).unwrap().queued, 1);
    // Raising the limit recovers the 100% threshold (notify_on_recovery), not the 50% one.
    let raised = settings(&CYCLE_CONFIG.replace("limit_usd = \"10\"", "limit_usd = \"20\""));
    assert_eq!(run_cycle(&mut store, &raised, now).unwrap().queued, 1);
    // Crossing again in the same period does not notify again.
    assert_eq!(run_cycle(&mut store, &s, now).unwrap().queued, 0);
    let got: Vec<String> = events(&store).into_iter().map(|e| e.0).collect();
    assert_eq!(
        got,
        vec![
            "50%:threshold_crossed",
            "100%:threshold_crossed",
            "100%:threshold_recovered"
        ]
    );
    // The next day is a new period: spend starts at zero and crossings notify again.
    let next = at("2026-11-27T00:30:00Z");
    store
        .commit(&spend_batch(
            hour("2026-11-27T00:00:00Z"),
            "7",
            "anthropic.claude",
        ))
        .unwrap();
    let c = run_cycle(&mut store, &s, next).unwrap();
    assert_eq!(c.statuses[0].spend, usd("7"));
    assert_eq!(c.queued, 1);
}

#[test]
fn a_threshold_with_no_receivers_changes_state_but_queues_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    let s = settings(
        "[[budgets]]\nname = \"b\"\nlimit_usd = 1\nperiod = \"daily\"\n\
         [[budgets.thresholds]]\npercent = 100\n",
    );
    store
        .commit(&spend_batch(hour("2026-11-26T00:00:00Z"), "2", "m"))
        .unwrap();
    let now = at("2026-11-26T00:30:00Z");
    assert_eq!(run_cycle(&mut store, &s, now).unwrap().queued, 0);
    let start = hour("2026-11-26T00:00:00Z");
    assert!(
        store
            .threshold_state("b", "100%", "actual", start)
            .unwrap()
            .state
    );
}

#[test]
fn the_demo_budgets_are_valid() {
    let d = BudgetSettings::demo();
    assert_eq!(d.budgets.len(), 2);
    assert_eq!(d.notifications.evaluation_interval_secs, 5);
    // One `log` receiver (no HTTP), so the demo exports notification metrics.
    assert_eq!(d.notifications.receivers.len(), 1);
    assert_eq!(
        d.notifications.receivers[0].kind,
        crate::config::ReceiverKind::Log
    );
    assert!(d.notifications.receivers[0].url.is_empty());
}

#[test]
fn a_log_receiver_takes_no_url_and_others_need_one() {
    let text = "[[notifications.receivers]]\nname = \"l\"\nkind = \"log\"\nurl = \"http://127.0.0.1:1\"\n\n\
                [[notifications.receivers]]\nname = \"w\"\nkind = \"webhook\"\n";
    let e = crate::config::Config::from_toml_str(text, "t")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("notifications.receivers[0].url: kind = \"log\""),
        "{e}"
    );
    assert!(
        e.contains("notifications.receivers[1].url: `` is not an http"),
        "{e}"
    );
}

#[test]
fn absurd_amounts_saturate_instead_of_panicking() {
    let b = budget(
        "period = \"daily\"\n[[budgets.thresholds]]\npercent = \"1000000000000\"\n\
         [[budgets.thresholds]]\namount_usd = 1\non = \"forecast\"\n",
    );
    let mut b = b;
    b.limit_usd = Usd::MAX;
    let h = hourly(&[
        ("2026-11-26T00:00:00Z", "79228162514264337593543950335"),
        ("2026-11-26T01:00:00Z", "79228162514264337593543950335"),
    ]);
    let s = evaluate(
        &b,
        &h,
        at("2026-11-26T01:30:00Z"),
        Some(hour("2026-11-25T00:00:00Z")),
    );
    assert_eq!(s.spend, Usd::MAX);
    assert_eq!(s.forecast, Usd::MAX);
    assert!(s.thresholds[1].crossed);
    let a = AnomalyConfig {
        enabled: true,
        ..AnomalyConfig::default()
    };
    let (now, first) = (
        at("2026-11-26T01:30:00Z"),
        Some(hour("2026-11-25T00:00:00Z")),
    );
    // Both sides overflow: no verdict either way, and no panic.
    assert!(!anomalous(&h, &a, now, first));
    // Only the recent side overflows: it is the larger.
    let h = hourly(&[
        ("2026-11-26T00:00:00Z", "1"),
        ("2026-11-26T01:00:00Z", "79228162514264337593543950335"),
    ]);
    assert!(anomalous(&h, &a, now, first));
}
