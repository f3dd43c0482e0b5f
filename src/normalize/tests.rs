//! Whole-record tests of [`parse_record`]: every fixture in `tests/fixtures/invocation-logs/`
//! field by field, field order and unknown fields, every rejection reason, privacy, and
//! garbage input.
use super::*;

use chrono::TimeZone;
use proptest::prelude::*;
use serde_json::{Value, json};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/invocation-logs/", $name)).as_slice()
    };
}

/// Every fixture, for the tests that loop over all of them.
const ALL_FIXTURES: &[(&str, &[u8])] = &[
    (
        "awsdocs-invokemodel-llama3-1-405b-requestmetadata.json",
        fixture!("awsdocs-invokemodel-llama3-1-405b-requestmetadata.json"),
    ),
    (
        "awsdocs-log-entry-format-converse-template.json",
        fixture!("awsdocs-log-entry-format-converse-template.json"),
    ),
    (
        "capturedref-converse-global-claude-opus-4-5.json",
        fixture!("capturedref-converse-global-claude-opus-4-5.json"),
    ),
    (
        "capturedref-conversestream-global-claude-opus-4-6-cachewrite.json",
        fixture!("capturedref-conversestream-global-claude-opus-4-6-cachewrite.json"),
    ),
    (
        "capturedref-invokemodelwithresponsestream-profile-arn-opus-4-7-s3-input.json",
        fixture!("capturedref-invokemodelwithresponsestream-profile-arn-opus-4-7-s3-input.json"),
    ),
    (
        "dheerajoruganty-conversestream-nova-lite.json",
        fixture!("dheerajoruganty-conversestream-nova-lite.json"),
    ),
    (
        "shogoitodev-invokemodelwithresponsestream-anthropic-claude-v2-1.json",
        fixture!("shogoitodev-invokemodelwithresponsestream-anthropic-claude-v2-1.json"),
    ),
    (
        "shogoitodev-invokemodelwithresponsestream-titan-text-express.json",
        fixture!("shogoitodev-invokemodelwithresponsestream-titan-text-express.json"),
    ),
    (
        "zainzia-cwlogs-invokemodel-us-claude-sonnet-4-profile-arn-guardrail.json",
        fixture!("zainzia-cwlogs-invokemodel-us-claude-sonnet-4-profile-arn-guardrail.json"),
    ),
    (
        "bm-converse-apac-nova-pro-profile.json",
        fixture!("bm-converse-apac-nova-pro-profile.json"),
    ),
    (
        "bm-converse-ca-claude-sonnet-4-5-profile.json",
        fixture!("bm-converse-ca-claude-sonnet-4-5-profile.json"),
    ),
    (
        "bm-converse-claude-3-haiku-application-profile-arn.json",
        fixture!("bm-converse-claude-3-haiku-application-profile-arn.json"),
    ),
    (
        "bm-converse-eu-claude-3-7-sonnet-profile.json",
        fixture!("bm-converse-eu-claude-3-7-sonnet-profile.json"),
    ),
    (
        "bm-converse-nova-lite-request-metadata-tags.json",
        fixture!("bm-converse-nova-lite-request-metadata-tags.json"),
    ),
    (
        "bm-converse-nova-micro-guardrail-intervened-no-counts.json",
        fixture!("bm-converse-nova-micro-guardrail-intervened-no-counts.json"),
    ),
    (
        "bm-converse-nova-micro-no-counts-estimated.json",
        fixture!("bm-converse-nova-micro-no-counts-estimated.json"),
    ),
    (
        "bm-converse-nova-pro-service-tier-priority.json",
        fixture!("bm-converse-nova-pro-service-tier-priority.json"),
    ),
    (
        "bm-converse-us-claude-3-5-haiku-latency-optimized.json",
        fixture!("bm-converse-us-claude-3-5-haiku-latency-optimized.json"),
    ),
    (
        "bm-converse-us-claude-sonnet-4-5-cachedetails-5m-1h.json",
        fixture!("bm-converse-us-claude-sonnet-4-5-cachedetails-5m-1h.json"),
    ),
    (
        "bm-conversestream-jp-claude-sonnet-4-5-profile.json",
        fixture!("bm-conversestream-jp-claude-sonnet-4-5-profile.json"),
    ),
    (
        "bm-invokemodel-au-claude-haiku-4-5-profile.json",
        fixture!("bm-invokemodel-au-claude-haiku-4-5-profile.json"),
    ),
    (
        "bm-invokemodel-claude-3-haiku-guardrail-blocked-no-counts.json",
        fixture!("bm-invokemodel-claude-3-haiku-guardrail-blocked-no-counts.json"),
    ),
    (
        "bm-invokemodel-claude-sonnet-4-cache-creation-split.json",
        fixture!("bm-invokemodel-claude-sonnet-4-cache-creation-split.json"),
    ),
    (
        "bm-invokemodel-nova-canvas-output-s3.json",
        fixture!("bm-invokemodel-nova-canvas-output-s3.json"),
    ),
    (
        "bm-invokemodel-sd3-5-large-text-to-image.json",
        fixture!("bm-invokemodel-sd3-5-large-text-to-image.json"),
    ),
    (
        "bm-invokemodel-sdxl-steps-70-artifacts.json",
        fixture!("bm-invokemodel-sdxl-steps-70-artifacts.json"),
    ),
    (
        "bm-invokemodel-titan-embed-text-v2-embedding.json",
        fixture!("bm-invokemodel-titan-embed-text-v2-embedding.json"),
    ),
    (
        "bm-invokemodel-titan-image-generator-v2-premium-2-images.json",
        fixture!("bm-invokemodel-titan-image-generator-v2-premium-2-images.json"),
    ),
    (
        "bm-invokemodel-titan-text-provisioned-model-arn.json",
        fixture!("bm-invokemodel-titan-text-provisioned-model-arn.json"),
    ),
    (
        "bm-invokemodel-us-gov-claude-3-5-sonnet-profile.json",
        fixture!("bm-invokemodel-us-gov-claude-3-5-sonnet-profile.json"),
    ),
    (
        "bm-invokemodelwithresponsestream-us-claude-haiku-4-5-messages-chunks.json",
        fixture!("bm-invokemodelwithresponsestream-us-claude-haiku-4-5-messages-chunks.json"),
    ),
];

/// The two shared fixtures whose timestamps were redacted at the source.
const REDACTED_TIMESTAMP: [&str; 2] = [
    "shogoitodev-invokemodelwithresponsestream-anthropic-claude-v2-1.json",
    "shogoitodev-invokemodelwithresponsestream-titan-text-express.json",
];

fn parse(bytes: &[u8]) -> UsageEvent {
    parse_record(bytes).unwrap_or_else(|r| panic!("rejected: {r}"))
}

fn rejection(bytes: &[u8]) -> Rejection {
    match parse_record(bytes) {
        Ok(e) => panic!("accepted: {e:?}"),
        Err(r) => r,
    }
}

/// A fixture edited through a JSON tree (tests only; the parser never builds one).
fn edited(bytes: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// Follows object keys, or array indexes where the value is an array.
fn step<'v>(v: &'v mut Value, key: &str) -> &'v mut Value {
    match v {
        Value::Array(a) => &mut a[key.parse::<usize>().unwrap()],
        _ => &mut v[key],
    }
}

fn remove(v: &mut Value, path: &[&str]) {
    let (last, parents) = path.split_last().unwrap();
    let mut cur = v;
    for p in parents {
        cur = step(cur, p);
    }
    cur.as_object_mut().unwrap().remove(*last);
}

fn set(v: &mut Value, path: &[&str], to: Value) {
    let mut cur = v;
    for p in path {
        cur = &mut cur[*p];
    }
    *cur = to;
}

fn ts(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn tokens(input: u64, output: u64, cache_read: u64, w5: u64, w1: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_read,
        cache_write_5m: w5,
        cache_write_1h: w1,
    }
}

fn who(kind: &str, name: &str, session: Option<&str>) -> Principal {
    Principal {
        kind: kind.into(),
        name: name.into(),
        session: session.map(Into::into),
    }
}

fn base(form: ModelIdForm, id: &str) -> ModelRef {
    ModelRef {
        form,
        base_model: Some(id.into()),
        scope: Scope::InRegion,
        geo: None,
        profile: None,
        provisioned: false,
        unresolved_label: None,
    }
}

fn profile(form: ModelIdForm, geo: &str, id: &str) -> ModelRef {
    ModelRef {
        form,
        base_model: Some(id.into()),
        scope: if geo == "global" {
            Scope::Global
        } else {
            Scope::Geo
        },
        geo: Some(geo.into()),
        profile: Some(format!("{geo}.{id}")),
        provisioned: false,
        unresolved_label: None,
    }
}

fn unresolved(
    form: ModelIdForm,
    label: &str,
    profile: Option<&str>,
    provisioned: bool,
) -> ModelRef {
    ModelRef {
        form,
        base_model: None,
        scope: Scope::InRegion,
        geo: None,
        profile: profile.map(Into::into),
        provisioned,
        unresolved_label: Some(label.into()),
    }
}

fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shared (public-source) fixtures
// ---------------------------------------------------------------------------------------------

#[test]
fn the_aws_docs_llama_example_keeps_its_request_metadata_tags() {
    let e = parse(fixture!(
        "awsdocs-invokemodel-llama3-1-405b-requestmetadata.json"
    ));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "7ee514f3-9eff-467c-af75-8fd564ce58e5".into(),
            timestamp: ts(2024, 9, 11, 17, 16, 18),
            account: "XXXXX".into(),
            region: "us-east-1".into(),
            inference_region: None,
            operation: Operation::InvokeModel,
            model: base(ModelIdForm::BaseId, "meta.llama3-1-405b-instruct-v1:0"),
            service_tier: ServiceTier::Standard,
            principal: who("role", "Admin", Some("XXXXXX")),
            tags: tags(&[
                ("intent", "ComplaintResolution"),
                ("priority", "High"),
                ("project", "CustomerService")
            ]),
            tokens: tokens(13, 300, 0, 0, 0),
            count_source: CountSource::Record,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
}

#[test]
fn the_aws_docs_converse_template_parses_with_empty_bodies() {
    let e = parse(fixture!("awsdocs-log-entry-format-converse-template.json"));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "abcd1234-5678-efgh-ijkl-mnopqrstuvwx".into(),
            timestamp: ts(2024, 1, 15, 12, 0, 0),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            inference_region: None,
            operation: Operation::Converse,
            model: base(
                ModelIdForm::BaseId,
                "anthropic.claude-sonnet-4-20250514-v1:0"
            ),
            service_tier: ServiceTier::Standard,
            principal: who("role", "MyRole", Some("session-name")),
            tags: tags(&[("environment", "production"), ("team", "orchestrator")]),
            tokens: tokens(25, 150, 0, 0, 0),
            count_source: CountSource::Record,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
}

#[test]
fn a_converse_call_through_a_global_profile_is_global_scope_with_its_inference_region() {
    let e = parse(fixture!("capturedref-converse-global-claude-opus-4-5.json"));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "7487ab04-734e-470b-8dfc-46d8d8506381".into(),
            timestamp: ts(2026, 4, 19, 13, 28, 51),
            account: "123456789012".into(),
            region: "us-west-2".into(),
            inference_region: Some("us-east-2".into()),
            operation: Operation::Converse,
            model: profile(
                ModelIdForm::SystemProfileId,
                "global",
                "anthropic.claude-opus-4-5-20251101-v1:0"
            ),
            service_tier: ServiceTier::Standard,
            principal: who("user", "your-iam-username", None),
            tags: vec![],
            tokens: tokens(255, 113, 0, 0, 0),
            count_source: CountSource::Record,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
}

#[test]
fn a_cache_write_without_a_body_split_is_all_five_minute_and_flagged_assumed() {
    let e = parse(fixture!(
        "capturedref-conversestream-global-claude-opus-4-6-cachewrite.json"
    ));
    assert_eq!(e.operation, Operation::ConverseStream);
    assert_eq!(
        e.model,
        profile(
            ModelIdForm::SystemProfileId,
            "global",
            "anthropic.claude-opus-4-6-v1"
        )
    );
    assert_eq!(e.tokens, tokens(3, 52, 0, 24479, 0));
    assert_eq!(e.tokens.total(), 24534);
    assert_eq!(e.count_source, CountSource::Record);
    assert!(e.cache_ttl_assumed);
    assert_eq!(e.principal, who("user", "your-br-api-key", None));
    assert_eq!(e.inference_region.as_deref(), Some("us-east-2"));
    assert_eq!(e.timestamp, ts(2026, 4, 19, 23, 57, 1));
    assert!(!e.body_in_s3 && !e.guardrail_intervened && e.images.is_none());
}

#[test]
fn a_profile_arn_with_its_input_body_in_s3_keeps_the_envelope_counts() {
    let e = parse(fixture!(
        "capturedref-invokemodelwithresponsestream-profile-arn-opus-4-7-s3-input.json"
    ));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "f3ae32b1-ae22-48f1-ba9c-d8075737f52a".into(),
            timestamp: ts(2026, 4, 20, 0, 17, 33),
            account: "565521294060".into(),
            region: "us-west-2".into(),
            inference_region: Some("us-east-1".into()),
            operation: Operation::InvokeModelWithResponseStream,
            model: profile(
                ModelIdForm::SystemProfileArn,
                "global",
                "anthropic.claude-opus-4-7"
            ),
            service_tier: ServiceTier::Standard,
            principal: who("user", "your-br-api-key", None),
            tags: vec![],
            tokens: tokens(6, 167, 0, 225913, 0),
            count_source: CountSource::Record,
            cache_ttl_assumed: true,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: true,
        }
    );
}

#[test]
fn the_nova_lite_converse_stream_record_parses_exactly() {
    let e = parse(fixture!("dheerajoruganty-conversestream-nova-lite.json"));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "ff4b6c63-5561-4431-93b8-06a817275900".into(),
            timestamp: ts(2025, 3, 11, 0, 38, 2),
            account: "XXXXXXXXXXXXX".into(),
            region: "us-east-1".into(),
            inference_region: None,
            operation: Operation::ConverseStream,
            model: base(ModelIdForm::BaseId, "amazon.nova-lite-v1:0"),
            service_tier: ServiceTier::Standard,
            principal: who("user", "dheeraj", None),
            tags: vec![],
            tokens: tokens(4, 38, 0, 0, 0),
            count_source: CountSource::Record,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
}

#[test]
fn the_redacted_timestamp_fixtures_are_rejected_as_bad_timestamps() {
    for (name, bytes) in ALL_FIXTURES {
        if REDACTED_TIMESTAMP.contains(name) {
            let r = rejection(bytes);
            assert_eq!(r.reason, RejectReason::BadTimestamp, "{name}");
            assert!(
                r.detail.contains("timestamp") && !r.detail.contains("xxx"),
                "{name}"
            );
        }
    }
}

fn with_valid_timestamp(bytes: &[u8]) -> Vec<u8> {
    edited(bytes, |v| {
        set(v, &["timestamp"], json!("2024-02-29T23:59:59Z"))
    })
}

#[test]
fn the_claude_v2_text_completion_stream_parses_once_its_timestamp_is_valid() {
    let b = with_valid_timestamp(fixture!(
        "shogoitodev-invokemodelwithresponsestream-anthropic-claude-v2-1.json"
    ));
    let e = parse(&b);
    assert_eq!(
        e,
        UsageEvent {
            request_id: "xxxxxxxxxxxxxxxxxxxxxxx".into(),
            timestamp: ts(2024, 2, 29, 23, 59, 59),
            account: "xxxxxxxxxxxxxxxxxxxxxxx".into(),
            region: "ap-northeast-1".into(),
            inference_region: None,
            operation: Operation::InvokeModelWithResponseStream,
            model: base(ModelIdForm::BaseId, "anthropic.claude-v2:1"),
            service_tier: ServiceTier::Standard,
            principal: who("unknown", "", None),
            tags: vec![],
            tokens: tokens(10, 6, 0, 0, 0),
            count_source: CountSource::Record,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
}

#[test]
fn the_titan_text_stream_parses_once_its_timestamp_is_valid() {
    let b = with_valid_timestamp(fixture!(
        "shogoitodev-invokemodelwithresponsestream-titan-text-express.json"
    ));
    let e = parse(&b);
    assert_eq!(
        e.model,
        base(ModelIdForm::BaseId, "amazon.titan-text-express-v1")
    );
    assert_eq!(e.tokens, tokens(7, 11, 0, 0, 0));
    assert_eq!(e.count_source, CountSource::Record);
    assert_eq!(e.principal, who("unknown", "", None));
    assert_eq!(e.operation, Operation::InvokeModelWithResponseStream);
    assert_eq!(e.region, "ap-northeast-1");
}

#[test]
fn stream_bodies_give_the_counts_when_the_envelope_has_none() {
    let strip = |v: &mut Value| {
        remove(v, &["input", "inputTokenCount"]);
        remove(v, &["output", "outputTokenCount"]);
    };
    let titan = edited(
        &with_valid_timestamp(fixture!(
            "shogoitodev-invokemodelwithresponsestream-titan-text-express.json"
        )),
        strip,
    );
    let e = parse(&titan);
    assert_eq!(
        (e.tokens, e.count_source),
        (tokens(7, 11, 0, 0, 0), CountSource::Body)
    );
    let claude = edited(
        &with_valid_timestamp(fixture!(
            "shogoitodev-invokemodelwithresponsestream-anthropic-claude-v2-1.json"
        )),
        strip,
    );
    let e = parse(&claude);
    assert_eq!(
        (e.tokens, e.count_source),
        (tokens(10, 6, 0, 0, 0), CountSource::Body)
    );
    // Titan chunk fields alone (no invocation metrics) still give the counts.
    let titan_fields = edited(&titan, |v| {
        remove(
            v,
            &[
                "output",
                "outputBodyJson",
                "0",
                "amazon-bedrock-invocationMetrics",
            ],
        );
    });
    let e = parse(&titan_fields);
    assert_eq!(
        (e.tokens, e.count_source),
        (tokens(7, 11, 0, 0, 0), CountSource::Body)
    );
}

#[test]
fn the_cloudwatch_guardrail_record_with_action_none_is_not_flagged() {
    let e = parse(fixture!(
        "zainzia-cwlogs-invokemodel-us-claude-sonnet-4-profile-arn-guardrail.json"
    ));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "6ecfbafc-5673-4517-a9b9-90cef03d5d01".into(),
            timestamp: ts(2025, 8, 15, 15, 46, 41),
            account: "663981805246".into(),
            region: "us-east-1".into(),
            inference_region: Some("us-east-1".into()),
            operation: Operation::InvokeModel,
            model: profile(
                ModelIdForm::SystemProfileArn,
                "us",
                "anthropic.claude-sonnet-4-20250514-v1:0"
            ),
            service_tier: ServiceTier::Standard,
            principal: who(
                "role",
                "ie-staging-staging-claudeInvoker-us-east-1-lambdaRole",
                Some("ie-staging-claudeInvoker")
            ),
            tags: vec![],
            tokens: tokens(219, 109, 0, 0, 0),
            count_source: CountSource::Record,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
}

#[test]
fn an_anthropic_object_body_gives_the_counts_when_the_envelope_has_none() {
    let b = edited(
        fixture!("zainzia-cwlogs-invokemodel-us-claude-sonnet-4-profile-arn-guardrail.json"),
        |v| {
            remove(v, &["input", "inputTokenCount"]);
            remove(v, &["output", "outputTokenCount"]);
        },
    );
    let e = parse(&b);
    assert_eq!(
        (e.tokens, e.count_source),
        (tokens(219, 109, 0, 0, 0), CountSource::Body)
    );
}

#[test]
fn a_converse_body_gives_the_counts_when_the_envelope_has_none() {
    let b = edited(
        fixture!("dheerajoruganty-conversestream-nova-lite.json"),
        |v| {
            for k in [
                "inputTokenCount",
                "cacheReadInputTokenCount",
                "cacheWriteInputTokenCount",
            ] {
                remove(v, &["input", k]);
            }
            remove(v, &["output", "outputTokenCount"]);
        },
    );
    let e = parse(&b);
    assert_eq!(
        (e.tokens, e.count_source),
        (tokens(4, 38, 0, 0, 0), CountSource::Body)
    );
    assert!(!e.cache_ttl_assumed);
}

// ---------------------------------------------------------------------------------------------
// bedrock-meter's synthetic fixtures
// ---------------------------------------------------------------------------------------------

#[test]
fn converse_cache_details_split_cache_writes_into_five_minute_and_one_hour() {
    let e = parse(fixture!(
        "bm-converse-us-claude-sonnet-4-5-cachedetails-5m-1h.json"
    ));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "0b1e6f0c-5a7e-4c6e-9a51-1f3d8c2b7a01".into(),
            timestamp: ts(2026, 3, 2, 10, 15, 30),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            inference_region: Some("us-east-2".into()),
            operation: Operation::Converse,
            model: profile(
                ModelIdForm::SystemProfileId,
                "us",
                "anthropic.claude-sonnet-4-5-20250929-v1:0"
            ),
            service_tier: ServiceTier::Standard,
            principal: who("role", "BedrockAppRole", Some("app-session-42")),
            tags: vec![],
            tokens: tokens(42, 180, 0, 1000, 2500),
            count_source: CountSource::Record,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
    assert_eq!(e.tokens.total(), 3722);
}

#[test]
fn anthropic_cache_creation_splits_an_invoke_model_cache_write() {
    let e = parse(fixture!(
        "bm-invokemodel-claude-sonnet-4-cache-creation-split.json"
    ));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "5c0f2d7e-1b8a-4f3e-8e0d-2a6b9c4d1e02".into(),
            timestamp: ts(2026, 2, 11, 8, 0, 5),
            account: "111122223333".into(),
            region: "us-west-2".into(),
            inference_region: None,
            operation: Operation::InvokeModel,
            model: base(
                ModelIdForm::BaseId,
                "anthropic.claude-sonnet-4-20250514-v1:0"
            ),
            service_tier: ServiceTier::Standard,
            principal: who("user", "alice", None),
            tags: vec![],
            tokens: tokens(25, 95, 1200, 500, 1500),
            count_source: CountSource::Record,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
}

#[test]
fn an_anthropic_messages_stream_takes_its_split_from_message_start() {
    let bytes =
        fixture!("bm-invokemodelwithresponsestream-us-claude-haiku-4-5-messages-chunks.json");
    let e = parse(bytes);
    assert_eq!(
        e,
        UsageEvent {
            request_id: "9d3a4b5c-6e7f-4a8b-9c0d-1e2f3a4b5c03".into(),
            timestamp: ts(2026, 1, 20, 17, 42, 9),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            inference_region: Some("us-east-2".into()),
            operation: Operation::InvokeModelWithResponseStream,
            model: profile(
                ModelIdForm::SystemProfileId,
                "us",
                "anthropic.claude-haiku-4-5-20251001-v1:0"
            ),
            service_tier: ServiceTier::Standard,
            principal: who("role", "ChatBackend", Some("i-0abc123def4567890")),
            tags: vec![],
            tokens: tokens(14, 12, 0, 0, 300),
            count_source: CountSource::Record,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );

    // Without envelope counts the last invocation-metrics chunk gives them…
    let no_envelope = edited(bytes, |v| {
        for k in [
            "inputTokenCount",
            "cacheReadInputTokenCount",
            "cacheWriteInputTokenCount",
        ] {
            remove(v, &["input", k]);
        }
        remove(v, &["output", "outputTokenCount"]);
    });
    let e = parse(&no_envelope);
    assert_eq!(
        (e.tokens, e.count_source),
        (tokens(14, 12, 0, 0, 300), CountSource::Body)
    );

    // …and without those, message_start plus the final message_delta do.
    let no_metrics = edited(&no_envelope, |v| {
        remove(
            v,
            &[
                "output",
                "outputBodyJson",
                "6",
                "amazon-bedrock-invocationMetrics",
            ],
        );
    });
    let e = parse(&no_metrics);
    assert_eq!(
        (e.tokens, e.count_source),
        (tokens(14, 12, 0, 0, 300), CountSource::Body)
    );
    assert!(!e.cache_ttl_assumed);
}

#[test]
fn a_guardrail_blocked_invoke_model_without_counts_is_zero_tokens_and_flagged() {
    let e = parse(fixture!(
        "bm-invokemodel-claude-3-haiku-guardrail-blocked-no-counts.json"
    ));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "3f2e1d0c-9b8a-4765-8432-10fedcba9804".into(),
            timestamp: ts(2025, 11, 3, 9, 12, 44),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            inference_region: None,
            operation: Operation::InvokeModel,
            model: base(
                ModelIdForm::BaseId,
                "anthropic.claude-3-haiku-20240307-v1:0"
            ),
            service_tier: ServiceTier::Standard,
            principal: who("role", "AdvisorLambdaRole", Some("advisor-prod")),
            tags: vec![],
            tokens: TokenCounts::default(),
            count_source: CountSource::None,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: true,
            body_in_s3: false,
        }
    );
}

#[test]
fn a_converse_guardrail_stop_without_counts_is_zero_tokens_and_flagged() {
    let e = parse(fixture!(
        "bm-converse-nova-micro-guardrail-intervened-no-counts.json"
    ));
    assert_eq!(e.tokens, TokenCounts::default());
    assert_eq!(e.count_source, CountSource::None);
    assert!(e.guardrail_intervened);
    assert_eq!(e.model, base(ModelIdForm::BaseId, "amazon.nova-micro-v1:0"));
    assert_eq!(e.principal, who("user", "svc-chat", None));
}

#[test]
fn a_guardrail_intervention_with_envelope_counts_keeps_the_counts() {
    let b = edited(
        fixture!("zainzia-cwlogs-invokemodel-us-claude-sonnet-4-profile-arn-guardrail.json"),
        |v| {
            set(
                v,
                &["output", "outputBodyJson", "amazon-bedrock-guardrailAction"],
                json!("INTERVENED"),
            );
        },
    );
    let e = parse(&b);
    assert!(e.guardrail_intervened);
    assert_eq!(
        (e.tokens, e.count_source),
        (tokens(219, 109, 0, 0, 0), CountSource::Record)
    );
}

#[test]
fn a_converse_record_without_any_counts_is_estimated_from_its_text() {
    let e = parse(fixture!("bm-converse-nova-micro-no-counts-estimated.json"));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8006".into(),
            timestamp: ts(2025, 10, 14, 6, 30, 0),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            inference_region: None,
            operation: Operation::Converse,
            model: base(ModelIdForm::BaseId, "amazon.nova-micro-v1:0"),
            service_tier: ServiceTier::Standard,
            principal: who("user", "svc-chat", None),
            tags: vec![],
            // o200k_base: "You are a concise assistant.\nWhat is the capital of France?"
            // (".\n" is one token) and "The capital of France is Paris."
            tokens: tokens(13, 7, 0, 0, 0),
            count_source: CountSource::Estimated,
            cache_ttl_assumed: false,
            images: None,
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
}

#[test]
fn a_record_without_counts_or_inline_bodies_has_no_count_source() {
    let b = edited(
        fixture!("capturedref-invokemodelwithresponsestream-profile-arn-opus-4-7-s3-input.json"),
        |v| {
            for k in [
                "inputTokenCount",
                "cacheReadInputTokenCount",
                "cacheWriteInputTokenCount",
            ] {
                remove(v, &["input", k]);
            }
            remove(v, &["output", "outputTokenCount"]);
            remove(v, &["output", "outputBodyJson"]);
            set(
                v,
                &["output", "outputBodyS3Path"],
                json!("s3://b/k_output.json.gz"),
            );
        },
    );
    let e = parse(&b);
    assert_eq!(
        (e.tokens, e.count_source),
        (TokenCounts::default(), CountSource::None)
    );
    assert!(e.body_in_s3);
    assert!(!e.cache_ttl_assumed);
}

#[test]
fn an_application_profile_arn_is_unresolved_with_its_profile_id() {
    let e = parse(fixture!(
        "bm-converse-claude-3-haiku-application-profile-arn.json"
    ));
    assert_eq!(
        e.model,
        unresolved(
            ModelIdForm::ApplicationProfileArn,
            "application-inference-profile/k1c3lwu20lem",
            Some("k1c3lwu20lem"),
            false
        )
    );
    assert_eq!(
        e.model.label(),
        "application-inference-profile/k1c3lwu20lem"
    );
    assert_eq!(e.tokens, tokens(31, 3, 0, 0, 0));
    assert_eq!(e.principal, who("role", "TeamAnalytics", Some("jdoe")));
    assert_eq!(e.inference_region.as_deref(), Some("us-east-2"));
    assert_eq!(e.timestamp, ts(2026, 4, 1, 12, 0, 0));
}

#[test]
fn a_provisioned_model_arn_is_flagged_provisioned_and_still_counted() {
    let e = parse(fixture!(
        "bm-invokemodel-titan-text-provisioned-model-arn.json"
    ));
    assert_eq!(
        e.model,
        unresolved(
            ModelIdForm::ProvisionedModelArn,
            "provisioned-model/w8z4n2q7r5t1",
            None,
            true
        )
    );
    assert_eq!(
        (e.tokens, e.count_source),
        (tokens(9, 4, 0, 0, 0), CountSource::Record)
    );
    assert_eq!(e.principal, who("role", "BatchScorer", Some("scorer-7")));
    assert_eq!(e.timestamp, ts(2025, 9, 30, 23, 59, 59));
}

#[test]
fn titan_image_generator_v2_counts_two_premium_1024_images_from_the_response() {
    let e = parse(fixture!(
        "bm-invokemodel-titan-image-generator-v2-premium-2-images.json"
    ));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "6e7f8091-a2b3-4c4d-9e5f-60718293a409".into(),
            timestamp: ts(2025, 7, 7, 7, 7, 7),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            inference_region: None,
            operation: Operation::InvokeModel,
            model: base(ModelIdForm::BaseId, "amazon.titan-image-generator-v2:0"),
            service_tier: ServiceTier::Standard,
            principal: who("user", "designer-bob", None),
            tags: vec![],
            tokens: TokenCounts::default(),
            count_source: CountSource::None,
            cache_ttl_assumed: false,
            images: Some(ImageUsage {
                count: 2,
                width: Some(1024),
                height: Some(1024),
                quality: ImageQuality::Premium,
                counted_from_response: true,
            }),
            embedding: false,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
}

#[test]
fn nova_canvas_with_its_output_in_s3_counts_the_requested_images() {
    let e = parse(fixture!("bm-invokemodel-nova-canvas-output-s3.json"));
    assert_eq!(
        e.images,
        Some(ImageUsage {
            count: 3,
            width: Some(2048),
            height: Some(1024),
            quality: ImageQuality::Standard,
            counted_from_response: false,
        })
    );
    assert!(e.body_in_s3);
    assert_eq!(
        e.model,
        base(ModelIdForm::BaseId, "amazon.nova-canvas-v1:0")
    );
    assert_eq!(
        e.principal,
        who("role", "MarketingStudio", Some("campaign-q3"))
    );
    assert_eq!(
        (e.tokens, e.count_source),
        (TokenCounts::default(), CountSource::None)
    );
}

#[test]
fn sdxl_with_seventy_steps_is_premium_and_counts_artifacts() {
    let e = parse(fixture!("bm-invokemodel-sdxl-steps-70-artifacts.json"));
    assert_eq!(
        e.images,
        Some(ImageUsage {
            count: 1,
            width: Some(1152),
            height: Some(896),
            quality: ImageQuality::Premium,
            counted_from_response: true,
        })
    );
    assert_eq!(
        e.model,
        base(ModelIdForm::BaseId, "stability.stable-diffusion-xl-v1")
    );
    assert_eq!(e.count_source, CountSource::None);
}

#[test]
fn sd3_5_large_counts_one_image_without_size() {
    let e = parse(fixture!("bm-invokemodel-sd3-5-large-text-to-image.json"));
    assert_eq!(
        e.images,
        Some(ImageUsage {
            count: 1,
            width: None,
            height: None,
            quality: ImageQuality::Standard,
            counted_from_response: true,
        })
    );
    assert_eq!(
        e.model,
        base(ModelIdForm::BaseId, "stability.sd3-5-large-v1:0")
    );
    assert_eq!(e.region, "us-west-2");
}

#[test]
fn titan_embeddings_are_flagged_embedding_with_input_tokens_only() {
    let e = parse(fixture!(
        "bm-invokemodel-titan-embed-text-v2-embedding.json"
    ));
    assert_eq!(
        e,
        UsageEvent {
            request_id: "a2b3c4d5-e6f7-4081-9293-a4b5c6d7e80d".into(),
            timestamp: ts(2025, 4, 4, 4, 4, 4),
            account: "111122223333".into(),
            region: "eu-central-1".into(),
            inference_region: None,
            operation: Operation::InvokeModel,
            model: base(ModelIdForm::BaseId, "amazon.titan-embed-text-v2:0"),
            service_tier: ServiceTier::Standard,
            principal: who("role", "SearchIndexer", Some("indexer-1")),
            tags: vec![],
            tokens: tokens(9, 0, 0, 0, 0),
            count_source: CountSource::Record,
            cache_ttl_assumed: false,
            images: None,
            embedding: true,
            guardrail_intervened: false,
            body_in_s3: false,
        }
    );
}

#[test]
fn every_geographic_profile_prefix_resolves_to_geo_scope() {
    type GeoCase<'a> = (
        &'a [u8],
        &'a str,
        &'a str,
        Operation,
        &'a str,
        &'a str,
        TokenCounts,
    );
    let cases: [GeoCase<'_>; 6] = [
        (
            fixture!("bm-converse-eu-claude-3-7-sonnet-profile.json"),
            "eu",
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
            Operation::Converse,
            "eu-west-1",
            "eu-central-1",
            tokens(11, 3, 0, 0, 0),
        ),
        (
            fixture!("bm-converse-apac-nova-pro-profile.json"),
            "apac",
            "amazon.nova-pro-v1:0",
            Operation::Converse,
            "ap-southeast-1",
            "ap-northeast-2",
            tokens(12, 2, 0, 0, 0),
        ),
        (
            fixture!("bm-conversestream-jp-claude-sonnet-4-5-profile.json"),
            "jp",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            Operation::ConverseStream,
            "ap-northeast-1",
            "ap-northeast-3",
            tokens(13, 3, 0, 0, 0),
        ),
        (
            fixture!("bm-invokemodel-au-claude-haiku-4-5-profile.json"),
            "au",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            Operation::InvokeModel,
            "ap-southeast-2",
            "ap-southeast-4",
            tokens(14, 4, 0, 0, 0),
        ),
        (
            fixture!("bm-converse-ca-claude-sonnet-4-5-profile.json"),
            "ca",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            Operation::Converse,
            "ca-central-1",
            "ca-west-1",
            tokens(15, 3, 0, 0, 0),
        ),
        (
            fixture!("bm-invokemodel-us-gov-claude-3-5-sonnet-profile.json"),
            "us-gov",
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            Operation::InvokeModel,
            "us-gov-west-1",
            "us-gov-east-1",
            tokens(16, 5, 0, 0, 0),
        ),
    ];
    for (bytes, geo, id, op, region, inference, counts) in cases {
        let e = parse(bytes);
        assert_eq!(
            e.model,
            profile(ModelIdForm::SystemProfileId, geo, id),
            "{geo}"
        );
        assert_eq!(e.model.scope, Scope::Geo);
        assert_eq!(e.operation, op, "{geo}");
        assert_eq!(e.region, region, "{geo}");
        assert_eq!(e.inference_region.as_deref(), Some(inference), "{geo}");
        assert_eq!(
            (e.tokens, e.count_source),
            (counts, CountSource::Record),
            "{geo}"
        );
        assert_eq!(e.principal, who("role", "GeoTester", Some("run-1")));
    }
}

#[test]
fn request_metadata_becomes_sorted_string_tags_skipping_non_strings() {
    let e = parse(fixture!("bm-converse-nova-lite-request-metadata-tags.json"));
    assert_eq!(
        e.tags,
        tags(&[
            ("app", "ranker"),
            ("costCenter", "cc-1042"),
            ("environment", "staging"),
            ("team", "search")
        ])
    );
    // Fractional seconds are accepted and truncated.
    assert_eq!(e.timestamp, ts(2025, 10, 10, 10, 10, 10));
    assert_eq!(e.tokens, tokens(120, 6, 0, 0, 0));
}

#[test]
fn request_metadata_is_capped_at_sixty_four_pairs_of_truncated_strings() {
    let b = edited(
        fixture!("bm-converse-nova-lite-request-metadata-tags.json"),
        |v| {
            let mut m = serde_json::Map::new();
            for i in 0..100 {
                m.insert(format!("k{i:03}"), json!("v".repeat(300)));
            }
            set(v, &["requestMetadata"], Value::Object(m));
        },
    );
    let e = parse(&b);
    assert_eq!(e.tags.len(), 64);
    assert_eq!(e.tags[0].0, "k000");
    assert_eq!(e.tags[63].0, "k063");
    assert!(e.tags.iter().all(|(_, v)| v.len() == 256));
    let b = edited(
        fixture!("bm-converse-nova-lite-request-metadata-tags.json"),
        |v| {
            set(v, &["requestMetadata"], json!(["not", "an", "object"]));
        },
    );
    assert!(parse(&b).tags.is_empty());
}

#[test]
fn priority_service_tier_is_read_from_the_converse_response() {
    let e = parse(fixture!("bm-converse-nova-pro-service-tier-priority.json"));
    assert_eq!(e.service_tier, ServiceTier::Priority);
    assert_eq!(e.tokens, tokens(57, 2, 0, 0, 0));
    // `+00:00` offsets are accepted.
    assert_eq!(e.timestamp, ts(2026, 5, 12, 18, 30, 45));
}

#[test]
fn latency_optimized_is_read_from_the_converse_request() {
    let e = parse(fixture!(
        "bm-converse-us-claude-3-5-haiku-latency-optimized.json"
    ));
    assert_eq!(e.service_tier, ServiceTier::LatencyOptimized);
    assert_eq!(
        e.model,
        profile(
            ModelIdForm::SystemProfileId,
            "us",
            "anthropic.claude-3-5-haiku-20241022-v1:0"
        )
    );
    assert_eq!(e.tokens, tokens(13, 8, 0, 0, 0));
}

// ---------------------------------------------------------------------------------------------
// Properties over all fixtures
// ---------------------------------------------------------------------------------------------

#[test]
fn every_fixture_file_in_the_folder_is_tested() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/invocation-logs"
    );
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = ALL_FIXTURES.iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn every_fixture_except_the_redacted_timestamps_parses() {
    for (name, bytes) in ALL_FIXTURES {
        let r = parse_record(bytes);
        assert_eq!(
            r.is_ok(),
            !REDACTED_TIMESTAMP.contains(name),
            "{name}: {r:?}"
        );
    }
}

#[test]
fn no_body_text_reaches_the_event() {
    let body_snippets = [
        "hello how are you",
        "Medicare",
        "Paris",
        "tubeless",
        "investment",
        "bicycle",
        "Rank these",
        "story of two dogs",
        "travel policy",
        "iVBORw0KGgo",
        "fraudulent",
    ];
    for (name, bytes) in ALL_FIXTURES {
        let b = with_valid_timestamp(bytes);
        let e = parse(&b);
        let dump = format!("{e:?}");
        for s in body_snippets {
            assert!(!dump.contains(s), "{name} leaks {s:?}");
        }
    }
}

#[test]
fn no_label_or_principal_contains_a_full_arn() {
    for (name, bytes) in ALL_FIXTURES {
        let e = parse(&with_valid_timestamp(bytes));
        let strings = [
            e.model.label().to_owned(),
            e.model.profile.clone().unwrap_or_default(),
            e.principal.with_session(),
        ];
        for s in strings {
            assert!(!s.contains("arn:"), "{name}: {s}");
        }
    }
}

#[test]
fn fields_in_any_order_with_unknown_extras_parse_the_same() {
    let original = fixture!("bm-invokemodel-claude-sonnet-4-cache-creation-split.json");
    // serde_json's map is ordered by key, so this rewrites every object in sorted order.
    let sorted = edited(original, |_| {});
    let extras = edited(original, |v| {
        set(
            v,
            &["aaaFirst"],
            json!({"nested": [1, {"x": null}], "n": 1.5}),
        );
        set(v, &["errorCode"], Value::Null);
        set(v, &["input", "zzzUnknown"], json!([true, false]));
        set(v, &["output", "unknown"], json!("x"));
        set(v, &["identity", "type"], json!("AssumedRole"));
    });
    let reversed = br#"{"output":{"outputTokenCount":95,"outputBodyJson":{"usage":{"cache_creation":{"ephemeral_1h_input_tokens":1500,"ephemeral_5m_input_tokens":500}}}},
        "input":{"cacheWriteInputTokenCount":2000,"cacheReadInputTokenCount":1200,"inputTokenCount":25},
        "modelId":"anthropic.claude-sonnet-4-20250514-v1:0","operation":"InvokeModel",
        "requestId":"5c0f2d7e-1b8a-4f3e-8e0d-2a6b9c4d1e02","region":"us-west-2","identity":{"arn":"arn:aws:iam::111122223333:user/engineering/alice"},
        "accountId":"111122223333","timestamp":"2026-02-11T08:00:05Z","schemaVersion":"1.0","schemaType":"ModelInvocationLog"}"#;
    let want = parse(original);
    assert_eq!(parse(&sorted), want);
    assert_eq!(parse(&extras), want);
    assert_eq!(parse(reversed), want);
}

#[test]
fn escaped_strings_in_the_envelope_are_unescaped() {
    let b = br#"{"requestId":"r\u0031","timestamp":"2025-01-01T00:00:00Z","modelId":"amazon.nova-lite-v1:0",
        "region":"us-east-1","accountId":"1","operation":"Converse","identity":{"arn":"arn:aws:iam::1:user\/bob"},
        "input":{"inputTokenCount":1},"output":{"outputTokenCount":2}}"#;
    let e = parse(b);
    assert_eq!(e.request_id, "r1");
    assert_eq!(e.principal, who("user", "bob", None));
}

#[test]
fn a_missing_schema_type_is_accepted_and_an_unknown_operation_is_other() {
    let b = edited(
        fixture!("dheerajoruganty-conversestream-nova-lite.json"),
        |v| {
            remove(v, &["schemaType"]);
            set(v, &["operation"], json!("StartAsyncInvoke"));
        },
    );
    let e = parse(&b);
    assert_eq!(e.operation, Operation::Other);
    assert_eq!(e.tokens, tokens(4, 38, 0, 0, 0));
}

#[test]
fn missing_cache_counts_read_as_zero_and_a_lone_count_is_still_the_record() {
    let b = edited(
        fixture!("dheerajoruganty-conversestream-nova-lite.json"),
        |v| {
            for k in [
                "inputTokenCount",
                "cacheReadInputTokenCount",
                "cacheWriteInputTokenCount",
            ] {
                remove(v, &["input", k]);
            }
        },
    );
    let e = parse(&b);
    assert_eq!(
        (e.tokens, e.count_source),
        (tokens(0, 38, 0, 0, 0), CountSource::Record)
    );
}

#[test]
fn null_bodies_and_null_counts_read_as_absent() {
    let b = edited(
        fixture!("dheerajoruganty-conversestream-nova-lite.json"),
        |v| {
            set(v, &["input", "inputBodyJson"], Value::Null);
            set(v, &["output", "outputBodyJson"], Value::Null);
            set(v, &["input", "cacheReadInputTokenCount"], Value::Null);
        },
    );
    let e = parse(&b);
    assert_eq!(e.tokens, tokens(4, 38, 0, 0, 0));
    let b = edited(&b, |v| {
        remove(v, &["input"]);
        set(v, &["output"], Value::Null);
    });
    let e = parse(&b);
    assert_eq!(
        (e.tokens, e.count_source),
        (TokenCounts::default(), CountSource::None)
    );
}

// ---------------------------------------------------------------------------------------------
// Rejections
// ---------------------------------------------------------------------------------------------

#[test]
fn input_that_is_not_one_json_object_is_malformed() {
    let cases: [&[u8]; 12] = [
        b"",
        b"   \n",
        b"[]",
        br#"["requestId","t"]"#,
        b"null",
        b"42",
        br#""{}""#,
        b"{",
        br#"{"requestId": }"#,
        b"{} {}",
        b"{}x",
        b"\xff\xfe{}",
    ];
    for c in cases {
        assert_eq!(
            rejection(c).reason,
            RejectReason::MalformedJson,
            "{:?}",
            String::from_utf8_lossy(c)
        );
    }
}

#[test]
fn a_duplicate_envelope_field_is_malformed_and_named() {
    let b = br#"{"requestId":"a","requestId":"b"}"#;
    let r = rejection(b);
    assert_eq!(r.reason, RejectReason::MalformedJson);
    assert_eq!(r.detail, "duplicate field requestId");
}

#[test]
fn invalid_utf8_in_a_kept_string_is_malformed() {
    let mut b = fixture!("dheerajoruganty-conversestream-nova-lite.json").to_vec();
    let at = b.windows(5).position(|w| w == b"us-ea").unwrap();
    b[at] = 0xff;
    assert_eq!(rejection(&b).reason, RejectReason::MalformedJson);
}

#[test]
fn another_schema_type_is_not_an_invocation_log() {
    for st in [json!("BatchManifest"), json!(1), json!("")] {
        let b = edited(
            fixture!("dheerajoruganty-conversestream-nova-lite.json"),
            |v| {
                set(v, &["schemaType"], st);
            },
        );
        let r = rejection(&b);
        assert_eq!(r.reason, RejectReason::NotInvocationLog);
        assert_eq!(r.detail, "field schemaType: not ModelInvocationLog");
    }
}

#[test]
fn each_required_field_missing_or_empty_is_named() {
    for field in [
        "requestId",
        "timestamp",
        "modelId",
        "region",
        "accountId",
        "operation",
    ] {
        for how in ["remove", "empty", "blank", "null"] {
            let b = edited(
                fixture!("dheerajoruganty-conversestream-nova-lite.json"),
                |v| match how {
                    "remove" => remove(v, &[field]),
                    "empty" => set(v, &[field], json!("")),
                    "blank" => set(v, &[field], json!("  ")),
                    _ => set(v, &[field], Value::Null),
                },
            );
            let r = rejection(&b);
            assert_eq!(r.reason, RejectReason::MissingField, "{field} {how}");
            assert_eq!(r.detail, format!("field {field}: missing or empty"));
        }
    }
}

#[test]
fn wrong_types_are_rejected_naming_the_field() {
    let cases: [(&[&str], Value, &str); 8] = [
        (&["requestId"], json!(12), "requestId"),
        (&["modelId"], json!(["a"]), "modelId"),
        (
            &["input", "inputTokenCount"],
            json!("12"),
            "input.inputTokenCount",
        ),
        (
            &["output", "outputTokenCount"],
            json!(1.5),
            "output.outputTokenCount",
        ),
        (
            &["input", "cacheReadInputTokenCount"],
            json!(true),
            "input.cacheReadInputTokenCount",
        ),
        (
            &["input", "cacheWriteInputTokenCount"],
            json!({"n": 1}),
            "input.cacheWriteInputTokenCount",
        ),
        (&["input"], json!("text"), "input"),
        (&["output"], json!([1]), "output"),
    ];
    for (path, value, field) in cases {
        let b = edited(
            fixture!("dheerajoruganty-conversestream-nova-lite.json"),
            |v| set(v, path, value),
        );
        let r = rejection(&b);
        assert_eq!(r.reason, RejectReason::WrongType, "{field}");
        assert!(
            r.detail.starts_with(&format!("field {field}: expected")),
            "{}",
            r.detail
        );
    }
}

#[test]
fn an_unparsable_identity_or_inference_region_is_tolerated() {
    let b = edited(
        fixture!("dheerajoruganty-conversestream-nova-lite.json"),
        |v| {
            set(v, &["identity"], json!("arn:aws:iam::1:user/x"));
            set(v, &["inferenceRegion"], json!(5));
        },
    );
    let e = parse(&b);
    assert_eq!(e.principal, who("unknown", "", None));
    assert_eq!(e.inference_region, None);
}

#[test]
fn timestamps_that_are_not_iso_8601_are_bad() {
    for t in [
        "2025-13-01T00:00:00Z",
        "yesterday",
        "2025-08-15",
        "1723736801",
        "2025-08-15T25:00:00Z",
    ] {
        let b = edited(
            fixture!("dheerajoruganty-conversestream-nova-lite.json"),
            |v| {
                set(v, &["timestamp"], json!(t));
            },
        );
        let r = rejection(&b);
        assert_eq!(r.reason, RejectReason::BadTimestamp, "{t}");
        assert!(!r.detail.contains(t));
    }
    let b = edited(
        fixture!("dheerajoruganty-conversestream-nova-lite.json"),
        |v| {
            set(v, &["timestamp"], json!(1723736801));
        },
    );
    assert_eq!(rejection(&b).reason, RejectReason::WrongType);
}

#[test]
fn accepted_timestamp_spellings_all_mean_the_same_second() {
    for t in [
        "2025-08-15T15:46:41Z",
        "2025-08-15T15:46:41.999Z",
        "2025-08-15T15:46:41+00:00",
        "2025-08-15T17:46:41+02:00",
        "2025-08-15T15:46:41",
    ] {
        let b = edited(
            fixture!("dheerajoruganty-conversestream-nova-lite.json"),
            |v| {
                set(v, &["timestamp"], json!(t));
            },
        );
        assert_eq!(parse(&b).timestamp, ts(2025, 8, 15, 15, 46, 41), "{t}");
    }
}

#[test]
fn negative_counts_are_rejected_naming_the_field() {
    for (path, field) in [
        (["input", "inputTokenCount"], "input.inputTokenCount"),
        (["output", "outputTokenCount"], "output.outputTokenCount"),
        (
            ["input", "cacheWriteInputTokenCount"],
            "input.cacheWriteInputTokenCount",
        ),
    ] {
        let b = edited(
            fixture!("dheerajoruganty-conversestream-nova-lite.json"),
            |v| set(v, &path, json!(-1)),
        );
        let r = rejection(&b);
        assert_eq!(r.reason, RejectReason::NegativeCount);
        assert_eq!(r.detail, format!("field {field}: negative count"));
    }
}

#[test]
fn absurd_token_and_image_counts_are_rejected() {
    let b = edited(
        fixture!("dheerajoruganty-conversestream-nova-lite.json"),
        |v| {
            set(
                v,
                &["input", "cacheReadInputTokenCount"],
                json!(100_000_001u64),
            );
        },
    );
    let r = rejection(&b);
    assert_eq!(r.reason, RejectReason::AbsurdCount);
    assert!(r.detail.starts_with("field input.cacheReadInputTokenCount"));
    let ok = edited(
        fixture!("dheerajoruganty-conversestream-nova-lite.json"),
        |v| {
            set(
                v,
                &["input", "cacheReadInputTokenCount"],
                json!(100_000_000u64),
            );
        },
    );
    assert_eq!(parse(&ok).tokens.cache_read, 100_000_000);
    let b = edited(
        fixture!("bm-invokemodel-titan-image-generator-v2-premium-2-images.json"),
        |v| {
            set(
                v,
                &["output", "outputBodyJson", "images"],
                json!(vec!["a"; 10_001]),
            );
        },
    );
    let r = rejection(&b);
    assert_eq!(r.reason, RejectReason::AbsurdCount);
    assert_eq!(
        r.detail,
        "field output.outputBodyJson.images: more than 10000 images"
    );
}

#[test]
fn rejection_details_never_quote_body_or_field_content() {
    let secret = "TOP-SECRET-PROMPT";
    let cases = [
        edited(
            fixture!("dheerajoruganty-conversestream-nova-lite.json"),
            |v| {
                set(v, &["input", "inputTokenCount"], json!(secret));
            },
        ),
        edited(
            fixture!("dheerajoruganty-conversestream-nova-lite.json"),
            |v| {
                set(v, &["timestamp"], json!(secret));
            },
        ),
        edited(
            fixture!("dheerajoruganty-conversestream-nova-lite.json"),
            |v| {
                set(v, &["schemaType"], json!(secret));
            },
        ),
        edited(
            fixture!("bm-converse-nova-micro-no-counts-estimated.json"),
            |v| {
                set(
                    v,
                    &["output", "outputBodyJson", "usage"],
                    json!({"inputTokens": -1, "note": secret}),
                );
            },
        ),
        format!(r#"{{"requestId": "{secret}" "#).into_bytes(),
        format!(r#"{{"requestId": {secret}}}"#).into_bytes(),
    ];
    for b in cases {
        let r = rejection(&b);
        assert!(!r.detail.contains(secret), "{r}");
        assert!(!r.detail.contains("SECRET"), "{r}");
    }
}

// ---------------------------------------------------------------------------------------------
// Garbage
// ---------------------------------------------------------------------------------------------

#[test]
fn every_truncation_of_every_fixture_is_rejected_without_panicking() {
    for (name, bytes) in ALL_FIXTURES {
        let end = bytes.trim_ascii_end().len();
        for cut in 0..end {
            let r = parse_record(&bytes[..cut]);
            assert!(
                matches!(
                    r,
                    Err(Rejection {
                        reason: RejectReason::MalformedJson,
                        ..
                    })
                ),
                "{name} cut at {cut}: {r:?}"
            );
        }
    }
}

#[test]
fn deeply_nested_input_is_rejected_without_overflowing_the_stack() {
    let mut b = String::from(r#"{"requestId":"#);
    b.push_str(&"[".repeat(100_000));
    assert_eq!(rejection(b.as_bytes()).reason, RejectReason::MalformedJson);
    let mut b = String::from(r#"{"output":{"outputBodyJson":"#);
    b.push_str(&r#"{"a":"#.repeat(100_000));
    assert_eq!(rejection(b.as_bytes()).reason, RejectReason::MalformedJson);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_record(&bytes);
    }

    #[test]
    fn random_byte_flips_in_fixtures_never_panic(
        which in 0..ALL_FIXTURES.len(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut b = ALL_FIXTURES[which].1.to_vec();
        for (i, byte) in flips {
            let at = i.index(b.len());
            b[at] = byte;
        }
        let _ = parse_record(&b);
    }

    #[test]
    fn random_json_values_in_any_field_never_panic(
        which in 0..ALL_FIXTURES.len(),
        path in prop::sample::select(vec![
            vec!["input"], vec!["output"], vec!["identity"], vec!["requestMetadata"],
            vec!["input", "inputBodyJson"], vec!["output", "outputBodyJson"],
            vec!["input", "inputTokenCount"], vec!["output", "outputTokenCount"],
            vec!["modelId"], vec!["timestamp"], vec!["output", "outputBodyJson", "usage"],
            vec!["input", "inputBodyJson", "imageGenerationConfig"],
        ]),
        value in arb_json(),
    ) {
        let b = edited(&with_valid_timestamp(ALL_FIXTURES[which].1), |v| {
            let mut cur = v;
            for p in &path {
                if !cur.is_object() {
                    *cur = json!({});
                }
                cur = &mut cur[*p];
            }
            *cur = value;
        });
        let _ = parse_record(&b);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-zA-Z0-9_ :.-]{0,20}".prop_map(Value::String),
        prop::sample::select(vec![
            "INTERVENED",
            "guardrail_intervened",
            "message_start",
            "message_delta",
            "5m",
            "1h",
            "priority",
            "optimized",
            "BACKGROUND_REMOVAL",
            "premium",
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop::sample::select(vec![
                        "usage",
                        "inputTokens",
                        "input_tokens",
                        "output_tokens",
                        "cache_creation",
                        "ephemeral_1h_input_tokens",
                        "cacheDetails",
                        "ttl",
                        "type",
                        "message",
                        "amazon-bedrock-invocationMetrics",
                        "inputTokenCount",
                        "images",
                        "artifacts",
                        "numberOfImages",
                        "serviceTier",
                        "performanceConfig",
                        "latency",
                        "content",
                        "text",
                        "messages",
                        "x",
                    ]),
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// Throughput (run with `cargo test --release --lib normalize::tests::throughput -- --ignored
// --nocapture`)
// ---------------------------------------------------------------------------------------------

/// A Converse record of about `kb` KB whose bodies are mostly escaped prompt text.
fn big_record(kb: usize) -> Vec<u8> {
    let text =
        "The quick brown fox jumps over the lazy dog. \\\"Quoted\\\" text with a\\nnewline. "
            .repeat(kb * 1024 / 80);
    let answer = "A reasonably long answer sentence that the model produced. ".repeat(kb * 2);
    format!(
        r#"{{"timestamp":"2026-04-19T13:28:51Z","accountId":"123456789012","region":"us-west-2","requestId":"7487ab04-734e-470b-8dfc-46d8d8506381","operation":"Converse","modelId":"global.anthropic.claude-opus-4-5-20251101-v1:0","input":{{"inputContentType":"application/json","inputBodyJson":{{"system":[{{"text":"You are helpful."}}],"messages":[{{"role":"user","content":[{{"text":"{text}"}}]}}],"inferenceConfig":{{"maxTokens":2048}}}},"inputTokenCount":2055,"cacheReadInputTokenCount":0,"cacheWriteInputTokenCount":0}},"output":{{"outputContentType":"application/json","outputBodyJson":{{"output":{{"message":{{"role":"assistant","content":[{{"text":"{answer}"}}]}}}},"stopReason":"end_turn","metrics":{{"latencyMs":3114}},"usage":{{"inputTokens":2055,"outputTokens":113,"totalTokens":2168}}}},"outputTokenCount":113}},"identity":{{"arn":"arn:aws:sts::123456789012:assumed-role/App/s1"}},"inferenceRegion":"us-east-2","schemaType":"ModelInvocationLog","schemaVersion":"1.0"}}"#
    )
    .into_bytes()
}

#[test]
#[ignore = "throughput measurement; run in release"]
fn throughput() {
    for kb in [3, 20, 100] {
        let rec = big_record(kb);
        parse(&rec);
        let n = 200_000 / kb.max(1);
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(parse_record(std::hint::black_box(&rec)).unwrap());
        }
        let secs = start.elapsed().as_secs_f64();
        let start = std::time::Instant::now();
        for _ in 0..n {
            let r: wire::Record<'_> = serde_json::from_slice(std::hint::black_box(&rec)).unwrap();
            std::hint::black_box(r);
        }
        let envelope_secs = start.elapsed().as_secs_f64();
        println!(
            "{} KB records: {:.0} rec/s, {:.0} MB/s (envelope parse alone: {:.0} rec/s)",
            rec.len() / 1024,
            n as f64 / secs,
            (n * rec.len()) as f64 / secs / 1e6,
            n as f64 / envelope_secs,
        );
    }
}

#[test]
fn cache_tokens_missing_from_the_envelope_are_taken_from_the_anthropic_body() {
    // Real 2025 InvokeModel records carry inputTokenCount/outputTokenCount but no cache
    // fields; the Anthropic usage block in the body is then the only place cache tokens show.
    let text = std::str::from_utf8(fixture!(
        "zainzia-cwlogs-invokemodel-us-claude-sonnet-4-profile-arn-guardrail.json"
    ))
    .unwrap()
    .replace(
        r#""cache_creation_input_tokens":0,"cache_read_input_tokens":0"#,
        r#""cache_creation_input_tokens":1200,"cache_read_input_tokens":5000"#,
    );
    assert!(
        text.contains("5000"),
        "the fixture's usage block changed shape"
    );
    let ev = parse_record(text.as_bytes()).unwrap();
    assert_eq!(ev.count_source, CountSource::Record);
    assert_eq!(ev.tokens.input, 219);
    assert_eq!(ev.tokens.cache_read, 5000);
    assert_eq!(ev.tokens.cache_write_5m, 1200);
    assert!(ev.cache_ttl_assumed);
}

#[test]
fn envelope_cache_fields_win_over_the_body_when_both_are_present() {
    let text = std::str::from_utf8(fixture!(
        "zainzia-cwlogs-invokemodel-us-claude-sonnet-4-profile-arn-guardrail.json"
    ))
    .unwrap()
    .replace(
        r#""cache_creation_input_tokens":0,"cache_read_input_tokens":0"#,
        r#""cache_creation_input_tokens":1200,"cache_read_input_tokens":5000"#,
    )
    .replace(
        r#""inputTokenCount":219}"#,
        r#""inputTokenCount":219,"cacheReadInputTokenCount":7}"#,
    );
    let ev = parse_record(text.as_bytes()).unwrap();
    assert_eq!(ev.tokens.cache_read, 7);
    assert_eq!(ev.tokens.cache_write_5m, 0);
}

#[test]
fn a_huge_whitespace_run_in_a_body_to_estimate_does_not_crash_ingest() {
    // tiktoken-rs panics on one run of ~500,000 whitespace characters; bodies are counted
    // in pieces so the estimate survives it.
    let spaces = " ".repeat(600_000);
    let rec = json!({
        "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
        "timestamp": "2026-03-02T10:00:00Z", "accountId": "1", "region": "us-east-1",
        "requestId": "ws", "operation": "Converse", "modelId": "amazon.nova-lite-v1:0",
        "identity": {"arn": "arn:aws:iam::1:user/a"},
        "input": {"inputBodyJson": {"messages": [{"role": "user", "content": [{"text": format!("a{spaces}b")}]}]}},
        "output": {}
    });
    let ev = parse_record(rec.to_string().as_bytes()).unwrap();
    assert_eq!(ev.count_source, CountSource::Estimated);
    assert!(ev.tokens.input > 0);
}

#[test]
fn the_timestamp_fast_path_agrees_with_the_general_parser() {
    let general = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    for s in [
        "2026-11-01T00:00:00Z",
        "2024-02-29T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2023-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2026-11-01T24:00:00Z",
        "2026-11-01T00:60:00Z",
        "2016-12-31T23:59:60Z",
        "2026-11-01T00:00:0aZ",
        "2026-11-01t00:00:00Z",
        "+026-11-01T00:00:00Z",
    ] {
        let fast = super::parse_utc_seconds(s);
        if fast.is_some() {
            assert_eq!(fast, general(s), "{s}");
        }
        assert_eq!(
            super::parse_timestamp(s),
            general(s).map(|t| t.trunc_subsecs(0)),
            "{s}"
        );
    }
    assert!(super::parse_utc_seconds("2026-11-01T00:00:00Z").is_some());
}

/// A compact record around the given request and response bodies (raw JSON text), without
/// envelope counts unless `counts` is set, so the bodies decide the outcome.
fn with_bodies(input: &str, output: &str, counts: bool) -> Vec<u8> {
    let counts_in = if counts {
        r#","inputTokenCount":10"#
    } else {
        ""
    };
    let counts_out = if counts {
        r#","outputTokenCount":5"#
    } else {
        ""
    };
    format!(
        r#"{{"schemaType":"ModelInvocationLog","timestamp":"2026-11-26T10:00:00Z","accountId":"111122223333","region":"us-east-1","requestId":"r-1","operation":"Converse","modelId":"amazon.nova-lite-v1:0","input":{{"inputBodyJson":{input}{counts_in}}},"output":{{"outputBodyJson":{output}{counts_out}}}}}"#
    )
    .into_bytes()
}

/// Bodies that exercise every body check, plainly written, escaped, or only as a substring.
fn body_check_cases() -> Vec<Vec<u8>> {
    let plain_in = r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    let plain_out = r#"{"output":{"message":{"content":[{"text":"ok"}]}},"stopReason":"end_turn","usage":{"inputTokens":7,"outputTokens":3}}"#;
    let mut cases = Vec::new();
    for counts in [false, true] {
        for (input, output) in [
            (plain_in, plain_out),
            (
                plain_in,
                r#"{"stopReason":"guardrail_intervened","usage":{"inputTokens":7}}"#,
            ),
            (
                plain_in,
                r#"{"amazon-bedrock-guardrailAction":"INTERVENED","content":[]}"#,
            ),
            (
                plain_in,
                r#"{"amazon-bedrock-guardrailAction":"INTERV\u0045NED","content":[]}"#,
            ),
            (plain_in, r#"{"stopReason":"guardrail_interv\u0065ned"}"#),
            (
                plain_in,
                r#"{"amazon-bedrock-guardrailAction":"NONE","content":[{"text":"NOT INTERVENED"}]}"#,
            ),
            (
                plain_in,
                r#"[{"messageStop":{"stopReason":"guardrail_intervened"}}]"#,
            ),
            (
                plain_in,
                r#"{"usage":{"inputTokens":7,"outputTokens":3},"serviceTier":{"type":"priority"}}"#,
            ),
            (
                plain_in,
                r#"{"usage":{"inputTokens":7,"outputTokens":3},"service\u0054ier":{"type":"flex"}}"#,
            ),
            (
                r#"{"messages":[],"performanceConfig":{"latency":"optimized"}}"#,
                plain_out,
            ),
            (
                r#"{"messages":[],"perform\u0061nceConfig":{"latency":"optimized"}}"#,
                plain_out,
            ),
            (
                r#"{"messages":[],"serviceTier":{"type":"flex"}}"#,
                plain_out,
            ),
            (r#"{"messages":[{"text":"\"serviceTier\""}]}"#, plain_out),
            (
                plain_in,
                r#"{"usage":{"inputTokens":7,"outputTokens":3,"cacheReadInputTokens":4,"cacheWriteInputTokens":9,"cacheDetails":[{"ttl":"1h","inputTokens":9}]}}"#,
            ),
            (
                plain_in,
                r#"{"usage":{"input_tokens":7,"output_tokens":3,"cache_read_input_tokens":2,"cache_creation_input_tokens":6,"cache_creation":{"ephemeral_5m_input_tokens":1,"ephemeral_1h_input_tokens":5}}}"#,
            ),
            (
                plain_in,
                r#"{"usage":{"input_tokens":7,"output_tokens":3,"cache_read_input_tok\u0065ns":2}}"#,
            ),
            (
                plain_in,
                r#"{"text":"a long answer with an escape\n that could never spell a key, because it is far longer than any of them: ..............................................................................................................."}"#,
            ),
        ] {
            cases.push(with_bodies(input, output, counts));
        }
    }
    cases
}

#[test]
fn body_hints_give_the_same_event_as_searching_the_bodies() {
    let mut records = body_check_cases();
    records.extend(ALL_FIXTURES.iter().map(|(_, b)| b.to_vec()));
    let mut synth = crate::synth::Synth::new(11, crate::synth::SynthConfig::default());
    let at = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
    for _ in 0..3000 {
        let mut out = Vec::new();
        synth.record(at, &mut out);
        records.push(out);
    }
    for r in &records {
        assert_eq!(
            parse_with(r, true),
            parse_with(r, false),
            "{}",
            String::from_utf8_lossy(r)
        );
    }
}

#[test]
fn body_hints_see_plain_tokens_and_are_unsure_of_short_escaped_strings() {
    let hints = |input: &str, output: &str| {
        let text = String::from_utf8(with_bodies(input, output, true)).unwrap();
        fastwire::parse(&text).map(|(_, h)| h)
    };
    use body::hint::*;
    assert_eq!(
        hints(
            r#"{"serviceTier":{"type":"flex"}}"#,
            r#"{"stopReason":"guardrail_intervened"}"#
        ),
        Some([TIER, GUARDRAIL])
    );
    assert_eq!(
        hints(
            "null",
            r#"{"usage":{"cacheReadInputTokens":1,"cacheDetails":[]}}"#
        ),
        Some([0, CACHE | SPLIT])
    );
    // Only whole tokens count; an escape short enough to spell one makes the body unsure.
    assert_eq!(
        hints(r#"{"text":"my serviceTier"}"#, r#"{"a":"INTERV\u0045NED"}"#),
        Some([0, UNSURE])
    );
    // The guardrail the unsure body hides is still found.
    let r = with_bodies(
        "{}",
        r#"{"amazon-bedrock-guardrailAction":"INTERV\u0045NED"}"#,
        false,
    );
    assert_eq!(parse_with(&r, true), parse_with(&r, false));
}

#[test]
fn most_bench_records_are_read_with_sure_body_hints() {
    // The point of the hints is to skip the body searches; they only can when sure.
    let mut synth = crate::synth::Synth::new(5, crate::synth::SynthConfig::bench_small());
    let at = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
    let (mut sure, mut total) = (0, 0);
    for _ in 0..1000 {
        let mut out = Vec::new();
        synth.record(at, &mut out);
        let Ok(text) = std::str::from_utf8(&out) else {
            continue;
        };
        if let Some((_, [i, o])) = fastwire::parse(text.trim_end()) {
            total += 1;
            if (i | o) & body::hint::UNSURE == 0 {
                sure += 1;
            }
        }
    }
    assert!(sure * 10 >= total * 9, "{sure} of {total} sure");
}

#[test]
fn has_text_agrees_with_trimming() {
    for s in [
        "", " ", "\t\n\r", "\u{b}", "\u{c}", "\u{a0}", "\u{3000}", "x", " x", "\u{b}x", "é", "~",
        "!", "\u{7f}",
    ] {
        assert_eq!(has_text(s), !s.trim().is_empty(), "{s:?}");
    }
}

#[test]
fn remembered_model_ids_and_principals_are_the_same_as_fresh_ones_and_the_memo_is_bounded() {
    for raw in [
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc123",
        "not a model",
    ] {
        let fresh = model_id::resolve(raw);
        assert_eq!(memo(&MODELS, raw, model_id::resolve), fresh);
        assert_eq!(memo(&MODELS, raw, |_| unreachable!("remembered")), fresh);
    }
    let arn = "arn:aws:sts::111122223333:assumed-role/App/session-1";
    let fresh = principal::parse(Some(arn));
    assert_eq!(memo(&PRINCIPALS, arn, |a| principal::parse(Some(a))), fresh);
    assert_eq!(
        memo(&PRINCIPALS, arn, |_| unreachable!("remembered")),
        fresh
    );
    for i in 0..(2 * MEMO_ENTRIES) {
        let raw = format!("provider.model-{i}");
        assert_eq!(
            memo(&MODELS, &raw, model_id::resolve),
            model_id::resolve(&raw)
        );
    }
    assert!(MODELS.with(|m| m.borrow().len()) <= MEMO_ENTRIES);
}

proptest! {
    /// The record's UTF-8 check (simdutf8) accepts exactly what std accepts.
    #[test]
    fn utf8_validation_agrees_with_std(
        text in "\\PC{0,200}",
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        raw in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = text.into_bytes();
        for (at, v) in flips {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = v;
            }
        }
        for b in [&bytes, &raw] {
            prop_assert_eq!(simdutf8::basic::from_utf8(b).is_ok(), std::str::from_utf8(b).is_ok());
        }
    }
}

#[test]
fn utf8_edge_cases_are_judged_as_std_judges_them() {
    let cases: [&[u8]; 10] = [
        b"\xc0\xaf",             // overlong
        b"\xed\xa0\x80",         // surrogate
        b"\xf4\x90\x80\x80",     // above U+10FFFF
        b"\xf0\x9f\x98",         // truncated
        b"\xf0\x9f\x98\x80",     // U+1F600
        b"\xe2\x82\xac",         // euro
        b"\x80",                 // lone continuation
        b"abc\xff",              // invalid byte after ASCII
        "データ ±5%".as_bytes(), // the corpus's own non-ASCII
        &[b'a'; 100],
    ];
    for c in cases {
        assert_eq!(
            simdutf8::basic::from_utf8(c).is_ok(),
            std::str::from_utf8(c).is_ok(),
            "{c:?}"
        );
    }
}
