//! Provisioned throughput and customization in the running daemon: exact accrual from the
//! config, unpriced hours visible, restart and SIGKILL neither lose nor repeat accrual,
//! gauges, promtool-clean exposition, and the report's cost-kind columns.
use crate::daemon::{family_sum, http_get};
use crate::util::{bin, run, signal_and_wait, stdout, synth_record, wait_until};
use rust_decimal::Decimal;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::str::FromStr;
use std::time::Duration;

const LIVE_ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/live42";
const GONE_ARN: &str = "arn:aws:bedrock:us-east-1:444455556666:provisioned-model/gone17";

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &Path) -> (Running, String) {
    let mut child = bin()
        .args(["run", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(i) = line.find("http://") {
                let _ = tx.send(line[i + 7..].split('/').next().unwrap().to_string());
            }
        }
    });
    let child = Running(child);
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the daemon printed its address");
    (child, addr)
}

/// A config with: a deleted 2-MU Titan Text throughput whose 1-month commitment expires
/// mid-life (the table has no no-commitment rate for Titan Text: those hours are unpriced);
/// a live 1-MU throughput receiving traffic; a custom model stored for exactly February
/// 2026; a completed training job.
fn setup(dir: &Path) -> std::path::PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // Two invocations of the live throughput, now (for the idle flag and utilization).
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut f = std::fs::File::create(logs.join("pt.jsonl")).unwrap();
    for i in 0..2 {
        writeln!(f, "{}", synth_record(i, &now, LIVE_ARN, 300_000, 0)).unwrap();
    }
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[server]
listen_address = "127.0.0.1:0"
[store]
path = "{db}"
[pipeline]
commit_interval_ms = 100
[provisioned]
accrual_interval_secs = 1
idle_after_secs = 3600
[planner]
tokens_per_minute_per_model_unit = {{ "amazon.titan-text-express-v1" = 10000 }}

[[sources]]
type = "directory"
name = "logs"
path = "{logs}"
poll_interval_secs = 1

[[provisioned_models]]
arn = "{GONE_ARN}"
name = "gone-pt"
account = "444455556666"
region = "us-east-1"
model = "amazon.titan-text-express-v1"
model_units = 2
commitment = "1_month"
created_at = "2026-03-02T10:15:00Z"
commitment_expires_at = "2026-03-02T12:00:00Z"
deleted_at = "2026-03-02T13:45:30Z"

[[provisioned_models]]
arn = "{LIVE_ARN}"
name = "live-pt"
account = "123456789012"
region = "us-east-1"
model = "amazon.titan-text-express-v1"
model_units = 1
commitment = "1_month"
created_at = "2026-03-05T00:00:00Z"

[[custom_models]]
arn = "arn:aws:bedrock:us-east-1:444455556666:custom-model/cohere.command-text-v14/ft1"
name = "ft1"
account = "444455556666"
region = "us-east-1"
base_model = "cohere.command-text-v14"
created_at = "2026-02-01T00:00:00Z"
deleted_at = "2026-03-01T00:00:00Z"

[[customization_jobs]]
name = "ft1-job"
account = "444455556666"
region = "us-east-1"
base_model = "cohere.command-text-v14"
training_tokens = 2500000
epochs = 3
created_at = "2026-02-01T00:00:00Z"
completed_at = "2026-03-02T09:41:00Z"
"#,
            db = dir.join("ledger.db").display(),
            logs = logs.display(),
        ),
    )
    .unwrap();
    cfg
}

fn sample(text: &str, name: &str, has: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| has.iter().all(|h| l.contains(h)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// What the ledger holds for the streams: (sum of provisioned cost, unpriced MU-seconds,
/// customization cost, live throughput's MU-seconds, its checkpoint position).
fn ledger(db: &Path) -> (Decimal, u64, Decimal, u64, u64) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut st = conn
        .prepare("SELECT pricing_mode, account, meter, quantity, cost_usd FROM rollup_hourly WHERE principal = 'unattributed'")
        .unwrap();
    let (mut pt, mut unpriced, mut cust, mut live) = (Decimal::ZERO, 0, Decimal::ZERO, 0);
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (mode, account, meter, q, cost) = row.unwrap();
        let cost = cost.map(|c| Decimal::from_str(&c).unwrap());
        match (mode.as_str(), account.as_str()) {
            ("provisioned", "123456789012") => live += q as u64,
            ("provisioned", _) => match cost {
                Some(c) => pt += c,
                None => unpriced += q as u64,
            },
            ("customization", _) => cust += cost.unwrap(),
            _ => panic!("unexpected stream row {mode} {meter}"),
        }
    }
    let pos: i64 = conn
        .query_row(
            "SELECT position FROM checkpoints WHERE source = 'provisioned' AND key = ?1",
            [LIVE_ARN],
            |r| r.get(0),
        )
        .unwrap();
    (pt.normalize(), unpriced, cust.normalize(), live, pos as u64)
}

fn created_live() -> u64 {
    chrono::DateTime::parse_from_rfc3339("2026-03-05T00:00:00Z")
        .unwrap()
        .timestamp() as u64
}

/// The exact figures, by hand:
/// - gone-pt, 2 MU at $18.40/MU-hour (1 month): 10:15–11:00 = 0.75 h → 27.60; 11:00–12:00 →
///   36.80; total 64.40. 12:00–13:45:30 after the commitment: no no-commitment rate for
///   Titan Text, so 2 × 6330 s = 12,660 MU-seconds unpriced.
/// - ft1 storage, all of February: exactly $1.95. ft1-job: 2.5M × 3 × $4.00/1M = $30.
/// - live-pt: 1 MU-second per second from its creation to its checkpoint, never more.
fn assert_exact(db: &Path) {
    let (pt, unpriced, cust, live, pos) = ledger(db);
    assert_eq!(pt, Decimal::from_str("64.4").unwrap());
    assert_eq!(unpriced, 12_660);
    assert_eq!(cust, Decimal::from_str("31.95").unwrap());
    assert_eq!(
        live,
        pos - created_live(),
        "no second lost or counted twice"
    );
}

fn live_position(db: &Path) -> u64 {
    ledger(db).4
}

#[test]
fn accrual_is_exact_visible_and_survives_restart_and_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path());
    let db = dir.path().join("ledger.db");

    let (mut child, addr) = start(&cfg);
    let mut text = String::new();
    wait_until("accrual and traffic in /metrics", 60, || {
        text = http_get(&addr, "/metrics", None).1;
        sample(&text, "bedrock_provisioned_idle", &["live-pt"]) == Some(0.0)
            && family_sum(&text, "bedrock_customization_cost_usd_total") > 31.0
    });
    // Counters: every cost is in bedrock_cost_usd_total; the streams have their own.
    assert_eq!(
        sample(
            &text,
            "bedrock_provisioned_cost_usd_total",
            &["gone-pt", "commitment=\"1_month\""]
        ),
        Some(64.4)
    );
    assert_eq!(
        sample(
            &text,
            "bedrock_provisioned_cost_usd_total",
            &["gone-pt", "commitment=\"none\""]
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "bedrock_unpriced_usage_total",
            &[
                "operation=\"ProvisionedThroughput\"",
                "meter=\"model_unit_seconds\"",
                "444455556666"
            ]
        ),
        Some(12_660.0)
    );
    assert_eq!(
        sample(
            &text,
            "bedrock_customization_cost_usd_total",
            &["kind=\"training\""]
        ),
        Some(30.0)
    );
    assert_eq!(
        sample(
            &text,
            "bedrock_customization_cost_usd_total",
            &["kind=\"storage\""]
        ),
        Some(1.95)
    );
    assert_eq!(
        sample(
            &text,
            "bedrock_cost_usd_total",
            &[
                "444455556666",
                "operation=\"ProvisionedThroughput\"",
                "principal=\"unattributed\""
            ]
        ),
        Some(64.4)
    );
    // Gauges: only the live throughput exists now; it got traffic, so it is not idle and
    // has a utilization (10,000 tokens/min per MU configured).
    assert_eq!(
        sample(&text, "bedrock_provisioned_model_units", &["live-pt"]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "bedrock_provisioned_model_units", &["gone-pt"]),
        None
    );
    assert!(sample(&text, "bedrock_provisioned_utilization_ratio", &["live-pt"]).unwrap() > 0.0);
    // Tokens sent to the throughput keep their meaning (counted, not priced per token).
    assert_eq!(
        family_sum(&text, "bedrock_provisioned_tokens_total"),
        600_000.0
    );
    crate::metrics::promtool_check(&text);
    assert_eq!(signal_and_wait(&mut child.0, "-TERM"), 0);
    assert_exact(&db);
    let before = live_position(&db);

    // Restart: the deleted model, storage and job are not booked again; the live one
    // resumes at its checkpoint.
    let (mut child, addr) = start(&cfg);
    wait_until("a new accrual tick committed", 60, || {
        live_position(&db) > before
    });
    let again = http_get(&addr, "/metrics", None).1;
    assert_eq!(
        sample(
            &again,
            "bedrock_provisioned_cost_usd_total",
            &["gone-pt", "commitment=\"1_month\""]
        ),
        Some(64.4)
    );
    assert_exact(&db);

    // SIGKILL at any moment: the chunk and its checkpoint commit together or not at all.
    let killed_at = live_position(&db);
    wait_until("another tick", 60, || live_position(&db) > killed_at);
    assert_eq!(signal_and_wait(&mut child.0, "-KILL"), -1);
    assert_exact(&db);
    let after_kill = live_position(&db);
    let (mut child, _addr) = start(&cfg);
    wait_until("accrual resumed after SIGKILL", 60, || {
        live_position(&db) > after_kill
    });
    assert_eq!(signal_and_wait(&mut child.0, "-TERM"), 0);
    assert_exact(&db);

    // The report shows provisioned and customization cost beside on-demand.
    let o = run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2026-02-01",
        "--to",
        "2026-03-02",
        "--group-by",
        "cost_kind",
        "--format",
        "json",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["totals"]["provisioned_cost_usd"], "64.40");
    assert_eq!(v["totals"]["customization_cost_usd"], "31.95");
    assert_eq!(v["totals"]["cost_usd"], "96.35");
    let kinds: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["group"]["cost_kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["provisioned", "customization"]);
    assert!(
        v["unpriced"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["meter"] == "model_unit_seconds" && u["quantity"] == 12_660)
    );
    let table = stdout(&run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2026-02-01",
        "--to",
        "2026-03-02",
        "--group-by",
        "cost_kind",
    ]));
    assert!(
        table.contains("provisioned USD") && table.contains("customization USD"),
        "{table}"
    );
    let csv = stdout(&run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2026-02-01",
        "--to",
        "2026-03-02",
        "--group-by",
        "cost_kind",
        "--format",
        "csv",
    ]));
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",provisioned_cost_usd,customization_cost_usd"),
        "{csv}"
    );

    // Re-pricing under the same table keeps every stream row and its cost.
    let o = run(&[
        "reprice",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2026-02-01",
        "--to",
        "2026-03-05",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_exact(&db);
}
