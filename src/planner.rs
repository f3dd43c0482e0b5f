//! `bedrock-meter plan-pt`: should we buy provisioned throughput? From the ledger's hourly
//! rollups over a window, per (model, region): the on-demand cost, the traffic shape, and
//! for each commitment term the model units needed, their cost over the same window, the
//! break-even utilization and monthly volume, and a recommendation.
//!
//! Method (also in README "Should we buy provisioned throughput? (plan-pt)"):
//!
//! - Traffic is the on-demand usage of the model in the region: every token meter (input,
//!   output, cache read and write), every scope (traffic could move to the in-region
//!   throughput). Invocations already sent to provisioned models are not counted.
//! - Shape: the ledger keeps hourly rollups, so tokens per minute in an hour is that hour's
//!   tokens / 60, i.e. **traffic is assumed even within each hour**. p50/p90/p99/max are
//!   nearest-rank percentiles over every hour of the window, idle hours included. Minute
//!   peaks inside an hour are higher than this; that is why sizing uses the max.
//! - Model units = ceil(max tokens per minute / tokens per minute per model unit), at
//!   least 1. The capacity of a model unit comes from `[planner]
//!   tokens_per_minute_per_model_unit` or `--mu-tpm` (AWS does not publish it); without
//!   it the plan says it cannot size.
//! - Provisioned cost over the window = units × the table's hourly rate for the term ×
//!   the window's hours. A commitment binds for its whole term; the comparison is per hour
//!   of the window, i.e. it assumes the window is typical of the term.
//! - Break-even utilization = provisioned cost / (on-demand cost of the full capacity at
//!   the observed blended price per token). Break-even monthly volume = provisioned cost
//!   of a 730-hour month / blended price per token.
//! - Savings = on-demand cost − provisioned cost (negative: a loss). The recommendation is
//!   the term with the largest positive savings, else to stay on demand.
//!
//! Must not: write the ledger or read the clock (the caller passes the window).
#![deny(clippy::float_arithmetic)]

use crate::money::{Usd, format_usd};
use crate::pricing::{CommitmentTerm, PriceBook};
use crate::provisioned::STREAM_METERS;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Timelike, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::collections::BTreeMap;

/// Hours in the month the break-even volume is given for (AWS's pricing convention).
pub const HOURS_PER_MONTH: u32 = 730;

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanParams {
    /// Only this model (base model id), if given.
    pub model: Option<String>,
    /// Only this region, if given.
    pub region: Option<String>,
    /// Start of the window (inclusive, whole hour, unix seconds).
    pub from_hour: i64,
    /// End of the window (exclusive, whole hour, unix seconds).
    pub to_hour: i64,
    /// `--mu-tpm`: overrides the config for every model.
    pub mu_tpm_flag: Option<u64>,
    /// `[planner] tokens_per_minute_per_model_unit`.
    pub mu_tpm_config: BTreeMap<String, u64>,
}

/// Tokens per minute at the percentiles of the window's hours.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Shape {
    /// Median hour.
    pub p50: Decimal,
    /// 90th percentile hour.
    pub p90: Decimal,
    /// 99th percentile hour.
    pub p99: Decimal,
    /// Busiest hour.
    pub max: Decimal,
}

/// One commitment term's figures.
#[derive(Debug, Clone, Serialize)]
pub struct TermPlan {
    /// `none`, `1_month` or `6_months`.
    pub term: String,
    /// Price entry that priced it (empty when the table has no rate).
    pub price_entry: String,
    /// USD per model-unit hour (`None`: no rate in the table; not sized).
    pub usd_per_model_unit_hour: Option<Decimal>,
    /// Model units needed for the max tokens per minute.
    pub model_units: u32,
    /// Provisioned cost over the window.
    pub cost_usd: Option<Decimal>,
    /// Share of the capacity the window's traffic would use.
    pub utilization: Decimal,
    /// Utilization at which provisioned and on-demand cost the same.
    pub break_even_utilization: Option<Decimal>,
    /// Tokens per 730-hour month at which they cost the same.
    pub break_even_monthly_tokens: Option<Decimal>,
    /// On-demand cost − provisioned cost over the window (negative: a loss).
    pub savings_usd: Option<Decimal>,
}

/// The plan for one model in one region.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Base model id.
    pub model: String,
    /// Region.
    pub region: String,
    /// Window start, RFC 3339.
    pub from: String,
    /// Window end (exclusive), RFC 3339.
    pub to: String,
    /// Hours in the window.
    pub hours: u32,
    /// On-demand tokens in the window (every token meter).
    pub tokens: u64,
    /// On-demand cost in the window.
    pub on_demand_cost_usd: Decimal,
    /// Blended on-demand price per 1M tokens.
    pub blended_usd_per_1m_tokens: Option<Decimal>,
    /// Tokens per minute (traffic assumed even within each hour).
    pub tokens_per_minute: Shape,
    /// Hours with any traffic.
    pub active_hours: u32,
    /// The three UTC hours of the day with the most tokens, busiest first.
    pub busiest_hours_utc: Vec<u32>,
    /// Tokens per minute one model unit serves, as used (`None`: cannot size).
    pub mu_tokens_per_minute: Option<u64>,
    /// Where that value came from: `--mu-tpm`, `config` or `none`.
    pub mu_tokens_per_minute_source: String,
    /// What the units are sized for (`max`).
    pub sized_for: String,
    /// One entry per commitment term (empty when it cannot size).
    pub terms: Vec<TermPlan>,
    /// The recommendation, one sentence.
    pub recommendation: String,
}

/// Usage of one (model, region) by hour.
#[derive(Debug, Default, Clone)]
struct Usage {
    tokens_by_hour: BTreeMap<i64, u64>,
    cost: Usd,
}

/// Reads the on-demand usage in the window from the ledger.
fn read_usage(
    store: &Store,
    p: &PlanParams,
) -> Result<BTreeMap<(String, String), Usage>, StoreError> {
    let mut out: BTreeMap<(String, String), Usage> = BTreeMap::new();
    store.for_each_rollup_row(p.from_hour, p.to_hour, |r| {
        let d = &r.dims;
        if d.pricing_mode != "on_demand"
            || STREAM_METERS.contains(&r.meter.as_str())
            || p.model.as_ref().is_some_and(|m| *m != d.model)
            || p.region.as_ref().is_some_and(|x| *x != d.region)
        {
            return Ok::<_, StoreError>(());
        }
        let u = out.entry((d.model.clone(), d.region.clone())).or_default();
        if let Some(c) = r.amount.cost {
            u.cost += c;
        }
        if r.meter.ends_with("_tokens")
            && !crate::accounting::INFO_METERS.contains(&r.meter.as_str())
        {
            *u.tokens_by_hour.entry(d.hour).or_default() += r.amount.quantity;
        }
        Ok(())
    })?;
    Ok(out)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], pct: u32) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * pct as usize).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn per_minute(tokens: u64) -> Decimal {
    (Decimal::from(tokens) / Decimal::from(60)).round_dp(2)
}

fn term_label(t: CommitmentTerm) -> &'static str {
    match t {
        CommitmentTerm::None => "none",
        CommitmentTerm::OneMonth => "1_month",
        CommitmentTerm::SixMonths => "6_months",
    }
}

/// Plans every (model, region) with on-demand usage in the window.
pub fn plan(store: &Store, book: &PriceBook, p: &PlanParams) -> Result<Vec<Plan>, StoreError> {
    let usage = read_usage(store, p)?;
    let hours = u32::try_from((p.to_hour - p.from_hour).max(0) / 3600).unwrap_or(u32::MAX);
    let ts = |t: i64| {
        DateTime::<Utc>::from_timestamp(t, 0)
            .unwrap_or_default()
            .to_rfc3339()
    };
    let at = DateTime::<Utc>::from_timestamp(p.to_hour - 1, 0).unwrap_or_default();
    let mut plans = Vec::new();
    for ((model, region), u) in usage {
        let tokens: u64 = u.tokens_by_hour.values().sum();
        if tokens == 0 {
            continue;
        }
        // Every hour of the window, idle hours as 0.
        let mut per_hour: Vec<u64> = (0..hours as i64)
            .map(|i| {
                u.tokens_by_hour
                    .get(&(p.from_hour + i * 3600))
                    .copied()
                    .unwrap_or(0)
            })
            .collect();
        let mut by_hour_of_day = [0u64; 24];
        for (h, t) in &u.tokens_by_hour {
            let hod = DateTime::<Utc>::from_timestamp(*h, 0)
                .unwrap_or_default()
                .hour() as usize;
            by_hour_of_day[hod] += t;
        }
        let mut busiest: Vec<u32> = (0..24u32)
            .filter(|h| by_hour_of_day[*h as usize] > 0)
            .collect();
        busiest.sort_by(|a, b| {
            by_hour_of_day[*b as usize]
                .cmp(&by_hour_of_day[*a as usize])
                .then(a.cmp(b))
        });
        busiest.truncate(3);
        let active_hours = per_hour.iter().filter(|t| **t > 0).count() as u32;
        per_hour.sort_unstable();
        let max_hour = per_hour.last().copied().unwrap_or(0);
        let shape = Shape {
            p50: per_minute(percentile(&per_hour, 50)),
            p90: per_minute(percentile(&per_hour, 90)),
            p99: per_minute(percentile(&per_hour, 99)),
            max: per_minute(max_hour),
        };
        let blended = (!u.cost.is_zero())
            .then(|| u.cost * Decimal::from(1_000_000u32) / Decimal::from(tokens));
        let (mu_tpm, source) = match (p.mu_tpm_flag, p.mu_tpm_config.get(&model)) {
            (Some(v), _) => (Some(v), "--mu-tpm"),
            (None, Some(v)) => (Some(*v), "config"),
            (None, None) => (None, "none"),
        };
        let mut terms = Vec::new();
        let recommendation = match mu_tpm.filter(|v| *v > 0) {
            None => {
                format!(
                    "Cannot size: no tokens per minute per model unit for {model} (AWS does not \
                     publish it; set [planner] tokens_per_minute_per_model_unit or pass --mu-tpm)."
                )
            }
            Some(mu) => {
                // ceil(max tokens per hour / (60 × tokens per minute per unit)), at least 1.
                let per_unit_hour = 60u64.saturating_mul(mu);
                let units =
                    u32::try_from(max_hour.div_ceil(per_unit_hour).max(1)).unwrap_or(u32::MAX);
                let capacity =
                    Decimal::from(units) * Decimal::from(per_unit_hour) * Decimal::from(hours);
                let utilization = (Decimal::from(tokens) / capacity).round_dp(4);
                let entry = book.provisioned_entry(&model, &region, at);
                for t in CommitmentTerm::ALL {
                    let rate = entry.and_then(|e| e.provisioned_usd_per_mu_hour(t));
                    let cost = rate.map(|r| Decimal::from(units) * r * Decimal::from(hours));
                    let monthly =
                        rate.map(|r| Decimal::from(units) * r * Decimal::from(HOURS_PER_MONTH));
                    let break_even_utilization = match (cost, blended) {
                        (Some(c), Some(b)) => Some(
                            (c / (b * capacity / Decimal::from(1_000_000u32)))
                                .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero),
                        ),
                        _ => None,
                    };
                    let break_even_monthly_tokens = match (monthly, blended) {
                        (Some(m), Some(b)) => Some(
                            (m * Decimal::from(1_000_000u32) / b)
                                .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero),
                        ),
                        _ => None,
                    };
                    terms.push(TermPlan {
                        term: term_label(t).to_string(),
                        price_entry: match (entry, rate) {
                            (Some(e), Some(_)) => e.id().to_string(),
                            _ => String::new(),
                        },
                        usd_per_model_unit_hour: rate,
                        model_units: units,
                        cost_usd: cost.map(|c| c.normalize()),
                        utilization,
                        break_even_utilization,
                        break_even_monthly_tokens,
                        savings_usd: cost.map(|c| (u.cost - c).normalize()),
                    });
                }
                let best = terms
                    .iter()
                    .filter(|t| t.savings_usd.is_some_and(|s| s > Decimal::ZERO))
                    .max_by_key(|t| t.savings_usd);
                match best {
                    Some(t) => format!(
                        "Buy {} model unit(s) with commitment {}: saves {} USD over the {} hours \
                         (on demand {} USD, provisioned {} USD).",
                        t.model_units,
                        t.term,
                        format_usd(t.savings_usd.unwrap_or_default()),
                        hours,
                        format_usd(u.cost),
                        format_usd(t.cost_usd.unwrap_or_default()),
                    ),
                    None if terms.iter().all(|t| t.cost_usd.is_none()) => format!(
                        "Stay on demand: the price table has no provisioned-throughput rate for \
                         {model} in {region}."
                    ),
                    None => {
                        let cheapest = terms
                            .iter()
                            .filter_map(|t| t.savings_usd.map(|s| (s, t)))
                            .max_by_key(|(s, _)| *s);
                        match cheapest {
                            Some((s, t)) => format!(
                                "Stay on demand: the cheapest term ({}) would lose {} USD over the \
                                 {} hours (break-even utilization {}).",
                                t.term,
                                format_usd(-s),
                                hours,
                                t.break_even_utilization
                                    .map_or_else(|| "n/a".to_string(), |b| b.to_string()),
                            ),
                            None => "Stay on demand.".to_string(),
                        }
                    }
                }
            }
        };
        plans.push(Plan {
            model,
            region,
            from: ts(p.from_hour),
            to: ts(p.to_hour),
            hours,
            tokens,
            on_demand_cost_usd: u.cost.normalize(),
            blended_usd_per_1m_tokens: blended.map(|b| b.round_dp(6).normalize()),
            tokens_per_minute: shape,
            active_hours,
            busiest_hours_utc: busiest,
            mu_tokens_per_minute: mu_tpm,
            mu_tokens_per_minute_source: source.to_string(),
            sized_for: "max".to_string(),
            terms,
            recommendation,
        });
    }
    Ok(plans)
}

fn opt(v: Option<Decimal>) -> String {
    v.map_or_else(|| "n/a".to_string(), |d| d.normalize().to_string())
}

/// CSV: one row per model, region and term (a model that cannot be sized has one row
/// with an empty term).
pub fn to_csv(plans: &[Plan]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "model",
        "region",
        "from",
        "to",
        "hours",
        "tokens",
        "on_demand_cost_usd",
        "tpm_p50",
        "tpm_p90",
        "tpm_p99",
        "tpm_max",
        "active_hours",
        "mu_tokens_per_minute",
        "mu_tokens_per_minute_source",
        "term",
        "usd_per_model_unit_hour",
        "model_units",
        "provisioned_cost_usd",
        "utilization",
        "break_even_utilization",
        "break_even_monthly_tokens",
        "savings_usd",
        "recommendation",
    ])?;
    for p in plans {
        let head = vec![
            p.model.clone(),
            p.region.clone(),
            p.from.clone(),
            p.to.clone(),
            p.hours.to_string(),
            p.tokens.to_string(),
            format_usd(p.on_demand_cost_usd),
            p.tokens_per_minute.p50.to_string(),
            p.tokens_per_minute.p90.to_string(),
            p.tokens_per_minute.p99.to_string(),
            p.tokens_per_minute.max.to_string(),
            p.active_hours.to_string(),
            p.mu_tokens_per_minute
                .map_or_else(String::new, |v| v.to_string()),
            p.mu_tokens_per_minute_source.clone(),
        ];
        if p.terms.is_empty() {
            let mut rec = head.clone();
            rec.extend(std::iter::repeat_n(String::new(), 8));
            rec.push(p.recommendation.clone());
            w.write_record(&rec)?;
        }
        for t in &p.terms {
            let mut rec = head.clone();
            rec.extend([
                t.term.clone(),
                opt(t.usd_per_model_unit_hour),
                t.model_units.to_string(),
                opt(t.cost_usd),
                t.utilization.to_string(),
                opt(t.break_even_utilization),
                opt(t.break_even_monthly_tokens),
                opt(t.savings_usd),
                p.recommendation.clone(),
            ]);
            w.write_record(&rec)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A terminal table per model.
pub fn to_table(plans: &[Plan]) -> String {
    use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
    if plans.is_empty() {
        return "No on-demand token usage in the window.\n".to_string();
    }
    let mut out = String::new();
    for p in plans {
        out.push_str(&format!(
            "{} in {} from {} to {} ({} h)\n  on demand: {} tokens, {} USD (blended {} USD per 1M tokens)\n  \
             tokens/min (even within each hour): p50 {}  p90 {}  p99 {}  max {}; active hours {}; busiest UTC hours {:?}\n  \
             tokens/min per model unit: {} (from {}); units sized for the max\n",
            p.model,
            p.region,
            p.from,
            p.to,
            p.hours,
            p.tokens,
            format_usd(p.on_demand_cost_usd),
            opt(p.blended_usd_per_1m_tokens),
            p.tokens_per_minute.p50,
            p.tokens_per_minute.p90,
            p.tokens_per_minute.p99,
            p.tokens_per_minute.max,
            p.active_hours,
            p.busiest_hours_utc,
            p.mu_tokens_per_minute.map_or_else(|| "unknown".to_string(), |v| v.to_string()),
            p.mu_tokens_per_minute_source,
        ));
        if !p.terms.is_empty() {
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED).set_header([
                "term",
                "USD/MU-hour",
                "units",
                "provisioned USD",
                "utilization",
                "break-even util.",
                "break-even tokens/month",
                "savings USD",
            ]);
            for x in &p.terms {
                t.add_row([
                    x.term.clone(),
                    opt(x.usd_per_model_unit_hour),
                    x.model_units.to_string(),
                    opt(x.cost_usd),
                    x.utilization.to_string(),
                    opt(x.break_even_utilization),
                    opt(x.break_even_monthly_tokens),
                    opt(x.savings_usd),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
        out.push_str(&format!("  => {}\n\n", p.recommendation));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=24).collect();
        assert_eq!(percentile(&v, 50), 12);
        assert_eq!(percentile(&v, 90), 22); // ceil(21.6) = 22
        assert_eq!(percentile(&v, 99), 24); // ceil(23.76) = 24
        assert_eq!(percentile(&[], 99), 0);
    }
}
