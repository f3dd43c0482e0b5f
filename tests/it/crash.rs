//! An ingest killed with SIGKILL at any point loses nothing that was committed and counts
//! nothing twice when rerun: totals after kill + rerun equal a clean run's, exactly.
use crate::util::{bin, run, stdout, write_corpus};
use bedrock_meter::store::Store;
use std::time::{Duration, Instant};

fn report_json(db: &std::path::Path) -> serde_json::Value {
    let o = run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--group-by",
        "model,principal,tag:team,hour",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    v.as_object_mut().unwrap().remove("to");
    v
}

fn ingested(db: &std::path::Path) -> u64 {
    Store::open_read_only(db)
        .ok()
        .and_then(|s| s.counters().ok())
        .and_then(|c| c.get("records_ingested").copied())
        .unwrap_or(0)
}

#[test]
fn an_ingest_killed_midway_and_rerun_counts_exactly_what_a_clean_run_counts() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let (records, _, _) = write_corpus(&logs, 24, 2_500);

    let clean = dir.path().join("clean.db");
    let o = run(&[
        "ingest",
        "--db",
        clean.to_str().unwrap(),
        "--format",
        "json",
        logs.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(ingested(&clean), records);

    // Kill the run several times, each time after more records were committed, then let a
    // final run finish.
    let crash = dir.path().join("crash.db");
    let mut kills = 0;
    for threshold in [3_000, 21_000, 40_000] {
        // Commits every 1,000 records, so kills also land after commits that end inside a
        // file (the resumed run must start from such a checkpoint's position).
        let mut child = bin()
            .args([
                "ingest",
                "--db",
                crash.to_str().unwrap(),
                "--commit-records",
                "1000",
                "--format",
                "json",
                logs.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if ingested(&crash) >= threshold || start.elapsed() > Duration::from_secs(120) {
                child.kill().unwrap(); // SIGKILL on unix
                child.wait().unwrap();
                kills += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert!(
        kills > 0,
        "no run was killed midway; the corpus is too small for this machine"
    );
    let before_final = ingested(&crash);
    assert!(before_final < records, "the last kill came after the end");
    let o = run(&[
        "ingest",
        "--db",
        crash.to_str().unwrap(),
        "--format",
        "json",
        logs.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    assert_eq!(
        ingested(&crash),
        records,
        "every record counted exactly once"
    );
    assert_eq!(report_json(&crash), report_json(&clean));
    let (a, b) = (
        Store::open_read_only(&crash)
            .unwrap()
            .totals(i64::MIN, i64::MAX)
            .unwrap(),
        Store::open_read_only(&clean)
            .unwrap()
            .totals(i64::MIN, i64::MAX)
            .unwrap(),
    );
    assert_eq!(a, b);
}
