//! Integration tests: one binary, one module per area.

/// Shared helpers: paths, fixture corpus generation, running the binary.
mod util;

/// AWS sources against a real moto server: CloudWatch Logs and S3, restarts, late data.
mod aws;
/// The command line: exit codes, report formats, re-reading never double counts.
mod cli;
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
/// Property tests: arbitrary and mutated input never panics and is always accounted for.
mod props;
