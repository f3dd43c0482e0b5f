//! Accounting: applies the price table to usage events and aggregates the result into
//! hourly rollup deltas, each naming the price entry that produced its cost.
//!
//! Owns: the rollup key, meters and their quantities, exact cost arithmetic, and the
//! per-batch pre-aggregation. Must not: read files, talk to AWS, or write SQLite (the store
//! commits what this module aggregates). No floats.
#![deny(clippy::float_arithmetic)]

mod batch;
mod ledger;

pub use batch::*;
pub use ledger::*;
