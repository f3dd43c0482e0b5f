//! The shared real fixtures, ingested end to end through the binary, with costs checked by
//! hand. Prices are USD per 1M tokens from `pricing/`; the arithmetic is written out.
use crate::util::{fixtures_dir, run, stdout};

/// Ingests one fixture file into a fresh ledger and returns the JSON report totals and the
/// ingest summary.
fn ingest_one(name: &str) -> (serde_json::Value, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let path = fixtures_dir().join(name);
    let o = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        path.to_str().unwrap(),
    ]);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let o = run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--group-by",
        "model",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    (report["totals"].clone(), summary)
}

fn cost(name: &str) -> String {
    let (t, s) = ingest_one(name);
    assert_eq!(s["records_ingested"], 1, "{name}: {s}");
    assert_eq!(t["unpriced_tokens"], 0, "{name} has unpriced tokens: {t}");
    t["cost_usd"].as_str().unwrap().to_string()
}

#[test]
fn nova_lite_conversestream_is_priced_at_the_us_east_1_rate() {
    // 4 input × $0.06 + 38 output × $0.24 = 0.24 + 9.12 = 9.36 per 1M → $0.00000936
    assert_eq!(
        cost("dheerajoruganty-conversestream-nova-lite.json"),
        "0.00000936"
    );
}

#[test]
fn opus_4_5_through_a_global_profile_is_priced_at_the_global_rate() {
    // 255 × $5 + 113 × $25 = 1,275 + 2,825 = 4,100 per 1M → $0.0041
    assert_eq!(
        cost("capturedref-converse-global-claude-opus-4-5.json"),
        "0.0041"
    );
}

#[test]
fn opus_4_6_cache_writes_are_priced_at_the_5_minute_write_rate_when_the_ttl_is_not_logged() {
    // 3 × $5 + 24,479 × $6.25 + 52 × $25 = 15 + 152,993.75 + 1,300 = 154,308.75 per 1M
    assert_eq!(
        cost("capturedref-conversestream-global-claude-opus-4-6-cachewrite.json"),
        "0.15430875"
    );
    let (t, _) = ingest_one("capturedref-conversestream-global-claude-opus-4-6-cachewrite.json");
    assert_eq!(t["cache_write_5m_tokens"], 24479);
}

#[test]
fn a_global_profile_arn_with_the_body_in_s3_is_priced_from_the_record_counts() {
    // 6 × $5 + 225,913 × $6.25 + 167 × $25 = 30 + 1,411,956.25 + 4,175 = 1,416,161.25 per 1M
    assert_eq!(
        cost("capturedref-invokemodelwithresponsestream-profile-arn-opus-4-7-s3-input.json"),
        "1.41616125"
    );
}

#[test]
fn sonnet_4_through_a_us_profile_arn_is_priced_at_the_source_region_rate() {
    // 219 × $3 + 109 × $15 = 657 + 1,635 = 2,292 per 1M → $0.002292
    assert_eq!(
        cost("zainzia-cwlogs-invokemodel-us-claude-sonnet-4-profile-arn-guardrail.json"),
        "0.002292"
    );
}

#[test]
fn llama_3_1_405b_in_2024_is_priced_at_its_launch_rate() {
    // 13 × $5.32 + 300 × $16.00 = 69.16 + 4,800 = 4,869.16 per 1M → $0.00486916
    assert_eq!(
        cost("awsdocs-invokemodel-llama3-1-405b-requestmetadata.json"),
        "0.00486916"
    );
}

#[test]
fn a_model_used_before_its_first_price_is_unpriced_not_zero() {
    // The AWS template record is dated 2024-01-15, before Claude Sonnet 4 existed.
    let (t, _) = ingest_one("awsdocs-log-entry-format-converse-template.json");
    assert_eq!(t["cost_usd"], "0.00");
    assert_eq!(t["unpriced_tokens"], 25 + 150);
}

#[test]
fn records_with_redacted_timestamps_are_rejected_and_counted_by_reason() {
    for name in [
        "shogoitodev-invokemodelwithresponsestream-titan-text-express.json",
        "shogoitodev-invokemodelwithresponsestream-anthropic-claude-v2-1.json",
    ] {
        let (_, s) = ingest_one(name);
        assert_eq!(s["records_ingested"], 0);
        assert_eq!(s["records_rejected"]["bad_timestamp"], 1, "{name}");
    }
}

#[test]
fn sonnet_4_5_cache_writes_split_by_ttl_are_priced_at_their_own_rates() {
    // us. profile (geo): 42 × $3.30 + 180 × $16.50 + 1,000 × $4.125 (5m) + 2,500 × $6.60 (1h)
    //   = 138.6 + 2,970 + 4,125 + 16,500 = 23,733.6 per 1M → $0.0237336
    assert_eq!(
        cost("bm-converse-us-claude-sonnet-4-5-cachedetails-5m-1h.json"),
        "0.0237336"
    );
}

#[test]
fn claude_3_5_sonnet_prices_change_to_extended_access_on_2025_12_01() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("two-days.jsonl");
    let rec = |id: &str, ts: &str| {
        format!(
            r#"{{"timestamp":"{ts}","accountId":"1","identity":{{"arn":"arn:aws:iam::1:user/a"}},"region":"us-east-1","requestId":"{id}","operation":"InvokeModel","modelId":"anthropic.claude-3-5-sonnet-20241022-v2:0","input":{{"inputTokenCount":1000}},"output":{{"outputTokenCount":1000}},"schemaType":"ModelInvocationLog","schemaVersion":"1.0"}}"#
        )
    };
    std::fs::write(
        &f,
        format!(
            "{}\n{}\n",
            rec("a", "2025-11-30T23:59:59Z"),
            rec("b", "2025-12-01T00:00:00Z")
        ),
    )
    .unwrap();
    let db = dir.path().join("l.db");
    assert!(
        run(&["ingest", "--db", db.to_str().unwrap(), f.to_str().unwrap()])
            .status
            .success()
    );
    let o = run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2025-11-30",
        "--to",
        "2025-12-01",
        "--group-by",
        "day",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let by_day: std::collections::BTreeMap<String, String> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["group"]["day"].as_str().unwrap().to_string(),
                r["cost_usd"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // 1,000 × $3 + 1,000 × $15 = 18,000 per 1M; from 2025-12-01: 1,000 × $6 + 1,000 × $30.
    assert_eq!(by_day["2025-11-30"], "0.018");
    assert_eq!(by_day["2025-12-01"], "0.036");
}

#[test]
fn the_whole_fixture_directory_is_accounted_for_record_by_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let o = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        fixtures_dir().to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let files = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count() as u64;
    let rejected: u64 = s["records_rejected"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(s["records_ingested"].as_u64().unwrap() + rejected, files);
    assert_eq!(s["files_read"].as_u64().unwrap(), files);
}

#[test]
fn no_prompt_or_completion_text_reaches_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let o = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        fixtures_dir().to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let mut bytes = Vec::new();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    for text in [
        "Medicare",
        "hello how are you",
        "story of two dogs",
        "Rex and Charlie",
        "Human: Hello",
    ] {
        assert!(
            memchr::memmem::find(&bytes, text.as_bytes()).is_none(),
            "`{text}` found in the ledger files"
        );
        assert!(!out.contains(text), "`{text}` printed");
    }
}
