use super::*;
use crate::accounting::MeterKey;
use std::str::FromStr;

const ACCOUNT: &str = "111122223333";

fn dims(hour: i64, model: &str, principal: &str, tags: &str) -> Dims {
    Dims {
        hour: hour * 3600,
        account: ACCOUNT.to_string(),
        region: "us-east-1".to_string(),
        model: model.to_string(),
        scope: "in_region".to_string(),
        service_tier: "standard".to_string(),
        context_band: "standard".to_string(),
        operation: "Converse".to_string(),
        principal: principal.to_string(),
        tags: tags.to_string(),
        pricing_mode: "on_demand".to_string(),
    }
}

fn usd(s: &str) -> Usd {
    Usd::from_str(s).unwrap()
}

fn key(meter: &'static str, entry: &str) -> MeterKey {
    MeterKey {
        meter,
        detail: String::new(),
        price_entry: entry.into(),
        pricing_version: if entry.is_empty() { "" } else { "v1" }.into(),
    }
}

/// One invocation of `input` priced input tokens (cost $0.000001 per token) and 2 output
/// tokens without a price.
fn invocation(b: &mut Batch, d: &Dims, input: u64) {
    b.add(
        d,
        key("invocations", ""),
        Amount {
            quantity: 1,
            cost: None,
        },
    );
    b.add(
        d,
        key("input_tokens", "e1"),
        Amount {
            quantity: input,
            cost: Some(Usd::from(input) * usd("0.000001")),
        },
    );
    b.add(
        d,
        key("output_tokens", ""),
        Amount {
            quantity: 2,
            cost: None,
        },
    );
    b.count("records_ingested", 1);
    b.records += 1;
}

fn batch_of(events: &[(i64, &str, &str)]) -> Batch {
    let mut b = Batch::default();
    for (hour, model, principal) in events {
        invocation(&mut b, &dims(*hour, model, principal, "{}"), 10);
    }
    b
}

fn config(cap: usize) -> MetricsConfig {
    MetricsConfig {
        max_values_per_label: cap,
        ..MetricsConfig::default()
    }
}

/// What the daemon's writer does: commit, apply, persist a new admission record.
fn commit(store: &mut Store, m: &mut SpendMetrics, b: &Batch) {
    store.commit(b).unwrap();
    m.apply(b);
    if let Some(u) = m.take_admission_update() {
        store.meta_set(u.key, &u.value).unwrap();
    }
}

fn restore(store: &Store, cfg: &MetricsConfig) -> SpendMetrics {
    SpendMetrics::restore(store, cfg.clone()).unwrap()
}

fn book() -> PriceBook {
    PriceBook::embedded().unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::from_str("2026-11-26T00:00:00Z").unwrap()
}

fn render(m: &SpendMetrics) -> String {
    let mut s = String::new();
    m.render_into(&mut s, &book(), now());
    s
}

fn lines_of<'a>(text: &'a str, family: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) || l.starts_with(&format!("{family} ")))
        .collect()
}

#[test]
fn restore_then_apply_equals_restore_after_the_same_commits() {
    let cfg = config(3);
    let mut store = Store::open_in_memory().unwrap();
    store
        .commit(&batch_of(&[
            (1, "m.a", "role/App/s1"),
            (2, "m.b", "user/bob"),
        ]))
        .unwrap();
    let mut live = restore(&store, &cfg);
    if let Some(u) = live.take_admission_update() {
        store.meta_set(u.key, &u.value).unwrap();
    }
    let later = [
        batch_of(&[(3, "m.c", "role/App/s2"), (3, "m.a", "role/Other/x")]),
        // A late record (older hour) with new values once the caps are full.
        batch_of(&[(0, "m.early", "role/Early/s"), (4, "m.d", "user/carol")]),
        batch_of(&[(5, "m.a", "role/App/s1")]),
    ];
    for b in &later {
        commit(&mut store, &mut live, b);
    }
    let restarted = restore(&store, &cfg);
    assert_eq!(live, restarted);
    assert_eq!(render(&live), render(&restarted));
    assert_eq!(
        live.admitted_values("model").unwrap(),
        ["m.a", "m.b", "m.c"]
    );
    // Every invocation is counted once, in a named series or in `other`.
    let text = render(&restarted);
    let total: u64 = lines_of(&text, "bedrock_invocations_total")
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 7);
    assert!(text.contains("model=\"other\""), "{text}");
}

#[test]
fn without_a_record_in_order_data_restores_identically() {
    let cfg = config(2);
    let mut store = Store::open_in_memory().unwrap();
    let mut live = restore(&store, &cfg);
    for b in [
        batch_of(&[(1, "m.b", "user/a"), (1, "m.a", "user/b")]),
        batch_of(&[(2, "m.c", "user/c")]),
        batch_of(&[(3, "m.a", "user/a")]),
    ] {
        store.commit(&b).unwrap();
        live.apply(&b); // the record is never written
    }
    assert_eq!(live, restore(&store, &cfg));
}

#[test]
fn admission_is_by_first_hour_then_value() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .commit(&batch_of(&[
            (5, "m.z", "user/a"),
            (5, "m.y", "user/a"),
            (3, "m.q", "user/a"),
        ]))
        .unwrap();
    store.commit(&batch_of(&[(4, "m.x", "user/a")])).unwrap();
    let m = restore(&store, &config(2));
    assert_eq!(m.admitted_values("model").unwrap(), ["m.q", "m.x"]);
    let m = restore(&store, &config(3));
    assert_eq!(m.admitted_values("model").unwrap(), ["m.q", "m.x", "m.y"]);
}

#[test]
fn a_named_value_is_never_moved_to_other() {
    // A deterministic pseudo-random mix of in-order and late records over a small cap:
    // after every commit, a restart must keep every value named that was named before.
    let cfg = MetricsConfig {
        principal: PrincipalLabel::RoleSession,
        tag_labels: vec!["team".to_string()],
        max_values_per_label: 4,
    };
    let mut store = Store::open_in_memory().unwrap();
    let mut live = restore(&store, &cfg);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for round in 0..40 {
        let mut b = Batch::default();
        for _ in 0..=next(3) {
            let hour = if next(4) == 0 { next(20) } else { 20 + round };
            let model = format!("m.{}", next(9));
            let principal = format!("role/R{}/s{}", next(3), next(4));
            let tags = format!("{{\"team\":\"t{}\"}}", next(7));
            invocation(&mut b, &dims(hour as i64, &model, &principal, &tags), 1);
        }
        let before: Vec<Vec<String>> = ["model", "principal", "tag_team"]
            .iter()
            .map(|l| {
                live.admitted_values(l)
                    .unwrap()
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            })
            .collect();
        commit(&mut store, &mut live, &b);
        let restarted = restore(&store, &cfg);
        assert_eq!(live, restarted, "round {round}");
        for (label, named) in ["model", "principal", "tag_team"].iter().zip(before) {
            let after = restarted.admitted_values(label).unwrap();
            assert!(after.len() <= 4);
            for v in named {
                assert!(
                    after.contains(&v.as_str()),
                    "{label}={v} lost its name in round {round}"
                );
            }
        }
    }
}

#[test]
fn a_recorded_admission_survives_late_records_and_an_unwired_writer() {
    let cfg = config(2);
    let mut store = Store::open_in_memory().unwrap();
    let mut live = restore(&store, &cfg);
    commit(
        &mut store,
        &mut live,
        &batch_of(&[(10, "m.b", "user/a"), (11, "m.c", "user/a")]),
    );
    // A backfill (the CLI, which keeps no metrics) adds an older, new model.
    store.commit(&batch_of(&[(1, "m.a", "user/a")])).unwrap();
    let restarted = restore(&store, &cfg);
    assert_eq!(restarted.admitted_values("model").unwrap(), ["m.b", "m.c"]);
    // Without the record the plain rule would have preferred the older value.
    store.meta_set(ADMISSION_META_KEY, "not json").unwrap();
    let rule_only = restore(&store, &cfg);
    assert_eq!(rule_only.admitted_values("model").unwrap(), ["m.a", "m.b"]);
}

#[test]
fn a_record_keeps_labels_that_are_not_configured_now() {
    let mut store = Store::open_in_memory().unwrap();
    let with_tags = MetricsConfig {
        tag_labels: vec!["team".to_string()],
        ..config(5)
    };
    let mut m = restore(&store, &with_tags);
    let mut b = Batch::default();
    invocation(&mut b, &dims(1, "m.a", "user/a", r#"{"team":"search"}"#), 1);
    commit(&mut store, &mut m, &b);
    let mut without = restore(&store, &config(5));
    let mut b = Batch::default();
    invocation(&mut b, &dims(2, "m.b", "user/a", "{}"), 1);
    commit(&mut store, &mut without, &b);
    let record: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&store.meta_get(ADMISSION_META_KEY).unwrap().unwrap()).unwrap();
    assert_eq!(record["tag:team"], ["search"]);
    assert_eq!(record["model"], ["m.a", "m.b"]);
    assert_eq!(record["principal:role"], ["user/a"]);
}

#[test]
fn role_mode_strips_sessions_and_off_drops_the_label() {
    let mut b = Batch::default();
    for p in [
        "role/App/s1",
        "role/App/s2",
        "user/alice",
        "root",
        "role/Solo",
    ] {
        invocation(&mut b, &dims(1, "m.a", p, "{}"), 1);
    }
    let principals = |cfg: MetricsConfig| {
        let mut m = SpendMetrics::new(cfg);
        m.apply(&b);
        let text = render(&m);
        lines_of(&text, "bedrock_invocations_total")
            .iter()
            .map(|l| {
                l.split("principal=\"")
                    .nth(1)
                    .map(|r| r.split('"').next().unwrap().to_string())
                    .unwrap_or_else(|| "(none)".to_string())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        principals(MetricsConfig::default()),
        ["role/App", "role/Solo", "root", "user/alice"]
    );
    assert_eq!(
        principals(MetricsConfig {
            principal: PrincipalLabel::RoleSession,
            ..MetricsConfig::default()
        }),
        [
            "role/App/s1",
            "role/App/s2",
            "role/Solo",
            "root",
            "user/alice"
        ]
    );
    assert_eq!(
        principals(MetricsConfig {
            principal: PrincipalLabel::Off,
            ..MetricsConfig::default()
        }),
        ["(none)"]
    );
}

#[test]
fn only_allow_listed_tags_become_labels() {
    let cfg = MetricsConfig {
        tag_labels: vec!["team".to_string(), "cost-center".to_string()],
        ..MetricsConfig::default()
    };
    let mut m = SpendMetrics::new(cfg);
    let mut b = Batch::default();
    invocation(
        &mut b,
        &dims(
            1,
            "m.a",
            "user/a",
            r#"{"secret":"tok-123","team":"search"}"#,
        ),
        1,
    );
    invocation(
        &mut b,
        &dims(1, "m.a", "user/a", r#"{"cost-center":"cc-1"}"#),
        1,
    );
    m.apply(&b);
    let text = render(&m);
    assert!(
        !text.contains("secret") && !text.contains("tok-123"),
        "{text}"
    );
    let lines = lines_of(&text, "bedrock_invocations_total");
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].contains(r#"tag_team="",tag_cost_center="cc-1""#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(r#"tag_team="search",tag_cost_center="""#),
        "{}",
        lines[1]
    );
}

#[test]
fn capped_values_beyond_the_limit_are_other_and_empty_values_cost_nothing() {
    let cfg = MetricsConfig {
        tag_labels: vec!["team".to_string()],
        ..config(1)
    };
    let mut m = SpendMetrics::new(cfg);
    let mut b = Batch::default();
    invocation(&mut b, &dims(1, "m.a", "user/a", "{}"), 1);
    invocation(&mut b, &dims(2, "m.b", "user/b", r#"{"team":"x"}"#), 1);
    invocation(&mut b, &dims(3, "m.c", "user/c", r#"{"team":"y"}"#), 1);
    m.apply(&b);
    assert_eq!(m.admitted_values("model").unwrap(), ["m.a"]);
    assert_eq!(m.admitted_values("principal").unwrap(), ["user/a"]);
    assert_eq!(m.admitted_values("tag_team").unwrap(), ["x"]);
    assert_eq!(m.admitted_values("operation"), None);
    let text = render(&m);
    let lines = lines_of(&text, "bedrock_invocations_total");
    assert_eq!(lines.len(), 3, "{text}");
    // Sorted by label values: m.a, then the two `other` models (tag `other` < `x`).
    assert!(lines[0].contains(r#"model="m.a",scope"#) && lines[0].ends_with(r#"tag_team=""} 1"#));
    assert!(lines[1].contains(r#"model="other""#));
    assert!(lines[1].contains(r#"principal="other",tag_team="other""#));
    assert!(lines[2].contains(r#"principal="other",tag_team="x""#));
    // No price gauge for `other`.
    assert!(
        !lines_of(&text, "bedrock_price_usd_per_1m_tokens")
            .iter()
            .any(|l| l.contains("other"))
    );
}

#[test]
fn label_values_are_escaped() {
    let mut m = SpendMetrics::new(MetricsConfig::default());
    let mut b = Batch::default();
    invocation(&mut b, &dims(1, "we\"ird\\mo\ndel", "user/a", "{}"), 1);
    m.apply(&b);
    let text = render(&m);
    assert!(text.contains(r#"model="we\"ird\\mo\ndel""#), "{text}");
}

#[test]
fn every_reject_reason_and_known_file_failure_is_present() {
    let store = Store::open_in_memory().unwrap();
    let mut m = restore(&store, &MetricsConfig::default());
    let text = render(&m);
    for r in RejectReason::ALL {
        let line = format!(
            "bedrock_meter_records_rejected_total{{reason=\"{}\"}} 0",
            r.as_str()
        );
        assert!(text.contains(&line), "missing {line}");
    }
    for r in KNOWN_FILE_FAILURES {
        assert!(text.contains(&format!(
            "bedrock_meter_files_failed_total{{reason=\"{r}\"}} 0"
        )));
    }
    let mut b = Batch::default();
    b.count("records_rejected:wrong_type", 2);
    b.count("records_rejected:some_future_reason", 1);
    b.count("files_failed:truncated_gzip", 1);
    b.count("files_read", 3);
    b.count("records_duplicate", 4);
    m.apply(&b);
    let text = render(&m);
    for line in [
        "bedrock_meter_records_rejected_total{reason=\"wrong_type\"} 2",
        "bedrock_meter_records_rejected_total{reason=\"some_future_reason\"} 1",
        "bedrock_meter_records_rejected_total{reason=\"absurd_count\"} 0",
        "bedrock_meter_files_failed_total{reason=\"truncated_gzip\"} 1",
        "bedrock_meter_files_read_total 3",
        "bedrock_meter_records_duplicate_total 4",
        "bedrock_meter_records_ingested_total 0",
    ] {
        assert!(text.contains(line), "missing {line}\n{text}");
    }
}

#[test]
fn unpriced_provisioned_and_estimated_usage_are_told_apart() {
    let mut b = Batch::default();
    let d = dims(1, "m.a", "user/a", "{}");
    b.add(
        &d,
        key("invocations", ""),
        Amount {
            quantity: 1,
            cost: None,
        },
    );
    b.add(
        &d,
        key("input_tokens", ""),
        Amount {
            quantity: 7,
            cost: None,
        },
    );
    b.add(
        &d,
        key("images", ""),
        Amount {
            quantity: 2,
            cost: None,
        },
    );
    b.add(
        &d,
        key("estimated_tokens", ""),
        Amount {
            quantity: 7,
            cost: None,
        },
    );
    b.add(
        &d,
        key("cache_ttl_assumed_tokens", ""),
        Amount {
            quantity: 5,
            cost: None,
        },
    );
    let mut p = dims(1, "provisioned-model/abc", "user/a", "{}");
    p.pricing_mode = "provisioned".to_string();
    b.add(
        &p,
        key("invocations", ""),
        Amount {
            quantity: 1,
            cost: None,
        },
    );
    b.add(
        &p,
        key("output_tokens", ""),
        Amount {
            quantity: 9,
            cost: None,
        },
    );
    let mut m = SpendMetrics::new(MetricsConfig::default());
    m.apply(&b);
    let text = render(&m);
    let unpriced = lines_of(&text, "bedrock_unpriced_usage_total");
    assert_eq!(unpriced.len(), 2, "{text}");
    assert!(unpriced[0].contains(r#"meter="images"} 2"#));
    assert!(unpriced[1].contains(r#"meter="input"} 7"#));
    let prov = lines_of(&text, "bedrock_provisioned_tokens_total");
    assert_eq!(prov.len(), 1);
    assert!(prov[0].contains("provisioned-model/abc") && prov[0].ends_with(" 9"));
    let est = lines_of(&text, "bedrock_estimated_tokens_total");
    assert!(est.len() == 1 && est[0].ends_with(" 7"));
    let tokens = lines_of(&text, "bedrock_tokens_total");
    assert_eq!(tokens.len(), 2);
    assert_eq!(lines_of(&text, "bedrock_images_total").len(), 1);
    // Cost is exposed (as 0) for every series, so it exists before the first priced use.
    assert!(
        lines_of(&text, "bedrock_cost_usd_total")
            .iter()
            .all(|l| l.ends_with(" 0"))
    );
}

#[test]
fn costs_are_exact_decimals() {
    let mut m = SpendMetrics::new(MetricsConfig::default());
    for _ in 0..3 {
        let mut b = Batch::default();
        b.add(
            &dims(1, "m.a", "user/a", "{}"),
            key("input_tokens", "e1"),
            Amount {
                quantity: 1,
                cost: Some(usd("0.1")),
            },
        );
        m.apply(&b);
    }
    let text = render(&m);
    // 0.1 + 0.1 + 0.1 in floats would be 0.30000000000000004.
    assert!(text.contains("} 0.3\n"), "{text}");
}

#[test]
fn prices_in_effect_are_shown_for_models_with_usage() {
    let book = book();
    let model = "amazon.nova-lite-v1:0";
    let mut m = SpendMetrics::new(MetricsConfig::default());
    let mut b = Batch::default();
    invocation(&mut b, &dims(1, model, "user/a", "{}"), 4);
    m.apply(&b);
    let mut text = String::new();
    m.render_into(&mut text, &book, now());
    let q = PriceQuery {
        model,
        region: "us-east-1",
        scope: Scope::InRegion,
        tier: ServiceTier::Standard,
        at: now(),
    };
    let e = book.entry_for(&q, 0).expect("nova lite is priced");
    let input = e.token_usd_per_1m(TokenMeter::Input).unwrap().normalize();
    let line = format!(
        "bedrock_price_usd_per_1m_tokens{{model=\"{model}\",region=\"us-east-1\",scope=\"in_region\",\
         service_tier=\"standard\",context_band=\"standard\",token_type=\"input\"}} {input}"
    );
    assert!(text.contains(&line), "missing {line}\n{text}");
    assert!(text.contains(&format!(
        "bedrock_pricing_info{{version=\"{}\"}} 1",
        book.version()
    )));
}

#[test]
fn telemetry_renders_health_and_is_shareable() {
    let t = std::sync::Arc::new(Telemetry::new(SpendMetrics::new(MetricsConfig::default())));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let t = t.clone();
            std::thread::spawn(move || {
                t.source_error("s3", "list_failed");
                t.observe_commit(std::time::Duration::from_micros(300 * (i + 1)));
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    t.set_source_up("file", false);
    t.source_success("s3", now() - chrono::Duration::seconds(90), 42.5);
    assert_eq!(
        t.apply(&batch_of(&[(1, "m.a", "user/a")])).map(|u| u.key),
        Some(ADMISSION_META_KEY)
    );
    assert_eq!(t.apply(&batch_of(&[(2, "m.a", "user/a")])), None);
    let text = t.render(&book(), now());
    for line in [
        "bedrock_meter_source_up{source=\"file\"} 0",
        "bedrock_meter_source_up{source=\"s3\"} 1",
        "bedrock_meter_source_last_success_timestamp_seconds{source=\"s3\"} 1795651110",
        "bedrock_meter_source_lag_seconds{source=\"s3\"} 42.5",
        "bedrock_meter_source_errors_total{source=\"s3\",kind=\"list_failed\"} 4",
        "bedrock_meter_store_commit_duration_seconds_bucket{le=\"0.0005\"} 1",
        "bedrock_meter_store_commit_duration_seconds_bucket{le=\"0.001\"} 3",
        "bedrock_meter_store_commit_duration_seconds_bucket{le=\"0.0025\"} 4",
        "bedrock_meter_store_commit_duration_seconds_bucket{le=\"+Inf\"} 4",
        "bedrock_meter_store_commit_duration_seconds_count 4",
        "bedrock_meter_store_commits_total 2",
        "bedrock_invocations_total{",
    ] {
        assert!(text.contains(line), "missing {line}\n{text}");
    }
    assert!(!text.contains("bedrock_meter_source_last_success_timestamp_seconds{source=\"file\"}"));
}

#[test]
fn every_family_has_help_and_type_and_one_block() {
    let t = Telemetry::new(SpendMetrics::new(MetricsConfig::default()));
    t.apply(&batch_of(&[(1, "amazon.nova-lite-v1:0", "user/a")]));
    t.source_success("file", now(), 0.0);
    let text = t.render(&book(), now());
    let mut families: Vec<&str> = Vec::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap();
            assert!(!families.contains(&name), "{name} twice");
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no HELP"
            );
            families.push(name);
        } else if !l.starts_with('#') {
            let name = l.split(['{', ' ']).next().unwrap();
            let family = families.last().unwrap();
            assert!(name.starts_with(family), "{name} outside its family block");
        }
    }
    assert_eq!(families.len(), 23, "{families:?}");
}

#[test]
fn ten_thousand_series_render_once_each() {
    let cfg = MetricsConfig {
        principal: PrincipalLabel::RoleSession,
        max_values_per_label: 10_000,
        ..MetricsConfig::default()
    };
    let mut m = SpendMetrics::new(cfg);
    let mut b = Batch::default();
    for i in 0..10_000 {
        invocation(
            &mut b,
            &dims(1, &format!("m.{}", i % 20), &format!("role/R/s{i}"), "{}"),
            3,
        );
    }
    m.apply(&b);
    assert_eq!(m.series_count(), 10_000);
    let t = Telemetry::new(m);
    let book = book();
    let text = t.render(&book, now());
    // Every series once, none dropped or repeated (speed is the benchmark's job, not a
    // timed assertion's).
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("bedrock_invocations_total{"))
        .collect();
    assert_eq!(lines.len(), 10_000);
    let distinct: std::collections::HashSet<&str> = lines.iter().copied().collect();
    assert_eq!(distinct.len(), 10_000);
    assert!(lines.iter().all(|l| l.ends_with(" 1")));
}

#[test]
fn config_deserializes_as_a_metrics_table() {
    #[derive(Deserialize)]
    struct File {
        metrics: MetricsConfig,
    }
    use serde::Deserialize;
    let f: File = toml::from_str(
        "[metrics]\nprincipal = \"role_session\"\ntag_labels = [\"team\"]\nmax_values_per_label = 7\n",
    )
    .unwrap();
    assert_eq!(
        f.metrics,
        MetricsConfig {
            principal: PrincipalLabel::RoleSession,
            tag_labels: vec!["team".to_string()],
            max_values_per_label: 7,
        }
    );
    let f: File = toml::from_str("[metrics]\n").unwrap();
    assert_eq!(f.metrics, MetricsConfig::default());
    assert_eq!(f.metrics.principal, PrincipalLabel::Role);
    assert_eq!(f.metrics.max_values_per_label, 50);
    let f: File = toml::from_str("[metrics]\nprincipal = \"off\"\n").unwrap();
    assert_eq!(f.metrics.principal, PrincipalLabel::Off);
    assert!(toml::from_str::<File>("[metrics]\nprincipals = \"off\"\n").is_err());
    assert!(toml::from_str::<File>("[metrics]\nprincipal = \"session\"\n").is_err());
}

#[test]
fn tag_label_names_are_sanitized_and_must_not_collide() {
    assert_eq!(tag_label_name("cost-center.id"), "tag_cost_center_id");
    assert_eq!(tag_label_name("costCenter"), "tag_cost_center");
    assert_eq!(tag_label_name("Team_1"), "tag_team_1");
    assert_eq!(tag_label_name("v2Api"), "tag_v2_api");
    assert_eq!(tag_label_name("HTTPCode"), "tag_httpcode");
    let ok = MetricsConfig {
        tag_labels: vec!["team".to_string(), "app".to_string()],
        ..MetricsConfig::default()
    };
    assert!(ok.validate().is_ok());
    let clash = MetricsConfig {
        tag_labels: vec!["team-a".to_string(), "team_a".to_string()],
        ..MetricsConfig::default()
    };
    let err = clash.validate().unwrap_err();
    assert!(err.contains("tag_team_a"), "{err}");
    // Unvalidated, the second is ignored rather than producing a duplicate label.
    let m = SpendMetrics::new(clash);
    assert!(m.admitted_values("tag_team_a").is_some());
    assert_eq!(
        m.label_names.iter().filter(|l| *l == "tag_team_a").count(),
        1
    );
}
