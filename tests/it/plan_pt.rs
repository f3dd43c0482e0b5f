//! `plan-pt` on a synthetic history whose right answer is computed by hand below.
use crate::util::{run, stdout, synth_record};
use rust_decimal::Decimal;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn dec(v: &serde_json::Value) -> Decimal {
    d(v.as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {v}")))
}

/// 2026-03-02, every hour: one Cohere Command record of 15M input + 3M output tokens and
/// one Command Light record of 1M input + 0.2M output tokens; plus one record after the
/// window that must not count.
fn history(dir: &std::path::Path) -> std::path::PathBuf {
    let mut lines = Vec::new();
    for h in 0..24u64 {
        let ts = format!("2026-03-02T{h:02}:30:00Z");
        lines.push(synth_record(
            h,
            &ts,
            "cohere.command-text-v14",
            15_000_000,
            3_000_000,
        ));
        lines.push(synth_record(
            100 + h,
            &ts,
            "cohere.command-light-text-v14",
            1_000_000,
            200_000,
        ));
    }
    lines.push(synth_record(
        999,
        "2026-03-03T00:10:00Z",
        "cohere.command-text-v14",
        9,
        9,
    ));
    let logs = dir.join("logs.jsonl");
    std::fs::write(&logs, lines.join("\n") + "\n").unwrap();
    let db = dir.join("ledger.db");
    let o = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        logs.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    db
}

fn plan_json(db: &std::path::Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec![
        "plan-pt",
        "--db",
        db.to_str().unwrap(),
        "--to",
        "2026-03-03T00:00:00Z",
        "--days",
        "1",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[test]
fn a_flat_busy_model_should_buy_six_months_and_a_small_one_should_stay_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let db = history(dir.path());
    let plans = plan_json(&db, &["--mu-tpm", "300000"]);
    assert_eq!(plans.len(), 2, "{plans:#?}");
    let cmd = plans
        .iter()
        .find(|p| p["model"] == "cohere.command-text-v14")
        .unwrap();

    // Cohere Command: 24 h × (15M + 3M) = 432,000,000 tokens.
    assert_eq!(cmd["tokens"], 432_000_000u64);
    assert_eq!(cmd["hours"], 24);
    // On demand: 24 × (15 × $1.50 + 3 × $2.00) = 24 × $28.50 = $684.
    assert_eq!(dec(&cmd["on_demand_cost_usd"]), d("684"));
    // Every hour: 18,000,000 / 60 = 300,000 tokens per minute.
    for p in ["p50", "p90", "p99", "max"] {
        assert_eq!(dec(&cmd["tokens_per_minute"][p]), d("300000"), "{p}");
    }
    assert_eq!(cmd["active_hours"], 24);
    assert_eq!(cmd["mu_tokens_per_minute"], 300_000);
    assert_eq!(cmd["mu_tokens_per_minute_source"], "--mu-tpm");
    assert_eq!(cmd["sized_for"], "max");
    let terms = cmd["terms"].as_array().unwrap();
    let term = |t: &str| terms.iter().find(|x| x["term"] == t).unwrap();
    // Units: ceil(300,000 / 300,000) = 1; capacity 1 × 300,000 × 60 × 24 = 432M = traffic.
    for t in terms {
        assert_eq!(t["model_units"], 1);
        assert_eq!(dec(&t["utilization"]), d("1"));
        assert_eq!(t["price_entry"], "cohere.command/provisioned/2023-11-13");
    }
    // Provisioned over 24 h: none 49.50 × 24 = 1188; 1 month 39.60 × 24 = 950.40;
    // 6 months 23.77 × 24 = 570.48.
    assert_eq!(dec(&term("none")["cost_usd"]), d("1188"));
    assert_eq!(dec(&term("1_month")["cost_usd"]), d("950.4"));
    assert_eq!(dec(&term("6_months")["cost_usd"]), d("570.48"));
    // Savings = 684 − cost: −504, −266.40, +113.52.
    assert_eq!(dec(&term("none")["savings_usd"]), d("-504"));
    assert_eq!(dec(&term("1_month")["savings_usd"]), d("-266.4"));
    assert_eq!(dec(&term("6_months")["savings_usd"]), d("113.52"));
    // Break-even utilization (6 months) = 570.48 / (684 × 1.0 capacity share) = 0.83403… → 0.8340.
    assert_eq!(dec(&term("6_months")["break_even_utilization"]), d("0.834"));
    // Break-even month (6 months): 23.77 × 730 = $17,352.10 at the blended $684 / 432M tokens
    // → 17,352.10 × 432,000,000 / 684 = 10,959,221,052.63… → 10,959,221,053 tokens.
    assert_eq!(
        dec(&term("6_months")["break_even_monthly_tokens"]),
        d("10959221053")
    );
    let rec = cmd["recommendation"].as_str().unwrap();
    assert!(
        rec.starts_with("Buy 1 model unit(s) with commitment 6_months: saves 113.52 USD"),
        "{rec}"
    );

    // Command Light: 24 × (1M × $0.30 + 0.2M × $0.60) = 24 × $0.42 = $10.08 on demand;
    // 20,000 tokens/min → 1 unit; the cheapest term, 6 months at 4.11 × 24 = $98.64, loses
    // 98.64 − 10.08 = $88.56.
    let light = plans
        .iter()
        .find(|p| p["model"] == "cohere.command-light-text-v14")
        .unwrap();
    assert_eq!(dec(&light["on_demand_cost_usd"]), d("10.08"));
    assert_eq!(dec(&light["tokens_per_minute"]["max"]), d("20000"));
    let rec = light["recommendation"].as_str().unwrap();
    assert!(
        rec.starts_with("Stay on demand: the cheapest term (6_months) would lose 88.56 USD"),
        "{rec}"
    );
}

#[test]
fn the_capacity_comes_from_the_config_and_without_it_the_plan_cannot_size() {
    let dir = tempfile::tempdir().unwrap();
    let db = history(dir.path());
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[planner]\ntokens_per_minute_per_model_unit = { \"cohere.command-text-v14\" = 150000 }\n",
    )
    .unwrap();
    let plans = plan_json(&db, &["--config", config.to_str().unwrap()]);
    let cmd = plans
        .iter()
        .find(|p| p["model"] == "cohere.command-text-v14")
        .unwrap();
    assert_eq!(cmd["mu_tokens_per_minute_source"], "config");
    // ceil(300,000 / 150,000) = 2 units: 6 months costs 2 × 570.48 = 1140.96, a loss.
    assert_eq!(cmd["terms"][2]["model_units"], 2);
    assert_eq!(dec(&cmd["terms"][2]["cost_usd"]), d("1140.96"));
    // Capacity 2 × 150,000 × 60 × 24 = 432M tokens: the traffic fills it exactly.
    assert_eq!(dec(&cmd["terms"][2]["utilization"]), d("1"));
    let light = plans
        .iter()
        .find(|p| p["model"] == "cohere.command-light-text-v14")
        .unwrap();
    assert_eq!(light["mu_tokens_per_minute_source"], "none");
    assert!(light["terms"].as_array().unwrap().is_empty());
    assert!(
        light["recommendation"]
            .as_str()
            .unwrap()
            .starts_with("Cannot size: no tokens per minute per model unit")
    );

    // The table and CSV say the same.
    let base = [
        "plan-pt",
        "--db",
        db.to_str().unwrap(),
        "--to",
        "2026-03-03T00:00:00Z",
        "--days",
        "1",
        "--mu-tpm",
        "300000",
        "--model",
        "cohere.command-text-v14",
    ];
    let table = stdout(&run(&base));
    assert!(
        table.contains("tokens/min per model unit: 300000 (from --mu-tpm)"),
        "{table}"
    );
    assert!(table.contains("113.52"), "{table}");
    let mut csv_args = base.to_vec();
    csv_args.extend(["--format", "csv"]);
    let csv = stdout(&run(&csv_args));
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.lines()
            .nth(3)
            .unwrap()
            .contains(",6_months,23.77,1,570.48,"),
        "{csv}"
    );
    // Bad input is a usage error, not a panic.
    let o = run(&["plan-pt", "--db", db.to_str().unwrap(), "--mu-tpm", "0"]);
    assert_eq!(o.status.code(), Some(2));
}
