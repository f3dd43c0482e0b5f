//! Integration tests: one binary, one module per area.

/// Shared helpers: paths, fixture corpus generation, running the binary.
mod util;

/// deploy/prometheus/: promtool rule tests, and Prometheus + Alertmanager against the daemon.
mod alerting;
/// AWS sources against a real moto server: CloudWatch Logs and S3, restarts, late data.
mod aws;
/// Bodies moved to S3, fetched only when counting needs them (moto).
mod body_fetch;
/// Budgets: thresholds notify a real receiver exactly once, across restarts.
mod budgets;
/// The command line: exit codes, report formats, re-reading never double counts.
mod cli;
/// The CloudWatch metrics source against moto behind the CBOR translator: totals, coverage,
/// restart, late minutes, primary-mode cost, access denied and throttling.
mod cloudwatch_metrics;
/// The Bedrock control plane against a fake REST-JSON server (the real SDK), end to end.
mod control_plane;
/// Crash safety: SIGKILL midway, rerun, totals equal a clean run.
mod crash;
/// The daemon: run, demo, restart-safe metrics, graceful shutdown, auth.
mod daemon;
/// Dashboards: Grafana schema type-check, every panel query against a real Prometheus
/// scraping the demo, metric names in the README catalogue.
mod dashboards;
/// Deployment files: systemd-analyze verify, compose and Kubernetes structure, rules sync.
mod deploy;
/// The shared real fixtures, ingested end to end, with hand-checked costs.
mod fixtures;
/// deploy/iam-policy.json against the SDK calls in src/sources/aws/.
mod iam;
/// The Prometheus exposition: golden file, promtool, restart equality.
mod metrics;
/// The overview page and API: a real headless Chromium, escaping, auth.
mod overview;
/// `plan-pt` on a synthetic history with a hand-computed answer.
mod plan_pt;
/// Property tests: arbitrary and mutated input never panics and is always accounted for.
mod props;
/// Provisioned throughput and customization cost streams in the running daemon.
mod provisioned;
