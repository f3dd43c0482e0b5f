//! The command line: exit codes, report formats, idempotent re-reads, bad input.
use crate::util::{fixture, fixtures_dir, run, stdout, synth_record};
use std::io::Write;
use std::path::Path;

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| {
        panic!(
            "{e}: {} / {}",
            stdout(o),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn ingest(db: &Path, paths: &[&Path], extra: &[&str]) -> std::process::Output {
    let mut args = vec!["ingest", "--db", db.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    run(&args)
}

#[test]
fn reingesting_the_same_directory_counts_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let first = json(&ingest(&db, &[&fixtures_dir()], &[]));
    let second = json(&ingest(&db, &[&fixtures_dir()], &[]));
    assert!(first["records_ingested"].as_u64().unwrap() > 20);
    assert_eq!(second["records_ingested"], 0);
    assert_eq!(second["files_already_ingested"], first["files_read"]);
}

#[test]
fn a_renamed_copy_of_an_ingested_file_is_recognised_and_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let copy = dir.path().join("renamed-copy.json");
    std::fs::write(
        &copy,
        fixture("dheerajoruganty-conversestream-nova-lite.json"),
    )
    .unwrap();
    json(&ingest(&db, &[&fixtures_dir()], &[]));
    let s = json(&ingest(&db, &[&copy], &[]));
    // Recognised by its content key: resumed at its end, so not even re-read as duplicates.
    assert_eq!(s["records_ingested"], 0);
    assert_eq!(s["records_duplicate"], 0);
}

#[test]
fn the_same_record_in_two_different_files_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let nova = fixture("dheerajoruganty-conversestream-nova-lite.json");
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(&a, &nova).unwrap();
    let other = synth_record(1, "2025-03-11T00:40:00Z", "amazon.nova-lite-v1:0", 5, 5);
    std::fs::write(&b, format!("{other}\n{nova}")).unwrap();
    json(&ingest(&db, &[&a], &[]));
    let s = json(&ingest(&db, &[&b], &[]));
    assert_eq!(s["records_ingested"], 1);
    assert_eq!(s["records_duplicate"], 1);
}

#[test]
fn a_bad_line_and_a_truncated_gzip_reject_only_what_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let good = synth_record(1, "2026-03-02T10:00:00Z", "amazon.nova-lite-v1:0", 10, 5);
    let mixed = dir.path().join("mixed.jsonl");
    std::fs::write(
        &mixed,
        format!(
            "{good}\nnot json at all\n{{\"requestId\": \"x\", \"input\": {{\n{}\n{{\"schemaType\":\"ModelInvocationLog\",\"timestamp\":\"2026-03-02T10:00:00Z\",\"accountId\":\"1\",\"region\":\"us-east-1\",\"requestId\":\"neg\",\"operation\":\"Converse\",\"modelId\":\"amazon.nova-lite-v1:0\",\"input\":{{\"inputTokenCount\":-5}},\"output\":{{}}}}\n",
            synth_record(2, "2026-03-02T10:00:01Z", "amazon.nova-lite-v1:0", 10, 5)
        ),
    )
    .unwrap();
    // A gzip stream cut in half: the records before the cut still count.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 10..400 {
        writeln!(
            enc,
            "{}",
            synth_record(i, "2026-03-02T11:00:00Z", "amazon.nova-lite-v1:0", 10, 5)
        )
        .unwrap();
    }
    let gz = enc.finish().unwrap();
    let cut = dir.path().join("cut.json.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let db = dir.path().join("l.db");
    let o = ingest(&db, &[&mixed, &cut], &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "rejects alone do not fail without --strict"
    );
    let s = json(&o);
    assert_eq!(s["records_rejected"]["malformed_json"], 2);
    assert_eq!(s["records_rejected"]["negative_count"], 1);
    assert_eq!(s["files_failed"]["truncated_gzip"], 1);
    let ingested = s["records_ingested"].as_u64().unwrap();
    assert!(ingested > 2 + 50 && ingested < 2 + 390, "{ingested}");

    let strict = ingest(&dir.path().join("s.db"), &[&mixed], &["--strict"]);
    assert_eq!(strict.status.code(), Some(3));
}

#[test]
fn nothing_readable_exits_with_code_4_and_bad_arguments_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let o = ingest(&db, &[&dir.path().join("missing")], &[]);
    assert_eq!(o.status.code(), Some(4));
    let o = run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "yesterday",
        "--to",
        "2026-01-01",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--from"));
    let o = run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-02",
        "--group-by",
        "colour",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("colour"));
}

#[test]
fn reports_come_as_table_csv_and_json_with_the_same_totals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    json(&ingest(&db, &[&fixtures_dir()], &[]));
    let args = |f: &'static str| {
        run(&[
            "report",
            "--db",
            db.to_str().unwrap(),
            "--from",
            "2024-01-01",
            "--to",
            "2026-12-31",
            "--group-by",
            "model,tag:team,day",
            "--format",
            f,
        ])
    };
    let j = json(&args("json"));
    let total = j["totals"]["cost_usd"].as_str().unwrap().to_string();
    assert!(j["rows"].as_array().unwrap().len() > 5);
    let csv = stdout(&args("csv"));
    let last = csv.lines().last().unwrap();
    assert!(last.starts_with("TOTAL,"), "{last}");
    assert!(last.contains(&format!(",{total},")), "{last} vs {total}");
    let table = stdout(&args("table"));
    assert!(table.contains("TOTAL") && table.contains(&total));
    assert!(
        table.contains("UNPRICED"),
        "unpriced usage is listed under the table"
    );
}

#[test]
fn pricing_check_accepts_the_shipped_table_and_names_overlaps_in_a_bad_one() {
    let o = run(&["pricing", "check"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("entries"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("table.toml"),
        "[table]\nversion = \"t1\"\ndescription = \"test\"\n",
    )
    .unwrap();
    let entry = |id: &str, from: &str| {
        format!(
            "[[price]]\nid = \"{id}\"\nmodels = [\"m.x\"]\nregions = [\"us-east-1\"]\nscopes = [\"in_region\"]\nservice_tier = \"standard\"\ncontext = \"standard\"\neffective_from = \"{from}\"\ninput_usd_per_1m_tokens = \"1.00\"\nsource = \"test\"\nretrieved = \"2026-01-01\"\nconfidence = \"A\"\n"
        )
    };
    std::fs::write(
        dir.path().join("m.toml"),
        format!(
            "{}\n{}",
            entry("one", "2025-01-01"),
            entry("two", "2025-06-01")
        ),
    )
    .unwrap();
    let o = run(&["pricing", "check", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("one") && err.contains("two"), "{err}");
}

#[test]
fn pricing_show_lists_global_and_geo_entries_for_a_profile_id() {
    let o = run(&[
        "pricing",
        "show",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "--region",
        "us-east-1",
        "--at",
        "2026-01-01",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(
        out.contains("global") && out.contains("input_usd_per_1m_tokens"),
        "{out}"
    );
    let o = run(&["pricing", "show", "no.such-model"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn reprice_applies_a_corrected_price_table_to_stored_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let f = dir.path().join("r.jsonl");
    std::fs::write(
        &f,
        format!(
            "{}\n",
            synth_record(
                1,
                "2026-03-02T10:00:00Z",
                "amazon.nova-lite-v1:0",
                1_000_000,
                0
            )
        ),
    )
    .unwrap();
    json(&ingest(&db, &[&f], &[]));
    let cost = |db: &Path| {
        let o = run(&[
            "report",
            "--db",
            db.to_str().unwrap(),
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-02",
            "--format",
            "json",
        ]);
        json(&o)["totals"]["cost_usd"].as_str().unwrap().to_string()
    };
    // 1M input tokens of Nova Lite at $0.06.
    assert_eq!(cost(&db), "0.06");

    // A corrected table where Nova Lite input costs $0.07.
    let table = dir.path().join("pricing");
    std::fs::create_dir(&table).unwrap();
    for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("pricing")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(table.join(p.file_name().unwrap()), text).unwrap();
        }
    }
    let amazon = table.join("amazon.toml");
    let text = std::fs::read_to_string(&amazon).unwrap();
    let marker = "\"amazon.nova-lite-v1:0\"";
    let at = text.find(marker).expect("nova lite entry");
    let rest = &text[at..];
    let input_at = at
        + rest
            .find("input_usd_per_1m_tokens = \"0.06\"")
            .expect("nova lite input price");
    let fixed = format!(
        "{}input_usd_per_1m_tokens = \"0.07\"{}",
        &text[..input_at],
        &text[input_at + "input_usd_per_1m_tokens = \"0.06\"".len()..]
    );
    std::fs::write(&amazon, fixed).unwrap();

    let o = run(&[
        "reprice",
        "--db",
        db.to_str().unwrap(),
        "--pricing",
        table.to_str().unwrap(),
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(cost(&db), "0.07");
}

#[test]
fn estimate_compares_models_cheapest_first_and_names_the_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let prompt = dir.path().join("prompt.txt");
    std::fs::write(&prompt, "The quick brown fox jumps over the lazy dog.").unwrap();
    let o = run(&[
        "estimate",
        "--model",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0,amazon.nova-lite-v1:0",
        "--output-tokens",
        "1000",
        "--format",
        "json",
        prompt.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v["encoding"], "o200k_base");
    let rows = v["rows"].as_array().unwrap();
    // 10 × $0.06 + 1,000 × $0.24 = 240.6 per 1M; 10 × $3 + 1,000 × $15 = 15,030 per 1M.
    assert_eq!(rows[0]["model"], "amazon.nova-lite-v1:0");
    assert_eq!(rows[0]["cost_usd"], "0.0002406");
    assert_eq!(rows[1]["cost_usd"], "0.01503");
    let o = run(&[
        "estimate",
        "--model",
        "no.such-model",
        prompt.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}
