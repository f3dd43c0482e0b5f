//! `[[sources]]`: where invocation-log records come from. One table per source; its `type`
//! key picks the kind.
//!
//! Sources are read here by hand rather than through serde's internally tagged enum
//! support: that support buffers the table before choosing the variant, which loses the
//! key path of any mistake inside it ("invalid type: string, expected u64" with no key
//! named). Dispatching on `type` first and then deserialising the variant's own struct
//! keeps paths such as `sources[1].poll_interval_secs`.
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

use super::error::{self, Problem};

/// One `[[sources]]` table. `type` (snake_case) picks the variant.
///
/// Adding a source type (`cloudwatch_logs`, `s3`, `cloudwatch_metrics`, …):
/// 1. a variant here wrapping a new `…SourceConfig` struct (`deny_unknown_fields`, every
///    key unit-suffixed, `name` first);
/// 2. its name in [`SourceConfig::TYPES`] and an arm in `SourceConfig::from_table`;
/// 3. an entry in [`SourceConfig::examples`] and the same table in
///    `deploy/bedrock-meter.example.toml`;
/// 4. its checks, if any, in `validate.rs`.
///
/// The compiler points at [`SourceConfig::name`] and [`SourceConfig::type_name`]; the
/// tests fail until 2 and 3 are done (they compare `TYPES`, serde's variant names, the
/// examples and the example file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceConfig {
    /// `type = "directory"`: a watched local directory, e.g. a synced copy of the S3 log
    /// bucket.
    Directory(DirectorySourceConfig),
    /// `type = "stdin"`: NDJSON records on standard input.
    Stdin(StdinSourceConfig),
}

/// `type = "directory"`: polls a directory tree for new and grown log files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySourceConfig {
    /// `name`: unique among sources, `[a-z0-9_-]{1,64}`; the metrics `source` label.
    pub name: String,
    /// `path`: the directory to watch (the S3 layout `AWSLogs/…` or any tree of log files).
    pub path: PathBuf,
    /// `poll_interval_secs`: seconds between scans, at least 1. Default 10.
    #[serde(default = "default_poll_interval_secs")]
    pub poll_interval_secs: u64,
}

/// Default of `poll_interval_secs` for directory sources.
fn default_poll_interval_secs() -> u64 {
    10
}

impl DirectorySourceConfig {
    /// `poll_interval_secs` as a duration.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.poll_interval_secs)
    }
}

/// `type = "stdin"`: NDJSON on standard input, read until end of input. At most one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdinSourceConfig {
    /// `name`: see [`DirectorySourceConfig::name`].
    pub name: String,
}

impl SourceConfig {
    /// The valid `type` values, in the order they are listed in messages.
    pub const TYPES: &'static [&'static str] = &["directory", "stdin"];

    /// The source's `name`.
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Directory(c) => &c.name,
            SourceConfig::Stdin(c) => &c.name,
        }
    }

    /// The source's `type`, as written in the file.
    pub fn type_name(&self) -> &'static str {
        match self {
            SourceConfig::Directory(_) => "directory",
            SourceConfig::Stdin(_) => "stdin",
        }
    }

    /// One source of each type, as in the example file: used by its documentation and by
    /// the tests that keep that file in step with this schema.
    pub fn examples() -> Vec<SourceConfig> {
        vec![
            SourceConfig::Directory(DirectorySourceConfig {
                name: "s3-sync".to_string(),
                path: PathBuf::from("/var/lib/bedrock-logs"),
                poll_interval_secs: default_poll_interval_secs(),
            }),
            SourceConfig::Stdin(StdinSourceConfig {
                name: "stdin".to_string(),
            }),
        ]
    }

    /// Reads `sources[index]` from its TOML value.
    pub(super) fn from_table(index: usize, value: toml::Value) -> Result<SourceConfig, Problem> {
        let path = format!("sources[{index}]");
        let type_path = error::child(&path, "type");
        let valid = error::quoted_list(Self::TYPES);
        let toml::Value::Table(mut table) = value else {
            return Err(Problem::new(
                path,
                format!(
                    "expected a table; write each source as [[sources]] with `type = …` ({valid})"
                ),
            ));
        };
        let type_name = match table.remove("type") {
            Some(toml::Value::String(s)) => s,
            Some(other) => {
                return Err(Problem::new(
                    type_path,
                    format!(
                        "expected a string, got {}; valid types: {valid}",
                        other.type_str()
                    ),
                ));
            }
            None => {
                return Err(Problem::new(
                    type_path,
                    format!("missing required key `type` in {path}; valid types: {valid}"),
                ));
            }
        };
        let value = toml::Value::Table(table);
        match type_name.as_str() {
            "directory" => variant(&path, value).map(SourceConfig::Directory),
            "stdin" => variant(&path, value).map(SourceConfig::Stdin),
            other => Err(Problem::new(
                type_path,
                format!(
                    "unknown source type `{other}`{}; valid types: {valid}",
                    error::did_you_mean(other, Self::TYPES)
                ),
            )),
        }
    }
}

/// Deserialises a variant's struct from the source table (without `type`).
fn variant<T: serde::de::DeserializeOwned>(path: &str, value: toml::Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| error::from_serde(path, &e))
}

/// Reads the top-level `sources` value (absent = no sources). Each source that does not
/// parse adds a problem and is left out.
pub(super) fn parse_all(
    value: Option<toml::Value>,
    problems: &mut Vec<Problem>,
) -> Vec<SourceConfig> {
    let items = match value {
        None => return Vec::new(),
        Some(toml::Value::Array(items)) => items,
        Some(toml::Value::Table(_)) => {
            problems.push(Problem::new(
                "sources",
                "expected an array of tables; write each source as [[sources]] (double \
                 brackets), not [sources]",
            ));
            return Vec::new();
        }
        Some(other) => {
            problems.push(Problem::new(
                "sources",
                format!(
                    "expected an array of tables, got {}; write each source as [[sources]]",
                    other.type_str()
                ),
            ));
            return Vec::new();
        }
    };
    let mut sources = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match SourceConfig::from_table(index, item) {
            Ok(source) => sources.push(source),
            Err(problem) => problems.push(problem),
        }
    }
    sources
}
