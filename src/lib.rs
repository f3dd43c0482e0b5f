//! bedrock-meter: what an organisation spends on Amazon Bedrock, priced exactly.
//!
//! # Layout
//!
//! The modules are listed in the order data flows through them:
//!
//! - [`sources`]: finds and reads invocation-log records (local files and directories in the
//!   S3 delivery layout, NDJSON, gzip, `aws logs filter-log-events` output). Sources yield raw
//!   record bytes and positions; they never interpret tokens or prices.
//! - [`normalize`]: turns one raw `ModelInvocationLog` record into a [`normalize::UsageEvent`]
//!   (model, scope, principal, tokens, images) or a counted rejection reason. Body text never
//!   leaves this module.
//! - [`pricing`]: the versioned, effective-dated price table (`pricing/*.toml`, embedded in the
//!   binary) and exact lookups. No I/O after load, no floats.
//! - [`accounting`]: applies price entries to usage events, producing rollup deltas that name
//!   the price entry behind each cost.
//! - [`store`]: the SQLite ledger: hourly rollups, source checkpoints and the dedup window,
//!   committed together. The only module that writes SQLite.
//! - [`exporters`]: reports (table, CSV, JSON) read from the store.
//! - [`clock`]: the only place that reads wall-clock time.
//! - [`ingest`]: wires sources → normalize → accounting → store for a backfill run.
//! - [`estimate`]: what a prompt would cost on chosen models, from an `o200k_base` count.
#![deny(missing_docs)]

pub mod accounting;
pub mod bench;
pub mod cli;
pub mod cli_pricing;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod estimate;
pub mod exporters;
pub mod ingest;
pub mod money;
pub mod normalize;
pub mod pipeline;
pub mod pricing;
pub mod sources;
pub mod store;
pub mod synth;
