//! The Prometheus exposition end to end: the shared fixtures ingested through the library,
//! metrics restored from the ledger, rendered at a fixed time, compared with
//! `tests/golden/metrics.prom` and checked by `promtool check metrics`.
//!
//! `UPDATE_GOLDEN=1 cargo test --test it metrics` rewrites the golden file.
use bedrock_meter::accounting::{Ledger, LedgerConfig};
use bedrock_meter::exporters::metrics::{MetricsConfig, Telemetry};
use bedrock_meter::ingest::{Ingest, IngestOptions};
use bedrock_meter::pipeline::{Item, Writer};
use bedrock_meter::pricing::PriceBook;
use bedrock_meter::store::Store;
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/invocation-logs")
}

fn golden_path() -> PathBuf {
    root().join("tests/golden/metrics.prom")
}

fn now() -> DateTime<Utc> {
    "2026-11-26T00:00:00Z".parse().unwrap()
}

fn config() -> MetricsConfig {
    MetricsConfig {
        tag_labels: vec!["team".to_string(), "costCenter".to_string()],
        ..MetricsConfig::default()
    }
}

/// Ingests the shared fixtures into a new ledger in `dir`; returns its path.
fn ledger(dir: &Path, book: &PriceBook) -> PathBuf {
    let db = dir.join("ledger.db");
    let store = Store::open(&db).unwrap();
    let ledger = Ledger::new(book, LedgerConfig::default());
    let (summary, _store) = Ingest::new(store, ledger, IngestOptions::default())
        .unwrap()
        .run(&[fixtures()])
        .unwrap();
    assert!(summary.records_ingested > 20, "{summary:?}");
    db
}

/// Deterministic health, so every self-metric family has samples in the golden file.
fn with_health(t: &Telemetry) {
    t.set_source_up("file", true);
    t.source_success("file", now() - chrono::Duration::seconds(60), 12.5);
    t.set_source_up("s3", false);
    t.source_error("s3", "list_failed");
    t.source_error("s3", "list_failed");
    t.observe_commit(Duration::from_micros(1500));
    t.observe_commit(Duration::from_millis(40));
}

/// The build version is not part of what the golden file pins.
fn normalize(text: &str) -> String {
    text.replace(
        &format!(
            "bedrock_meter_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        ),
        "bedrock_meter_build_info{version=\"VERSION\"}",
    )
}

fn compare_with_golden(actual: &str) {
    let path = golden_path();
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        eprintln!("Rewrote {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}\nCreate it with: UPDATE_GOLDEN=1 cargo test --test it metrics",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let first = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let mut report = format!(
        "the exposition differs from {} at line {} ({} expected lines, {} actual):\n",
        path.display(),
        first + 1,
        e.len(),
        a.len()
    );
    let shown = 12;
    for i in first..(first + shown).min(e.len().max(a.len())) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => report.push_str(&format!("  {:>5}   {x}\n", i + 1)),
            (x, y) => {
                if let Some(x) = x {
                    report.push_str(&format!("- {:>5}   {x}\n", i + 1));
                }
                if let Some(y) = y {
                    report.push_str(&format!("+ {:>5}   {y}\n", i + 1));
                }
            }
        }
    }
    report.push_str(
        "(- expected, + actual.) If the change is intended: \
         UPDATE_GOLDEN=1 cargo test --test it metrics",
    );
    panic!("{report}");
}

/// `promtool check metrics` must accept the text with no lint output.
pub fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "promtool is not installed; it comes with the Debian package `prometheus`: \
             apt-get install -y prometheus"
        ),
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lint = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && lint.trim().is_empty(),
        "promtool check metrics failed ({}):\n{lint}",
        out.status
    );
}

#[test]
fn metrics_of_the_fixtures_match_the_golden_file_and_pass_promtool() {
    let book = PriceBook::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = ledger(dir.path(), &book);
    let store = Store::open_read_only(&db).unwrap();
    let t = Telemetry::restore(&store, config()).unwrap();
    with_health(&t);
    let text = t.render(&book, now());
    promtool_check(&text);
    compare_with_golden(&normalize(&text));
}

#[test]
fn metrics_are_identical_after_a_restart() {
    let book = PriceBook::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = ledger(dir.path(), &book);
    let before = {
        let store = Store::open(&db).unwrap();
        Telemetry::restore(&store, config())
            .unwrap()
            .render(&book, now())
    };
    // A new process: a new connection, a new restore.
    let store = Store::open_read_only(&db).unwrap();
    let after = Telemetry::restore(&store, config())
        .unwrap()
        .render(&book, now());
    assert_eq!(before, after);
    assert!(before.contains("bedrock_cost_usd_total{"), "{before}");
}

#[test]
fn metrics_kept_live_by_the_writer_equal_metrics_restored_after_a_restart() {
    // The daemon's flow: restore at start, then apply every committed batch.
    let book = PriceBook::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let store = Store::open(&db).unwrap();
    let live = Telemetry::restore(&store, config()).unwrap();
    let mut writer = Writer::new(store, Ledger::new(&book, LedgerConfig::default()), 48).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for (i, f) in files.iter().enumerate() {
        writer.item(&Item::parse(&std::fs::read(f).unwrap()));
        if (i % 3 == 2 || i + 1 == files.len())
            && let Some(batch) = writer.commit().unwrap()
        {
            live.apply(&batch);
        }
    }
    let store = writer.into_store();
    let restarted = Telemetry::restore(&store, config()).unwrap();
    let live = live.render(&book, now());
    // The live process also counted its commits; a new one has not committed yet.
    let drop_commits = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.starts_with("bedrock_meter_store_commits_total "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        drop_commits(&live),
        drop_commits(&restarted.render(&book, now()))
    );
    assert!(
        live.contains("bedrock_meter_records_ingested_total "),
        "{live}"
    );
}
