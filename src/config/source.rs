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
    /// `type = "cloudwatch_logs"`: a CloudWatch Logs log group, tailed with
    /// `FilterLogEvents`.
    CloudwatchLogs(CloudWatchLogsSourceConfig),
    /// `type = "s3"`: the S3 bucket Bedrock delivers invocation logs to.
    S3(S3SourceConfig),
    /// `type = "cloudwatch_metrics"`: Bedrock's CloudWatch metrics (`AWS/Bedrock`).
    CloudwatchMetrics(CloudWatchMetricsSourceConfig),
}

/// `type = "cloudwatch_metrics"`: polls Bedrock's per-model CloudWatch metrics to
/// cross-check the logs or, where logging is off, to price from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchMetricsSourceConfig {
    /// `name`: see [`DirectorySourceConfig::name`].
    pub name: String,
    /// `region`: the region whose metrics are read. Required.
    pub region: String,
    /// `mode`: `auto` (default), `cross_check` or `primary`. `auto` is `cross_check` when
    /// another source may read invocation logs of this region (a `cloudwatch_logs` or `s3`
    /// source in the same region, or any `directory`/`stdin` source), else `primary`.
    #[serde(default = "default_metrics_mode")]
    pub mode: String,
    /// `account_id`: the 12-digit account the metrics belong to (the `account` label).
    /// `""` (default): the assumed role's account, else learned from the logs of the region
    /// when they name one account, else `unknown`.
    #[serde(default)]
    pub account_id: String,
    /// `poll_interval_secs`: seconds between polls, at least 60. Default 300.
    #[serde(default = "default_metrics_poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// `delay_secs`: how far behind now the read window ends, for late data. Default 300.
    #[serde(default = "default_metrics_delay_secs")]
    pub delay_secs: u64,
    /// `overlap_secs`: how far before the checkpoint each poll reads again (minutes that
    /// grew late are replaced). Default 3600; at most 86400.
    #[serde(default = "default_metrics_overlap_secs")]
    pub overlap_secs: u64,
    /// `start_from`: see [`CloudWatchLogsSourceConfig::start_from`].
    #[serde(default = "default_start_from")]
    pub start_from: String,
    /// `assume_role_arn`: see [`CloudWatchLogsSourceConfig::assume_role_arn`].
    #[serde(default, with = "super::empty_is_none")]
    pub assume_role_arn: Option<String>,
    /// `external_id`: see [`CloudWatchLogsSourceConfig::external_id`].
    #[serde(default, with = "super::empty_is_none")]
    pub external_id: Option<String>,
    /// `endpoint_url`: see [`CloudWatchLogsSourceConfig::endpoint_url`].
    #[serde(default, with = "super::empty_is_none")]
    pub endpoint_url: Option<String>,
}

/// The valid `mode` values of a `cloudwatch_metrics` source.
pub const METRICS_MODES: &[&str] = &["auto", "cross_check", "primary"];

fn default_metrics_mode() -> String {
    "auto".to_string()
}

fn default_metrics_poll_interval_secs() -> u64 {
    300
}

fn default_metrics_delay_secs() -> u64 {
    300
}

fn default_metrics_overlap_secs() -> u64 {
    3600
}

impl CloudWatchMetricsSourceConfig {
    /// The runtime spec; `logs_in_region` says whether another source reads this region's
    /// invocation logs (what `mode = "auto"` decides on).
    pub fn spec(
        &self,
        logs_in_region: bool,
    ) -> crate::sources::cloudwatch_metrics::CloudWatchMetricsSpec {
        use crate::sources::cloudwatch_metrics::{CloudWatchMetricsSpec, Mode};
        let mode = match self.mode.as_str() {
            "primary" => Mode::Primary,
            "cross_check" => Mode::CrossCheck,
            _ if logs_in_region => Mode::CrossCheck,
            _ => Mode::Primary,
        };
        CloudWatchMetricsSpec {
            name: self.name.clone(),
            aws: aws_settings(
                &self.region,
                &self.assume_role_arn,
                &self.external_id,
                &self.endpoint_url,
            ),
            mode,
            account: self.account_id.clone(),
            poll_interval: Duration::from_secs(self.poll_interval_secs),
            delay: Duration::from_secs(self.delay_secs),
            overlap: Duration::from_secs(self.overlap_secs),
            start_from: start_from(&self.start_from),
        }
    }
}

impl SourceConfig {
    /// True when this source may read invocation logs of `region` (`directory` and `stdin`
    /// sources may hold any region's logs).
    pub fn may_read_logs_of(&self, region: &str) -> bool {
        match self {
            SourceConfig::Directory(_) | SourceConfig::Stdin(_) => true,
            SourceConfig::CloudwatchLogs(c) => c.region == region,
            SourceConfig::S3(c) => c.region == region,
            SourceConfig::CloudwatchMetrics(_) => false,
        }
    }
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

/// `type = "cloudwatch_logs"`: tails a log group with `FilterLogEvents` from a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchLogsSourceConfig {
    /// `name`: see [`DirectorySourceConfig::name`].
    pub name: String,
    /// `region`: the log group's region, e.g. `us-east-1`. Required.
    pub region: String,
    /// `log_group_name`: the group set in Bedrock's logging configuration. Required.
    pub log_group_name: String,
    /// `log_stream_name`: the stream Bedrock writes to. Default
    /// `aws/bedrock/modelinvocations`; `""` reads every stream of the group.
    #[serde(default = "default_log_stream_name")]
    pub log_stream_name: String,
    /// `poll_interval_secs`: seconds between polls, at least 1. Default 30.
    #[serde(default = "default_cloudwatch_poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// `overlap_secs`: how far before the checkpoint each poll reads again for late
    /// events. Default 300; less than the dedup window.
    #[serde(default = "default_overlap_secs")]
    pub overlap_secs: u64,
    /// `start_from`: where to start without a checkpoint: `month_start` (default) or an
    /// RFC 3339 time.
    #[serde(default = "default_start_from")]
    pub start_from: String,
    /// `assume_role_arn`: a role to assume with the chain's credentials, e.g. to read
    /// another account. `""` (default): use the chain's credentials as they are.
    #[serde(default, with = "super::empty_is_none")]
    pub assume_role_arn: Option<String>,
    /// `external_id`: the external id the role's trust policy requires. `""` (default):
    /// none.
    #[serde(default, with = "super::empty_is_none")]
    pub external_id: Option<String>,
    /// `endpoint_url`: another endpoint than AWS's, for VPC interface endpoints or tests.
    /// `""` (default): AWS's own.
    #[serde(default, with = "super::empty_is_none")]
    pub endpoint_url: Option<String>,
}

/// `type = "s3"`: lists and reads the log bucket in Bedrock's delivery layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3SourceConfig {
    /// `name`: see [`DirectorySourceConfig::name`].
    pub name: String,
    /// `region`: the bucket's region. Required.
    pub region: String,
    /// `bucket`: the bucket name (not an ARN or URL). Required.
    pub bucket: String,
    /// `prefix`: the key prefix set in Bedrock's logging configuration, before `AWSLogs/`.
    /// Default `""`.
    #[serde(default)]
    pub prefix: String,
    /// `poll_interval_secs`: seconds between listings, at least 1. Default 300.
    #[serde(default = "default_s3_poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// `relist_hours`: hours before the newest hour read that each poll lists again, for
    /// objects delivered late. Default 2; at most 168.
    #[serde(default = "default_relist_hours")]
    pub relist_hours: u32,
    /// `start_from`: see [`CloudWatchLogsSourceConfig::start_from`].
    #[serde(default = "default_start_from")]
    pub start_from: String,
    /// `assume_role_arn`: a role to assume with the chain's credentials, e.g. to read
    /// another account. `""` (default): use the chain's credentials as they are.
    #[serde(default, with = "super::empty_is_none")]
    pub assume_role_arn: Option<String>,
    /// `external_id`: the external id the role's trust policy requires. `""` (default):
    /// none.
    #[serde(default, with = "super::empty_is_none")]
    pub external_id: Option<String>,
    /// `endpoint_url`: another endpoint than AWS's, for VPC interface endpoints or tests.
    /// `""` (default): AWS's own.
    #[serde(default, with = "super::empty_is_none")]
    pub endpoint_url: Option<String>,
}

/// Default of `log_stream_name`.
fn default_log_stream_name() -> String {
    "aws/bedrock/modelinvocations".to_string()
}

/// Default of `poll_interval_secs` for CloudWatch Logs sources.
fn default_cloudwatch_poll_interval_secs() -> u64 {
    30
}

/// Default of `poll_interval_secs` for S3 sources.
fn default_s3_poll_interval_secs() -> u64 {
    300
}

/// Default of `overlap_secs`.
fn default_overlap_secs() -> u64 {
    300
}

/// Default of `relist_hours`.
fn default_relist_hours() -> u32 {
    2
}

/// Default of `start_from`.
fn default_start_from() -> String {
    "month_start".to_string()
}

/// The runtime AWS settings of a source.
fn aws_settings(
    region: &str,
    assume_role_arn: &Option<String>,
    external_id: &Option<String>,
    endpoint_url: &Option<String>,
) -> crate::sources::aws::AwsSettings {
    crate::sources::aws::AwsSettings {
        region: region.to_string(),
        assume_role_arn: assume_role_arn.clone(),
        external_id: external_id.clone(),
        endpoint_url: endpoint_url.clone(),
    }
}

/// `start_from` as the runtime type; a validated config always parses.
fn start_from(s: &str) -> crate::sources::aws::StartFrom {
    crate::sources::aws::StartFrom::parse(s).unwrap_or(crate::sources::aws::StartFrom::MonthStart)
}

impl CloudWatchLogsSourceConfig {
    /// A source of `log_group_name` in `region` with every other key at its default.
    pub fn with_defaults(name: &str, region: &str, log_group_name: &str) -> Self {
        CloudWatchLogsSourceConfig {
            name: name.to_string(),
            region: region.to_string(),
            log_group_name: log_group_name.to_string(),
            log_stream_name: default_log_stream_name(),
            poll_interval_secs: default_cloudwatch_poll_interval_secs(),
            overlap_secs: default_overlap_secs(),
            start_from: default_start_from(),
            assume_role_arn: None,
            external_id: None,
            endpoint_url: None,
        }
    }

    /// The runtime spec.
    pub fn spec(&self) -> crate::sources::cloudwatch_logs::CloudWatchLogsSpec {
        crate::sources::cloudwatch_logs::CloudWatchLogsSpec {
            name: self.name.clone(),
            aws: aws_settings(
                &self.region,
                &self.assume_role_arn,
                &self.external_id,
                &self.endpoint_url,
            ),
            log_group: self.log_group_name.clone(),
            log_stream: (!self.log_stream_name.is_empty()).then(|| self.log_stream_name.clone()),
            poll_interval: Duration::from_secs(self.poll_interval_secs),
            overlap: Duration::from_secs(self.overlap_secs),
            start_from: start_from(&self.start_from),
        }
    }
}

impl S3SourceConfig {
    /// A source of `bucket` under `prefix` in `region` with every other key at its default.
    pub fn with_defaults(name: &str, region: &str, bucket: &str, prefix: &str) -> Self {
        S3SourceConfig {
            name: name.to_string(),
            region: region.to_string(),
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            poll_interval_secs: default_s3_poll_interval_secs(),
            relist_hours: default_relist_hours(),
            start_from: default_start_from(),
            assume_role_arn: None,
            external_id: None,
            endpoint_url: None,
        }
    }

    /// The runtime spec.
    pub fn spec(&self) -> crate::sources::s3::S3Spec {
        crate::sources::s3::S3Spec {
            name: self.name.clone(),
            aws: aws_settings(
                &self.region,
                &self.assume_role_arn,
                &self.external_id,
                &self.endpoint_url,
            ),
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            poll_interval: Duration::from_secs(self.poll_interval_secs),
            relist_hours: self.relist_hours,
            start_from: start_from(&self.start_from),
        }
    }
}

impl SourceConfig {
    /// The valid `type` values, in the order they are listed in messages.
    pub const TYPES: &'static [&'static str] = &[
        "directory",
        "stdin",
        "cloudwatch_logs",
        "s3",
        "cloudwatch_metrics",
    ];

    /// The source's `name`.
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Directory(c) => &c.name,
            SourceConfig::Stdin(c) => &c.name,
            SourceConfig::CloudwatchLogs(c) => &c.name,
            SourceConfig::S3(c) => &c.name,
            SourceConfig::CloudwatchMetrics(c) => &c.name,
        }
    }

    /// The source's `type`, as written in the file.
    pub fn type_name(&self) -> &'static str {
        match self {
            SourceConfig::Directory(_) => "directory",
            SourceConfig::Stdin(_) => "stdin",
            SourceConfig::CloudwatchLogs(_) => "cloudwatch_logs",
            SourceConfig::S3(_) => "s3",
            SourceConfig::CloudwatchMetrics(_) => "cloudwatch_metrics",
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
            SourceConfig::CloudwatchLogs(CloudWatchLogsSourceConfig {
                name: "cloudwatch".to_string(),
                region: "us-east-1".to_string(),
                log_group_name: "/aws/bedrock/modelinvocations".to_string(),
                log_stream_name: default_log_stream_name(),
                poll_interval_secs: default_cloudwatch_poll_interval_secs(),
                overlap_secs: default_overlap_secs(),
                start_from: default_start_from(),
                assume_role_arn: None,
                external_id: None,
                endpoint_url: None,
            }),
            SourceConfig::S3(S3SourceConfig {
                name: "s3-bucket".to_string(),
                region: "us-east-1".to_string(),
                bucket: "my-bedrock-logs".to_string(),
                prefix: String::new(),
                poll_interval_secs: default_s3_poll_interval_secs(),
                relist_hours: default_relist_hours(),
                start_from: default_start_from(),
                assume_role_arn: None,
                external_id: None,
                endpoint_url: None,
            }),
            SourceConfig::CloudwatchMetrics(CloudWatchMetricsSourceConfig {
                name: "cloudwatch-metrics".to_string(),
                region: "us-east-1".to_string(),
                mode: default_metrics_mode(),
                account_id: String::new(),
                poll_interval_secs: default_metrics_poll_interval_secs(),
                delay_secs: default_metrics_delay_secs(),
                overlap_secs: default_metrics_overlap_secs(),
                start_from: default_start_from(),
                assume_role_arn: None,
                external_id: None,
                endpoint_url: None,
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
            "cloudwatch_logs" => variant(&path, value).map(SourceConfig::CloudwatchLogs),
            "s3" => variant(&path, value).map(SourceConfig::S3),
            "cloudwatch_metrics" => variant(&path, value).map(SourceConfig::CloudwatchMetrics),
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
