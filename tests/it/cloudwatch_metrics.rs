//! The `cloudwatch_metrics` source against real HTTP: moto behind the project's own CBOR
//! translator (`tests/support/cw_cbor_shim.py`), so the real `aws-sdk-cloudwatch` makes
//! real RPC-v2 CBOR calls on 127.0.0.1 (never AWS). Metric data is put into moto through
//! the translator (AWS JSON 1.0, passed through); the daemon reads it, is restarted, a
//! minute grows late, and the exported totals, the logs coverage ratio and the primary-mode
//! cost must be exact. Access denied and throttling come from the translator's fault
//! switch (a real server answering with the error), keyed by access key so that tests
//! running in parallel do not interfere; each test also uses its own region.
//!
//! The translator starts its own moto (from `$MOTO_PYTHON`, `target/moto-venv/bin/python`
//! or `python3`, which need `moto[server]` and `cbor2`) and stops when this binary exits.
use crate::util::{bin, signal_and_wait, synth_record, wait_until};
use bedrock_meter::store::Store;
use chrono::{DateTime, Duration as Span, DurationRound, Utc};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

const INSTALL: &str = "moto and cbor2 are needed by the CloudWatch metrics tests. `bash \
tests/run-all.sh` installs them; or: python3 -m venv target/moto-venv && \
target/moto-venv/bin/pip install 'moto[server]' cbor2 (or set MOTO_PYTHON to a python that \
has both)";

struct Shim {
    port: u16,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

/// The translator's port, started (with its own moto) on first use.
fn shim() -> u16 {
    static SHIM: OnceLock<Shim> = OnceLock::new();
    SHIM.get_or_init(|| {
        let py = python();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/cw_cbor_shim.py");
        let mut child = Command::new(&py)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}. {INSTALL}", py.display()));
        let stdin = child.stdin.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let head = crate::util::keep_head(stderr);
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = match line.split_whitespace().next().and_then(|p| p.parse().ok()) {
            Some(p) => p,
            None => {
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "the CloudWatch translator did not start with {}: {}\n{INSTALL}",
                    py.display(),
                    head.lock().unwrap()
                );
            }
        };
        Shim {
            port,
            _child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        }
    })
    .port
}

/// One HTTP/1.0 POST to the translator: (status, body).
fn post(path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let port = shim();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(resp.len(), |i| i + 4);
    let status = String::from_utf8_lossy(&resp[..split])
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, resp[split..].to_vec())
}

/// `PutMetricData` (AWS JSON 1.0, through the translator to moto) of `AWS/Bedrock`
/// (metric, ModelId, time, value) points in `region`.
fn put_metrics(region: &str, points: &[(&str, &str, DateTime<Utc>, f64)]) {
    let data: Vec<serde_json::Value> = points
        .iter()
        .map(|(metric, model, t, v)| {
            serde_json::json!({
                "MetricName": metric,
                "Dimensions": [{"Name": "ModelId", "Value": model}],
                "Timestamp": t.timestamp(),
                "Value": v,
            })
        })
        .collect();
    let body = serde_json::json!({"Namespace": "AWS/Bedrock", "MetricData": data}).to_string();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/monitoring/aws4_request, \
         SignedHeaders=host, Signature=0"
    );
    let (status, out) = post(
        "/",
        &[
            ("Authorization", &auth),
            (
                "X-Amz-Target",
                "GraniteServiceVersion20100801.PutMetricData",
            ),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        body.as_bytes(),
    );
    assert_eq!(
        status,
        200,
        "PutMetricData: {}",
        String::from_utf8_lossy(&out)
    );
}

/// Makes the next `times` calls of `operation` signed with `access_key` fail with `code`.
fn fault(access_key: &str, operation: &str, status: u16, code: &str, times: i64) {
    let body = serde_json::json!({
        "access_key": access_key, "operation": operation, "status": status, "code": code,
        "message": format!("{code} from the test"), "times": times,
    })
    .to_string();
    let (s, out) = post("/shim/fault", &[], body.as_bytes());
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&out));
}

/// A running daemon, its address and its stderr.
struct Daemon {
    child: Child,
    addr: String,
    stderr: std::sync::Arc<Mutex<String>>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &Path, access_key: &str) -> Daemon {
    let mut cmd = bin();
    cmd.args(["run", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::aws::aws_env(&mut cmd, Some(access_key));
    let mut child = cmd.spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let stderr = std::sync::Arc::new(Mutex::new(String::new()));
    {
        let stderr = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("[daemon] {line}");
                stderr.lock().unwrap().push_str(&(line + "\n"));
            }
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(i) = line.find("://") {
                let addr = line[i + 3..].split('/').next().unwrap().to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the daemon printed its address");
    Daemon {
        child,
        addr,
        stderr,
    }
}

/// Scrapes until `ok` holds; on timeout fails with the last exposition.
fn wait_scrape(d: &Daemon, what: &str, limit_secs: u64, mut ok: impl FnMut(&str) -> bool) {
    let start = std::time::Instant::now();
    loop {
        let m = scrape(d);
        if ok(&m) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(limit_secs),
            "timed out waiting for {what}; last exposition:\n{m}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn scrape(d: &Daemon) -> String {
    crate::daemon::http_get(&d.addr, "/metrics", None).1
}

/// The value of the sample `series` (name and labels exactly as exposed), if present.
fn value(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(str::to_string)
}

fn write_config(dir: &Path, sources: &str) -> PathBuf {
    let p = dir.join("bedrock-meter.toml");
    std::fs::write(
        &p,
        format!(
            "[server]\nlisten_address = \"127.0.0.1:0\"\n\n[store]\npath = \"{}\"\n\n\
             [pipeline]\ncommit_interval_ms = 100\nshutdown_grace_secs = 20\n\n{sources}",
            dir.join("ledger.db").display()
        ),
    )
    .unwrap();
    p
}

/// A metrics source table for `region`, reading from `start` with no delay and a day of
/// overlap (every poll re-reads everything the test put).
fn metrics_source(region: &str, start: DateTime<Utc>, extra: &str) -> String {
    format!(
        "[[sources]]\ntype = \"cloudwatch_metrics\"\nname = \"cwm\"\nregion = \"{region}\"\n\
         poll_interval_secs = 60\ndelay_secs = 0\noverlap_secs = 86400\n\
         start_from = \"{}\"\nendpoint_url = \"http://127.0.0.1:{}\"\n{extra}",
        start.format("%Y-%m-%dT%H:%M:%SZ"),
        shim()
    )
}

/// A complete hour inside the coverage window: two hours before the current one.
fn base_time() -> DateTime<Utc> {
    Utc::now().duration_trunc(Span::hours(1)).unwrap() - Span::hours(2) + Span::minutes(10)
}

fn checkpoint(db: &Path) -> Option<u64> {
    Store::open_read_only(db)
        .ok()?
        .checkpoints("cloudwatch_metrics")
        .ok()?
        .first()
        .map(|c| c.position)
}

const NOVA: &str = "amazon.nova-lite-v1:0";
const SONNET_PROFILE: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";
const SONNET: &str = "anthropic.claude-sonnet-4-20250514-v1:0";

#[test]
fn cross_check_exports_exact_totals_and_coverage_across_a_restart_and_a_late_minute() {
    let region = "eu-west-3";
    let dir = tempfile::tempdir().unwrap();
    let t = base_time();
    let m1 = t + Span::minutes(1);
    put_metrics(
        region,
        &[
            ("Invocations", NOVA, t, 5.0),
            ("Invocations", NOVA, m1, 3.0),
            ("InputTokenCount", NOVA, t, 1000.0),
            ("InputTokenCount", NOVA, m1, 600.0),
            ("OutputTokenCount", NOVA, t, 200.0),
            ("OutputTokenCount", NOVA, m1, 120.0),
            ("CacheReadInputTokenCount", NOVA, t, 50.0),
            ("InvocationClientErrors", NOVA, t, 1.0),
            ("InvocationThrottles", NOVA, m1, 2.0),
            // A metric the meter does not read.
            ("InvocationLatency", NOVA, t, 900.0),
            ("Invocations", SONNET_PROFILE, t, 2.0),
        ],
    );
    // The logs of the same hour: 6 of CloudWatch's 8 Nova Lite invocations, both Sonnet ones.
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let ts = t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut text = String::new();
    for i in 0..8u64 {
        let model = if i < 6 { NOVA } else { SONNET_PROFILE };
        let rec = synth_record(9_000 + i, &ts, model, 100, 20).replace(
            "\"region\":\"us-east-1\"",
            &format!("\"region\":\"{region}\""),
        );
        text.push_str(&rec);
        text.push('\n');
    }
    std::fs::write(logs.join("records.ndjson"), text).unwrap();
    let sources = format!(
        "[[sources]]\ntype = \"directory\"\nname = \"logs\"\npath = \"{}\"\n\
         poll_interval_secs = 1\n\n{}",
        logs.display(),
        metrics_source(region, t - Span::hours(1), "")
    );
    let config = write_config(dir.path(), &sources);
    let db = dir.path().join("ledger.db");

    let acct = "123456789012";
    let nova = format!("account=\"{acct}\",region=\"{region}\",model=\"{NOVA}\"");
    let sonnet = format!("account=\"{acct}\",region=\"{region}\",model=\"{SONNET}\"");
    let mut d = start(&config, "testing");
    wait_scrape(&d, "the metrics and the logs", 90, |m| {
        value(m, &format!("bedrock_logs_coverage_ratio{{{nova}}}")).as_deref() == Some("0.75")
            && value(m, "bedrock_meter_records_ingested_total").as_deref() == Some("8")
    });
    let m = scrape(&d);
    let v = |s: &str| value(&m, s);
    assert_eq!(
        v(&format!("bedrock_cloudwatch_invocations_total{{{nova}}}")).as_deref(),
        Some("8"),
        "{m}"
    );
    assert_eq!(
        v(&format!("bedrock_cloudwatch_invocations_total{{{sonnet}}}")).as_deref(),
        Some("2")
    );
    for (tt, n) in [("input", "1600"), ("output", "320"), ("cache_read", "50")] {
        assert_eq!(
            v(&format!(
                "bedrock_cloudwatch_tokens_total{{{nova},token_type=\"{tt}\"}}"
            ))
            .as_deref(),
            Some(n),
            "{tt}"
        );
    }
    for (e, n) in [("client", "1"), ("server", "0"), ("throttled", "2")] {
        assert_eq!(
            v(&format!(
                "bedrock_cloudwatch_invocation_errors_total{{{nova},error=\"{e}\"}}"
            ))
            .as_deref(),
            Some(n),
            "{e}"
        );
    }
    assert_eq!(
        v(&format!("bedrock_logs_coverage_ratio{{{sonnet}}}")).as_deref(),
        Some("1")
    );
    // Cross-check never adds cost.
    assert!(!m.contains("operation=\"CloudWatchMetrics\""), "{m}");
    // The API calls are counted.
    assert!(
        v("bedrock_meter_aws_api_calls_total{source=\"cwm\",api=\"GetMetricData\"}").is_some()
            && v("bedrock_meter_aws_api_calls_total{source=\"cwm\",api=\"ListMetrics\"}").is_some(),
        "{m}"
    );
    assert_eq!(signal_and_wait(&mut d.child, "-TERM"), 0);
    let first_checkpoint = checkpoint(&db).expect("a checkpoint was committed");

    // A restart with nothing new: the totals are restored from the ledger at start, and the
    // poll that re-reads every minute replaces them with the same values (never adds), so
    // they read 8 before, during and after that poll.
    let series = format!("bedrock_cloudwatch_invocations_total{{{nova}}}");
    let mut d = start(&config, "testing");
    assert_eq!(value(&scrape(&d), &series).as_deref(), Some("8"));
    wait_scrape(&d, "a poll after the restart", 90, |m| {
        value(
            m,
            "bedrock_meter_source_last_success_timestamp_seconds{source=\"cwm\"}",
        )
        .is_some()
    });
    for _ in 0..5 {
        assert_eq!(value(&scrape(&d), &series).as_deref(), Some("8"));
    }
    assert_eq!(signal_and_wait(&mut d.child, "-TERM"), 0);

    // While stopped, the first minute grows late (CloudWatch sums 5 + 2): after the restart
    // it must read 7, replacing 5, never adding to it.
    put_metrics(region, &[("Invocations", NOVA, t, 2.0)]);
    let d = start(&config, "testing");
    wait_scrape(&d, "the grown minute", 90, |m| {
        value(m, &series).as_deref() != Some("8")
    });
    let m = scrape(&d);
    assert_eq!(value(&m, &series).as_deref(), Some("10"), "{m}");
    assert_eq!(
        value(&m, &format!("bedrock_logs_coverage_ratio{{{nova}}}")).as_deref(),
        Some("0.6"),
        "{m}"
    );
    assert!(checkpoint(&db).unwrap() >= first_checkpoint);
    let out = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(m.as_bytes())?;
            c.wait_with_output()
        })
        .expect("promtool is needed (apt-get install prometheus; tests/run-all.sh does it)");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn primary_mode_prices_the_metrics_to_the_exact_cent_once() {
    let region = "us-west-2";
    let dir = tempfile::tempdir().unwrap();
    let t = base_time();
    put_metrics(
        region,
        &[
            ("Invocations", NOVA, t, 40.0),
            ("InputTokenCount", NOVA, t, 1_000_000.0),
            ("OutputTokenCount", NOVA, t, 500_000.0),
            ("CacheReadInputTokenCount", NOVA, t, 200_000.0),
            ("Invocations", NOVA, t + Span::minutes(3), 10.0),
            ("InputTokenCount", NOVA, t + Span::minutes(3), 250_000.0),
        ],
    );
    // No log source: mode "auto" is primary.
    let sources = metrics_source(
        region,
        t - Span::hours(1),
        "account_id = \"123456789012\"\n",
    );
    let config = write_config(dir.path(), &sources);
    let db = dir.path().join("ledger.db");
    let series = format!(
        "bedrock_cost_usd_total{{account=\"123456789012\",region=\"{region}\",model=\"{NOVA}\",\
         scope=\"in_region\",service_tier=\"standard\",operation=\"CloudWatchMetrics\",\
         principal=\"unattributed\"}}"
    );
    let inv = series.replace("bedrock_cost_usd_total", "bedrock_invocations_total");
    let mut d = start(&config, "testing");
    // Nova Lite in us-west-2: input $0.06, output $0.24, cache read $0.015 per 1M tokens:
    // 1.25M × 0.06 + 0.5M × 0.24 + 0.2M × 0.015 = 0.075 + 0.12 + 0.003.
    wait_scrape(&d, "the priced minutes", 90, |m| {
        value(m, &series).as_deref() == Some("0.198")
    });
    let m = scrape(&d);
    assert_eq!(value(&m, &inv).as_deref(), Some("50"), "{m}");
    assert_eq!(signal_and_wait(&mut d.child, "-TERM"), 0);

    // The first minute grows by 250k input tokens: $0.015 more, counted once after a restart
    // that re-reads every minute.
    put_metrics(region, &[("InputTokenCount", NOVA, t, 250_000.0)]);
    let d = start(&config, "testing");
    wait_scrape(&d, "the grown minute priced", 90, |m| {
        value(m, &series).as_deref() != Some("0.198")
    });
    let m = scrape(&d);
    assert_eq!(value(&m, &series).as_deref(), Some("0.213"), "{m}");
    assert_eq!(value(&m, &inv).as_deref(), Some("50"), "{m}");
    drop(d);
    // The ledger names the price entry and says who: nobody.
    let store = Store::open_read_only(&db).unwrap();
    let mut entries = std::collections::BTreeSet::new();
    store
        .for_each_rollup_row(i64::MIN, i64::MAX, |r| {
            assert_eq!(r.dims.principal, "unattributed");
            assert_eq!(r.dims.operation, "CloudWatchMetrics");
            if r.amount.cost.is_some() {
                entries.insert(r.price_entry.clone());
            }
            Ok::<_, bedrock_meter::store::StoreError>(())
        })
        .unwrap();
    assert_eq!(
        entries.into_iter().collect::<Vec<_>>(),
        vec!["amazon.nova-lite/standard/2024-12-03".to_string()]
    );
}

#[test]
fn access_denied_names_the_iam_action_and_throttling_backs_off_then_reads() {
    let dir = tempfile::tempdir().unwrap();
    let t = base_time();

    // Denied: the source stays down and says which action to grant.
    let denied = "AKIADENIEDCWMTEST01";
    fault(denied, "ListMetrics", 400, "AccessDeniedException", -1);
    let config = write_config(dir.path(), &metrics_source("ca-central-1", t, ""));
    let d = start(&config, denied);
    wait_until("the access denied error", 60, || {
        d.stderr
            .lock()
            .unwrap()
            .contains("grant cloudwatch:ListMetrics")
    });
    wait_until("the error metric", 30, || {
        value(
            &scrape(&d),
            "bedrock_meter_source_errors_total{source=\"cwm\",kind=\"aws_access_denied\"}",
        )
        .is_some()
    });
    drop(d);

    // Throttled: more throttles than the SDK retries, so the source backs off, then reads.
    let region = "ap-south-1";
    put_metrics(region, &[("Invocations", NOVA, t, 4.0)]);
    let throttled = "AKIATHROTTLEDCWM01";
    fault(throttled, "GetMetricData", 400, "Throttling", 6);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &metrics_source(region, t - Span::hours(1), "mode = \"cross_check\"\n"),
    );
    let d = start(&config, throttled);
    let series = format!(
        "bedrock_cloudwatch_invocations_total{{account=\"unknown\",region=\"{region}\",model=\"{NOVA}\"}}"
    );
    wait_until("the metrics after the throttling", 120, || {
        value(&scrape(&d), &series).as_deref() == Some("4")
    });
    let m = scrape(&d);
    assert!(
        value(
            &m,
            "bedrock_meter_source_errors_total{source=\"cwm\",kind=\"aws_throttled\"}"
        )
        .is_some(),
        "{m}"
    );
}

#[test]
fn the_demo_feeds_cloudwatch_metrics_whose_coverage_is_a_little_below_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = bin()
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--rate",
            "5",
            "--duration",
            "4",
            "--seed",
            "11",
            "--db",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The ledger the demo left, exposed as a restarted daemon would.
    let store = Store::open_read_only(&db).unwrap();
    let telemetry = bedrock_meter::exporters::metrics::Telemetry::restore(
        &store,
        bedrock_meter::exporters::metrics::MetricsConfig::default(),
    )
    .unwrap();
    telemetry.refresh_cloudwatch(&store).unwrap();
    let book = bedrock_meter::pricing::PriceBook::embedded().unwrap();
    let text = telemetry.render(&book, Utc::now());
    let ratios: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("bedrock_logs_coverage_ratio{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(!ratios.is_empty(), "{text}");
    // Every minute CloudWatch counts 5% (rounded down) plus one more than the logs.
    assert!(ratios.iter().all(|r| *r > 0.0 && *r < 1.0), "{ratios:?}");
    assert!(text.contains("bedrock_cloudwatch_tokens_total{"), "{text}");
    // Cross-check: the demo's metrics add no cost.
    assert!(!text.contains("operation=\"CloudWatchMetrics\""));
}
