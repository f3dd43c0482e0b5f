//! The daemon's configuration file (TOML): every key it may contain, the defaults, and the
//! checks that run before anything starts. It describes the daemon; it never opens the
//! ledger, binds a port or reads a log file.
//!
//! Loading has two stages (design §4.2):
//!
//! 1. [`Config::load`] / [`Config::from_toml_str`]: parse and validate, a pure function of
//!    the text. Strict: an unknown key is an error (with a "did you mean"), a value of the
//!    wrong type is an error, and every problem names its key path (`sources[1].name`) and
//!    the fix. Parse problems are collected per section and per source; when the file
//!    parses, every validation problem is reported at once.
//! 2. [`Config::resolve_secrets`]: reads the environment variables and files that hold the
//!    secrets. Kept apart so `check-config` can vet a file on a machine that lacks the
//!    secrets, and so that stage 1 never touches the environment.
//!
//! Secrets are never written in the file itself: a secret key `x` exists only as `x_env`
//! (the name of an environment variable) and `x_file` (a path), and an inline `x = "…"`
//! is refused with a message saying so.
//!
//! Key names end in their unit (`poll_interval_secs`, `commit_interval_ms`); optional
//! blocks are tables with `enabled`, so the example file (`deploy/bedrock-meter.example.toml`)
//! shows every knob. Tests keep that file and this schema in step.
//!
//! The types here are the file's shape. Where the file's words map onto runtime types
//! owned elsewhere ([`LedgerConfig`], [`Durability`]) there is a conversion method, so
//! those modules do not depend on serde or on this module.

mod budgets;
mod error;
mod provisioned;
mod secrets;
mod source;
mod validate;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::accounting::{LedgerConfig, PrincipalDetail, TagKeys};
use crate::store::Durability;

pub use budgets::{
    AnomalyConfig, BudgetConfig, NotificationsConfig, PeriodSetting, ReceiverConfig, ReceiverKind,
    ThresholdConfig, ThresholdOn, parse_length_secs, threshold_id,
};
pub use error::{ConfigError, Problem};
pub use provisioned::{
    CommitmentSetting, CustomModelConfig, CustomizationJobConfig, PlannerSection,
    ProvisionedModelConfig, ProvisionedSection, UnitChangeConfig,
};
pub use secrets::{AuthCredentials, ReceiverSecrets, ResolvedSecrets, Secret};
pub use source::{
    CloudWatchLogsSourceConfig, DirectorySourceConfig, S3SourceConfig, SourceConfig,
    StdinSourceConfig,
};

/// The whole configuration file. Every section may be left out; its defaults apply.
///
/// `Config::default()` is a working configuration: it serves `/metrics` on
/// 127.0.0.1:9464 from `./bedrock-meter.db` and reads no source.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`: the HTTP listener (`/metrics`, `/healthz`, `/readyz`, `/`).
    #[serde(default)]
    pub server: ServerConfig,
    /// `[store]`: the SQLite ledger.
    #[serde(default)]
    pub store: StoreConfig,
    /// `[pricing]`: which price table.
    #[serde(default)]
    pub pricing: PricingConfig,
    /// `[ledger]`: what the ledger keeps of each caller.
    #[serde(default)]
    pub ledger: LedgerSection,
    /// `[metrics]`: what `/metrics` exports.
    #[serde(default)]
    pub metrics: MetricsSection,
    /// `[pipeline]`: batching and backpressure between sources and the ledger writer.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// `[logging]`: the daemon's own logs (stderr).
    #[serde(default)]
    pub logging: LoggingConfig,
    /// `[discovery]`: with no `[[sources]]`, find each region's invocation-log destination
    /// and read it.
    #[serde(default)]
    pub discovery: DiscoveryConfig,
    /// `[control_plane]`: the Bedrock control-plane inventory (inference profiles,
    /// provisioned throughputs, foundation models, customization).
    #[serde(default)]
    pub control_plane: ControlPlaneConfig,
    /// `[[sources]]`: where invocation-log records come from. None is allowed: the daemon
    /// then serves what the ledger already holds.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// `[provisioned]`: the provisioned-throughput and customization accrual.
    #[serde(default)]
    pub provisioned: ProvisionedSection,
    /// `[planner]`: tokens per minute per model unit (plan-pt, utilization).
    #[serde(default)]
    pub planner: PlannerSection,
    /// `[[provisioned_models]]`: provisioned throughputs declared in the file.
    #[serde(default)]
    pub provisioned_models: Vec<ProvisionedModelConfig>,
    /// `[[custom_models]]`: custom models declared in the file (storage cost).
    #[serde(default)]
    pub custom_models: Vec<CustomModelConfig>,
    /// `[[customization_jobs]]`: training jobs declared in the file.
    #[serde(default)]
    pub customization_jobs: Vec<CustomizationJobConfig>,
    /// `[notifications]`: budget evaluation and the receivers of budget notifications.
    #[serde(default)]
    pub notifications: NotificationsConfig,
    /// `[[budgets]]`: spend limits per period, with thresholds that notify.
    #[serde(default)]
    pub budgets: Vec<BudgetConfig>,
}

/// The top-level keys, in file order. A test checks this against the serialised schema.
const SECTIONS: &[&str] = &[
    "server",
    "store",
    "pricing",
    "ledger",
    "metrics",
    "pipeline",
    "logging",
    "discovery",
    "control_plane",
    "sources",
    "provisioned",
    "planner",
    "provisioned_models",
    "custom_models",
    "customization_jobs",
    "notifications",
    "budgets",
];

impl Config {
    /// Stage 1 on text: parses `text` and validates it. `origin` names the text in errors
    /// (usually the file path). No I/O.
    ///
    /// Unknown keys, wrong types and bad values are all errors ([`ConfigError::Invalid`],
    /// listing every problem found); text that is not TOML is [`ConfigError::Syntax`].
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        // Each section is deserialised on its own so that one mistake per section (and per
        // source) is reported, not just the first in the file. A struct literal, so a new
        // field cannot be forgotten here.
        let mut problems = Vec::new();
        let config = Config {
            server: section(&mut table, "server", &mut problems),
            store: section(&mut table, "store", &mut problems),
            pricing: section(&mut table, "pricing", &mut problems),
            ledger: section(&mut table, "ledger", &mut problems),
            metrics: section(&mut table, "metrics", &mut problems),
            pipeline: section(&mut table, "pipeline", &mut problems),
            logging: section(&mut table, "logging", &mut problems),
            discovery: section(&mut table, "discovery", &mut problems),
            control_plane: section(&mut table, "control_plane", &mut problems),
            sources: source::parse_all(table.remove("sources"), &mut problems),
            provisioned: section(&mut table, "provisioned", &mut problems),
            planner: section(&mut table, "planner", &mut problems),
            provisioned_models: section(&mut table, "provisioned_models", &mut problems),
            custom_models: section(&mut table, "custom_models", &mut problems),
            customization_jobs: section(&mut table, "customization_jobs", &mut problems),
            notifications: section(&mut table, "notifications", &mut problems),
            budgets: section(&mut table, "budgets", &mut problems),
        };
        for key in table.keys() {
            problems.push(error::unknown_key("", key, SECTIONS));
        }
        // Validation needs a complete, typed config; on a parse problem a section holds its
        // defaults, and checking those would only add noise.
        if problems.is_empty() {
            problems = config.problems();
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    /// Stage 1 on a file: reads `path` (the only I/O of stage 1) and calls
    /// [`Config::from_toml_str`] with the path as origin.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml_str(&text, &path.display().to_string())
    }

    /// Checks a config built in code (for example [`Config::default`] plus sources added by
    /// the command line) with the same rules as a loaded file. Reports every problem.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    /// The ledger's settings (`[ledger]`).
    pub fn ledger_config(&self) -> LedgerConfig {
        LedgerConfig {
            principal: self.ledger.principal.into(),
            tag_keys: if self.ledger.tag_keys.iter().any(|k| k == ALL_TAG_KEYS) {
                TagKeys::All
            } else {
                TagKeys::Only(self.ledger.tag_keys.clone())
            },
        }
    }

    /// How hard each ledger commit is pushed to disk (`store.durability`).
    pub fn durability(&self) -> Durability {
        match self.store.durability {
            DurabilitySetting::Normal => Durability::Normal,
            DurabilitySetting::Full => Durability::Full,
        }
    }
}

/// Deserialises `[key]` from the top-level table, or its defaults when absent. A problem is
/// recorded (and the defaults returned) when it does not fit `T`.
fn section<T: DeserializeOwned + Default>(
    table: &mut toml::Table,
    key: &str,
    problems: &mut Vec<Problem>,
) -> T {
    match table.remove(key) {
        None => T::default(),
        Some(value) => match serde_path_to_error::deserialize(value) {
            Ok(t) => t,
            Err(e) => {
                problems.push(error::from_serde(key, &e));
                T::default()
            }
        },
    }
}

// ---------------------------------------------------------------------------------------
// [server]

/// `[server]`: the HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// `listen_address`: an IP address and port (host names are not resolved). Default
    /// `127.0.0.1:9464`: loopback only, so nothing is exposed until someone decides to.
    #[serde(deserialize_with = "socket_addr")]
    pub listen_address: SocketAddr,
    /// `[server.auth]`: who may read `/metrics` and `/api`.
    pub auth: AuthConfig,
    /// `[server.tls]`: HTTPS.
    pub tls: TlsConfig,
}

/// Default of `server.listen_address`.
fn default_listen_address() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9464)
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen_address: default_listen_address(),
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

/// Parses `listen_address` with a message that says what to write instead.
fn socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(|_| {
        let hint = if s.parse::<IpAddr>().is_ok() {
            format!("`{s}` has no port; use e.g. {s}:9464")
        } else {
            format!(
                "`{s}` is not an address:port; use e.g. 127.0.0.1:9464, 0.0.0.0:9464 or \
                 [::]:9464 (host names are not resolved)"
            )
        };
        serde::de::Error::custom(hint)
    })
}

/// `[server.auth]`: access control for `/metrics` and `/api`. `/healthz` and `/readyz`
/// stay open so that probes need no secret.
///
/// Each secret is given by exactly one of `…_env` (an environment variable name) or
/// `…_file` (a file whose content, less a trailing newline, is the secret). Empty strings
/// mean "not set" (they are `None` here). Secrets are read by
/// [`Config::resolve_secrets`], not at load.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `mode`: `none` (default), `bearer` or `basic`.
    pub mode: AuthMode,
    /// `bearer_token_env`: variable holding the bearer token.
    #[serde(with = "empty_is_none")]
    pub bearer_token_env: Option<String>,
    /// `bearer_token_file`: file holding the bearer token.
    #[serde(with = "empty_is_none")]
    pub bearer_token_file: Option<PathBuf>,
    /// `basic_username`: the user name for basic auth (not a secret).
    #[serde(with = "empty_is_none")]
    pub basic_username: Option<String>,
    /// `basic_password_env`: variable holding the basic-auth password.
    #[serde(with = "empty_is_none")]
    pub basic_password_env: Option<String>,
    /// `basic_password_file`: file holding the basic-auth password.
    #[serde(with = "empty_is_none")]
    pub basic_password_file: Option<PathBuf>,
}

/// `server.auth.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// No authentication (the default; the listener is on loopback by default).
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic …` (RFC 7617). Use it only with TLS or on a trusted network.
    Basic,
}

impl AuthMode {
    /// The value as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Bearer => "bearer",
            AuthMode::Basic => "basic",
        }
    }
}

/// `[server.tls]`: HTTPS. Both files are PEM; they are read when the server starts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// `enabled` (default false).
    pub enabled: bool,
    /// `cert_file`: the certificate chain, leaf first.
    #[serde(with = "empty_is_none")]
    pub cert_file: Option<PathBuf>,
    /// `key_file`: the private key.
    #[serde(with = "empty_is_none")]
    pub key_file: Option<PathBuf>,
}

impl TlsConfig {
    /// `(cert_file, key_file)` when TLS is enabled. A validated config always has both then.
    pub fn files(&self) -> Option<(&Path, &Path)> {
        match (self.enabled, &self.cert_file, &self.key_file) {
            (true, Some(cert), Some(key)) => Some((cert, key)),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// [store], [pricing]

/// `[store]`: the SQLite ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `path`: the ledger file, created if missing. Default `bedrock-meter.db` (relative to
    /// the working directory).
    pub path: PathBuf,
    /// `durability`: `normal` (default) or `full`; see [`Durability`].
    pub durability: DurabilitySetting,
    /// `dedup_window_hours`: how long (in event time) request ids are remembered to drop a
    /// record read twice. 1..=8760, default 48.
    pub dedup_window_hours: u32,
}

/// Default of `store.path`.
fn default_store_path() -> PathBuf {
    PathBuf::from("bedrock-meter.db")
}

/// Default of `store.dedup_window_hours` (the ledger's own default, 48).
fn default_dedup_window_hours() -> u32 {
    48
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_store_path(),
            durability: DurabilitySetting::default(),
            dedup_window_hours: default_dedup_window_hours(),
        }
    }
}

impl StoreConfig {
    /// The dedup window as the ledger takes it.
    pub fn dedup_window_hours_i64(&self) -> i64 {
        i64::from(self.dedup_window_hours)
    }
}

/// `store.durability`, as written in the file. [`Config::durability`] converts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurabilitySetting {
    /// `normal`: see [`Durability::Normal`].
    #[default]
    Normal,
    /// `full`: see [`Durability::Full`].
    Full,
}

/// `[pricing]`: the price table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingConfig {
    /// `directory`: a directory of `*.toml` price files replacing the embedded table.
    /// Empty (default, `None` here) means the table built into the binary.
    #[serde(with = "empty_is_none")]
    pub directory: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------
// [ledger], [metrics]

/// How much of the caller's identity is kept, as written in the file (`off`, `role`,
/// `role_session`). Shared by `[ledger]` and `[metrics]`; ordered from least to most
/// detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalSetting {
    /// `off`: no principal.
    Off,
    /// `role`: `role/Name`, `user/name`.
    Role,
    /// `role_session`: `role/Name/session` for assumed roles.
    RoleSession,
}

impl PrincipalSetting {
    /// The value as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalSetting::Off => "off",
            PrincipalSetting::Role => "role",
            PrincipalSetting::RoleSession => "role_session",
        }
    }
}

impl From<PrincipalSetting> for PrincipalDetail {
    fn from(p: PrincipalSetting) -> PrincipalDetail {
        match p {
            PrincipalSetting::Off => PrincipalDetail::Off,
            PrincipalSetting::Role => PrincipalDetail::Role,
            PrincipalSetting::RoleSession => PrincipalDetail::RoleSession,
        }
    }
}

/// In `ledger.tag_keys`, alone: keep every key.
pub const ALL_TAG_KEYS: &str = "*";

/// `[ledger]`: what the ledger keeps. (Named `…Section` because
/// [`crate::accounting::LedgerConfig`] is the runtime type; see [`Config::ledger_config`].)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerSection {
    /// `principal`: default `role_session` (reports can still group by role).
    pub principal: PrincipalSetting,
    /// `tag_keys`: `requestMetadata` keys kept as attribution tags; `["*"]` (default) keeps
    /// all, `[]` none.
    pub tag_keys: Vec<String>,
}

/// Default of `ledger.tag_keys`: every key.
fn default_ledger_tag_keys() -> Vec<String> {
    vec![ALL_TAG_KEYS.to_string()]
}

impl Default for LedgerSection {
    fn default() -> Self {
        LedgerSection {
            principal: PrincipalSetting::RoleSession,
            tag_keys: default_ledger_tag_keys(),
        }
    }
}

/// `[metrics]`: what `/metrics` exports. Label cardinality is what costs in Prometheus, so
/// the defaults are coarser than the ledger's.
///
/// A stand-in with the keys of the exporter's own config; it will be replaced by (or
/// converted into) that type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSection {
    /// `principal`: default `role` (sessions would make a series per session).
    pub principal: PrincipalSetting,
    /// `tag_labels`: `requestMetadata` keys exported as `tag_<key>` labels. Default none.
    pub tag_labels: Vec<String>,
    /// `max_values_per_label`: distinct values kept per label (model, principal, `tag_*`);
    /// the rest are summed under `other`. Default 50.
    pub max_values_per_label: u32,
}

/// Default of `metrics.max_values_per_label`.
fn default_max_values_per_label() -> u32 {
    50
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            principal: PrincipalSetting::Role,
            tag_labels: Vec::new(),
            max_values_per_label: default_max_values_per_label(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// [pipeline], [logging]

/// `[pipeline]`: batching and backpressure between sources and the single ledger writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// `channel_capacity`: chunks of records in flight from the sources to the writer; when
    /// full, sources wait (backpressure). Default 64.
    pub channel_capacity: usize,
    /// `commit_max_records`: a commit happens after this many records… Default 1000.
    pub commit_max_records: usize,
    /// `commit_interval_ms`: …or this long after the first uncommitted record. Default 1000.
    pub commit_interval_ms: u64,
    /// `shutdown_grace_secs`: on SIGTERM, how long to wait for the final commit before
    /// exiting non-zero. Default 30.
    pub shutdown_grace_secs: u64,
}

/// Default of `pipeline.channel_capacity`.
fn default_channel_capacity() -> usize {
    64
}

/// Default of `pipeline.commit_max_records`.
fn default_commit_max_records() -> usize {
    1000
}

/// Default of `pipeline.commit_interval_ms`.
fn default_commit_interval_ms() -> u64 {
    1000
}

/// Default of `pipeline.shutdown_grace_secs`.
fn default_shutdown_grace_secs() -> u64 {
    30
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            channel_capacity: default_channel_capacity(),
            commit_max_records: default_commit_max_records(),
            commit_interval_ms: default_commit_interval_ms(),
            shutdown_grace_secs: default_shutdown_grace_secs(),
        }
    }
}

impl PipelineConfig {
    /// `commit_interval_ms` as a duration.
    pub fn commit_interval(&self) -> Duration {
        Duration::from_millis(self.commit_interval_ms)
    }

    /// `shutdown_grace_secs` as a duration.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// `[logging]`: the daemon's own logs, on stderr. `RUST_LOG` and `--log-level` override
/// `level`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// `level`: `trace`, `debug`, `info` (default), `warn`, `error` or `off`, or a
    /// `tracing` filter such as `info,bedrock_meter::sources=debug`.
    pub level: String,
    /// `format`: `text` (default) or `json`.
    pub format: LogFormat,
}

/// Default of `logging.level`.
fn default_log_level() -> String {
    "info".to_string()
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: default_log_level(),
            format: LogFormat::Text,
        }
    }
}

/// `logging.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

// ---------------------------------------------------------------------------------------
// [discovery]

/// `[discovery]`: when no `[[sources]]` are configured, `run` reads each region's model
/// invocation logging configuration (`GetModelInvocationLoggingConfiguration`) and starts a
/// `cloudwatch_logs` and/or `s3` source for its destination, with the sources' defaults.
/// See [`crate::discovery`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// `regions`: the regions to look in, e.g. `["us-east-1", "eu-west-1"]`. Empty
    /// (default): discovery is off.
    pub regions: Vec<String>,
    /// `prefer`: which destination to read when a region logs to both: `s3` (default),
    /// `cloudwatch_logs` or `both`. A region with one destination reads that one.
    pub prefer: DiscoveryPrefer,
    /// `assume_role_arn`: a role to assume for discovery and the discovered sources. `""`
    /// (default): the chain's credentials.
    #[serde(with = "empty_is_none")]
    pub assume_role_arn: Option<String>,
    /// `external_id`: the external id the role's trust policy requires. `""`: none.
    #[serde(with = "empty_is_none")]
    pub external_id: Option<String>,
    /// `endpoint_url`: another endpoint than AWS's (tests, or a proxy that serves Bedrock,
    /// CloudWatch Logs and S3 alike). `""` (default): AWS's own.
    #[serde(with = "empty_is_none")]
    pub endpoint_url: Option<String>,
}

/// `discovery.prefer`.
///
/// The default is `s3`: at the sources' defaults an `s3` source makes fewer calls (36
/// `ListObjectsV2` an hour against 120 `FilterLogEvents`), is not held to CloudWatch Logs'
/// per-account `FilterLogEvents` quota, and the bucket keeps the month a first start
/// backfills whatever the log group's retention. The cost is latency: Bedrock delivers to
/// S3 in batches minutes apart, and the source polls every 5 minutes; `cloudwatch_logs`
/// sees records within about a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryPrefer {
    /// Read the S3 bucket.
    #[default]
    S3,
    /// Read the CloudWatch Logs group.
    CloudwatchLogs,
    /// Read both (records seen in both are dropped by request id).
    Both,
}

// ---------------------------------------------------------------------------------------
// [control_plane]

/// `[control_plane]`: the poller that reads the Bedrock control plane every
/// `refresh_interval_secs` (see [`crate::sources::control_plane`]). It resolves
/// application-inference-profile ARNs to their model (and adds the profiles' tags), and
/// keeps provisioned throughputs, custom models, customization jobs and foundation-model
/// lifecycles for the cost streams and `pricing check --db`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlPlaneConfig {
    /// `enabled`: read the control plane (default true). It runs only when it has regions.
    pub enabled: bool,
    /// `regions`: the regions to read. Empty (default): those of the `cloudwatch_logs` and
    /// `s3` sources (written or discovered), with the role of the first source in each
    /// unless `assume_role_arn` is set.
    pub regions: Vec<String>,
    /// `refresh_interval_secs`: seconds between refreshes, 60 to 86400 (default 3600).
    pub refresh_interval_secs: u64,
    /// `assume_role_arn`: a role to assume. `""` (default): the chain's credentials (or,
    /// for inherited regions, the source's role).
    #[serde(with = "empty_is_none")]
    pub assume_role_arn: Option<String>,
    /// `external_id`: the external id the role's trust policy requires. `""`: none.
    #[serde(with = "empty_is_none")]
    pub external_id: Option<String>,
    /// `endpoint_url`: another endpoint than AWS's for Bedrock. `""` (default): AWS's own
    /// (never a source's: those serve CloudWatch Logs or S3).
    #[serde(with = "empty_is_none")]
    pub endpoint_url: Option<String>,
}

/// Default of `control_plane.refresh_interval_secs`: hourly (about 8 calls per region an
/// hour, plus one per application profile).
pub const DEFAULT_CONTROL_PLANE_REFRESH_SECS: u64 = 3600;

impl Default for ControlPlaneConfig {
    fn default() -> Self {
        ControlPlaneConfig {
            enabled: true,
            regions: Vec::new(),
            refresh_interval_secs: DEFAULT_CONTROL_PLANE_REFRESH_SECS,
            assume_role_arn: None,
            external_id: None,
            endpoint_url: None,
        }
    }
}

impl Config {
    /// The control-plane poller to run, if any: `[control_plane]` enabled with its own
    /// regions, or else the regions of the AWS sources. An inherited region is read with
    /// the role of the first source in it unless `[control_plane]` names one; the endpoint
    /// is always `[control_plane]`'s (a source's endpoint serves CloudWatch Logs or S3, not
    /// Bedrock).
    pub fn control_plane_spec(&self) -> Option<crate::sources::control_plane::ControlPlaneSpec> {
        use crate::sources::aws::AwsSettings;
        let cp = &self.control_plane;
        if !cp.enabled {
            return None;
        }
        let own = |region: &str| AwsSettings {
            region: region.to_string(),
            assume_role_arn: cp.assume_role_arn.clone(),
            external_id: cp.external_id.clone(),
            endpoint_url: cp.endpoint_url.clone(),
        };
        let mut targets: Vec<AwsSettings> = cp.regions.iter().map(|r| own(r)).collect();
        if targets.is_empty() {
            for s in &self.sources {
                let aws = match s {
                    SourceConfig::CloudwatchLogs(c) => c.spec().aws,
                    SourceConfig::S3(c) => c.spec().aws,
                    _ => continue,
                };
                if targets.iter().any(|t| t.region == aws.region) {
                    continue;
                }
                let mut t = own(&aws.region);
                if cp.assume_role_arn.is_none() {
                    t.assume_role_arn = aws.assume_role_arn;
                    t.external_id = aws.external_id;
                }
                targets.push(t);
            }
        }
        (!targets.is_empty()).then(|| crate::sources::control_plane::ControlPlaneSpec {
            targets,
            refresh_interval: Duration::from_secs(cp.refresh_interval_secs),
        })
    }
}

// ---------------------------------------------------------------------------------------

/// `Option<String>` / `Option<PathBuf>` written as a string where `""` means `None`. TOML
/// has no null, and keeping the key in the example file (set to "") documents it.
mod empty_is_none {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer, T: Serialize>(
        value: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => v.serialize(s),
            None => s.serialize_str(""),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>, T: From<String>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        let s = String::deserialize(d)?;
        Ok(if s.is_empty() { None } else { Some(T::from(s)) })
    }
}
