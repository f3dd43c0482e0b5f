//! The accrual rule: a provisioned throughput, a custom model's storage or a finished
//! training job over a time range → pre-priced hourly rollup deltas ([`PricedUsage`]).
//!
//! Pure functions of the inventory entry, the price table and the range: no clock, no I/O.
//!
//! # Exactness
//!
//! A cost is never computed as "rate per second × seconds" (a rate per second such as
//! `18.40 / 3600` does not terminate in decimal). Instead, within a stretch where the rate
//! is constant, the cost of `[a, b)` is `F(b) − F(a)` with
//! `F(t) = round₁₂(units × rate × (t − anchor) / period)`: the anchor is the start of the
//! UTC hour (provisioned throughput, `period` = 3600 s) or of the calendar month (storage,
//! `period` = that month's seconds). The pieces telescope, so however an hour (or a month)
//! is cut into accrual ticks the pieces add up to exactly `units × rate` (or the monthly
//! price), and two runs that tick differently book identical sums.
#![deny(clippy::float_arithmetic)]

use crate::accounting::{Amount, Dims, MeterKey, hour_of, no_entry};
use crate::inventory::{Commitment, CustomModel, CustomizationJob, ProvisionedThroughput};
use crate::money::Usd;
use crate::pipeline::PricedUsage;
use crate::pricing::{CommitmentTerm, PriceBook};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::BTreeMap;

/// Meter of provisioned-throughput rows: model-unit seconds (units × seconds).
pub const METER_MU_SECONDS: &str = "model_unit_seconds";
/// Meter of training rows: tokens trained (tokens × epochs).
pub const METER_TRAINING_TOKENS: &str = "training_tokens";
/// Meter of custom-model storage rows: seconds the model was stored.
pub const METER_STORAGE_SECONDS: &str = "custom_model_storage_seconds";
/// Every meter this module books (none of them is a per-invocation meter).
pub const STREAM_METERS: [&str; 3] = [
    METER_MU_SECONDS,
    METER_TRAINING_TOKENS,
    METER_STORAGE_SECONDS,
];

/// `operation` label of provisioned-throughput hours.
pub const OP_PROVISIONED: &str = "ProvisionedThroughput";
/// `operation` label of training jobs.
pub const OP_CUSTOMIZATION: &str = "ModelCustomization";
/// `operation` label of custom-model storage.
pub const OP_STORAGE: &str = "CustomModelStorage";
/// `principal` label of every non-invocation cost stream.
pub const UNATTRIBUTED: &str = "unattributed";

/// Decimal places kept in the cumulative cost function (far below a billable cent).
const DP: u32 = 12;

/// A change of model units at a time (a provisioned model's schedule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitChange {
    /// When the new count takes effect (unix seconds).
    pub at: i64,
    /// Model units from then on.
    pub model_units: u32,
}

/// The price-table term of a commitment.
pub fn term_of(c: Commitment) -> CommitmentTerm {
    match c {
        Commitment::None => CommitmentTerm::None,
        Commitment::OneMonth => CommitmentTerm::OneMonth,
        Commitment::SixMonths => CommitmentTerm::SixMonths,
    }
}

/// The `detail` of a provisioned-throughput row: `<commitment billed>/<throughput name>`.
pub fn provisioned_detail(commitment: Commitment, name: &str) -> String {
    format!("{}/{}", commitment.as_str(), name)
}

/// Splits a provisioned-throughput row's detail back into (commitment, name).
pub fn split_provisioned_detail(detail: &str) -> (&str, &str) {
    detail.split_once('/').unwrap_or(("", detail))
}

fn dims(hour: i64, account: &str, region: &str, model: &str, operation: &str, mode: &str) -> Dims {
    Dims {
        hour,
        account: account.to_string(),
        region: region.to_string(),
        model: model.to_string(),
        scope: "in_region".to_string(),
        service_tier: "standard".to_string(),
        context_band: "standard".to_string(),
        operation: operation.to_string(),
        principal: UNATTRIBUTED.to_string(),
        tags: "{}".to_string(),
        pricing_mode: mode.to_string(),
    }
}

fn ts(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default()
}

/// `round₁₂(amount × elapsed / period)`.
fn cumulative(amount: Usd, elapsed: i64, period: i64) -> Usd {
    if elapsed <= 0 || period <= 0 {
        return Decimal::ZERO;
    }
    (amount * Decimal::from(elapsed) / Decimal::from(period))
        .round_dp_with_strategy(DP, RoundingStrategy::MidpointAwayFromZero)
}

/// Accumulates deltas by (dims, meter) so one accrual run yields one delta per cell.
#[derive(Default)]
struct Acc(BTreeMap<(Dims, MeterKey), Amount>);

impl Acc {
    fn add(&mut self, dims: Dims, meter: MeterKey, quantity: u64, cost: Option<Usd>) {
        self.0
            .entry((dims, meter))
            .or_default()
            .add(&Amount { quantity, cost });
    }
    fn finish(self) -> Vec<PricedUsage> {
        self.0
            .into_iter()
            .map(|((dims, meter), amount)| PricedUsage {
                dims,
                meter,
                amount: Amount {
                    quantity: amount.quantity,
                    cost: amount.cost.map(|c| c.normalize()),
                },
            })
            .collect()
    }
}

/// Model units in effect at `t`: the last change at or before `t`, else `current` (a
/// schedule that starts after `t` means the count before it is unknown, so the first
/// scheduled count applies from creation).
pub fn units_at(schedule: &[UnitChange], current: u32, t: i64) -> u32 {
    let mut units = schedule.first().map_or(current, |c| c.model_units);
    for c in schedule {
        if c.at <= t {
            units = c.model_units;
        }
    }
    units
}

/// Provisioned-throughput cost over `[from, to)` (unix seconds), clipped to the model's
/// life `[created_at, deleted_at)`: units × the table's hourly rate for (model, region,
/// commitment term), prorated to the second, each UTC hour's seconds in that hour's row.
/// After `commitment_expires_at` the no-commitment rate applies. `schedule` (sorted by
/// time) gives unit changes; empty means `pt.model_units` throughout. A rate missing from
/// the table is booked with no cost and no price entry (unpriced), never as zero.
pub fn accrue_provisioned(
    pt: &ProvisionedThroughput,
    schedule: &[UnitChange],
    book: &PriceBook,
    from: i64,
    to: i64,
) -> Vec<PricedUsage> {
    let start = from.max(pt.created_at.timestamp());
    let end = pt.deleted_at.map_or(to, |d| to.min(d.timestamp()));
    let mut acc = Acc::default();
    if start >= end {
        return Vec::new();
    }
    let expiry = pt
        .commitment_expires_at
        .map(|e| e.timestamp())
        .filter(|_| pt.commitment != Commitment::None);
    // Cut points: hour boundaries, the commitment expiry, unit changes.
    let mut cuts: Vec<i64> = schedule.iter().map(|c| c.at).collect();
    cuts.extend(expiry);
    let mut a = start;
    while a < end {
        let hour = hour_of(ts(a));
        let mut b = end.min(hour + 3600);
        for &c in &cuts {
            if c > a && c < b {
                b = c;
            }
        }
        let units = units_at(schedule, pt.model_units, a);
        let commitment = match expiry {
            Some(e) if a >= e => Commitment::None,
            _ => pt.commitment,
        };
        let entry = book.provisioned_entry(&pt.model, &pt.region, ts(a));
        let rate = entry.and_then(|e| e.provisioned_usd_per_mu_hour(term_of(commitment)));
        let quantity = u64::from(units) * (b - a) as u64;
        let (price_entry, version, cost) = match (entry, rate) {
            (Some(e), Some(r)) => {
                let per_hour = Decimal::from(units) * r;
                let cost =
                    cumulative(per_hour, b - hour, 3600) - cumulative(per_hour, a - hour, 3600);
                (
                    e.id_shared().clone(),
                    book.version_shared().clone(),
                    Some(cost),
                )
            }
            _ => (no_entry().clone(), no_entry().clone(), None),
        };
        if units > 0 {
            acc.add(
                dims(
                    hour,
                    &pt.account,
                    &pt.region,
                    &pt.model,
                    OP_PROVISIONED,
                    "provisioned",
                ),
                MeterKey {
                    meter: METER_MU_SECONDS,
                    detail: provisioned_detail(commitment, &pt.name),
                    price_entry,
                    pricing_version: version,
                },
                quantity,
                cost,
            );
        }
        a = b;
    }
    acc.finish()
}

/// Start of the calendar month containing `t` and its length in seconds.
fn month_of(t: i64) -> (i64, i64) {
    let d = ts(t);
    let start = Utc
        .with_ymd_and_hms(d.year(), d.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(d);
    let (ny, nm) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    let next = Utc
        .with_ymd_and_hms(ny, nm, 1, 0, 0, 0)
        .single()
        .unwrap_or(start);
    (start.timestamp(), next.timestamp() - start.timestamp())
}

/// Custom-model storage over `[from, to)`, clipped to the model's life: the table's
/// monthly price per model prorated to the second, where a month is the calendar month's
/// own length (a whole calendar month costs exactly the monthly price).
pub fn accrue_storage(m: &CustomModel, book: &PriceBook, from: i64, to: i64) -> Vec<PricedUsage> {
    let start = from.max(m.created_at.timestamp());
    let end = m.deleted_at.map_or(to, |d| to.min(d.timestamp()));
    let mut acc = Acc::default();
    let mut a = start;
    while a < end {
        let hour = hour_of(ts(a));
        let b = end.min(hour + 3600);
        let (month, len) = month_of(a);
        let entry = book.customization_entry(&m.base_model, &m.region, ts(a));
        let price = entry.and_then(|e| e.custom_model_storage_usd_per_month());
        let (price_entry, version, cost) = match (entry, price) {
            (Some(e), Some(p)) => (
                e.id_shared().clone(),
                book.version_shared().clone(),
                Some(cumulative(p, b - month, len) - cumulative(p, a - month, len)),
            ),
            _ => (no_entry().clone(), no_entry().clone(), None),
        };
        acc.add(
            dims(
                hour,
                &m.account,
                &m.region,
                &m.base_model,
                OP_STORAGE,
                "customization",
            ),
            MeterKey {
                meter: METER_STORAGE_SECONDS,
                detail: m.name.clone(),
                price_entry,
                pricing_version: version,
            },
            (b - a) as u64,
            cost,
        );
        a = b;
    }
    acc.finish()
}

/// A finished training job's cost, booked once in the hour it ended: tokens × epochs × the
/// table's training price per 1M tokens for the base model at the job's creation. `None`
/// when the job has not completed (a failed or stopped job is not billed here; AWS bills
/// the tokens processed, which the control plane does not report). Unknown token count or
/// epochs, or no price, is booked unpriced with the tokens known.
pub fn training_cost(job: &CustomizationJob, book: &PriceBook) -> Option<PricedUsage> {
    if !job.status.eq_ignore_ascii_case("completed") {
        return None;
    }
    let ended = job.ended_at?;
    let tokens = match (job.training_tokens, job.epochs) {
        (Some(t), Some(e)) => Some(t.saturating_mul(u64::from(e))),
        _ => None,
    };
    let entry = book.customization_entry(&job.base_model, &job.region, job.created_at);
    let price = entry.and_then(|e| e.training_usd_per_1m_tokens());
    let (price_entry, version, cost) = match (entry, price, tokens) {
        (Some(e), Some(p), Some(q)) => (
            e.id_shared().clone(),
            book.version_shared().clone(),
            Some((Decimal::from(q) * p / Decimal::from(1_000_000u32)).normalize()),
        ),
        _ => (no_entry().clone(), no_entry().clone(), None),
    };
    Some(PricedUsage {
        dims: dims(
            hour_of(ended),
            &job.account,
            &job.region,
            &job.base_model,
            OP_CUSTOMIZATION,
            "customization",
        ),
        meter: MeterKey {
            meter: METER_TRAINING_TOKENS,
            detail: job.name.clone(),
            price_entry,
            pricing_version: version,
        },
        amount: Amount {
            quantity: tokens.unwrap_or(0),
            cost,
        },
    })
}

/// Re-prices one stored stream cell (`reprice` under a new price table): the quantity is
/// kept; the entry and cost are recomputed from it (model-unit seconds × the hourly rate of
/// the term in the detail / 3600; storage seconds × the monthly price / the month's
/// seconds; training tokens × the price per 1M), rounded like accrual. A cell whose entry
/// and rate are unchanged keeps its cost as accrued. Returns the cell to write and whether it changed;
/// `None` when `meter` is not a stream meter.
pub fn reprice_stream(
    book: &PriceBook,
    dims: &Dims,
    meter: &str,
    detail: &str,
    price_entry: &str,
    quantity: u64,
    cost: Option<Usd>,
) -> Option<(MeterKey, Amount, bool)> {
    let meter = STREAM_METERS.iter().copied().find(|m| *m == meter)?;
    let at = ts(dims.hour);
    let q = Decimal::from(quantity);
    let priced: Option<(&crate::pricing::PriceEntry, Usd)> = match meter {
        METER_MU_SECONDS => {
            let (commitment, _) = split_provisioned_detail(detail);
            let term = Commitment::parse(commitment).map(term_of);
            book.provisioned_entry(&dims.model, &dims.region, at)
                .and_then(|e| Some((e, e.provisioned_usd_per_mu_hour(term?)?)))
                .map(|(e, r)| (e, cumulative(r, quantity as i64, 3600)))
        }
        METER_STORAGE_SECONDS => book
            .customization_entry(&dims.model, &dims.region, at)
            .and_then(|e| Some((e, e.custom_model_storage_usd_per_month()?)))
            .map(|(e, p)| (e, cumulative(p, quantity as i64, month_of(dims.hour).1))),
        _ => book
            .customization_entry(&dims.model, &dims.region, at)
            .and_then(|e| Some((e, e.training_usd_per_1m_tokens()?)))
            .map(|(e, p)| (e, q * p / Decimal::from(1_000_000u32))),
    };
    let (entry, version, new_cost) = match priced {
        // Same entry and the same rate: keep the cost as accrued (the recomputation differs
        // from the telescoped accrual only in rounding at the 12th decimal, per tick).
        Some((e, c))
            if e.id() == price_entry
                && cost.is_some_and(|old| (old - c).abs() < Decimal::new(1, 9)) =>
        {
            (e.id_shared().clone(), book.version_shared().clone(), cost)
        }
        Some((e, c)) => (
            e.id_shared().clone(),
            book.version_shared().clone(),
            Some(c.normalize()),
        ),
        None => (no_entry().clone(), no_entry().clone(), None),
    };
    let changed = *entry != *price_entry || new_cost != cost;
    Some((
        MeterKey {
            meter,
            detail: detail.to_string(),
            price_entry: entry,
            pricing_version: version,
        },
        Amount {
            quantity,
            cost: new_cost,
        },
        changed,
    ))
}
