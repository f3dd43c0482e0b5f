//! The daemon: `run` with a config, `demo`, restart-safe metrics, graceful shutdown, auth.
use crate::util::{bin, fixtures_dir, run, signal_and_wait, stdout, wait_until};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// A minimal HTTP/1.0 GET: (status, body).
pub fn http_get(addr: &str, path: &str, auth: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Sum of every sample of a metric family in an exposition.
pub fn family_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.starts_with(name)
                && (l[name.len()..].starts_with('{') || l[name.len()..].starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The samples of the given families, sorted, for comparing two scrapes.
fn samples(text: &str, names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| {
            names
                .iter()
                .any(|n| l.starts_with(&format!("{n}{{")) || l.starts_with(&format!("{n} ")))
        })
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// A running daemon, killed if a test fails before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Starts the binary and waits for the address it prints (`--listen 127.0.0.1:0`).
fn start(args: &[&str], envs: &[(&str, &str)]) -> (Running, String) {
    let mut child = bin()
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(i) = line.find("http://") {
                let rest = &line[i + 7..];
                let addr = rest.split('/').next().unwrap().to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let child = Running(child);
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the daemon printed its address");
    (child, addr)
}

fn terminate(child: &mut Child) -> i32 {
    signal_and_wait(child, "-TERM")
}

fn config(dir: &Path, logs: &Path, extra: &str) -> std::path::PathBuf {
    let p = dir.join("bedrock-meter.toml");
    std::fs::write(
        &p,
        format!(
            "[server]\nlisten_address = \"127.0.0.1:0\"\n{extra}\n[store]\npath = \"{}\"\n\n[metrics]\ntag_labels = [\"team\"]\n\n[pipeline]\ncommit_interval_ms = 100\n\n[[sources]]\ntype = \"directory\"\nname = \"logs\"\npath = \"{}\"\npoll_interval_secs = 1\n",
            dir.join("ledger.db").display(),
            logs.display()
        ),
    )
    .unwrap();
    p
}

#[test]
fn the_demo_serves_real_nonzero_spend_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let (mut child, addr) = start(
        &[
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--rate",
            "50",
            "--db",
            db.to_str().unwrap(),
        ],
        &[],
    );
    wait_until("spend in /metrics", 60, || {
        family_sum(
            &http_get(&addr, "/metrics", None).1,
            "bedrock_cost_usd_total",
        ) > 0.0
    });
    let (status, _) = http_get(&addr, "/readyz", None);
    assert_eq!(status, 200);
    assert_eq!(terminate(&mut child), 0);
    // The ledger holds what was served.
    let o = run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2020-01-01",
        "--to",
        "2100-01-01",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["totals"]["invocations"].as_u64().unwrap() > 0);
}

#[test]
fn a_restart_neither_resets_nor_loses_spend_counters() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for e in std::fs::read_dir(fixtures_dir()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, logs.join(p.file_name().unwrap())).unwrap();
    }
    let cfg = config(dir.path(), &logs, "");
    let cfg = cfg.to_str().unwrap();
    let families = [
        "bedrock_cost_usd_total",
        "bedrock_tokens_total",
        "bedrock_invocations_total",
        "bedrock_images_total",
        "bedrock_unpriced_usage_total",
        "bedrock_meter_records_ingested_total",
    ];

    let (mut child, addr) = start(&["run", "--config", cfg], &[]);
    let mut before = String::new();
    wait_until("every fixture ingested", 60, || {
        before = http_get(&addr, "/metrics", None).1;
        family_sum(&before, "bedrock_meter_records_ingested_total") >= 29.0
    });
    assert_eq!(terminate(&mut child), 0);

    let (mut child, addr) = start(&["run", "--config", cfg], &[]);
    std::thread::sleep(Duration::from_millis(1500)); // a poll: nothing new must be counted
    let after = http_get(&addr, "/metrics", None).1;
    assert_eq!(terminate(&mut child), 0);
    assert!(family_sum(&before, "bedrock_cost_usd_total") > 1.0);
    assert_eq!(samples(&before, &families), samples(&after, &families));
}

#[test]
fn metrics_can_require_a_bearer_token_while_health_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let cfg = config(
        dir.path(),
        &logs,
        "[server.auth]\nmode = \"bearer\"\nbearer_token_env = \"BM_TEST_TOKEN\"\n",
    );
    let (mut child, addr) = start(
        &["run", "--config", cfg.to_str().unwrap()],
        &[("BM_TEST_TOKEN", "t0ken")],
    );
    assert_eq!(http_get(&addr, "/metrics", None).0, 401);
    assert_eq!(http_get(&addr, "/metrics", Some("Bearer wrong")).0, 401);
    let (status, body) = http_get(&addr, "/metrics", Some("Bearer t0ken"));
    assert_eq!(status, 200);
    assert!(body.contains("bedrock_pricing_info"));
    assert_eq!(http_get(&addr, "/healthz", None).0, 200);
    assert_eq!(terminate(&mut child), 0);
}

#[test]
fn records_on_stdin_are_committed_before_a_sigterm_exit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten_address = \"127.0.0.1:0\"\n[store]\npath = \"{}\"\n[pipeline]\ncommit_interval_ms = 60000\ncommit_max_records = 100000\n[[sources]]\ntype = \"stdin\"\nname = \"stdin\"\n",
            dir.path().join("l.db").display()
        ),
    )
    .unwrap();
    let mut child = bin()
        .args([
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--log-level",
            "info",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for i in 0..500 {
        writeln!(
            stdin,
            "{}",
            crate::util::synth_record(i, "2026-03-02T10:00:00Z", "amazon.nova-lite-v1:0", 10, 5)
        )
        .unwrap();
    }
    stdin.flush().unwrap();
    // The commit interval is a minute: only the shutdown path can commit these in time.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(terminate(&mut child), 0);
    drop(stdin);
    let o = run(&[
        "report",
        "--db",
        dir.path().join("l.db").to_str().unwrap(),
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-02",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["totals"]["invocations"], 500);
}

#[test]
fn check_config_accepts_the_shipped_example_and_names_the_bad_key() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/bedrock-meter.example.toml");
    let o = run(&["check-config", example.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nlisten_addr = \"127.0.0.1:9464\"\n").unwrap();
    let o = run(&["check-config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("listen_addr") && err.contains("listen_address"),
        "{err}"
    );
}

#[test]
fn metrics_are_served_over_tls_with_a_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (Debian package openssl) makes the test certificate");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let tls = format!(
        "[server.tls]\nenabled = true\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let cfg = config(dir.path(), &logs, &tls);
    let mut child = bin()
        .args(["run", "--config", cfg.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut child = Running(child);
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .expect("an https URL")
        .to_string();
    let out = std::process::Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&cert)
        .arg(&url)
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("bedrock_pricing_info"));
    // Plain HTTP on the TLS port gets no metrics.
    let addr = url
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let plain = std::panic::catch_unwind(|| http_get(&addr, "/metrics", None))
        .map(|r| r.0)
        .unwrap_or(0);
    assert_ne!(plain, 200);
    assert_eq!(terminate(&mut child), 0);
}

#[test]
fn a_failing_source_is_reported_and_retried_without_stopping_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-there-yet");
    let cfg = config(dir.path(), &missing, "");
    let (mut child, addr) = start(&["run", "--config", cfg.to_str().unwrap()], &[]);
    wait_until("the error to be counted", 60, || {
        let m = http_get(&addr, "/metrics", None).1;
        m.contains("bedrock_meter_source_errors_total{source=\"logs\",kind=\"unreadable\"}")
    });
    // The directory appears later: its records are picked up by the same source.
    std::fs::create_dir(&missing).unwrap();
    std::fs::copy(
        fixtures_dir().join("dheerajoruganty-conversestream-nova-lite.json"),
        missing.join("late.json"),
    )
    .unwrap();
    wait_until("the late file to be ingested", 60, || {
        family_sum(
            &http_get(&addr, "/metrics", None).1,
            "bedrock_meter_records_ingested_total",
        ) >= 1.0
    });
    assert_eq!(http_get(&addr, "/healthz", None).0, 200);
    assert_eq!(terminate(&mut child), 0);
}

#[test]
fn a_demo_restarted_on_a_kept_ledger_adds_new_requests_instead_of_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let invocations = || {
        let o = run(&[
            "report",
            "--db",
            db.to_str().unwrap(),
            "--from",
            "2020-01-01",
            "--to",
            "2100-01-01",
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["totals"]["invocations"].as_u64().unwrap()
    };
    let args = [
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--rate",
        "50",
        "--duration",
        "2",
        "--db",
        db.to_str().unwrap(),
    ];
    assert!(run(&args).status.success());
    let first = invocations();
    assert!(first > 0);
    assert!(run(&args).status.success());
    assert!(
        invocations() > first,
        "the second run only produced duplicates"
    );
}
