//! Accounting: applies the price table to usage events and aggregates the result into
//! hourly rollup deltas, each naming the price entry that produced its cost.
//!
//! Owns: the rollup key, meters and their quantities, exact cost arithmetic, the dedup
//! window, per-batch pre-aggregation and re-pricing of stored rollups. Must not: read files,
//! talk to AWS, or write SQLite (the store commits what this module aggregates). No floats.
#![deny(clippy::float_arithmetic)]

mod batch;
mod dedup;
mod ledger;
mod metric_samples;
pub mod profiles;
mod reprice;

pub use batch::*;
pub use dedup::*;
pub use ledger::*;
pub use metric_samples::*;
pub use reprice::*;
