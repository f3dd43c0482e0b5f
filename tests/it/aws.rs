//! The AWS sources against a real moto server on 127.0.0.1 (never AWS): the shared
//! fixtures delivered as CloudWatch Logs events and as S3 objects in Bedrock's layout, read
//! by `bedrock-meter run`, stopped or killed midway and restarted, with late events and
//! objects; the ledger's totals must equal an `ingest` of the same records, exactly.
//!
//! moto is started once per test binary (`moto.server.ThreadedMotoServer` on a free port,
//! from `$MOTO_PYTHON`, `target/moto-venv/bin/python` or `python3`) and stops when the
//! binary exits (it waits on its standard input). It is required: without it the tests
//! fail with the command that installs it. Tests run in parallel, so every log group and
//! bucket has a unique name.
use crate::util::{bin, fixtures_dir, run, signal_and_wait, stdout, wait_until};
use bedrock_meter::store::Store;
use chrono::{DateTime, Duration as Span, DurationRound, Utc};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// --- moto --------------------------------------------------------------------------------

struct Moto {
    port: u16,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

const MOTO_SCRIPT: &str = r#"
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"#;

const INSTALL: &str = "moto is needed by the AWS source tests. `bash tests/run-all.sh` installs \
it; or: python3 -m venv target/moto-venv && target/moto-venv/bin/pip install 'moto[server]' \
(or set MOTO_PYTHON to a python that has moto)";

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

/// The moto endpoint, `http://127.0.0.1:<port>`, started on first use.
pub(crate) fn moto() -> String {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    let m = MOTO.get_or_init(|| {
        let py = python();
        let mut child = Command::new(&py)
            .args(["-c", MOTO_SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}. {INSTALL}", py.display()));
        let stdin = child.stdin.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        // Drain stderr (request logs) so moto never blocks on a full pipe; keep the start
        // of it for a failure message.
        let head = crate::util::keep_head(stderr);
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = match line.trim().parse() {
            Ok(p) => p,
            Err(_) => {
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "moto did not start with {}: {}\n{INSTALL}",
                    py.display(),
                    head.lock().unwrap()
                );
            }
        };
        let start = Instant::now();
        loop {
            if let Ok((200, _)) = http(port, "GET", "/moto-api/", &[], b"") {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto on port {port} did not answer GET /moto-api/"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            port,
            _child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        }
    });
    format!("http://127.0.0.1:{}", m.port)
}

fn moto_port() -> u16 {
    moto().rsplit(':').next().unwrap().parse().unwrap()
}

/// One HTTP/1.0 request to 127.0.0.1:`port`: (status, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(resp.len(), |i| i + 4);
    let status = String::from_utf8_lossy(&resp[..split])
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, resp[split..].to_vec()))
}

/// An unsigned request in the shape moto routes by (the service in the credential scope).
pub(crate) fn aws(
    service: &str,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
         SignedHeaders=host, Signature=0"
    );
    let mut headers = vec![("Authorization", auth.as_str())];
    headers.extend_from_slice(extra);
    let (status, out) = http(moto_port(), method, path, &headers, body).unwrap();
    assert!(
        (200..300).contains(&status),
        "{service} {method} {path}: {status} {}",
        String::from_utf8_lossy(&out)
    );
    out
}

fn logs(action: &str, body: serde_json::Value) -> serde_json::Value {
    let target = format!("Logs_20140328.{action}");
    let out = aws(
        "logs",
        "POST",
        "/",
        &[
            ("X-Amz-Target", &target),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        body.to_string().as_bytes(),
    );
    serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
}

pub(crate) fn s3_put(bucket: &str, key: &str, body: &[u8]) {
    aws("s3", "PUT", &format!("/{bucket}/{key}"), &[], body);
}

/// A unique lowercase name for a log group or bucket.
pub(crate) fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "it-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        tag
    )
}

// --- records -----------------------------------------------------------------------------

/// The shared fixtures, one compact line each, in file-name order.
fn fixture_records() -> Vec<serde_json::Value> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

/// Whether a record's own timestamp is a time (the fixtures include two placeholders).
fn has_time(v: &serde_json::Value) -> bool {
    v["timestamp"]
        .as_str()
        .is_some_and(|t| DateTime::parse_from_rfc3339(t).is_ok())
}

/// The record as Bedrock would deliver it at `at`: its timestamp moved there (a record with
/// a placeholder timestamp keeps it, and is rejected as in the fixture), on one line.
fn at(v: &serde_json::Value, at: DateTime<Utc>) -> String {
    let mut v = v.clone();
    if has_time(&v) {
        v["timestamp"] = at.format("%Y-%m-%dT%H:%M:%SZ").to_string().into();
    }
    serde_json::to_string(&v).unwrap()
}

pub(crate) fn gz(lines: &[String]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for l in lines {
        writeln!(enc, "{l}").unwrap();
    }
    enc.finish().unwrap()
}

// --- the daemon and the ledger -----------------------------------------------------------

/// A running daemon (killed if the test fails first) and its stderr so far.
pub(crate) struct Daemon {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment of every daemon: static test credentials (`access_key` / `testing`, or
/// none), empty profile files, no instance metadata, and a default endpoint on loopback.
pub(crate) fn aws_env(cmd: &mut Command, access_key: Option<&str>) {
    for v in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
        "AWS_ENDPOINT_URL_CLOUDWATCH",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        cmd.env_remove(v);
    }
    let empty = Path::new(env!("CARGO_TARGET_TMPDIR")).join("aws-empty-profile");
    if !empty.exists() {
        std::fs::write(&empty, "").unwrap();
    }
    // A client that did not take the source's endpoint_url would go to this address, which
    // refuses connections, never to AWS.
    cmd.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty);
    if let Some(key) = access_key {
        cmd.env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", "testing");
    }
}

pub(crate) fn start(config: &Path, credentials: bool) -> Daemon {
    let mut cmd = bin();
    cmd.args(["run", "--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    aws_env(&mut cmd, credentials.then_some("testing"));
    let mut child = cmd.spawn().unwrap();
    let err = child.stderr.take().unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    {
        let stderr = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("[daemon] {line}");
                stderr.lock().unwrap().push_str(&(line + "\n"));
            }
        });
    }
    Daemon { child, stderr }
}

pub(crate) fn signal(d: &mut Daemon, sig: &str) -> i32 {
    signal_and_wait(&mut d.child, sig)
}

/// A ledger counter (`records_ingested`, `records_rejected:bad_timestamp`, …).
pub(crate) fn counter(db: &Path, name: &str) -> u64 {
    Store::open_read_only(db)
        .ok()
        .and_then(|s| s.counters().ok())
        .and_then(|c| c.get(name).copied())
        .unwrap_or(0)
}

fn rejected(db: &Path) -> u64 {
    Store::open_read_only(db)
        .ok()
        .and_then(|s| s.counters().ok())
        .map(|c| {
            c.iter()
                .filter(|(k, _)| k.starts_with("records_rejected:"))
                .map(|(_, v)| v)
                .sum()
        })
        .unwrap_or(0)
}

/// `report --format json` over all time, by model and hour, without the `to` field.
fn report(db: &Path) -> serde_json::Value {
    let o = run(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--group-by",
        "model,hour",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// The reference: `ingest` of `paths` into a fresh ledger; (ledger, ingest summary).
fn reference(dir: &Path, name: &str, paths: &[&Path]) -> (PathBuf, serde_json::Value) {
    let db = dir.join(format!("{name}.db"));
    let mut args = vec![
        "ingest".to_string(),
        "--db".to_string(),
        db.display().to_string(),
        "--format".to_string(),
        "json".to_string(),
    ];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (db, serde_json::from_str(&stdout(&o)).unwrap())
}

fn rejected_total(summary: &serde_json::Value) -> u64 {
    summary["records_rejected"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum()
}

/// A daemon config around `sources`. The control plane is off: moto lacks its APIs (it is
/// tested against a fake server in `control_plane.rs`).
pub(crate) fn write_config(dir: &Path, sources: &str) -> PathBuf {
    let p = dir.join("bedrock-meter.toml");
    std::fs::write(
        &p,
        format!(
            "[server]\nlisten_address = \"127.0.0.1:0\"\n\n[store]\npath = \"{}\"\n\n\
             [pipeline]\ncommit_interval_ms = 100\nshutdown_grace_secs = 20\n\n\
             [control_plane]\nenabled = false\n\n{sources}",
            dir.join("ledger.db").display()
        ),
    )
    .unwrap();
    p
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

// --- CloudWatch Logs ---------------------------------------------------------------------

fn put_events(group: &str, stream: &str, events: &[(DateTime<Utc>, String)]) {
    let mut events = events.to_vec();
    events.sort_by_key(|e| e.0);
    for batch in events.chunks(5) {
        let log_events: Vec<serde_json::Value> = batch
            .iter()
            .map(|(t, m)| serde_json::json!({"timestamp": t.timestamp_millis(), "message": m}))
            .collect();
        let out = logs(
            "PutLogEvents",
            serde_json::json!({"logGroupName": group, "logStreamName": stream, "logEvents": log_events}),
        );
        assert!(out.get("rejectedLogEventsInfo").is_none(), "{out}");
    }
}

#[test]
fn cloudwatch_logs_events_are_counted_exactly_once_across_a_restart_and_late_events() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto();
    let group = format!("/aws/bedrock/{}", unique("cw"));
    let stream = "aws/bedrock/modelinvocations";
    logs("CreateLogGroup", serde_json::json!({"logGroupName": group}));
    logs(
        "CreateLogStream",
        serde_json::json!({"logGroupName": group, "logStreamName": stream}),
    );
    let now = Utc::now().duration_trunc(Span::seconds(1)).unwrap();
    let records = fixture_records();
    let half = records.len() / 2;

    // Phase 1: half the fixtures 50 to 30 minutes ago (the ones rejected for their
    // placeholder timestamps among them), the last valid one a minute ago, inside the
    // overlap a restart reads again.
    let mut phase1: Vec<(DateTime<Utc>, String)> = Vec::new();
    let valid1: Vec<usize> = (0..half).filter(|&i| has_time(&records[i])).collect();
    let recent = *valid1.last().unwrap();
    for (i, r) in records.iter().enumerate().take(half) {
        let t = if i == recent {
            now - Span::seconds(60)
        } else {
            now - Span::minutes(50) + Span::seconds(40 * i as i64)
        };
        phase1.push((t, at(r, t)));
    }
    put_events(&group, stream, &phase1);

    let sources = format!(
        "[[sources]]\ntype = \"cloudwatch_logs\"\nname = \"cw\"\nregion = \"us-east-1\"\n\
         log_group_name = \"{group}\"\npoll_interval_secs = 1\noverlap_secs = 300\n\
         start_from = \"{}\"\nendpoint_url = \"{endpoint}\"\n",
        rfc3339(now - Span::hours(2))
    );
    let config = write_config(dir.path(), &sources);
    let db = dir.path().join("ledger.db");
    let all = dir.path().join("all.ndjson");
    let write_all = |events: &[(DateTime<Utc>, String)]| {
        let text: String = events.iter().map(|e| format!("{}\n", e.1)).collect();
        std::fs::write(&all, text).unwrap();
    };
    write_all(&phase1);
    let (_, want1) = reference(dir.path(), "ref1", &[&all]);

    let mut d = start(&config, true);
    let want = want1["records_ingested"].as_u64().unwrap();
    wait_until("phase 1 ingested", 90, || {
        counter(&db, "records_ingested") == want && rejected(&db) == rejected_total(&want1)
    });
    assert_eq!(signal(&mut d, "-TERM"), 0);

    // Phase 2, while stopped: the other half, just now, and a late event two minutes
    // back (before the checkpoint, inside the overlap).
    let mut events = phase1.clone();
    let late = now - Span::seconds(120);
    let mut phase2 = vec![(late, at(&records[half], late))];
    let t2 = Utc::now().duration_trunc(Span::seconds(1)).unwrap() - Span::seconds(5);
    for r in &records[half + 1..] {
        phase2.push((t2, at(r, t2)));
    }
    put_events(&group, stream, &phase2);
    events.extend(phase2);

    // Phase 3, running again: one more late event, 90 s back, read by the overlap of a
    // later poll.
    let mut d = start(&config, true);
    write_all(&events);
    let (_, want2) = reference(dir.path(), "ref2", &[&all]);
    let want = want2["records_ingested"].as_u64().unwrap();
    wait_until("phase 2 ingested", 90, || {
        counter(&db, "records_ingested") == want
    });
    let extra = serde_json::json!({
        "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
        "timestamp": "", "accountId": "123456789012",
        "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/App/late"},
        "region": "us-east-1", "requestId": "late-event-0001", "operation": "Converse",
        "modelId": "amazon.nova-lite-v1:0",
        "input": {"inputContentType": "application/json", "inputTokenCount": 1000},
        "output": {"outputContentType": "application/json", "outputTokenCount": 100}
    });
    let t3 = Utc::now().duration_trunc(Span::seconds(1)).unwrap() - Span::seconds(90);
    let mut extra_rec = extra;
    extra_rec["timestamp"] = rfc3339(t3).into();
    let late3 = (t3, serde_json::to_string(&extra_rec).unwrap());
    put_events(&group, stream, std::slice::from_ref(&late3));
    events.push(late3);
    write_all(&events);
    let (reference_db, want3) = reference(dir.path(), "ref3", &[&all]);
    let want = want3["records_ingested"].as_u64().unwrap();
    wait_until("the late event", 90, || {
        counter(&db, "records_ingested") == want
    });
    // Let a few more polls pass: nothing more may be counted.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(signal(&mut d, "-TERM"), 0);

    assert_eq!(counter(&db, "records_ingested"), want);
    assert_eq!(rejected(&db), rejected_total(&want3));
    assert!(
        counter(&db, "records_duplicate") >= 1,
        "the restart read the overlap again and dropped what it had counted"
    );
    let (mut got, mut expected) = (report(&db), report(&reference_db));
    got.as_object_mut().unwrap().remove("to");
    expected.as_object_mut().unwrap().remove("to");
    assert_eq!(got, expected);
    assert!(
        !d.stderr.lock().unwrap().contains("Source failed"),
        "{}",
        d.stderr.lock().unwrap()
    );
}

// --- S3 ----------------------------------------------------------------------------------

#[test]
fn s3_objects_are_counted_exactly_once_across_a_kill_and_late_objects() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto();
    let bucket = unique("s3");
    aws("s3", "PUT", &format!("/{bucket}"), &[], b"");
    let prefix = "bedrock/invocation-logs";
    let region_dir = "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1";
    // The same objects go to the bucket and to a local copy, which `ingest` reads for the
    // reference totals.
    let copy = dir.path().join("copy");
    let put = |rel: &str, body: &[u8]| {
        s3_put(&bucket, &format!("{prefix}/{rel}"), body);
        let p = copy.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    let hour = Utc::now().duration_trunc(Span::hours(1)).unwrap();
    let hour_dir = |h: DateTime<Utc>| format!("{region_dir}/{}", h.format("%Y/%m/%d/%H"));

    put("AWSLogs/amazon-bedrock-logs-permission-check", b"");
    let records = fixture_records();
    for (n, chunk) in records.chunks(8).enumerate() {
        let h = hour - Span::hours(3 - (n as i64 % 3));
        let lines: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| at(r, h + Span::minutes(i as i64)))
            .collect();
        let name = format!(
            "{}/{}Z_{n:04}.json.gz",
            hour_dir(h),
            h.format("%Y%m%dT%H%M%S")
        );
        if n == 1 {
            // Not gzip: NDJSON as it is.
            put(
                &name.replace(".json.gz", ".json"),
                lines.join("\n").as_bytes(),
            );
        } else {
            put(&name, &gz(&lines));
        }
    }
    // A large object, read in several checkpointed chunks.
    let h = hour - Span::hours(2);
    let big: Vec<String> = (0..2_500)
        .map(|i| {
            crate::util::synth_record(
                i,
                &rfc3339(h + Span::seconds(i as i64)),
                "amazon.nova-lite-v1:0",
                100 + i % 7,
                20 + i % 5,
            )
        })
        .collect();
    put(&format!("{}/big.json.gz", hour_dir(h)), &gz(&big));
    // A data/ sidecar that would count if it were read.
    put(
        &format!("{}/data/req-sidecar_input.json.gz", hour_dir(h)),
        &gz(&[crate::util::synth_record(
            900_000,
            &rfc3339(h),
            "amazon.nova-lite-v1:0",
            5,
            5,
        )]),
    );

    let sources = format!(
        "[[sources]]\ntype = \"s3\"\nname = \"bucket\"\nregion = \"us-east-1\"\n\
         bucket = \"{bucket}\"\nprefix = \"{prefix}\"\npoll_interval_secs = 1\n\
         relist_hours = 2\nstart_from = \"{}\"\nendpoint_url = \"{endpoint}\"\n",
        rfc3339(hour - Span::hours(6))
    );
    let config = write_config(dir.path(), &sources);
    let db = dir.path().join("ledger.db");
    let (_, want1) = reference(dir.path(), "ref1", &[&copy]);
    let want = want1["records_ingested"].as_u64().unwrap();

    // Killed as soon as something is committed, then restarted.
    let mut d = start(&config, true);
    wait_until("the first commit", 90, || {
        counter(&db, "records_ingested") > 0
    });
    signal(&mut d, "-KILL");
    let mut d = start(&config, true);
    wait_until("every object", 90, || {
        counter(&db, "records_ingested") == want && rejected(&db) == rejected_total(&want1)
    });

    // A late object in an hour two back (inside relist_hours).
    let late = hour - Span::hours(2) + Span::minutes(59);
    put(
        &format!("{}/late.json.gz", hour_dir(late)),
        &gz(&[crate::util::synth_record(
            800_000,
            &rfc3339(late),
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            3000,
            400,
        )]),
    );
    let (reference_db, want2) = reference(dir.path(), "ref2", &[&copy]);
    let want = want2["records_ingested"].as_u64().unwrap();
    wait_until("the late object", 90, || {
        counter(&db, "records_ingested") == want
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(signal(&mut d, "-TERM"), 0);

    assert_eq!(counter(&db, "records_ingested"), want);
    assert_eq!(rejected(&db), rejected_total(&want2));
    assert_eq!(
        counter(&db, "files_read"),
        want2["files_read"].as_u64().unwrap(),
        "each object read to its end once"
    );
    let (mut got, mut expected) = (report(&db), report(&reference_db));
    got.as_object_mut().unwrap().remove("to");
    expected.as_object_mut().unwrap().remove("to");
    assert_eq!(got, expected);
}

// --- errors ------------------------------------------------------------------------------

#[test]
fn a_missing_log_group_bucket_or_credentials_is_reported_clearly_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto();
    let group = format!("/aws/bedrock/{}", unique("missing"));
    let bucket = unique("missing");
    let sources = format!(
        "[[sources]]\ntype = \"cloudwatch_logs\"\nname = \"cw\"\nregion = \"us-east-1\"\n\
         log_group_name = \"{group}\"\npoll_interval_secs = 1\nendpoint_url = \"{endpoint}\"\n\n\
         [[sources]]\ntype = \"s3\"\nname = \"bucket\"\nregion = \"us-east-1\"\n\
         bucket = \"{bucket}\"\npoll_interval_secs = 1\nendpoint_url = \"{endpoint}\"\n"
    );
    let config = write_config(dir.path(), &sources);
    let mut d = start(&config, true);
    wait_until("both errors", 90, || {
        let e = d.stderr.lock().unwrap();
        e.contains(&format!("log group {group} not found in region us-east-1"))
            && e.contains(&format!("bucket {bucket} does not exist"))
    });
    assert_eq!(signal(&mut d, "-TERM"), 0);

    let mut d = start(&config, false);
    wait_until("the credentials error", 90, || {
        d.stderr.lock().unwrap().contains("no AWS credentials")
    });
    assert_eq!(signal(&mut d, "-TERM"), 0);
}

#[test]
fn a_source_can_read_through_an_assumed_role() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto();
    let bucket = unique("role");
    aws("s3", "PUT", &format!("/{bucket}"), &[], b"");
    let hour = Utc::now().duration_trunc(Span::hours(1)).unwrap();
    let key = format!(
        "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/{}/a.json.gz",
        hour.format("%Y/%m/%d/%H")
    );
    let record = crate::util::synth_record(1, &rfc3339(hour), "amazon.nova-lite-v1:0", 10, 2);
    s3_put(&bucket, &key, &gz(&[record]));
    let sources = format!(
        "[[sources]]\ntype = \"s3\"\nname = \"bucket\"\nregion = \"us-east-1\"\n\
         bucket = \"{bucket}\"\npoll_interval_secs = 1\n\
         assume_role_arn = \"arn:aws:iam::123456789012:role/BedrockMeterRead\"\n\
         external_id = \"meter\"\nendpoint_url = \"{endpoint}\"\n"
    );
    let config = write_config(dir.path(), &sources);
    let db = dir.path().join("ledger.db");
    let mut d = start(&config, true);
    wait_until("the record", 90, || counter(&db, "records_ingested") == 1);
    assert_eq!(signal(&mut d, "-TERM"), 0);
}

// --- ingest s3:// (backfill) ---------------------------------------------------------------

/// `ingest` of `args` with the daemon's test environment (static credentials, loopback
/// only); the JSON summary.
fn ingest_s3(db: &Path, args: &[&str]) -> serde_json::Value {
    let mut cmd = bin();
    cmd.args(["ingest", "--db", db.to_str().unwrap(), "--format", "json"])
        .args(args);
    aws_env(&mut cmd, Some("testing"));
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[test]
fn ingest_backfills_an_s3_bucket_by_hour_and_never_counts_twice() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto();
    let bucket = unique("backfill");
    aws("s3", "PUT", &format!("/{bucket}"), &[], b"");
    let prefix = "bedrock/logs";
    let region_dir = "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1";
    // Each hour's objects also go to a local copy, which `ingest` reads for the reference.
    let put = |copy: &Path, rel: &str, body: &[u8]| {
        s3_put(&bucket, &format!("{prefix}/{rel}"), body);
        let p = copy.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    let (copy1, copy2) = (dir.path().join("hour1"), dir.path().join("hour2"));
    let h1 = DateTime::parse_from_rfc3339("2026-10-03T07:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let h2 = h1 + Span::hours(1);
    let records = fixture_records();
    let half = records.len() / 2;
    let mut objects = [0u64; 2];
    for (n, chunk) in records.chunks(6).enumerate() {
        let first = n * 6 < half;
        let (h, copy) = if first { (h1, &copy1) } else { (h2, &copy2) };
        objects[usize::from(!first)] += 1;
        let lines: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| at(r, h + Span::minutes(i as i64)))
            .collect();
        let dir = format!("{region_dir}/{}", h.format("%Y/%m/%d/%H"));
        if n == 1 {
            put(
                copy,
                &format!("{dir}/obj_{n:04}.json"),
                lines.join("\n").as_bytes(),
            );
        } else {
            put(copy, &format!("{dir}/obj_{n:04}.json.gz"), &gz(&lines));
        }
    }
    put(
        &copy2,
        &format!(
            "{region_dir}/{}/data/x_input.json.gz",
            h2.format("%Y/%m/%d/%H")
        ),
        &gz(&[crate::util::synth_record(
            900_000,
            &rfc3339(h2),
            "amazon.nova-lite-v1:0",
            5,
            5,
        )]),
    );
    let (_, want1) = reference(dir.path(), "ref1", &[&copy1]);
    let (reference_db, want_all) = reference(dir.path(), "ref_all", &[&copy1, &copy2]);

    let db = dir.path().join("ledger.db");
    let url = format!("s3://{bucket}/{prefix}");
    let s3 = ["--region", "us-east-1", "--endpoint-url", endpoint.as_str()];
    let mut args = vec![url.as_str()];
    args.extend(s3);
    let (f, t) = (rfc3339(h1), rfc3339(h2));
    let mut one_hour = args.clone();
    one_hour.extend(["--from", f.as_str(), "--to", t.as_str()]);

    // The first hour only.
    let got = ingest_s3(&db, &one_hour);
    assert_eq!(got["records_ingested"], want1["records_ingested"]);
    assert_eq!(got["records_rejected"], want1["records_rejected"]);
    assert_eq!(got["cost_usd"], want1["cost_usd"]);
    assert_eq!(got["files_read"].as_u64().unwrap(), objects[0]);

    // Everything: the first hour is already in.
    let got = ingest_s3(&db, &args);
    assert_eq!(got["files_already_ingested"].as_u64().unwrap(), objects[0]);
    assert_eq!(got["files_read"].as_u64().unwrap(), objects[1]);
    assert_eq!(got["files_skipped"]["data_object"], 1);
    assert_eq!(
        got["records_ingested"].as_u64().unwrap() + want1["records_ingested"].as_u64().unwrap(),
        want_all["records_ingested"].as_u64().unwrap()
    );
    assert_eq!(
        counter(&db, "records_ingested"),
        want_all["records_ingested"].as_u64().unwrap()
    );
    assert_eq!(rejected(&db), rejected_total(&want_all));
    let (mut got, mut expected) = (report(&db), report(&reference_db));
    got.as_object_mut().unwrap().remove("to");
    expected.as_object_mut().unwrap().remove("to");
    assert_eq!(got, expected);

    // Again: nothing new.
    let got = ingest_s3(&db, &args);
    assert_eq!(got["records_ingested"], 0);
    assert_eq!(got["records_duplicate"], 0);
    assert_eq!(got["files_read"], 0);
    assert_eq!(
        got["files_already_ingested"].as_u64().unwrap(),
        objects[0] + objects[1]
    );
    assert_eq!(
        counter(&db, "records_ingested"),
        want_all["records_ingested"].as_u64().unwrap()
    );
}

// --- [discovery] ---------------------------------------------------------------------------

#[test]
fn discovery_reads_the_logged_bucket_and_warns_about_a_region_without_logging() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto();
    let bucket = unique("disc");
    aws("s3", "PUT", &format!("/{bucket}"), &[], b"");
    let prefix = "bedrock/logs";
    // us-east-1 logs to the bucket; eu-west-3 has no logging configuration. (No other test
    // touches Bedrock's configuration, which moto keeps per region.)
    let config = serde_json::json!({"loggingConfig": {
        "s3Config": {"bucketName": bucket, "keyPrefix": prefix},
        "textDataDeliveryEnabled": true,
        "imageDataDeliveryEnabled": true,
        "embeddingDataDeliveryEnabled": true,
    }});
    aws(
        "bedrock",
        "PUT",
        "/logging/modelinvocations",
        &[("Content-Type", "application/json")],
        config.to_string().as_bytes(),
    );
    let hour = Utc::now().duration_trunc(Span::hours(1)).unwrap();
    let rel = format!(
        "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/{}/a.json.gz",
        hour.format("%Y/%m/%d/%H")
    );
    let lines: Vec<String> = fixture_records()
        .iter()
        .enumerate()
        .map(|(i, r)| at(r, hour + Span::seconds(i as i64)))
        .collect();
    let body = gz(&lines);
    s3_put(&bucket, &format!("{prefix}/{rel}"), &body);
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(copy.join(&rel).parent().unwrap()).unwrap();
    std::fs::write(copy.join(&rel), &body).unwrap();
    let (_, want) = reference(dir.path(), "ref", &[&copy]);
    let want_ingested = want["records_ingested"].as_u64().unwrap();
    assert!(want_ingested > 0);

    let discovery = format!(
        "[discovery]\nregions = [\"us-east-1\", \"eu-west-3\"]\nendpoint_url = \"{endpoint}\"\n"
    );
    let config = write_config(dir.path(), &discovery);
    let db = dir.path().join("ledger.db");
    let mut d = start(&config, true);
    wait_until("the discovered bucket's records", 90, || {
        counter(&db, "records_ingested") == want_ingested && rejected(&db) == rejected_total(&want)
    });
    assert_eq!(signal(&mut d, "-TERM"), 0);
    let err = d.stderr.lock().unwrap().clone();
    assert!(
        err.contains("Model invocation logging is off in eu-west-3"),
        "{err}"
    );
    assert!(err.contains("discovered-s3-us-east-1"), "{err}");
    assert!(
        !err.contains("does not deliver"),
        "every priced modality is logged in us-east-1: {err}"
    );
}
