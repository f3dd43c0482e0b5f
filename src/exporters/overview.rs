//! The built-in overview: `GET /` serves one self-contained HTML page (inline CSS and JS, no
//! external assets, a strict Content-Security-Policy) and `GET /api/v1/overview` the JSON it
//! draws: month-to-date spend, a forecast, budgets and their state, spend by model and by
//! principal, and ingest health. The JSON schema is documented in the README ("Overview page
//! and API").
//!
//! Owns: assembling that JSON from two read-only places, the ledger (month-to-date sums via
//! [`Store::totals`], [`Store::spend_by`] and [`Store::cost_between`] on a read-only
//! connection) and the metrics
//! state (the same exposition `/metrics` serves, parsed back for the `bedrock_budget_*` and
//! `bedrock_meter_*` families, so budgets appear here as soon as they are exported and "no
//! budgets configured" shows otherwise).
//! Must not: write the store, read the clock other than through [`Clock`], or put log data
//! (models, principals, tags) into HTML. The page inserts every value with `textContent`,
//! and the CSP allows only the page's own script and style (by hash) and same-origin fetches.
use crate::accounting::hour_of;
use crate::money::{Usd, round_cents};
use crate::store::{SpendDimension, SpendShare, Store};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;

/// The page. Its one `<style>` and one `<script>` element are allowed by hash in
/// [`content_security_policy`].
pub const PAGE: &str = include_str!("overview.html");

/// How many models or principals the overview lists before summing the rest.
pub const TOP_N: usize = 10;

/// Hours behind the trailing spend rate used for the forecast when no budget forecasts.
pub const TRAILING_HOURS: i64 = 24;

/// The `Content-Security-Policy` of the page: nothing may load except the page's own inline
/// style and script (by SHA-256) and same-origin `fetch`es; no framing, no forms, no base.
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let style = inline_hash(PAGE, "style");
        let script = inline_hash(PAGE, "script");
        format!(
            "default-src 'none'; script-src '{script}'; style-src '{style}'; \
             connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'"
        )
    })
}

/// `sha256-<base64>` of the content of the first `<tag>` element of `html`.
fn inline_hash(html: &str, tag: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let body = html
        .split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map(|(body, _)| body)
        .unwrap_or_default();
    let digest = sha2::Sha256::digest(body.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The JSON of `GET /api/v1/overview`. Money is exact decimal text (USD).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Overview {
    /// When this was computed (RFC 3339, UTC).
    pub generated_at: String,
    /// Always `USD`.
    pub currency: &'static str,
    /// The price-table version in use.
    pub pricing_version: String,
    /// The calendar month (UTC) the spend covers.
    pub month: Month,
    /// Exact cost of priced usage since the start of the month (by time of the call).
    pub month_to_date_usd: String,
    /// Projected spend at the end of the month.
    pub forecast: Forecast,
    /// Budgets from the metrics state, by name; empty when none are configured.
    pub budgets: Vec<Budget>,
    /// Month-to-date spend by model.
    pub by_model: Breakdown,
    /// Month-to-date spend by principal.
    pub by_principal: Breakdown,
    /// Month-to-date spend by cost stream (`on_demand`, `provisioned`, `customization`).
    pub by_stream: Breakdown,
    /// Month-to-date usage that had no price, by meter (e.g. `input_tokens`, `images`): it
    /// is not in any cost above. Empty when everything was priced.
    pub unpriced: BTreeMap<String, u64>,
    /// Ingest health from the metrics state.
    pub ingest: Ingest,
}

/// A calendar month, `[start, end)`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Month {
    /// First instant (RFC 3339).
    pub start: String,
    /// First instant of the next month (RFC 3339).
    pub end: String,
}

/// A month-end projection and how it was made.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Forecast {
    /// Projected month-end spend, rounded to cents.
    pub usd: String,
    /// `trailing_rate`: month-to-date plus the last 24 hours' spend rate until the end of
    /// the month (budgets carry their own forecasts).
    pub method: &'static str,
    /// One sentence saying how the number was made, for the page.
    pub basis: String,
}

/// One budget, read from the `bedrock_budget_*` gauges.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Budget {
    /// The `budget` label.
    pub name: String,
    /// `bedrock_budget_limit_usd`.
    pub limit_usd: Option<String>,
    /// `bedrock_budget_spend_usd`.
    pub spend_usd: Option<String>,
    /// `bedrock_budget_forecast_usd`.
    pub forecast_usd: Option<String>,
    /// Period start (RFC 3339), from `bedrock_budget_period_start_timestamp_seconds`.
    pub period_start: Option<String>,
    /// Period end (RFC 3339), from `bedrock_budget_period_end_timestamp_seconds`.
    pub period_end: Option<String>,
    /// `over` (an actual threshold is crossed), `forecast_over` (only forecast thresholds
    /// are), `ok` otherwise.
    pub state: &'static str,
    /// Every threshold of the budget, from `bedrock_budget_threshold_state`.
    pub thresholds: Vec<Threshold>,
    /// `bedrock_budget_anomaly` is 1.
    pub anomaly: bool,
}

/// One threshold of a budget.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Threshold {
    /// The `threshold` label as exported (e.g. `80`).
    pub threshold: String,
    /// `actual` or `forecast`.
    pub kind: String,
    /// The gauge is 1.
    pub crossed: bool,
}

/// Spend split by one dimension.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Breakdown {
    /// The [`TOP_N`] largest, most expensive first.
    pub top: Vec<Share>,
    /// How many further values were summed into `rest_usd`.
    pub rest_count: usize,
    /// Exact spend of the values not in `top`.
    pub rest_usd: String,
}

/// Spend of one value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Share {
    /// The model or principal as recorded (log data: display it as text only). Empty when
    /// not recorded.
    pub key: String,
    /// Exact month-to-date cost.
    pub cost_usd: String,
    /// Invocations this month.
    pub invocations: u64,
}

/// Ingest health.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ingest {
    /// Every source is up (and at least one exists).
    pub healthy: bool,
    /// `bedrock_meter_records_ingested_total`.
    pub records_ingested: u64,
    /// `bedrock_meter_records_duplicate_total`.
    pub records_duplicate: u64,
    /// Sum of `bedrock_meter_records_rejected_total`.
    pub records_rejected: u64,
    /// One entry per source.
    pub sources: Vec<SourceState>,
}

/// Health of one source.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceState {
    /// The source name.
    pub name: String,
    /// `bedrock_meter_source_up` is 1.
    pub up: bool,
    /// `bedrock_meter_source_lag_seconds`, as exported.
    pub lag_seconds: Option<String>,
    /// Last successful read (RFC 3339).
    pub last_success: Option<String>,
    /// Sum of `bedrock_meter_source_errors_total` since the process started.
    pub errors: u64,
}

/// One sample of an exposition: name, labels, value text.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: String,
}

/// The samples of the families whose names start with one of `prefixes`, from a text
/// exposition (format 0.0.4). Comment lines and anything unparsable are skipped: this reads
/// our own output, and a family it does not understand is simply not shown.
fn samples(text: &str, prefixes: &[&str]) -> Vec<Sample> {
    text.lines()
        .filter(|l| prefixes.iter().any(|p| l.starts_with(p)))
        .filter_map(parse_sample)
        .collect()
}

fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_string();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut body) = rest.strip_prefix('{') {
        loop {
            body = body.trim_start_matches([',', ' ']);
            if let Some(after) = body.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after_eq) = body.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after_eq.char_indices();
            let end = loop {
                let (i, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break i + 1,
                    c => value.push(c),
                }
            };
            labels.insert(key.trim().to_string(), value);
            body = &after_eq[end..];
        }
    }
    let value = rest.split_whitespace().next()?.to_string();
    Some(Sample {
        name,
        labels,
        value,
    })
}

fn label<'a>(s: &'a Sample, key: &str) -> &'a str {
    s.labels.get(key).map(String::as_str).unwrap_or_default()
}

/// An exported number as exact decimal text (the exposition writes decimals; a float in
/// scientific notation is converted).
fn exact(value: &str) -> Option<Usd> {
    Usd::from_str(value)
        .or_else(|_| Usd::from_scientific(value))
        .ok()
}

fn count(value: &str) -> u64 {
    exact(value)
        .and_then(|d| u64::try_from(d.trunc()).ok())
        .unwrap_or(0)
}

fn rfc3339_from_unix(value: &str) -> Option<String> {
    let secs = i64::try_from(exact(value)?.trunc()).ok()?;
    Some(DateTime::<Utc>::from_timestamp(secs, 0)?.to_rfc3339())
}

/// Budgets from the exposition, by name.
fn budgets(exposition: &str) -> Vec<Budget> {
    let mut by_name: BTreeMap<String, Budget> = BTreeMap::new();
    for s in samples(exposition, &["bedrock_budget_"]) {
        let name = label(&s, "budget").to_string();
        if name.is_empty() {
            continue;
        }
        let b = by_name.entry(name.clone()).or_insert_with(|| Budget {
            name,
            limit_usd: None,
            spend_usd: None,
            forecast_usd: None,
            period_start: None,
            period_end: None,
            state: "ok",
            thresholds: Vec::new(),
            anomaly: false,
        });
        let money = || exact(&s.value).map(|d| d.normalize().to_string());
        match s.name.as_str() {
            "bedrock_budget_limit_usd" => b.limit_usd = money(),
            "bedrock_budget_spend_usd" => b.spend_usd = money(),
            "bedrock_budget_forecast_usd" => b.forecast_usd = money(),
            "bedrock_budget_period_start_timestamp_seconds" => {
                b.period_start = rfc3339_from_unix(&s.value)
            }
            "bedrock_budget_period_end_timestamp_seconds" => {
                b.period_end = rfc3339_from_unix(&s.value)
            }
            "bedrock_budget_threshold_state" => b.thresholds.push(Threshold {
                threshold: label(&s, "threshold").to_string(),
                kind: label(&s, "kind").to_string(),
                crossed: count(&s.value) == 1,
            }),
            "bedrock_budget_anomaly" => b.anomaly = count(&s.value) == 1,
            _ => {}
        }
    }
    let mut out: Vec<Budget> = by_name.into_values().collect();
    for b in &mut out {
        let crossed = |kind: &str| b.thresholds.iter().any(|t| t.crossed && t.kind == kind);
        b.state = if crossed("actual") {
            "over"
        } else if crossed("forecast") {
            "forecast_over"
        } else {
            "ok"
        };
    }
    out
}

/// Ingest health from the exposition.
fn ingest(exposition: &str) -> Ingest {
    let mut sources: BTreeMap<String, SourceState> = BTreeMap::new();
    let mut ing = Ingest {
        healthy: false,
        records_ingested: 0,
        records_duplicate: 0,
        records_rejected: 0,
        sources: Vec::new(),
    };
    for s in samples(exposition, &["bedrock_meter_"]) {
        match s.name.as_str() {
            "bedrock_meter_records_ingested_total" => ing.records_ingested += count(&s.value),
            "bedrock_meter_records_duplicate_total" => ing.records_duplicate += count(&s.value),
            "bedrock_meter_records_rejected_total" => ing.records_rejected += count(&s.value),
            name if name.starts_with("bedrock_meter_source_") => {
                let source = label(&s, "source").to_string();
                let st = sources
                    .entry(source.clone())
                    .or_insert_with(|| SourceState {
                        name: source,
                        up: false,
                        lag_seconds: None,
                        last_success: None,
                        errors: 0,
                    });
                match name {
                    "bedrock_meter_source_up" => st.up = count(&s.value) == 1,
                    // Unknown lag is exported as NaN: show it as unknown, not "NaN s".
                    "bedrock_meter_source_lag_seconds" => {
                        st.lag_seconds = (s.value != "NaN").then(|| s.value.clone())
                    }
                    "bedrock_meter_source_last_success_timestamp_seconds" => {
                        st.last_success = rfc3339_from_unix(&s.value)
                    }
                    "bedrock_meter_source_errors_total" => st.errors += count(&s.value),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    ing.sources = sources.into_values().collect();
    ing.healthy = !ing.sources.is_empty() && ing.sources.iter().all(|s| s.up);
    ing
}

fn breakdown(mut shares: Vec<SpendShare>) -> Breakdown {
    let rest: Vec<SpendShare> = if shares.len() > TOP_N {
        shares.split_off(TOP_N)
    } else {
        Vec::new()
    };
    let rest_usd = rest
        .iter()
        .fold(Usd::ZERO, |acc, s| acc.saturating_add(s.cost));
    Breakdown {
        top: shares
            .into_iter()
            .map(|s| Share {
                key: s.key,
                cost_usd: crate::money::format_usd(s.cost),
                invocations: s.invocations,
            })
            .collect(),
        rest_count: rest.len(),
        rest_usd: crate::money::format_usd(rest_usd),
    }
}

/// The first instant of the month of `now`, and of the next month (UTC).
fn month_of(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    let end = Utc
        .with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    (start, end)
}

/// Month-to-date plus the trailing spend rate until the end of the month.
fn trailing_projection(
    store: &Store,
    now: DateTime<Utc>,
    mtd: Usd,
    month_end: DateTime<Utc>,
) -> Result<Usd, crate::store::StoreError> {
    let now_hour = hour_of(now);
    let from = now_hour - (TRAILING_HOURS - 1) * 3600;
    let recent = store.cost_between(from, now_hour + 3600)?;
    let elapsed = Usd::from((now.timestamp() - from).max(1));
    let remaining = Usd::from((month_end.timestamp() - now.timestamp()).max(0));
    let projected = recent
        .checked_div(elapsed)
        .and_then(|rate| rate.checked_mul(remaining))
        .and_then(|more| mtd.checked_add(more))
        .unwrap_or(mtd);
    Ok(round_cents(projected))
}

/// Builds the overview from the ledger at `store_path` (opened read-only) and the metrics
/// `exposition`, at `now`.
pub fn build(
    store_path: &Path,
    exposition: &str,
    pricing_version: &str,
    now: DateTime<Utc>,
) -> Result<Overview, crate::store::StoreError> {
    let store = Store::open_read_only(store_path)?;
    let (start, end) = month_of(now);
    let (from, to) = (start.timestamp(), hour_of(now) + 3600);
    let totals = store.totals(from, to)?;
    let mtd = totals.cost;
    let by_model = store.spend_by(SpendDimension::Model, from, to)?;
    let by_principal = store.spend_by(SpendDimension::Principal, from, to)?;
    let by_stream = store.spend_by(SpendDimension::Stream, from, to)?;
    let budgets = budgets(exposition);
    // The month's projection covers all spend, like month-to-date; a budget's forecast
    // covers its own scope and period, and is shown with that budget.
    let forecast = Forecast {
        usd: crate::money::format_usd(trailing_projection(&store, now, mtd, end)?),
        method: "trailing_rate",
        basis: format!(
            "Month-to-date spend plus the spend rate of the last {TRAILING_HOURS} hours until the end of the month (all spend; each budget below has its own forecast)."
        ),
    };
    Ok(Overview {
        generated_at: now.to_rfc3339(),
        currency: "USD",
        pricing_version: pricing_version.to_string(),
        month: Month {
            start: start.to_rfc3339(),
            end: end.to_rfc3339(),
        },
        month_to_date_usd: crate::money::format_usd(mtd),
        forecast,
        budgets,
        by_model: breakdown(by_model),
        by_principal: breakdown(by_principal),
        by_stream: breakdown(by_stream),
        unpriced: totals.unpriced,
        ingest: ingest(exposition),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGETS: &str = r#"# HELP bedrock_budget_limit_usd x
# TYPE bedrock_budget_limit_usd gauge
bedrock_budget_limit_usd{budget="all"} 1000
bedrock_budget_limit_usd{budget="team \"a\""} 50
bedrock_budget_spend_usd{budget="all"} 12.5
bedrock_budget_forecast_usd{budget="all"} 1.2345e3
bedrock_budget_forecast_usd{budget="team \"a\""} 40
bedrock_budget_period_start_timestamp_seconds{budget="all"} 1796083200
bedrock_budget_threshold_state{budget="all",threshold="80",kind="actual"} 0
bedrock_budget_threshold_state{budget="all",threshold="100",kind="forecast"} 1
bedrock_budget_threshold_state{budget="team \"a\"",threshold="50",kind="actual"} 1
bedrock_budget_anomaly{budget="team \"a\""} 1
bedrock_meter_source_up{source="demo"} 1
bedrock_meter_source_up{source="s3"} 0
bedrock_meter_source_lag_seconds{source="demo"} 0.5
bedrock_meter_source_errors_total{source="s3",kind="list_failed"} 2
bedrock_meter_source_errors_total{source="s3",kind="read_error"} 1
bedrock_meter_records_ingested_total 42
bedrock_meter_records_rejected_total{reason="malformed_json"} 3
bedrock_meter_records_rejected_total{reason="wrong_type"} 1
"#;

    #[test]
    fn budgets_are_read_from_the_gauges_with_their_state() {
        let b = budgets(BUDGETS);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].name, "all");
        assert_eq!(b[0].limit_usd.as_deref(), Some("1000"));
        assert_eq!(b[0].spend_usd.as_deref(), Some("12.5"));
        assert_eq!(b[0].forecast_usd.as_deref(), Some("1234.5"));
        assert_eq!(
            b[0].period_start.as_deref(),
            Some("2026-12-01T00:00:00+00:00")
        );
        assert_eq!(b[0].state, "forecast_over");
        assert!(!b[0].anomaly);
        assert_eq!(b[1].name, "team \"a\"");
        assert_eq!(b[1].state, "over");
        assert!(b[1].anomaly);
        assert!(budgets("bedrock_cost_usd_total{model=\"m\"} 1\n").is_empty());
    }

    #[test]
    fn ingest_health_sums_errors_and_rejections_per_source() {
        let i = ingest(BUDGETS);
        assert!(!i.healthy, "one source is down");
        assert_eq!(i.records_ingested, 42);
        assert_eq!(i.records_rejected, 4);
        assert_eq!(i.sources.len(), 2);
        assert_eq!(i.sources[0].lag_seconds.as_deref(), Some("0.5"));
        assert_eq!(i.sources[1].errors, 3);
    }

    #[test]
    fn an_unknown_lag_is_shown_as_unknown_not_nan() {
        let i = ingest(
            "bedrock_meter_source_up{source=\"provisioned\"} 1\n\
             bedrock_meter_source_lag_seconds{source=\"provisioned\"} NaN\n",
        );
        assert_eq!(i.sources.len(), 1);
        assert_eq!(i.sources[0].lag_seconds, None);
    }

    #[test]
    fn label_values_with_escapes_and_commas_parse() {
        let s = parse_sample(r#"x{a="1,2}",b="q\"\\\n"} 7"#).unwrap();
        assert_eq!(s.labels["a"], "1,2}");
        assert_eq!(s.labels["b"], "q\"\\\n");
        assert_eq!(s.value, "7");
        assert_eq!(parse_sample("y 3").unwrap().value, "3");
        assert!(parse_sample(r#"z{a="unterminated} 1"#).is_none());
    }

    #[test]
    fn month_bounds_roll_over_the_year() {
        let (s, e) = month_of("2026-12-31T23:59:59Z".parse().unwrap());
        assert_eq!(s.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(e.to_rfc3339(), "2027-01-01T00:00:00+00:00");
    }

    #[test]
    fn the_policy_allows_exactly_the_pages_inline_script_and_style() {
        assert_eq!(PAGE.matches("<script>").count(), 1, "one inline script");
        assert_eq!(PAGE.matches("<style>").count(), 1, "one inline style");
        assert!(!PAGE.contains("<script src"), "no external script");
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"));
        assert!(!PAGE.contains("innerHTML"), "values go in with textContent");
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; script-src 'sha256-"));
        assert_ne!(inline_hash(PAGE, "script"), inline_hash(PAGE, "style"));
    }
}
