//! The overview page (`GET /`) and its JSON (`GET /api/v1/overview`) from the real binary,
//! rendered by a real headless Chromium (Debian's `chromium`): non-zero spend on the page,
//! a screenshot in `target/screenshots/overview.png`, log data escaped, auth respected.
use crate::util::{bin, signal_and_wait};
use bedrock_meter::accounting::{Amount, Batch, Dims, MeterKey};
use bedrock_meter::store::Store;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process killed (and reaped) when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bedrock-meter` with `args` (which must listen on `127.0.0.1:0`) and returns it
/// with the address it printed.
pub fn start_daemon(args: &[&str], envs: &[(&str, &str)]) -> (Killed, String) {
    let mut child = bin()
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bedrock-meter");
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
    let child = Killed(child);
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the daemon printed its address");
    (child, addr)
}

/// `bedrock-meter demo` on a free loopback port with a ledger in `dir`.
pub fn start_demo(dir: &Path) -> (Killed, String) {
    let db = dir.join("demo.db");
    start_daemon(
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
    )
}

/// A minimal HTTP/1.0 GET: (status, headers, body).
pub fn get(addr: &str, path: &str, auth: Option<&str>) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

fn overview_json(addr: &str, auth: Option<&str>) -> serde_json::Value {
    let (status, _, body) = get(addr, "/api/v1/overview", auth);
    assert_eq!(status, 200, "GET /api/v1/overview: {body}");
    serde_json::from_str(&body).expect("the overview is JSON")
}

fn chromium() -> PathBuf {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "Debian's chromium is needed for the overview page test: \
         apt-get install -y --no-install-recommends chromium (tests/run-all.sh installs it)"
    );
}

/// Runs headless Chromium on `url` with its own profile in `profile`, after the page's
/// scripts ran (virtual time), with `extra` arguments; returns stdout.
fn headless(profile: &Path, url: &str, extra: &[&str]) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox", // tests run as root in CI; Chromium refuses to sandbox as root
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the element with `id` in a dumped DOM (up to the next tag).
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\"");
    let at = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no element #{id} in the DOM:\n{dom}"));
    let rest = &dom[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap() + start;
    &rest[start..end]
}

/// A dollar amount as the page prints it (`$1,234.56`).
fn dollars(text: &str) -> f64 {
    text.trim()
        .strip_prefix('$')
        .unwrap_or_else(|| panic!("not a dollar amount: {text:?}"))
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a dollar amount: {text:?}"))
}

#[test]
fn the_overview_page_shows_nonzero_spend_in_a_real_browser_and_is_screenshotted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut demo, addr) = start_demo(dir.path());
    let positive = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .is_some_and(|x| x > 0.0)
    };
    // Spend, and the demo's all-spend daily budget evaluated on it (its first evaluation
    // may run on an empty ledger), so the screenshot shows both.
    crate::util::wait_until(
        "spend and an evaluated budget in the overview JSON",
        60,
        || {
            let v = overview_json(&addr, None);
            positive(&v["month_to_date_usd"])
                && v["budgets"].as_array().is_some_and(|b| {
                    b.iter()
                        .any(|b| b["name"] == "demo-daily" && positive(&b["spend_usd"]))
                })
        },
    );
    let v = overview_json(&addr, None);
    assert!(!v["by_model"]["top"].as_array().unwrap().is_empty());
    assert!(!v["by_principal"]["top"].as_array().unwrap().is_empty());
    let streams = v["by_stream"]["top"].as_array().unwrap();
    assert!(
        streams.iter().any(|s| s["key"] == "on_demand"),
        "{streams:?}"
    );
    let sources = v["ingest"]["sources"].as_array().unwrap();
    assert!(sources.iter().any(|s| s["name"] == "demo"), "{sources:?}");

    let (status, head, page) = get(&addr, "/", None);
    assert_eq!(status, 200);
    assert!(head.contains("content-security-policy: default-src 'none'"));
    assert!(head.contains("content-type: text/html"));
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http"),
        "no external assets"
    );

    let url = format!("http://{addr}/");
    let dom = headless(&dir.path().join("profile"), &url, &["--dump-dom"]);
    assert!(
        dom.contains("id=\"error\" hidden=\"\"></span>"),
        "the page loaded its data:\n{dom}"
    );
    let mtd = dollars(text_of(&dom, "mtd"));
    assert!(mtd > 0.0, "month-to-date on the page: {mtd}");
    dollars(text_of(&dom, "forecast"));
    assert!(
        dom.matches("<tr>").count() >= 4,
        "rows for models, principals and sources:\n{dom}"
    );
    // The page's own script shows whether budgets exist; one of the two is visible.
    assert!(dom.contains("No budgets configured.") || dom.contains("id=\"budgets\""));

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("overview.png");
    let _ = std::fs::remove_file(&png);
    headless(
        &dir.path().join("profile"),
        &url,
        &[
            "--window-size=1280,1400",
            "--hide-scrollbars",
            &format!("--screenshot={}", png.display()),
        ],
    );
    let bytes = std::fs::read(&png).expect("the screenshot was written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(bytes.len() > 20_000, "a real page, not a blank image");
    assert_eq!(signal_and_wait(&mut demo.0, "-TERM"), 0);
}

const EVIL_PRINCIPAL: &str = "<script>document.title='pwned'</script>";
const EVIL_MODEL: &str = "<img src=x onerror=\"document.title='pwned'\">";

/// A ledger holding one priced row in the current hour whose model and principal are HTML.
fn hostile_ledger(path: &Path) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut store = Store::open(path).unwrap();
    let mut batch = Batch::default();
    let dims = Dims {
        hour: now - now % 3600,
        account: "123456789012".into(),
        region: "us-east-1".into(),
        model: EVIL_MODEL.into(),
        scope: "in_region".into(),
        service_tier: "standard".into(),
        context_band: "standard".into(),
        operation: "Converse".into(),
        principal: EVIL_PRINCIPAL.into(),
        tags: "{}".into(),
        pricing_mode: "on_demand".into(),
    };
    let cells = batch.cells(dims);
    cells
        .entry(MeterKey {
            meter: "input_tokens",
            detail: String::new(),
            price_entry: "test-entry".into(),
            pricing_version: "test".into(),
        })
        .or_default()
        .add(&Amount {
            quantity: 1000,
            cost: Some("12.34".parse().unwrap()),
        });
    store.commit(&batch).unwrap();
}

fn run_on(dir: &Path, ledger: &Path, extra: &str) -> String {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten_address = \"127.0.0.1:0\"\n{extra}\n[store]\npath = \"{}\"\n\n[[sources]]\ntype = \"directory\"\nname = \"logs\"\npath = \"{}\"\npoll_interval_secs = 1\n",
            ledger.display(),
            logs.display()
        ),
    )
    .unwrap();
    cfg.to_str().unwrap().to_string()
}

#[test]
fn log_data_on_the_overview_is_text_never_html() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    hostile_ledger(&ledger);
    let cfg = run_on(dir.path(), &ledger, "");
    let (mut daemon, addr) = start_daemon(&["run", "--config", &cfg], &[]);

    // The JSON carries the values exactly (JSON-escaped, not mangled).
    let v = overview_json(&addr, None);
    assert_eq!(v["month_to_date_usd"], "12.34");
    assert_eq!(v["unpriced"], serde_json::json!({}));
    assert_eq!(v["by_principal"]["top"][0]["key"], EVIL_PRINCIPAL);
    assert_eq!(v["by_model"]["top"][0]["key"], EVIL_MODEL);
    // The page itself is static: no log data in it.
    let (_, _, page) = get(&addr, "/", None);
    assert!(!page.contains("pwned"));

    let dom = headless(
        &dir.path().join("profile"),
        &format!("http://{addr}/"),
        &["--dump-dom"],
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "the principal is shown as text:\n{dom}"
    );
    assert!(
        dom.contains("&lt;img src=x onerror=\"document.title='pwned'\"&gt;"),
        "the model is shown as text:\n{dom}"
    );
    assert_eq!(dom.matches("<script").count(), 1, "only the page's script");
    assert!(!dom.contains("<img"), "no element was made from log data");
    assert!(
        dom.contains("<title>bedrock-meter · Bedrock spend</title>"),
        "no injected script ran"
    );
    assert_eq!(dollars(text_of(&dom, "mtd")), 12.34);
    assert_eq!(signal_and_wait(&mut daemon.0, "-TERM"), 0);
}

#[test]
fn the_overview_and_its_api_require_the_metrics_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    hostile_ledger(&ledger);
    let cfg = run_on(
        dir.path(),
        &ledger,
        "[server.auth]\nmode = \"bearer\"\nbearer_token_env = \"BM_TEST_TOKEN\"\n",
    );
    let (mut daemon, addr) = start_daemon(&["run", "--config", &cfg], &[("BM_TEST_TOKEN", "t0k")]);
    for path in ["/", "/api/v1/overview", "/metrics"] {
        assert_eq!(get(&addr, path, None).0, 401, "{path} without a token");
        assert_eq!(get(&addr, path, Some("Bearer nope")).0, 401, "{path}");
        assert_eq!(get(&addr, path, Some("Bearer t0k")).0, 200, "{path}");
    }
    assert_eq!(get(&addr, "/healthz", None).0, 200);
    let v = overview_json(&addr, Some("Bearer t0k"));
    assert_eq!(v["ingest"]["sources"][0]["name"], "logs");
    assert_eq!(v["budgets"], serde_json::json!([]));
    assert_eq!(v["forecast"]["method"], "trailing_rate");
    assert_eq!(signal_and_wait(&mut daemon.0, "-TERM"), 0);
}

/// Serves the overview page and a fixed `/api/v1/overview` answer on a loopback port, with
/// the daemon's CSP, until dropped: the page's budget rendering can be tested before the
/// budget gauges exist on this branch.
struct FixedServer {
    addr: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FixedServer {
    fn start(json: String) -> FixedServer {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&req);
                let path = line.split_whitespace().nth(1).unwrap_or("/");
                let (ctype, body) = match path {
                    "/" => (
                        "text/html; charset=utf-8",
                        bedrock_meter::exporters::overview::PAGE.to_string(),
                    ),
                    "/api/v1/overview" => ("application/json", json.clone()),
                    _ => ("text/plain", String::new()),
                };
                let status = if body.is_empty() {
                    "404 Not Found"
                } else {
                    "200 OK"
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Security-Policy: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    bedrock_meter::exporters::overview::content_security_policy(),
                    body.len()
                );
            }
        });
        FixedServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn budgets_render_with_their_state_and_escaped_names() {
    let json = serde_json::json!({
        "generated_at": "2026-11-26T12:00:00+00:00",
        "currency": "USD",
        "pricing_version": "2026.11.26",
        "month": {"start": "2026-11-01T00:00:00+00:00", "end": "2026-12-01T00:00:00+00:00"},
        "month_to_date_usd": "1234.5",
        "forecast": {"usd": "2500.00", "method": "trailing_rate",
                     "basis": "Month-to-date spend plus the spend rate of the last 24 hours until the end of the month."},
        "budgets": [
            {"name": "all", "limit_usd": "3000", "spend_usd": "1234.5", "forecast_usd": "2500",
             "period_start": "2026-11-01T00:00:00+00:00", "period_end": "2026-12-01T00:00:00+00:00",
             "state": "forecast_over", "anomaly": false,
             "thresholds": [{"threshold": "80%", "kind": "actual", "crossed": false},
                            {"threshold": "80%", "kind": "forecast", "crossed": true}]},
            {"name": "<b>team-x</b>", "limit_usd": "100", "spend_usd": "150", "forecast_usd": null,
             "period_start": null, "period_end": null, "state": "over", "anomaly": true,
             "thresholds": [{"threshold": "100%", "kind": "actual", "crossed": true},
                            {"threshold": "120usd", "kind": "actual", "crossed": true}]}
        ],
        "by_model": {"top": [{"key": "m", "cost_usd": "1234.5", "invocations": 10}], "rest_count": 0, "rest_usd": "0.00"},
        "by_principal": {"top": [], "rest_count": 0, "rest_usd": "0.00"},
        "by_stream": {"top": [{"key": "on_demand", "cost_usd": "1234.5", "invocations": 10}], "rest_count": 0, "rest_usd": "0.00"},
        "unpriced": {"input_tokens": 1200},
        "ingest": {"healthy": false, "records_ingested": 10, "records_duplicate": 0, "records_rejected": 0,
                   "sources": [{"name": "s3", "up": false, "lag_seconds": null, "last_success": null, "errors": 3}]}
    });
    let server = FixedServer::start(json.to_string());
    let dir = tempfile::tempdir().unwrap();
    let dom = headless(
        &dir.path().join("profile"),
        &format!("http://{}/", server.addr),
        &["--dump-dom"],
    );
    assert_eq!(dollars(text_of(&dom, "mtd")), 1234.5);
    assert_eq!(dollars(text_of(&dom, "forecast")), 2500.0);
    assert!(text_of(&dom, "forecast-basis").contains("last 24 hours"));
    assert!(
        dom.contains("id=\"no-budgets\" hidden=\"\""),
        "budgets exist: the empty note is hidden\n{dom}"
    );
    assert!(
        dom.contains("&lt;b&gt;team-x&lt;/b&gt;"),
        "budget names are text"
    );
    assert!(!dom.contains("<b>"));
    assert!(
        !dom.contains("%%"),
        "a threshold label shown with a doubled percent sign"
    );
    for shown in [
        ">forecast over<",
        ">over<",
        ">anomaly<",
        // Labels as the metrics carry them (`80%`, `120usd`), shown once, not as "80%%".
        ">80% forecast<",
        ">100% actual, $120 actual<",
        ">$3,000.00<",
        ">degraded<",
        ">down<",
    ] {
        assert!(dom.contains(shown), "{shown} is on the page:\n{dom}");
    }
    assert!(
        text_of(&dom, "unpriced").contains("1,200 input tokens"),
        "unpriced usage is shown as not included"
    );
}
