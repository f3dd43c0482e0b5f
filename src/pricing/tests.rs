//! Tests of the pricing module: the embedded table, lookups, and the loader's diagnostics.
use super::*;
use crate::normalize::ImageQuality;
use chrono::TimeZone;
use std::str::FromStr;

fn book() -> PriceBook {
    PriceBook::embedded().unwrap_or_else(|e| panic!("{e}"))
}

fn d(s: &str) -> Usd {
    Usd::from_str(s).unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn query<'a>(
    model: &'a str,
    region: &'a str,
    scope: Scope,
    tier: ServiceTier,
    when: &str,
) -> PriceQuery<'a> {
    PriceQuery {
        model,
        region,
        scope,
        tier,
        at: at(when),
    }
}

/// Input and output price per 1M tokens of the entry found for a standard-size request.
fn in_out(b: &PriceBook, q: &PriceQuery<'_>) -> Option<(Usd, Usd)> {
    let e = b.entry_for(q, 1_000)?;
    Some((
        e.token_usd_per_1m(TokenMeter::Input)?,
        e.token_usd_per_1m(TokenMeter::Output)?,
    ))
}

const MINIMAL_TABLE: &str = r#"
[table]
version = "test.1"
description = "test"

[region_groups]
us = ["us-east-1", "us-west-2"]
"#;

/// A directory with `table.toml` (unless `table` is None) and `test.toml`.
fn dir_with(table: Option<&str>, prices: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(t) = table {
        std::fs::write(dir.path().join("table.toml"), t).unwrap();
    }
    std::fs::write(dir.path().join("test.toml"), prices).unwrap();
    std::fs::write(dir.path().join("README.md"), "not toml, ignored").unwrap();
    dir
}

fn load_err(prices: &str) -> String {
    let dir = dir_with(Some(MINIMAL_TABLE), prices);
    match PriceBook::from_dir(dir.path()) {
        Ok(_) => panic!("expected the table to be rejected"),
        Err(e) => e.to_string(),
    }
}

fn entry(id: &str, extra: &str) -> String {
    format!(
        r#"
[[price]]
id = "{id}"
models = ["acme.model-v1:0"]
region_groups = ["us"]
scopes = ["in_region"]
effective_from = "2025-01-01"
source = "test"
retrieved = "2025-01-01"
confidence = "A"
{extra}
"#
    )
}

// ---------------------------------------------------------------------------------------
// The embedded table.

#[test]
fn the_embedded_table_loads_and_passes_check_without_warnings() {
    let b = book();
    assert_eq!(b.version(), "2026.11.26");
    let problems = b.check();
    assert!(
        problems.is_empty(),
        "problems:\n{}",
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let report = check_dir(None).unwrap();
    assert_eq!(report.entries, b.entries().len());
    assert!(report.entries > 150, "{} entries", report.entries);
    assert!(report.models > 80, "{} models", report.models);
    assert!(report.to_string().contains("no problems found"));
}

#[test]
fn every_embedded_entry_cites_a_source_a_date_and_a_confidence() {
    for e in book().entries() {
        assert!(!e.source().is_empty(), "{}", e.id());
        let earliest = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert!(e.retrieved() >= earliest, "{}", e.id());
        assert!(e.file().starts_with("pricing/"), "{}", e.file());
        assert!(e.line().is_some(), "{}", e.id());
    }
}

#[test]
fn embedding_models_price_output_at_an_explicit_zero() {
    let b = book();
    for model in [
        "amazon.titan-embed-text-v1",
        "amazon.titan-embed-text-v2:0",
        "cohere.embed-english-v3",
        "cohere.embed-v4:0",
    ] {
        let e = b
            .entries_matching(model, Some("us-east-1"), None)
            .into_iter()
            .find(|e| e.tier() == ServiceTier::Standard && e.prices_invocations())
            .unwrap_or_else(|| panic!("{model}"));
        assert_eq!(
            e.token_usd_per_1m(TokenMeter::Output),
            Some(Usd::ZERO),
            "{model}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Lookups.

#[test]
fn representative_keys_price_at_the_exact_table_values() {
    use Scope::*;
    use ServiceTier::*;
    let b = book();
    #[rustfmt::skip]
    let cases: &[(&str, &str, Scope, ServiceTier, &str, &str, &str)] = &[
        ("amazon.nova-lite-v1:0", "us-east-1", InRegion, Standard, "2025-03-11T00:38:02Z", "0.06", "0.24"),
        ("amazon.nova-micro-v1:0", "us-west-2", Geo, Batch, "2025-06-01T00:00:00Z", "0.0175", "0.07"),
        ("amazon.nova-pro-v1:0", "us-east-2", Geo, LatencyOptimized, "2025-06-01T00:00:00Z", "1.00", "4.00"),
        ("amazon.nova-pro-v1:0", "us-east-1", InRegion, Priority, "2026-01-01T00:00:00Z", "1.40", "5.60"),
        ("amazon.nova-premier-v1:0", "us-east-1", Geo, Flex, "2026-01-01T00:00:00Z", "1.25", "6.25"),
        ("amazon.nova-2-lite-v1:0", "us-east-1", Global, Standard, "2026-01-01T00:00:00Z", "0.30", "2.50"),
        ("amazon.nova-2-lite-v1:0", "us-east-1", Geo, Priority, "2026-01-01T00:00:00Z", "0.5775", "4.8125"),
        ("amazon.titan-text-express-v1", "us-east-1", InRegion, Standard, "2025-01-01T00:00:00Z", "0.20", "0.60"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "eu-central-1", InRegion, Batch, "2025-01-01T00:00:00Z", "0.125", "0.625"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "us-gov-west-1", InRegion, Standard, "2025-01-01T00:00:00Z", "0.30", "1.50"),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "us-west-2", InRegion, LatencyOptimized, "2025-01-01T00:00:00Z", "1.00", "5.00"),
        ("anthropic.claude-sonnet-4-20250514-v1:0", "us-east-1", Geo, Standard, "2025-08-15T15:46:41Z", "3.00", "15.00"),
        ("anthropic.claude-opus-4-5-20251101-v1:0", "us-west-2", Global, Standard, "2026-04-19T13:28:51Z", "5.00", "25.00"),
        ("anthropic.claude-opus-4-6-v1", "us-west-2", Global, Standard, "2026-04-19T23:57:01Z", "5.00", "25.00"),
        ("anthropic.claude-opus-4-7", "us-west-2", Global, Standard, "2026-04-20T00:17:33Z", "5.00", "25.00"),
        ("anthropic.claude-opus-4-7", "eu-central-1", Geo, Standard, "2026-05-01T00:00:00Z", "5.50", "27.50"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "ap-northeast-1", Geo, Batch, "2026-01-01T00:00:00Z", "0.55", "2.75"),
        ("anthropic.claude-sonnet-5", "us-east-1", Global, Standard, "2026-07-24T00:00:00Z", "2.00", "10.00"),
        ("anthropic.claude-v2:1", "ap-northeast-1", InRegion, Standard, "2025-01-01T00:00:00Z", "8.00", "24.00"),
        ("meta.llama3-1-405b-instruct-v1:0", "us-east-1", InRegion, Standard, "2024-09-11T17:16:18Z", "5.32", "16.00"),
        ("meta.llama3-1-405b-instruct-v1:0", "us-east-1", Geo, Standard, "2025-06-01T00:00:00Z", "2.40", "2.40"),
        ("meta.llama3-1-70b-instruct-v1:0", "us-east-2", Geo, LatencyOptimized, "2025-06-01T00:00:00Z", "0.90", "0.90"),
        ("meta.llama4-maverick-17b-instruct-v1:0", "us-west-2", Geo, Batch, "2025-06-01T00:00:00Z", "0.12", "0.485"),
        ("mistral.mistral-large-2402-v1:0", "us-west-2", InRegion, Standard, "2025-06-01T00:00:00Z", "8.00", "24.00"),
        ("cohere.command-text-v14", "us-east-1", InRegion, Standard, "2025-06-01T00:00:00Z", "1.50", "2.00"),
        ("ai21.jamba-1-5-large-v1:0", "us-east-1", InRegion, Standard, "2025-06-01T00:00:00Z", "2.00", "8.00"),
        ("deepseek.v3-v1:0", "us-west-2", Geo, Flex, "2026-01-01T00:00:00Z", "0.29", "0.84"),
        ("openai.gpt-oss-120b-1:0", "us-west-2", InRegion, Priority, "2026-01-01T00:00:00Z", "0.2625", "1.05"),
        ("writer.palmyra-x5-v1:0", "us-west-2", Geo, Standard, "2026-01-01T00:00:00Z", "0.60", "6.00"),
    ];
    for &(model, region, scope, tier, when, i, o) in cases {
        let q = query(model, region, scope, tier, when);
        assert_eq!(
            in_out(&b, &q),
            Some((d(i), d(o))),
            "{model} {region} {scope:?} {tier:?} {when}"
        );
    }
}

#[test]
fn cache_meters_are_priced_per_model() {
    let b = book();
    let q = query(
        "anthropic.claude-opus-4-6-v1",
        "us-west-2",
        Scope::Global,
        ServiceTier::Standard,
        "2026-04-19T23:57:01Z",
    );
    let e = b.entry_for(&q, 24_479).unwrap();
    assert_eq!(e.token_usd_per_1m(TokenMeter::CacheRead), Some(d("0.50")));
    assert_eq!(
        e.token_usd_per_1m(TokenMeter::CacheWrite5m),
        Some(d("6.25"))
    );
    assert_eq!(
        e.token_usd_per_1m(TokenMeter::CacheWrite1h),
        Some(d("10.00"))
    );

    // Nova: reads at 0.25x input, writes at the input rate, no 1-hour TTL.
    let q = query(
        "amazon.nova-lite-v1:0",
        "us-east-1",
        Scope::InRegion,
        ServiceTier::Standard,
        "2025-03-11T00:38:02Z",
    );
    let e = b.entry_for(&q, 10).unwrap();
    assert_eq!(e.token_usd_per_1m(TokenMeter::CacheRead), Some(d("0.015")));
    assert_eq!(
        e.token_usd_per_1m(TokenMeter::CacheWrite5m),
        Some(d("0.06"))
    );
    assert_eq!(e.token_usd_per_1m(TokenMeter::CacheWrite1h), None);

    // Claude 3 Haiku has no cache prices at all.
    let q = query(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "us-east-1",
        Scope::InRegion,
        ServiceTier::Standard,
        "2025-01-01T00:00:00Z",
    );
    let e = b.entry_for(&q, 10).unwrap();
    assert_eq!(e.token_usd_per_1m(TokenMeter::CacheRead), None);
}

#[test]
fn claude_3_5_sonnet_moves_to_extended_access_prices_on_2025_12_01() {
    let b = book();
    for (model, cache) in [
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", None),
        (
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            Some(("0.30", "0.60")),
        ),
    ] {
        let before = query(
            model,
            "us-east-1",
            Scope::InRegion,
            ServiceTier::Standard,
            "2025-11-30T23:59:59Z",
        );
        let after = query(
            model,
            "us-east-1",
            Scope::InRegion,
            ServiceTier::Standard,
            "2025-12-01T00:00:00Z",
        );
        let (eb, ea) = (
            b.entry_for(&before, 10).unwrap(),
            b.entry_for(&after, 10).unwrap(),
        );
        assert_ne!(eb.id(), ea.id(), "{model}");
        assert_eq!(
            in_out(&b, &before),
            Some((d("3.00"), d("15.00"))),
            "{model}"
        );
        assert_eq!(in_out(&b, &after), Some((d("6.00"), d("30.00"))), "{model}");
        assert_eq!(eb.effective_to(), Some(ea.effective_from()));
        let cr = |e: &PriceEntry| e.token_usd_per_1m(TokenMeter::CacheRead);
        match cache {
            None => assert_eq!((cr(eb), cr(ea)), (None, None)),
            Some((old, new)) => assert_eq!((cr(eb), cr(ea)), (Some(d(old)), Some(d(new)))),
        }
        // Batch moves on the same day.
        let mut bq = before;
        bq.tier = ServiceTier::Batch;
        let mut aq = after;
        aq.tier = ServiceTier::Batch;
        assert_eq!(in_out(&b, &bq), Some((d("1.50"), d("7.50"))));
        assert_eq!(in_out(&b, &aq), Some((d("3.00"), d("15.00"))));
    }
}

#[test]
fn sonnet_4_5_global_is_cheaper_than_geo_and_in_region() {
    let b = book();
    let model = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    let when = "2026-01-15T10:00:00Z";
    let price = |scope| {
        let e = b
            .entry_for(
                &query(model, "us-east-1", scope, ServiceTier::Standard, when),
                1_000,
            )
            .unwrap();
        TokenMeter::ALL.map(|m| e.token_usd_per_1m(m).unwrap())
    };
    let global = price(Scope::Global);
    assert_eq!(global, ["3.00", "15.00", "0.30", "3.75", "6.00"].map(d));
    let geo = ["3.30", "16.50", "0.33", "4.125", "6.60"].map(d);
    assert_eq!(price(Scope::Geo), geo);
    assert_eq!(price(Scope::InRegion), geo);
    for (g, r) in global.iter().zip(geo) {
        assert_eq!(*g * d("1.1"), r);
    }
    // Same in Frankfurt (Anthropic prices do not vary by commercial region).
    let e = b
        .entry_for(
            &query(model, "eu-central-1", Scope::Geo, ServiceTier::Batch, when),
            1_000,
        )
        .unwrap();
    assert_eq!(e.token_usd_per_1m(TokenMeter::Input), Some(d("1.65")));
}

#[test]
fn the_long_context_band_applies_only_above_200000_input_tokens() {
    let b = book();
    for (model, scope, long_in) in [
        (
            "anthropic.claude-sonnet-4-20250514-v1:0",
            Scope::Geo,
            "6.00",
        ),
        (
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            Scope::Global,
            "6.00",
        ),
        (
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            Scope::InRegion,
            "6.60",
        ),
    ] {
        let q = query(
            model,
            "us-west-2",
            scope,
            ServiceTier::Standard,
            "2026-01-01T00:00:00Z",
        );
        let at_threshold = b.entry_for(&q, 200_000).unwrap();
        let above = b.entry_for(&q, 200_001).unwrap();
        assert_eq!(
            at_threshold.context_band(),
            ContextBand::Standard,
            "{model}"
        );
        assert_eq!(above.context_band(), ContextBand::Long, "{model}");
        assert_eq!(above.long_context_threshold(), Some(200_000));
        assert_eq!(above.token_usd_per_1m(TokenMeter::Input), Some(d(long_in)));
        assert_eq!(above.confidence(), Confidence::C);
    }
    // No long band for Opus 4.6: a huge prompt still prices at the standard entry.
    let q = query(
        "anthropic.claude-opus-4-6-v1",
        "us-west-2",
        Scope::Global,
        ServiceTier::Standard,
        "2026-04-19T00:00:00Z",
    );
    assert_eq!(
        b.entry_for(&q, 900_000).unwrap().context_band(),
        ContextBand::Standard
    );
}

#[test]
fn image_bands_pick_the_smallest_band_that_holds_the_requested_size() {
    let b = book();
    let image_entry = |model: &str| {
        b.entry_for(
            &query(
                model,
                "us-east-1",
                Scope::InRegion,
                ServiceTier::Standard,
                "2025-06-01T00:00:00Z",
            ),
            0,
        )
        .unwrap_or_else(|| panic!("{model}"))
    };
    let price = |e: &PriceEntry, q, w, h| e.image_price(q, w, h).map(|p| (p.usd_per_image, p.band));
    use ImageQuality::*;

    let canvas = image_entry("amazon.nova-canvas-v1:0");
    assert_eq!(
        price(canvas, Standard, Some(1024), Some(1024)),
        Some((d("0.04"), "1024x1024/standard".into()))
    );
    assert_eq!(
        price(canvas, Premium, Some(1280), Some(720)),
        Some((d("0.06"), "1024x1024/premium".into()))
    );
    assert_eq!(
        price(canvas, Standard, Some(2048), Some(1024)),
        Some((d("0.06"), "2048x2048/standard".into()))
    );
    assert_eq!(
        price(canvas, Premium, Some(2048), Some(2048)),
        Some((d("0.08"), "2048x2048/premium".into()))
    );
    assert_eq!(
        price(canvas, Premium, None, None),
        Some((d("0.06"), "1024x1024/premium".into()))
    );
    assert_eq!(price(canvas, Standard, Some(4096), Some(4096)), None);

    let titan = image_entry("amazon.titan-image-generator-v2:0");
    assert_eq!(
        price(titan, Standard, Some(512), Some(512)),
        Some((d("0.008"), "512x512/standard".into()))
    );
    assert_eq!(
        price(titan, Premium, Some(1408), Some(768)),
        Some((d("0.012"), "any-size/premium".into()))
    );
    assert_eq!(
        price(titan, Standard, None, Some(768)),
        Some((d("0.008"), "512x512/standard".into()))
    );

    let sdxl = image_entry("stability.stable-diffusion-xl-v1");
    assert_eq!(
        price(sdxl, Premium, Some(1024), Some(1024)),
        Some((d("0.08"), "1024x1024/premium".into()))
    );
    assert_eq!(
        price(sdxl, Standard, Some(1152), Some(896)),
        Some((d("0.04"), "1024x1024/standard".into()))
    );

    let core = image_entry("stability.stable-image-core-v1:1");
    assert_eq!(
        price(core, Premium, Some(1536), Some(640)),
        Some((d("0.04"), "any-size/any".into()))
    );
    let ultra = image_entry("stability.sd3-5-large-v1:0");
    assert_eq!(
        price(ultra, Standard, None, None).map(|p| p.0),
        Some(d("0.08"))
    );
}

#[test]
fn model_ids_match_exactly_or_with_the_trailing_colon_zero_toggled_and_nothing_fuzzier() {
    let b = book();
    let find = |model: &str| {
        b.entry_for(
            &query(
                model,
                "us-west-2",
                Scope::Global,
                ServiceTier::Standard,
                "2026-04-19T00:00:00Z",
            ),
            10,
        )
        .map(|e| e.id().to_string())
    };
    let exact = find("anthropic.claude-opus-4-6-v1").unwrap();
    assert_eq!(find("anthropic.claude-opus-4-6-v1:0"), Some(exact));
    let exact = find("anthropic.claude-opus-4-5-20251101-v1:0").unwrap();
    assert_eq!(find("anthropic.claude-opus-4-5-20251101-v1"), Some(exact));
    assert_eq!(find("anthropic.claude-opus-4-6"), None);
    assert_eq!(find("anthropic.claude-opus-4-6-v1:1"), None);
    assert_eq!(find("ANTHROPIC.CLAUDE-OPUS-4-6-V1"), None);
    assert_eq!(find("global.anthropic.claude-opus-4-6-v1"), None);
}

#[test]
fn a_missing_price_is_none_never_zero() {
    let b = book();
    let none = |model, region, scope, tier, when| {
        assert!(
            b.entry_for(&query(model, region, scope, tier, when), 10)
                .is_none(),
            "{model} {region} {scope:?} {tier:?} {when}"
        );
    };
    // Unknown model.
    none(
        "acme.unknown-v1:0",
        "us-east-1",
        Scope::InRegion,
        ServiceTier::Standard,
        "2026-01-01T00:00:00Z",
    );
    // No source prices Titan Text Express or open-weight models outside the US.
    none(
        "amazon.titan-text-express-v1",
        "ap-northeast-1",
        Scope::InRegion,
        ServiceTier::Standard,
        "2025-01-01T00:00:00Z",
    );
    none(
        "meta.llama3-1-405b-instruct-v1:0",
        "eu-central-1",
        Scope::InRegion,
        ServiceTier::Standard,
        "2025-06-01T00:00:00Z",
    );
    // Opus 4.1 has no batch price.
    none(
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "us-east-1",
        Scope::InRegion,
        ServiceTier::Batch,
        "2026-01-01T00:00:00Z",
    );
    // Before the model existed.
    none(
        "anthropic.claude-opus-4-7",
        "us-west-2",
        Scope::Global,
        ServiceTier::Standard,
        "2026-04-15T23:59:59Z",
    );
    // 3.5 Sonnet v2 extended access is listed for US regions only.
    none(
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "ap-northeast-1",
        Scope::InRegion,
        ServiceTier::Standard,
        "2026-01-01T00:00:00Z",
    );
    // Flex before the service tiers launched.
    none(
        "amazon.nova-pro-v1:0",
        "us-east-1",
        Scope::InRegion,
        ServiceTier::Flex,
        "2025-11-17T23:59:59Z",
    );
}

#[test]
fn the_models_of_the_invocation_log_fixtures_are_priced() {
    let b = book();
    #[rustfmt::skip]
    let cases = [
        ("amazon.nova-lite-v1:0", "us-east-1", Scope::InRegion, "2025-03-11T00:38:02Z"),
        ("anthropic.claude-opus-4-5-20251101-v1:0", "us-west-2", Scope::Global, "2026-04-19T13:28:51Z"),
        ("anthropic.claude-opus-4-6-v1", "us-west-2", Scope::Global, "2026-04-19T23:57:01Z"),
        ("anthropic.claude-opus-4-7", "us-west-2", Scope::Global, "2026-04-20T00:17:33Z"),
        ("anthropic.claude-sonnet-4-20250514-v1:0", "us-east-1", Scope::Geo, "2025-08-15T15:46:41Z"),
        ("anthropic.claude-v2:1", "ap-northeast-1", Scope::InRegion, "2025-01-01T00:00:00Z"),
        ("meta.llama3-1-405b-instruct-v1:0", "us-east-1", Scope::InRegion, "2024-09-11T17:16:18Z"),
    ];
    for (model, region, scope, when) in cases {
        let q = query(model, region, scope, ServiceTier::Standard, when);
        assert!(b.entry_for(&q, 1_000).is_some(), "{model} {region} {when}");
    }
}

#[test]
fn provisioned_throughput_and_customization_have_their_own_lookups() {
    let b = book();
    let when = at("2025-06-01T00:00:00Z");
    let e = b
        .provisioned_entry("anthropic.claude-instant-v1", "us-west-2", when)
        .unwrap();
    assert_eq!(
        e.provisioned_usd_per_mu_hour(CommitmentTerm::None),
        Some(d("44.00"))
    );
    assert_eq!(
        e.provisioned_usd_per_mu_hour(CommitmentTerm::OneMonth),
        Some(d("39.60"))
    );
    assert_eq!(
        e.provisioned_usd_per_mu_hour(CommitmentTerm::SixMonths),
        Some(d("22.00"))
    );
    let tokyo = b
        .provisioned_entry("anthropic.claude-v2:1", "ap-northeast-1", when)
        .unwrap();
    assert_eq!(
        tokyo.provisioned_usd_per_mu_hour(CommitmentTerm::OneMonth),
        Some(d("86.00"))
    );
    assert_eq!(
        tokyo.provisioned_usd_per_mu_hour(CommitmentTerm::None),
        None
    );
    assert!(
        b.provisioned_entry("anthropic.claude-v2:1", "eu-west-1", when)
            .is_none()
    );

    let c = b
        .customization_entry("cohere.command-text-v14", "us-east-1", when)
        .unwrap();
    assert_eq!(c.training_usd_per_1m_tokens(), Some(d("4.00")));
    assert_eq!(c.custom_model_storage_usd_per_month(), Some(d("1.95")));
    let canvas = b
        .customization_entry("amazon.nova-canvas-v1:0", "us-east-1", when)
        .unwrap();
    assert_eq!(canvas.training_usd_per_image(), Some(d("0.005")));
    // A provisioned-only entry never answers a per-token lookup.
    let q = query(
        "meta.llama2-13b-v1",
        "us-east-1",
        Scope::InRegion,
        ServiceTier::Standard,
        "2025-06-01T00:00:00Z",
    );
    assert!(b.entry_for(&q, 10).is_none());
}

#[test]
fn entries_matching_accepts_profile_ids_and_arns_and_filters_by_scope_region_and_date() {
    let b = book();
    let base = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    let all = b.entries_matching(base, None, None);
    assert_eq!(all.len(), 6);
    let global = b.entries_matching(&format!("global.{base}"), Some("us-east-1"), None);
    assert!(!global.is_empty());
    assert!(global.iter().all(|e| e.scopes().contains(&Scope::Global)));
    let geo = b.entries_matching(&format!("eu.{base}"), Some("eu-central-1"), None);
    assert!(!geo.is_empty());
    assert!(geo.iter().all(|e| e.scopes().contains(&Scope::Geo)));
    assert_eq!(global.len() + geo.len(), all.len());
    let arn = format!("arn:aws:bedrock:us-west-2:123456789012:inference-profile/global.{base}");
    assert_eq!(b.entries_matching(&arn, None, None).len(), global.len());

    // Date filter: the 3.5 Sonnet v1 change.
    let v1 = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    let nov = b.entries_matching(v1, Some("us-east-1"), Some(at("2025-11-30T00:00:00Z")));
    let dec = b.entries_matching(v1, Some("us-east-1"), Some(at("2025-12-01T00:00:00Z")));
    assert_eq!(nov.len(), 2);
    assert_eq!(dec.len(), 2);
    assert!(
        nov.iter().all(
            |e| e.effective_to() == Some(chrono::NaiveDate::from_ymd_opt(2025, 12, 1).unwrap())
        )
    );
    assert!(dec.iter().all(|e| e.effective_to().is_none()));
    // Sorted by tier: standard first.
    assert_eq!(dec[0].tier(), ServiceTier::Standard);
    // Region filter excludes regions the entry does not price.
    assert!(
        b.entries_matching("amazon.nova-lite-v1:0", Some("eu-central-1"), None)
            .is_empty()
    );
    assert!(b.entries_matching("acme.nothing", None, None).is_empty());
}

#[test]
fn entry_accessors_expose_everything_pricing_show_needs() {
    let b = book();
    let e = b
        .entry_by_id("anthropic.claude-sonnet-4-5/global/long-context/2025-09-29")
        .unwrap();
    assert_eq!(
        e.models(),
        ["anthropic.claude-sonnet-4-5-20250929-v1:0".to_string()]
    );
    assert_eq!(e.region_groups(), ["commercial".to_string()]);
    assert!(e.regions().iter().any(|r| r == "eu-central-1"));
    assert!(e.regions().iter().any(|r| r == "ap-northeast-1"));
    assert_eq!(e.scopes(), [Scope::Global]);
    assert_eq!(e.tier(), ServiceTier::Standard);
    assert_eq!(e.context_band(), ContextBand::Long);
    assert_eq!(e.long_context_threshold(), Some(200_000));
    assert_eq!(e.effective_from().to_string(), "2025-09-29");
    assert_eq!(e.effective_to(), None);
    let meters: Vec<(&str, Usd)> = e.meters().map(|(m, p)| (m.key(), p)).collect();
    assert_eq!(
        meters,
        vec![
            ("input_usd_per_1m_tokens", d("6.00")),
            ("output_usd_per_1m_tokens", d("22.50")),
            ("cache_read_usd_per_1m_tokens", d("0.60")),
            ("cache_write_5m_usd_per_1m_tokens", d("7.50")),
            ("cache_write_1h_usd_per_1m_tokens", d("12.00")),
        ]
    );
    assert_eq!(e.confidence().as_str(), "C");
    assert!(e.source().contains("LiteLLM"));
    assert_eq!(e.retrieved().to_string(), "2026-07-24");
    assert!(e.note().unwrap().contains("whole-request"));
    assert!(b.models().contains(&"anthropic.claude-opus-4-7"));
    assert!(b.regions().contains(&"us-gov-west-1"));
    assert!(b.region_groups().contains_key("commercial"));
    let canvas = b
        .entry_by_id("amazon.nova-canvas/standard/2024-12-03")
        .unwrap();
    assert_eq!(canvas.image_bands().len(), 4);
    assert_eq!(canvas.image_bands()[3].max_pixels(), Some(2048 * 2048));
    let pt = b
        .entry_by_id("cohere.command/provisioned/2023-11-13")
        .unwrap();
    let terms: Vec<_> = pt
        .provisioned_terms()
        .map(|(t, p)| (t.as_str(), p))
        .collect();
    assert_eq!(
        terms,
        vec![
            ("no_commitment", d("49.50")),
            ("one_month", d("39.60")),
            ("six_months", d("23.77"))
        ]
    );
    assert!(b.entry_by_id("no-such-entry").is_none());
}

#[test]
#[ignore = "timing measurement; run by hand in release (timed assertions stay out of the suite)"]
fn a_lookup_takes_well_under_a_microsecond_on_average() {
    let b = book();
    let q = query(
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us-east-1",
        Scope::Geo,
        ServiceTier::Standard,
        "2026-01-15T10:00:00Z",
    );
    let n: u32 = 100_000;
    let start = std::time::Instant::now();
    let mut found = 0u32;
    for i in 0..n {
        found += u32::from(b.entry_for(&q, u64::from(i)).is_some());
    }
    let per = start.elapsed() / n;
    assert_eq!(found, n);
    // Debug builds are several times slower than release; this bound catches a regression
    // to an allocating or scanning lookup without being flaky.
    assert!(
        per < std::time::Duration::from_micros(5),
        "{per:?} per lookup"
    );
}

// ---------------------------------------------------------------------------------------
// Loader diagnostics.

#[test]
fn overlapping_date_ranges_for_the_same_key_are_rejected_naming_both_ids_and_the_key() {
    let prices = format!(
        "{}{}",
        entry(
            "first",
            "effective_to = \"2025-07-01\"\ninput_usd_per_1m_tokens = \"1.00\""
        ),
        entry("second", "input_usd_per_1m_tokens = \"2.00\"").replace(
            "effective_from = \"2025-01-01\"",
            "effective_from = \"2025-06-01\""
        ),
    );
    let err = load_err(&prices);
    assert!(err.contains("`first`"), "{err}");
    assert!(err.contains("`second`"), "{err}");
    assert!(err.contains("acme.model-v1:0 in us-east-1"), "{err}");
    assert!(
        err.contains("scope in_region tier standard context standard"),
        "{err}"
    );
    assert!(err.contains("(and 1 more keys)"), "{err}");
    assert!(err.contains("effective_to = \"2025-06-01\""), "{err}");
}

#[test]
fn adjacent_date_ranges_and_different_tiers_do_not_overlap() {
    let prices = format!(
        "{}{}{}",
        entry(
            "old",
            "effective_to = \"2025-06-01\"\ninput_usd_per_1m_tokens = \"1.00\""
        ),
        entry("new", "input_usd_per_1m_tokens = \"2.00\"").replace(
            "effective_from = \"2025-01-01\"",
            "effective_from = \"2025-06-01\""
        ),
        entry(
            "batch",
            "service_tier = \"batch\"\ninput_usd_per_1m_tokens = \"0.50\""
        ),
    );
    let dir = dir_with(Some(MINIMAL_TABLE), &prices);
    let b = PriceBook::from_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let q = |when| {
        query(
            "acme.model-v1:0",
            "us-west-2",
            Scope::InRegion,
            ServiceTier::Standard,
            when,
        )
    };
    assert_eq!(
        b.entry_for(&q("2025-05-31T23:59:59Z"), 1).unwrap().id(),
        "old"
    );
    assert_eq!(
        b.entry_for(&q("2025-06-01T00:00:00Z"), 1).unwrap().id(),
        "new"
    );
}

#[test]
fn a_negative_price_is_rejected_naming_the_file_entry_and_key() {
    let err = load_err(&entry("neg", "output_usd_per_1m_tokens = \"-1.50\""));
    assert!(err.contains("test.toml:"), "{err}");
    assert!(err.contains("entry `neg`"), "{err}");
    assert!(err.contains("key `output_usd_per_1m_tokens`"), "{err}");
    assert!(err.contains("negative price"), "{err}");
}

#[test]
fn a_float_or_integer_price_is_rejected_with_the_fix() {
    let err = load_err(&entry(
        "floaty",
        "input_usd_per_1m_tokens = 3.00 # per 1M\noutput_usd_per_1m_tokens = 15",
    ));
    assert!(err.contains("entry `floaty`"), "{err}");
    assert!(err.contains("key `input_usd_per_1m_tokens`"), "{err}");
    assert!(err.contains("TOML float"), "{err}");
    assert!(
        err.contains(r#"write input_usd_per_1m_tokens = "3.00""#),
        "{err}"
    );
    assert!(err.contains("TOML integer"), "{err}");
    assert!(
        err.contains(r#"write output_usd_per_1m_tokens = "15""#),
        "{err}"
    );
    // The line of the offending key is named.
    assert!(err.contains("test.toml:11:"), "{err}");
}

#[test]
fn a_float_price_inside_an_image_band_or_provisioned_table_is_rejected_too() {
    let err = load_err(&entry(
        "nested",
        "provisioned_usd_per_model_unit_hour = { one_month = 39.6 }\n\n[[price.images]]\nusd_per_image = 0.04",
    ));
    assert!(
        err.contains("provisioned_usd_per_model_unit_hour.one_month = 39.6 is a TOML float"),
        "{err}"
    );
    assert!(
        err.contains("images[0].usd_per_image = 0.04 is a TOML float"),
        "{err}"
    );
}

#[test]
fn an_unknown_key_is_rejected_with_a_suggestion() {
    let err = load_err(&entry(
        "typo",
        "input_usd_per_1m_tokens = \"1\"\noutput_usd_per_1m_token = \"2\"\ncache_read_usd_per_1k_tokens = \"0.0003\"\nflavour = \"x\"",
    ));
    assert!(err.contains("key `output_usd_per_1m_token`"), "{err}");
    assert!(err.contains("use `output_usd_per_1m_tokens`"), "{err}");
    assert!(
        err.contains("use `cache_read_usd_per_1m_tokens` (multiply the per-1K price by 1000)"),
        "{err}"
    );
    assert!(
        err.contains("unknown key `flavour`; allowed keys:"),
        "{err}"
    );
}

#[test]
fn an_unknown_region_group_is_rejected_naming_the_group_and_the_defined_ones() {
    let err = load_err(
        &entry("grp", "input_usd_per_1m_tokens = \"1\"")
            .replace("region_groups = [\"us\"]", "region_groups = [\"emea\"]"),
    );
    assert!(err.contains("key `region_groups`"), "{err}");
    assert!(
        err.contains("unknown region group `emea`; table.toml defines: us"),
        "{err}"
    );
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let prices = format!(
        "{}{}{}{}{}{}",
        entry(
            "dates",
            "input_usd_per_1m_tokens = \"1\"\neffective_to = \"2024-12-31\""
        ),
        entry("bad-date", "input_usd_per_1m_tokens = \"1\"").replace(
            "effective_from = \"2025-01-01\"",
            "effective_from = \"2025-1-5\""
        ),
        entry("empty", "input_usd_per_1m_tokens = \"1\"")
            .replace("models = [\"acme.model-v1:0\"]", "models = []"),
        entry(
            "dup",
            "input_usd_per_1m_tokens = \"1\"\nservice_tier = \"batch\""
        ),
        entry(
            "dup",
            "input_usd_per_1m_tokens = \"1\"\nservice_tier = \"flex\""
        ),
        entry("conf", "input_usd_per_1m_tokens = \"1\"")
            .replace("confidence = \"A\"", "confidence = \"Z\""),
    );
    let err = load_err(&prices);
    for needle in [
        "entry `dates`: key `effective_to`: effective_to (2024-12-31) must be after effective_from (2025-01-01)",
        "entry `bad-date`: key `effective_from`: \"2025-1-5\" is not a UTC date",
        "entry `empty`: key `models`: empty `models`",
        "duplicate id",
        "unknown confidence `Z`",
        "5 errors",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

#[test]
fn profile_ids_arns_and_empty_region_lists_are_rejected_as_model_or_region_specs() {
    let prices = format!(
        "{}{}",
        entry("profile", "input_usd_per_1m_tokens = \"1\"").replace(
            "models = [\"acme.model-v1:0\"]",
            "models = [\"us.anthropic.claude-x-v1:0\"]"
        ),
        entry("noregion", "input_usd_per_1m_tokens = \"1\"")
            .replace("region_groups = [\"us\"]\n", "regions = [\"US-East-1\"]\n"),
    );
    let err = load_err(&prices);
    assert!(
        err.contains("list the base model id `anthropic.claude-x-v1:0`"),
        "{err}"
    );
    assert!(
        err.contains("`US-East-1` is not an AWS region code"),
        "{err}"
    );
    let err = load_err(
        &entry("none", "input_usd_per_1m_tokens = \"1\"").replace("region_groups = [\"us\"]\n", ""),
    );
    assert!(err.contains("the entry prices no region"), "{err}");
}

#[test]
fn entries_that_price_nothing_or_miss_required_keys_are_rejected() {
    let err = load_err(&entry("nothing", ""));
    assert!(err.contains("the entry prices nothing"), "{err}");
    let err = load_err("[[price]]\nid = \"bare\"\ninput_usd_per_1m_tokens = \"1\"\n");
    for k in [
        "models",
        "scopes",
        "effective_from",
        "source",
        "retrieved",
        "confidence",
    ] {
        assert!(
            err.contains(&format!("missing required key `{k}`")),
            "{k}: {err}"
        );
    }
}

#[test]
fn long_context_entries_need_a_threshold_and_standard_ones_refuse_one() {
    let err = load_err(&entry(
        "long",
        "context = \"long\"\ninput_usd_per_1m_tokens = \"6\"",
    ));
    assert!(
        err.contains("needs long_context_threshold_input_tokens"),
        "{err}"
    );
    let err = load_err(&entry(
        "std",
        "long_context_threshold_input_tokens = 200000\ninput_usd_per_1m_tokens = \"6\"",
    ));
    assert!(
        err.contains("only context = \"long\" entries take a threshold"),
        "{err}"
    );
}

#[test]
fn table_toml_problems_are_reported() {
    let dir = dir_with(None, &entry("x", "input_usd_per_1m_tokens = \"1\""));
    let err = PriceBook::from_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("no table.toml"), "{err}");

    let bad_table = "[table]\nversion = \"\"\nowner = \"me\"\n[region_groups]\nus = [\"us-east-1\", \"useast2\"]\n[extra]\n";
    let dir = dir_with(
        Some(bad_table),
        &entry("x", "input_usd_per_1m_tokens = \"1\""),
    );
    let err = PriceBook::from_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("unknown key `table.owner`"), "{err}");
    assert!(err.contains("unknown top-level key `extra`"), "{err}");

    let bad_groups = "[table]\nversion = \" \"\n[region_groups]\nus = [\"us-east-1\", \"useast2\"]\nempty = []\n";
    let dir = dir_with(
        Some(bad_groups),
        &entry("x", "input_usd_per_1m_tokens = \"1\""),
    );
    let err = PriceBook::from_dir(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("table version must be a non-empty string"),
        "{err}"
    );
    assert!(err.contains("`useast2` is not an AWS region code"), "{err}");
    assert!(err.contains("empty region group"), "{err}");
}

#[test]
fn invalid_toml_is_reported_with_its_file_and_line() {
    let err = load_err("[[price]]\nid = \"x\"\nmodels = [\"a.b\"\n");
    assert!(err.contains("test.toml:"), "{err}");
    assert!(err.contains("not valid TOML"), "{err}");
}

#[test]
fn unquoted_toml_dates_are_rejected_with_the_quoted_form() {
    let err = load_err(&entry("date", "input_usd_per_1m_tokens = \"1\"").replace(
        "effective_from = \"2025-01-01\"",
        "effective_from = 2025-01-01",
    ));
    assert!(
        err.contains(r#"write effective_from = "2025-01-01""#),
        "{err}"
    );
}

#[test]
fn check_dir_reports_counts_for_a_good_directory_and_every_problem_of_a_bad_one() {
    let dir = dir_with(
        Some(MINIMAL_TABLE),
        &format!(
            "{}{}",
            entry("std", "input_usd_per_1m_tokens = \"1\""),
            entry(
                "long",
                "context = \"long\"\nlong_context_threshold_input_tokens = 1000\ninput_usd_per_1m_tokens = \"2\"\nscopes = [\"global\"]"
            )
            .replace("scopes = [\"in_region\"]\n", "")
        ),
    );
    let report = check_dir(Some(dir.path())).unwrap();
    assert_eq!(
        (report.files, report.entries, report.models, report.regions),
        (2, 2, 1, 2)
    );
    assert_eq!(report.version, "test.1");
    assert_eq!(report.entries_by_confidence.get("A"), Some(&2));
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0]
            .message
            .contains("no standard-context entry")
    );
    assert_eq!(report.warnings[0].severity, Severity::Warning);

    let bad = dir_with(
        Some(MINIMAL_TABLE),
        &entry(
            "neg",
            "input_usd_per_1m_tokens = \"-1\"\noutput_usd_per_1m_tokens = 2.5",
        ),
    );
    let err = check_dir(Some(bad.path())).unwrap_err().to_string();
    assert!(err.contains("2 errors"), "{err}");
}

#[test]
fn prices_must_be_plain_decimals() {
    for ok in ["0", "3.00", "0.00875", "1000000"] {
        assert!(load::parse_price(ok).is_ok(), "{ok}");
    }
    for bad in [
        "", "1e-5", "+1", " 1", "1.", ".5", "1,000", "$3", "NaN", "-0.01",
    ] {
        assert!(load::parse_price(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn the_unix_day_boundaries_are_utc_midnight() {
    let e = book();
    let e = e
        .entry_by_id("anthropic.claude-3-5-sonnet-v1/standard/2024-06-20")
        .unwrap();
    assert!(e.is_effective_at(Utc.with_ymd_and_hms(2025, 11, 30, 23, 59, 59).unwrap()));
    assert!(!e.is_effective_at(Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap()));
    assert!(!e.is_effective_at(Utc.with_ymd_and_hms(2024, 6, 19, 23, 59, 59).unwrap()));
}
