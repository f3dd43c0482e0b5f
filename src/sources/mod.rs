//! Sources: find and read invocation-log records.
