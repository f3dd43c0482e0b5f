//! Accrual exactness: hour splits, proration, commitment expiry, unit changes, deletion,
//! unpriced rates, idempotent ticking, training and storage.
use super::*;
use crate::inventory::{Commitment, Origin};
use crate::money::Usd;
use crate::pipeline::PricedUsage;
use chrono::{DateTime, Utc};
use std::str::FromStr;

const TABLE: &str = r#"
[table]
version = "test-1"
description = "provisioned accrual tests"
[region_groups]
"#;

const PRICES: &str = r#"
[[price]]
id = "test.pt/provisioned/2024-01-01"
models = ["test.pt-v1"]
regions = ["us-east-1"]
scopes = ["in_region"]
effective_from = "2024-01-01"
provisioned_usd_per_model_unit_hour = { no_commitment = "10.00", one_month = "7.20", six_months = "3.60" }
source = "test"
retrieved = "2026-01-01"
confidence = "A"

[[price]]
id = "test.pt/customization/2024-01-01"
models = ["test.pt-v1"]
regions = ["us-east-1"]
scopes = ["in_region"]
effective_from = "2024-01-01"
training_usd_per_1m_tokens = "4.00"
custom_model_storage_usd_per_month = "1.95"
source = "test"
retrieved = "2026-01-01"
confidence = "A"
"#;

pub(crate) fn book() -> PriceBook {
    PriceBook::from_sources(&[("table.toml", TABLE), ("test.toml", PRICES)])
        .unwrap_or_else(|p| panic!("{p:?}"))
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn t(s: &str) -> i64 {
    at(s).timestamp()
}

fn d(s: &str) -> Usd {
    Usd::from_str(s).unwrap()
}

fn pt(units: u32, commitment: Commitment, created: &str) -> ProvisionedThroughput {
    ProvisionedThroughput {
        arn: "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/abc123".into(),
        name: "chat-pt".into(),
        account: "111122223333".into(),
        region: "us-east-1".into(),
        model: "test.pt-v1".into(),
        custom_model_arn: None,
        model_units: units,
        commitment,
        status: "InService".into(),
        created_at: at(created),
        deleted_at: None,
        commitment_expires_at: None,
        last_modified_at: None,
        origin: Origin::Config,
    }
}

/// (hour, detail, entry, quantity, cost) per row, sorted.
fn rows(v: &[PricedUsage]) -> Vec<(i64, String, String, u64, Option<Usd>)> {
    let mut r: Vec<_> = v
        .iter()
        .map(|p| {
            (
                p.dims.hour,
                p.meter.detail.clone(),
                p.meter.price_entry.to_string(),
                p.amount.quantity,
                p.amount.cost.map(|c| c.normalize()),
            )
        })
        .collect();
    r.sort();
    r
}

fn total(v: &[PricedUsage]) -> Usd {
    v.iter()
        .filter_map(|p| p.amount.cost)
        .sum::<Usd>()
        .normalize()
}

#[test]
fn partial_hours_are_prorated_to_the_second_and_split_by_utc_hour() {
    // 2 MU, no commitment, $10/MU-hour, created 10:15:00, accrued to 12:30:30.
    let p = pt(2, Commitment::None, "2026-03-02T10:15:00Z");
    let v = accrue_provisioned(&p, &[], &book(), 0, t("2026-03-02T12:30:30Z"));
    let r = rows(&v);
    assert_eq!(r.len(), 3, "{r:?}");
    // 10:15–11:00 = 2700 s: 2 × 10 × 2700/3600 = 15.
    assert_eq!(r[0].0, t("2026-03-02T10:00:00Z"));
    assert_eq!(r[0].3, 2 * 2700);
    assert_eq!(r[0].4, Some(d("15")));
    // 11:00–12:00: a whole hour, exactly 20.
    assert_eq!(r[1].4, Some(d("20")));
    // 12:00–12:30:30 = 1830 s: 20 × 1830/3600 = 10.1666… rounded at 12 places.
    assert_eq!(r[2].4, Some(d("10.166666666667")));
    assert_eq!(r[2].1, "none/chat-pt");
    assert_eq!(r[2].2, "test.pt/provisioned/2024-01-01");
    assert!(v.iter().all(|p| p.dims.pricing_mode == "provisioned"
        && p.dims.operation == OP_PROVISIONED
        && p.dims.principal == UNATTRIBUTED));
}

#[test]
fn any_split_into_ticks_books_exactly_the_same_as_one_pass() {
    let p = pt(3, Commitment::OneMonth, "2026-03-02T10:00:07Z");
    let end = t("2026-03-02T13:00:00Z");
    let whole = accrue_provisioned(&p, &[], &book(), 0, end);
    // Ticks of 7 s, 61 s and 1 s (a restart at any second resumes from its checkpoint).
    for step in [7, 61, 1] {
        let mut pieces = Vec::new();
        let mut a = p.created_at.timestamp();
        while a < end {
            let b = (a + step).min(end);
            pieces.extend(accrue_provisioned(&p, &[], &book(), a, b));
            a = b;
        }
        let mut by_hour: BTreeMap<i64, (u64, Usd)> = BTreeMap::new();
        for x in &pieces {
            let e = by_hour.entry(x.dims.hour).or_default();
            e.0 += x.amount.quantity;
            e.1 += x.amount.cost.unwrap();
        }
        for w in &whole {
            let (q, c) = by_hour[&w.dims.hour];
            assert_eq!(q, w.amount.quantity, "step {step}");
            assert_eq!(c.normalize(), w.amount.cost.unwrap(), "step {step}");
        }
    }
    // The two whole hours are exactly 3 × 7.20.
    assert_eq!(rows(&whole)[1].4, Some(d("21.6")));
    assert_eq!(rows(&whole)[2].4, Some(d("21.6")));
}

#[test]
fn commitment_expiry_switches_to_the_no_commitment_rate_at_its_second() {
    let mut p = pt(1, Commitment::SixMonths, "2026-03-02T10:00:00Z");
    p.commitment_expires_at = Some(at("2026-03-02T11:30:00Z"));
    let v = accrue_provisioned(&p, &[], &book(), 0, t("2026-03-02T12:00:00Z"));
    let r = rows(&v);
    // 10:00–11:00 at 3.60; 11:00–11:30 at 3.60 → 1.80; 11:30–12:00 at 10.00 → 5.
    assert_eq!(
        r,
        vec![
            (
                t("2026-03-02T10:00:00Z"),
                "6_months/chat-pt".into(),
                "test.pt/provisioned/2024-01-01".into(),
                3600,
                Some(d("3.6"))
            ),
            (
                t("2026-03-02T11:00:00Z"),
                "6_months/chat-pt".into(),
                "test.pt/provisioned/2024-01-01".into(),
                1800,
                Some(d("1.8"))
            ),
            (
                t("2026-03-02T11:00:00Z"),
                "none/chat-pt".into(),
                "test.pt/provisioned/2024-01-01".into(),
                1800,
                Some(d("5"))
            ),
        ]
    );
    assert_eq!(total(&v), d("10.4"));
}

#[test]
fn unit_changes_take_effect_at_their_time() {
    let p = pt(4, Commitment::None, "2026-03-02T10:00:00Z");
    let schedule = [
        UnitChange {
            at: t("2026-03-02T10:00:00Z"),
            model_units: 1,
        },
        UnitChange {
            at: t("2026-03-02T10:20:00Z"),
            model_units: 4,
        },
    ];
    let v = accrue_provisioned(&p, &schedule, &book(), 0, t("2026-03-02T11:00:00Z"));
    // 20 min × 1 MU + 40 min × 4 MU = (1200 + 9600) MU-s; cost 10 × 1200/3600 + 40 × 2400/3600
    // = 3.333333333333 + 26.666666666667 = 30 (the anchors make the halves meet exactly).
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].amount.quantity, 1200 + 4 * 2400);
    assert_eq!(total(&v), d("30"));
}

#[test]
fn deletion_stops_accrual_and_nothing_accrues_before_creation() {
    let mut p = pt(1, Commitment::None, "2026-03-02T10:00:00Z");
    p.deleted_at = Some(at("2026-03-02T10:45:00Z"));
    let v = accrue_provisioned(
        &p,
        &[],
        &book(),
        t("2026-03-01T00:00:00Z"),
        t("2026-03-03T00:00:00Z"),
    );
    assert_eq!(rows(&v).len(), 1);
    assert_eq!(total(&v), d("7.5"));
    assert!(
        accrue_provisioned(
            &p,
            &[],
            &book(),
            t("2026-03-02T11:00:00Z"),
            t("2026-03-02T12:00:00Z")
        )
        .is_empty()
    );
}

#[test]
fn a_rate_missing_from_the_table_is_unpriced_never_zero() {
    let mut p = pt(2, Commitment::None, "2026-03-02T10:00:00Z");
    p.region = "eu-west-1".into();
    let v = accrue_provisioned(&p, &[], &book(), 0, t("2026-03-02T11:00:00Z"));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].amount.quantity, 7200);
    assert_eq!(v[0].amount.cost, None);
    assert!(v[0].meter.price_entry.is_empty());
    // The embedded table has Titan Text Express at 1 month only: no-commitment is unpriced.
    let embedded = PriceBook::embedded().unwrap();
    let mut titan = pt(1, Commitment::None, "2026-03-02T10:00:00Z");
    titan.model = "amazon.titan-text-express-v1".into();
    let v = accrue_provisioned(&titan, &[], &embedded, 0, t("2026-03-02T11:00:00Z"));
    assert_eq!(v[0].amount.cost, None);
    titan.commitment = Commitment::OneMonth;
    let v = accrue_provisioned(&titan, &[], &embedded, 0, t("2026-03-02T11:00:00Z"));
    assert_eq!(v[0].amount.cost, Some(d("18.4")));
    assert_eq!(
        &*v[0].meter.price_entry,
        "amazon.titan-text-express/provisioned/2023-11-29"
    );
}

fn custom_model(created: &str) -> CustomModel {
    CustomModel {
        arn: "arn:aws:bedrock:us-east-1:111122223333:custom-model/test.pt-v1/xyz".into(),
        name: "support-tuned".into(),
        account: "111122223333".into(),
        region: "us-east-1".into(),
        base_model: "test.pt-v1".into(),
        created_at: at(created),
        deleted_at: None,
        origin: Origin::Config,
    }
}

#[test]
fn storage_is_the_monthly_price_prorated_and_a_whole_month_is_exact() {
    let m = custom_model("2026-02-01T00:00:00Z");
    // February 2026 has 28 days: the whole month is exactly 1.95, however it is ticked.
    let mut v = Vec::new();
    let mut a = t("2026-02-01T00:00:00Z");
    let end = t("2026-03-01T00:00:00Z");
    while a < end {
        let b = (a + 5000).min(end);
        v.extend(accrue_storage(&m, &book(), a, b));
        a = b;
    }
    assert_eq!(total(&v), d("1.95"));
    assert!(
        v.iter()
            .all(|p| p.dims.pricing_mode == "customization" && p.dims.operation == OP_STORAGE)
    );
    // One day of March (31 days): 1.95 / 31 = 0.062903225806…
    let v = accrue_storage(
        &m,
        &book(),
        t("2026-03-01T00:00:00Z"),
        t("2026-03-02T00:00:00Z"),
    );
    assert_eq!(total(&v), d("0.062903225806"));
    assert_eq!(v.iter().map(|p| p.amount.quantity).sum::<u64>(), 86_400);
}

#[test]
fn a_completed_training_job_is_tokens_times_epochs_at_the_training_price() {
    let mut job = CustomizationJob {
        arn: "job-1".into(),
        name: "support-ft".into(),
        account: "111122223333".into(),
        region: "us-east-1".into(),
        base_model: "test.pt-v1".into(),
        customization_type: "FINE_TUNING".into(),
        training_tokens: Some(2_500_000),
        epochs: Some(3),
        status: "InProgress".into(),
        created_at: at("2026-03-02T08:00:00Z"),
        ended_at: None,
        output_model_arn: None,
        origin: Origin::Config,
    };
    assert!(training_cost(&job, &book()).is_none());
    job.status = "Completed".into();
    job.ended_at = Some(at("2026-03-02T09:41:00Z"));
    let p = training_cost(&job, &book()).unwrap();
    // 2.5M × 3 = 7.5M tokens × $4.00 per 1M = $30.
    assert_eq!(p.amount.quantity, 7_500_000);
    assert_eq!(p.amount.cost, Some(d("30")));
    assert_eq!(p.dims.hour, t("2026-03-02T09:00:00Z"));
    assert_eq!(p.dims.operation, OP_CUSTOMIZATION);
    job.epochs = None;
    assert_eq!(training_cost(&job, &book()).unwrap().amount.cost, None);
}

#[test]
fn positions_make_a_second_pass_book_nothing_new() {
    let mut inv = Inventory::default();
    let p = pt(1, Commitment::None, "2026-03-02T10:00:00Z");
    inv.provisioned.insert(p.arn.clone(), p.clone());
    let settings = ProvisionedSettings::default();
    let mut pos = Positions::default();
    let now = t("2026-03-02T12:00:00Z");
    let first = accrue_all(&inv, &settings, &book(), &mut pos, now);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].checkpoint.as_ref().unwrap().position, now as u64);
    assert!(accrue_all(&inv, &settings, &book(), &mut pos, now).is_empty());
    // A control-plane unit change seen later: old units until last_modified_at.
    let mut changed = p.clone();
    changed.model_units = 3;
    changed.last_modified_at = Some(at("2026-03-02T12:30:00Z"));
    inv.provisioned.insert(p.arn.clone(), changed);
    let next = accrue_all(
        &inv,
        &settings,
        &book(),
        &mut pos,
        t("2026-03-02T13:00:00Z"),
    );
    let cost: Usd = next[0]
        .items
        .iter()
        .map(|i| match i {
            Item::Priced(p) => p.amount.cost.unwrap(),
            _ => Usd::ZERO,
        })
        .sum();
    // 30 min × 1 MU × $10 + 30 min × 3 MU × $10 = 5 + 15.
    assert_eq!(cost.normalize(), d("20"));
    assert_eq!(next[0].checkpoint.as_ref().unwrap().fingerprint, "mu=3");
}

#[test]
fn idle_and_utilization_gauges() {
    let mut inv = Inventory::default();
    let p = pt(2, Commitment::None, "2026-03-02T08:00:00Z");
    inv.provisioned.insert(p.arn.clone(), p.clone());
    let mut settings = ProvisionedSettings {
        idle_after_secs: 3600,
        ..ProvisionedSettings::default()
    };
    let now = at("2026-03-02T12:30:00Z");
    let mut usage = UsageWindow::default();
    // Never invoked, created 4.5 h ago: idle; no capacity configured: no utilization.
    let g = compute_gauges(&inv, &settings, &usage, now);
    assert!(g[0].idle);
    assert_eq!(g[0].utilization, None);
    assert_eq!(g[0].model_units, 2);
    // Invoked in the 11:00 hour: at most 30 min ago, not idle. 180,000 tokens since 11:00
    // (90 min) = 2,000 tokens/min over 2 MU × 4,000 = 0.25.
    usage
        .last_hour
        .insert(p.arn.clone(), t("2026-03-02T11:00:00Z"));
    usage.tokens.insert(p.arn.clone(), 180_000);
    settings
        .tokens_per_minute_per_model_unit
        .insert("test.pt-v1".into(), 4_000);
    let g = compute_gauges(&inv, &settings, &usage, now);
    assert!(!g[0].idle);
    assert_eq!(g[0].utilization, Some(0.25));
    assert_eq!(invocation_label(&p), "provisioned-model/abc123");
}

#[test]
fn reprice_keeps_accrued_cost_under_the_same_table_and_prices_a_new_rate() {
    use crate::accounting::{Batch, RepriceOutcome, StoredCell, reprice_cell};
    let mut p = pt(2, Commitment::None, "2026-03-02T10:00:07Z");
    p.region = "us-east-1".into();
    let mut rows = Vec::new();
    // Ticked every 13 s, as a daemon might.
    let mut a = p.created_at.timestamp();
    let end = t("2026-03-02T11:00:00Z");
    while a < end {
        rows.extend(accrue_provisioned(&p, &[], &book(), a, (a + 13).min(end)));
        a += 13;
    }
    let mut acc = Batch::default();
    for r in &rows {
        acc.add(&r.dims, r.meter.clone(), r.amount.clone());
    }
    let (dims, cells) = acc.rollups.iter().next().unwrap();
    let (key, amount) = cells.iter().next().unwrap();
    fn stored<'r>(
        dims: &'r crate::accounting::Dims,
        key: &'r crate::accounting::MeterKey,
        book_entry: &'r str,
        quantity: u64,
        cost: Option<Usd>,
    ) -> StoredCell<'r> {
        StoredCell {
            dims,
            meter: key.meter,
            detail: &key.detail,
            price_entry: book_entry,
            pricing_version: "test-1",
            quantity,
            cost,
        }
    }
    let cell =
        |book_entry: &'static str, cost| stored(dims, key, book_entry, amount.quantity, cost);
    let mut out = Batch::default();
    assert_eq!(
        reprice_cell(
            &book(),
            &stored(dims, key, &key.price_entry, amount.quantity, amount.cost),
            &mut out
        ),
        RepriceOutcome::Unchanged
    );
    assert_eq!(out.rollups[dims][key], *amount);
    // A cell booked unpriced gets the rate: (3600 − 7) s × 2 MU × $10 / 3600 = 19.961111…
    let mut out = Batch::default();
    assert_eq!(
        reprice_cell(&book(), &cell("", None), &mut out),
        RepriceOutcome::Changed
    );
    let (_, repriced) = out.rollups[dims].iter().next().unwrap();
    assert_eq!(repriced.cost, Some(d("19.961111111111")));
    assert_eq!(repriced.quantity, 2 * 3593);
}
