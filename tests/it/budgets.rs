//! Budgets end to end: the daemon with a budget, spend driven past thresholds by fixture
//! records, a real HTTP receiver on loopback that must get exactly the expected
//! notifications (signed), no repeat after a restart, and a recovery notification.
use crate::daemon::{family_sum, http_get};
use crate::util::{bin, signal_and_wait, synth_record, wait_until};
use hmac::{Hmac, Mac};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A tiny HTTP receiver on 127.0.0.1:0 that answers every POST with 200 and keeps it.
pub struct Receiver {
    pub addr: String,
    pub got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = BTreeMap::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let len: usize = headers
                    .get("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                sink.lock().unwrap().push(Received {
                    path,
                    headers,
                    body,
                });
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Receiver { addr, got }
    }

    pub fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// A running daemon, killed if the test fails first.
pub struct Daemon {
    pub child: Child,
    pub addr: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// `bedrock-meter run --config <cfg>` with `envs`; waits for its address.
    pub fn start(cfg: &Path, envs: &[(&str, &str)]) -> Daemon {
        Daemon::spawn(&["run", "--config", cfg.to_str().unwrap()], envs)
    }

    /// The binary with `args`; waits for the address it prints.
    pub fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Daemon {
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
                    let addr = line[i + 7..].split('/').next().unwrap().to_string();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the daemon printed its address");
        Daemon { child, addr }
    }

    pub fn metrics(&self) -> String {
        http_get(&self.addr, "/metrics", None).1
    }

    /// Waits until the budget thread has completed `n` more evaluations than now.
    pub fn wait_evaluations(&self, n: f64) {
        let start = family_sum(&self.metrics(), "bedrock_meter_budget_evaluations_total");
        wait_until("budget evaluations", 60, || {
            family_sum(&self.metrics(), "bedrock_meter_budget_evaluations_total") >= start + n
        });
    }

    pub fn stop(mut self) {
        assert_eq!(signal_and_wait(&mut self.child, "-TERM"), 0);
    }
}

/// The value of one sample (`name{labels}` exactly as exposed), if present.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Writes `n` records of exactly $6.00 each (100M Nova Lite input tokens at $0.06/M) at
/// `ts` into a new file in `logs`. One record per step keeps each step one committed
/// amount, so no evaluation sees half of it.
pub fn write_spend(logs: &Path, file: &str, first_id: u64, n: u64, ts: &str) {
    let mut text = String::new();
    for i in first_id..first_id + n {
        text.push_str(&synth_record(
            i,
            ts,
            "amazon.nova-lite-v1:0",
            100_000_000,
            0,
        ));
        text.push('\n');
    }
    // Written aside and renamed, so the source never sees half a file.
    let tmp = logs.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, logs.join(file)).unwrap();
}

/// `promtool check metrics` accepts the exposition with no lint finding.
fn promtool_check_metrics(text: &str) {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "promtool is not installed ({e}); apt-get install -y --no-install-recommends \
                 prometheus (tests/run-all.sh does this)"
            )
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn floor_hour(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.timestamp() - t.timestamp().rem_euclid(3600), 0).unwrap()
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn write_config(dir: &Path, receiver: &str, anchor: &str, limit: &str) -> std::path::PathBuf {
    let p = dir.join("bedrock-meter.toml");
    std::fs::write(
        &p,
        format!(
            r#"[server]
listen_address = "127.0.0.1:0"

[store]
path = "{db}"

[pipeline]
commit_interval_ms = 100

[[sources]]
type = "directory"
name = "logs"
path = "{logs}"
poll_interval_secs = 1

[notifications]
evaluation_interval_secs = 1
dashboard_url = "https://grafana.example.com/d/bedrock"

[[notifications.receivers]]
name = "hook"
kind = "webhook"
url = "http://{receiver}/hook"
hmac_key_env = "BM_TEST_HMAC"
retries = 0

[[notifications.receivers]]
name = "chat"
kind = "slack"
url = "http://{receiver}/slack"

[[budgets]]
name = "team"
limit_usd = "{limit}"
period = "custom"
period_length = "7d"
period_anchor = "{anchor}"
models = ["amazon.nova-*"]

[[budgets.thresholds]]
percent = 50
receivers = ["hook", "chat"]

[[budgets.thresholds]]
percent = 100
notify_on_recovery = true
receivers = ["hook"]

[[budgets.thresholds]]
percent = 100
on = "forecast"
receivers = ["hook"]
"#,
            db = dir.join("ledger.db").display(),
            logs = dir.join("logs").display(),
        ),
    )
    .unwrap();
    p
}

const HMAC_KEY: &str = "s3cret-key";

/// The webhook requests as (threshold, kind, event, spend), checking each signature.
fn hook_events(r: &Receiver) -> Vec<(String, String, String, String)> {
    r.all()
        .into_iter()
        .filter(|q| q.path == "/hook")
        .map(|q| {
            let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(HMAC_KEY.as_bytes()).unwrap();
            mac.update(&q.body);
            let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            assert_eq!(
                q.headers.get("x-bedrock-meter-signature"),
                Some(&want),
                "the signature verifies"
            );
            let v = q.json();
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (s("threshold"), s("kind"), s("event"), s("spend_usd"))
        })
        .collect()
}

fn ev(t: &str, k: &str, e: &str, spend: &str) -> (String, String, String, String) {
    (t.into(), k.into(), e.into(), spend.into())
}

#[test]
fn thresholds_notify_exactly_once_survive_a_restart_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let receiver = Receiver::start();
    let now = chrono::Utc::now();
    let anchor = floor_hour(now) - chrono::Duration::hours(1);
    let end = anchor + chrono::Duration::days(7);
    let cfg = write_config(dir.path(), &receiver.addr, &rfc3339(anchor), "10");
    let env = [("BM_TEST_HMAC", HMAC_KEY)];
    let ts = rfc3339(chrono::Utc::now());

    // $6 of $10: 50% actual and the forecast (at this rate far past $10) cross.
    let d = Daemon::start(&cfg, &env);
    write_spend(&logs, "a.json", 0, 1, &ts);
    wait_until("three deliveries", 60, || receiver.all().len() >= 3);
    d.wait_evaluations(2.0);
    let m = d.metrics();
    assert_eq!(
        sample(&m, r#"bedrock_budget_spend_usd{budget="team"}"#),
        Some(6.0)
    );
    assert_eq!(
        sample(&m, r#"bedrock_budget_limit_usd{budget="team"}"#),
        Some(10.0)
    );
    assert!(sample(&m, r#"bedrock_budget_forecast_usd{budget="team"}"#).unwrap() > 10.0);
    assert_eq!(
        sample(
            &m,
            r#"bedrock_budget_period_end_timestamp_seconds{budget="team"}"#
        ),
        Some(end.timestamp() as f64)
    );
    let state = |m: &str, t: &str, k: &str| {
        sample(
            m,
            &format!(
                r#"bedrock_budget_threshold_state{{budget="team",threshold="{t}",kind="{k}"}}"#
            ),
        )
    };
    promtool_check_metrics(&m);
    assert_eq!(state(&m, "50%", "actual"), Some(1.0));
    assert_eq!(state(&m, "100%", "actual"), Some(0.0));
    assert_eq!(state(&m, "100%", "forecast"), Some(1.0));
    assert_eq!(
        sample(
            &m,
            r#"bedrock_meter_notifications_total{receiver="hook",outcome="delivered"}"#
        ),
        Some(2.0)
    );
    let mut hook = hook_events(&receiver);
    hook.sort();
    assert_eq!(
        hook,
        vec![
            ev("100%", "forecast", "threshold_crossed", "6"),
            ev("50%", "actual", "threshold_crossed", "6"),
        ]
    );
    let all = receiver.all();
    let slack: Vec<_> = all.iter().filter(|q| q.path == "/slack").collect();
    assert_eq!(slack.len(), 1);
    let text = slack[0].json()["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("*team* crossed 50% (actual): spend $6 of $10"),
        "{text}"
    );
    assert!(!slack[0].headers.contains_key("x-bedrock-meter-signature"));
    // The documented payload fields.
    let first = all.iter().find(|q| q.path == "/hook").unwrap().json();
    assert_eq!(first["budget"], "team");
    assert_eq!(first["limit_usd"], "10");
    assert_eq!(first["currency"], "USD");
    assert_eq!(first["state"], "firing");
    assert_eq!(first["period_start"], rfc3339(anchor));
    assert_eq!(first["period_end"], rfc3339(end));
    assert_eq!(
        first["dashboard_url"],
        "https://grafana.example.com/d/bedrock"
    );
    assert_eq!(first["version"], 1);

    // $12: 100% actual crosses, once.
    write_spend(&logs, "b.json", 1, 1, &ts);
    wait_until("the 100% notification", 60, || receiver.all().len() >= 4);
    d.wait_evaluations(2.0);
    assert_eq!(receiver.all().len(), 4);
    assert_eq!(
        hook_events(&receiver).last().unwrap(),
        &ev("100%", "actual", "threshold_crossed", "12")
    );
    d.stop();

    // A restart evaluates the same crossings and notifies nothing again.
    let d = Daemon::start(&cfg, &env);
    d.wait_evaluations(3.0);
    assert_eq!(
        sample(&d.metrics(), r#"bedrock_budget_spend_usd{budget="team"}"#),
        Some(12.0)
    );
    assert_eq!(receiver.all().len(), 4, "a restart repeated a notification");
    d.stop();

    // A raised limit: 100% actual recovers (notify_on_recovery); 50% ($10) stays crossed.
    let cfg = write_config(dir.path(), &receiver.addr, &rfc3339(anchor), "20");
    let d = Daemon::start(&cfg, &env);
    wait_until("the recovery notification", 60, || {
        receiver.all().len() >= 5
    });
    d.wait_evaluations(2.0);
    assert_eq!(receiver.all().len(), 5);
    let last = receiver.all().last().unwrap().json();
    assert_eq!(last["event"], "threshold_recovered");
    assert_eq!(last["state"], "resolved");
    assert_eq!(last["threshold"], "100%");
    assert_eq!(last["limit_usd"], "20");
    d.stop();
}

#[test]
fn a_failing_receiver_is_counted_and_retried_until_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // A port with nothing listening: bind, note the port, close.
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let now = chrono::Utc::now();
    let anchor = rfc3339(floor_hour(now) - chrono::Duration::hours(1));
    let cfg = write_config(dir.path(), &dead, &anchor, "10");
    let env = [("BM_TEST_HMAC", HMAC_KEY)];
    let d = Daemon::start(&cfg, &env);
    write_spend(&logs, "a.json", 0, 1, &rfc3339(now));
    wait_until("failed deliveries", 60, || {
        sample(
            &d.metrics(),
            r#"bedrock_meter_notifications_total{receiver="hook",outcome="failed"}"#,
        )
        .unwrap_or(0.0)
            >= 2.0
    });
    d.stop();
    // The receiver comes up (on another address: the config is rewritten) and the queued
    // notifications are delivered after the restart; the outbox kept them.
    let receiver = Receiver::start();
    let cfg = write_config(dir.path(), &receiver.addr, &anchor, "10");
    let d = Daemon::start(&cfg, &env);
    wait_until("the queued deliveries", 60, || receiver.all().len() >= 3);
    d.wait_evaluations(2.0);
    assert_eq!(receiver.all().len(), 3);
    d.stop();
}

#[test]
fn the_demo_exports_its_example_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let d = Daemon::spawn(
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
    wait_until("demo budget spend", 60, || {
        sample(
            &d.metrics(),
            r#"bedrock_budget_spend_usd{budget="demo-daily"}"#,
        )
        .unwrap_or(0.0)
            > 0.0
    });
    let m = d.metrics();
    for series in [
        r#"bedrock_budget_limit_usd{budget="demo-daily"}"#,
        r#"bedrock_budget_forecast_usd{budget="demo-claude-monthly"}"#,
        r#"bedrock_budget_threshold_state{budget="demo-daily",threshold="50%",kind="actual"}"#,
        r#"bedrock_budget_anomaly{budget="demo-claude-monthly"}"#,
    ] {
        assert!(sample(&m, series).is_some(), "{series} missing");
    }
    promtool_check_metrics(&m);
    d.stop();
}
