//! bedrock-meter: what an organisation spends on Amazon Bedrock, priced exactly.
//!
//! # Layout
//!
//! The modules are listed in the order data flows through them:
//!
//! - [`sources`]: finds and reads invocation-log records: local files and directories in
//!   the S3 delivery layout (NDJSON, gzip, `aws logs filter-log-events` output), and the
//!   daemon's source threads (watched directory, stdin, CloudWatch Logs, an S3 log bucket, the
//!   demo's traffic). Only `sources::aws` talks to AWS. Sources never price or write SQLite.
//! - [`normalize`]: turns one raw `ModelInvocationLog` record into a [`normalize::UsageEvent`]
//!   (model, scope, principal, tokens, images) or a counted rejection reason. Body text never
//!   leaves this module.
//! - [`pricing`]: the versioned, effective-dated price table (`pricing/*.toml`, embedded in the
//!   binary) and exact lookups. No I/O after load, no floats.
//! - [`accounting`]: applies price entries to usage events, producing rollup deltas that name
//!   the price entry behind each cost; the request-id dedup window; re-pricing.
//! - [`pipeline`]: the writer: items in, one transaction out (rollups, checkpoints, dedup ids,
//!   counters), used by `ingest` and by the daemon's writer thread.
//! - [`store`]: the SQLite ledger: hourly rollups, source checkpoints and the dedup window,
//!   committed together. The only module that writes SQLite.
//! - [`exporters`]: `/metrics` (restart-safe, rendered from ledger totals), the HTTP
//!   endpoints, and reports (table, CSV, JSON) read from the store.
//! - [`budgets`]: spend per budget period from the ledger, forecast, anomaly flag, and
//!   threshold crossings queued (once per period) in the ledger's outbox;
//!   [`notify`]: delivers them (webhook, Slack, Alertmanager).
//!
//! Around the pipeline:
//!
//! - [`daemon`]: builds every component from the config, connects them, and states the
//!   shutdown order; [`config`]: the strict TOML config.
//! - [`ingest`]: the `ingest` command's run (files and `s3://` backfills).
//! - [`inventory`]: what the account owns that costs money without an invocation record
//!   (provisioned throughputs, customization, custom models) and its inference profiles.
//! - [`provisioned`]: accrues that inventory's cost (provisioned-throughput model-unit
//!   hours, custom-model storage, training jobs) as pre-priced rollups with checkpoints;
//!   [`planner`]: `plan-pt`, provisioned vs on-demand from the ledger's history.
//! - [`clock`]: the only place that reads wall-clock time.
//! - [`cli`], [`cli_pricing`]: commands and exit codes; [`estimate`]: what a prompt would
//!   cost; [`synth`]: realistic generated records (demo, benchmark); [`bench`](mod@bench): the ingest
//!   benchmark; [`money`]: exact dollars.
#![deny(missing_docs)]

pub mod accounting;
pub mod bench;
pub mod budgets;
pub mod cli;
pub mod cli_pricing;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod discovery;
pub mod estimate;
pub mod exporters;
pub mod ingest;
pub mod inventory;
pub mod money;
pub mod normalize;
pub mod notify;
pub mod pipeline;
pub mod planner;
pub mod pricing;
pub mod provisioned;
pub mod sources;
pub mod store;
pub mod synth;
