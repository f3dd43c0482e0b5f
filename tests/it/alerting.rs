//! deploy/prometheus/: the rules pass `promtool check rules` and their unit tests, the
//! Alertmanager example passes `amtool check-config`, and a real Prometheus and
//! Alertmanager (Debian packages) run against the daemon on loopback: a budget rule fires
//! and reaches a webhook, and so does the daemon's own `kind = "alertmanager"` receiver.
use crate::budgets::{Daemon, Receiver, write_spend};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/prometheus")
        .join(file)
}

/// Runs a tool; a missing tool fails with the command that installs it.
fn tool(name: &str, package: &str, args: &[&str]) -> std::process::Output {
    Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{name} is not installed ({e}); it comes with the Debian package `{package}`: \
             apt-get install -y --no-install-recommends {package} (tests/run-all.sh does this)"
        )
    })
}

fn ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_rules_check_and_pass_their_unit_tests() {
    let rules = deploy("rules.yml");
    let o = tool(
        "promtool",
        "prometheus",
        &["check", "rules", rules.to_str().unwrap()],
    );
    ok(&o, "promtool check rules");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("SUCCESS: 8 rules found"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let tests = deploy("rules_test.yml");
    let o = tool(
        "promtool",
        "prometheus",
        &["test", "rules", tests.to_str().unwrap()],
    );
    ok(&o, "promtool test rules");
}

#[test]
fn every_rule_has_a_firing_test() {
    // promtool passes a test file that never mentions a rule; this does not.
    let rules = std::fs::read_to_string(deploy("rules.yml")).unwrap();
    let tests = std::fs::read_to_string(deploy("rules_test.yml")).unwrap();
    let names: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert_eq!(names.len(), 8);
    for name in names {
        let firing = tests
            .split("alertname: ")
            .skip(1)
            .filter(|t| t.starts_with(&format!("{name}\n")))
            .filter(|t| !t.contains("exp_alerts: []"))
            .count();
        let silent = tests
            .split("alertname: ")
            .skip(1)
            .filter(|t| t.starts_with(&format!("{name}\n")) && t.contains("exp_alerts: []"))
            .count();
        assert!(
            firing > 0 && silent > 0,
            "{name}: firing {firing}, silent {silent}"
        );
    }
}

#[test]
fn the_alertmanager_example_is_a_valid_config() {
    let cfg = deploy("alertmanager.yml");
    let o = tool(
        "amtool",
        "prometheus-alertmanager",
        &["check-config", cfg.to_str().unwrap()],
    );
    ok(&o, "amtool check-config");
}

/// A child process killed when the test ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(name: &str, package: &str, args: &[String], log: &Path) -> Proc {
    let out = std::fs::File::create(log).unwrap();
    let child = Command::new(name)
        .args(args)
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{name} is not installed ({e}); apt-get install -y --no-install-recommends \
                 {package} (tests/run-all.sh does this)"
            )
        });
    Proc(child)
}

/// The alert names in the Alertmanager webhook posts received so far.
fn alertnames(r: &Receiver) -> Vec<String> {
    r.all()
        .iter()
        .filter(|q| q.path == "/am")
        .flat_map(|q| {
            let v = q.json();
            v["alerts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|a| a["labels"]["budget"] == "team")
                .filter_map(|a| a["labels"]["alertname"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn prometheus_and_alertmanager_deliver_a_budget_alert_to_a_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let webhook = Receiver::start();

    // Alertmanager: everything to the test webhook, quickly.
    let am_port = free_port();
    std::fs::write(
        d.join("alertmanager.yml"),
        format!(
            "route:\n  receiver: test\n  group_by: [alertname, budget]\n  group_wait: 1s\n  \
             group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: test\n    \
             webhook_configs:\n      - url: http://{}/am\n",
            webhook.addr
        ),
    )
    .unwrap();
    let _am = spawn(
        "prometheus-alertmanager",
        "prometheus-alertmanager",
        &[
            format!("--config.file={}", d.join("alertmanager.yml").display()),
            format!("--storage.path={}", d.join("am-data").display()),
            format!("--web.listen-address=127.0.0.1:{am_port}"),
            "--cluster.listen-address=".to_string(),
        ],
        &d.join("alertmanager.log"),
    );

    // The daemon: a budget already past 50%, and a receiver of kind alertmanager.
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let now = chrono::Utc::now();
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    write_spend(&logs, "a.json", 0, 1, &ts);
    let cfg = d.join("bedrock-meter.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[server]
listen_address = "127.0.0.1:0"

[store]
path = "{db}"

[[sources]]
type = "directory"
name = "logs"
path = "{logs}"
poll_interval_secs = 1

[notifications]
evaluation_interval_secs = 1

[[notifications.receivers]]
name = "am"
kind = "alertmanager"
url = "http://127.0.0.1:{am_port}"

[[budgets]]
name = "team"
limit_usd = "10"
period = "monthly"

[[budgets.thresholds]]
percent = 50
receivers = ["am"]
"#,
            db = d.join("ledger.db").display(),
            logs = logs.display(),
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&cfg, &[]);

    // Prometheus: scrapes the daemon every second and evaluates deploy/prometheus/rules.yml.
    let prom_port = free_port();
    std::fs::write(
        d.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n\
             scrape_configs:\n  - job_name: bedrock-meter\n    static_configs:\n      - targets: ['{}']\n",
            deploy("rules.yml").display(),
            daemon.addr
        ),
    )
    .unwrap();
    let _prom = spawn(
        "prometheus",
        "prometheus",
        &[
            format!("--config.file={}", d.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", d.join("prom-data").display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
            "--rules.alert.resend-delay=1s".to_string(),
        ],
        &d.join("prometheus.log"),
    );

    let logs_of = || {
        format!(
            "alertmanager:\n{}\nprometheus:\n{}",
            std::fs::read_to_string(d.join("alertmanager.log")).unwrap_or_default(),
            std::fs::read_to_string(d.join("prometheus.log")).unwrap_or_default()
        )
    };
    let start = std::time::Instant::now();
    loop {
        let names = alertnames(&webhook);
        // The rule (through Prometheus) and the daemon's own alert (posted directly).
        if names.iter().any(|n| n == "BedrockBudgetThresholdCrossed")
            && names.iter().any(|n| n == "BedrockBudgetThreshold")
        {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "no budget alert reached the webhook; got {names:?}\n{}",
            logs_of()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let posted = webhook
        .all()
        .into_iter()
        .find(|q| {
            q.path == "/am"
                && q.json()["alerts"]
                    .to_string()
                    .contains("BedrockBudgetThresholdCrossed")
        })
        .unwrap()
        .json();
    let alert = posted["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "BedrockBudgetThresholdCrossed")
        .unwrap()
        .clone();
    assert_eq!(alert["labels"]["threshold"], "50%");
    assert_eq!(alert["labels"]["kind"], "actual");
    assert_eq!(alert["status"], "firing");
    daemon.stop();
}
