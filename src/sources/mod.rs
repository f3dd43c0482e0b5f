//! Sources: find and read invocation-log records.
//!
//! Owns: discovering inputs (local files and directories in the S3 delivery layout), gzip
//! detection by magic bytes, framing a byte stream into JSON records, unwrapping
//! `aws logs filter-log-events` output, and naming each input for checkpoints.
//! Must not: interpret tokens or prices, write SQLite, or log record contents.
pub mod files;
pub mod framing;
