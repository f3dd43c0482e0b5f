//! Integration tests: one binary, one module per area.

/// Shared helpers: paths, fixture corpus generation, running the binary.
mod util;

/// The command line: exit codes, report formats, re-reading never double counts.
mod cli;
/// Crash safety: SIGKILL midway, rerun, totals equal a clean run.
mod crash;
/// The shared real fixtures, ingested end to end, with hand-checked costs.
mod fixtures;
/// Property tests: arbitrary and mutated input never panics and is always accounted for.
mod props;
