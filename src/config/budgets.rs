//! `[[budgets]]` and `[notifications]`: spend limits per period with thresholds on actual or
//! forecast spend, and the receivers that hear about crossings. The shapes and their checks
//! only; evaluation is [`crate::budgets`], delivery [`crate::notify`].
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::PathBuf;
use std::str::FromStr;

use super::error::{self, Problem};
use crate::money::Usd;

/// One `[[budgets]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// `name`: unique, `[a-z0-9_-]{1,64}`; the `budget` label of the budget metrics.
    pub name: String,
    /// `limit_usd`: the limit per period, a decimal string ("1000.00") or a number; parsed
    /// exactly.
    #[serde(with = "exact_usd")]
    pub limit_usd: Usd,
    /// `period`: `daily`, `weekly`, `monthly`, `quarterly` or `custom`. Default `monthly`.
    #[serde(default)]
    pub period: PeriodSetting,
    /// `period_length`: only with `period = "custom"`: `<n>d` or `<n>h`, e.g. "14d".
    #[serde(default)]
    pub period_length: String,
    /// `period_anchor`: only with `period = "custom"`: an RFC 3339 time at which one
    /// period starts; the others follow every `period_length`.
    #[serde(default)]
    pub period_anchor: String,
    /// `time_zone`: the IANA zone whose calendar aligns the period. Default "UTC".
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// `week_start`: the first day of a weekly period, e.g. "monday" (default).
    #[serde(default = "default_week_start")]
    pub week_start: String,
    /// `accounts`: only spend of these account ids; empty: every account.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// `regions`: only spend in these regions; empty: every region.
    #[serde(default)]
    pub regions: Vec<String>,
    /// `models`: only these models; `*` matches any run of characters
    /// (`anthropic.claude-*`); empty: every model.
    #[serde(default)]
    pub models: Vec<String>,
    /// `principals`: only these principals (globs as for models); empty: every principal.
    #[serde(default)]
    pub principals: Vec<String>,
    /// `tags`: only spend whose attribution tags include every `KEY=VALUE` listed (the keys
    /// must be kept by `[ledger] tag_keys`); empty: no tag filter.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `cost_kinds`: only these ledger cost streams: `on_demand`, `provisioned`,
    /// `customization`; empty: all of them.
    #[serde(default)]
    pub cost_kinds: Vec<String>,
    /// `[budgets.anomaly]`: a spend rate far above its baseline.
    #[serde(default)]
    pub anomaly: AnomalyConfig,
    /// `[[budgets.thresholds]]`: when to notify.
    #[serde(default)]
    pub thresholds: Vec<ThresholdConfig>,
}

/// `budgets[].period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodSetting {
    /// Local midnight to local midnight.
    Daily,
    /// From `week_start` 00:00 local for seven days.
    Weekly,
    /// The calendar month (the default, as AWS Budgets).
    #[default]
    Monthly,
    /// Calendar quarters starting January, April, July and October.
    Quarterly,
    /// Every `period_length` from `period_anchor`.
    Custom,
}

/// `budgets[].anomaly`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnomalyConfig {
    /// `enabled`: flag a spend rate far above its baseline. Default false.
    pub enabled: bool,
    /// `factor`: the recent rate must exceed the baseline rate times this. Default "5".
    #[serde(with = "exact_usd")]
    pub factor: Usd,
    /// `min_spend_usd`: and the recent window must have spent at least this. Default "1".
    #[serde(with = "exact_usd")]
    pub min_spend_usd: Usd,
    /// `window_hours`: the recent window (whole UTC hours, the current one included).
    /// Default 1.
    pub window_hours: u32,
    /// `baseline_hours`: the hours before the window that set the baseline. Default 168.
    pub baseline_hours: u32,
    /// `receivers`: receivers told when an anomaly starts (and ends, with
    /// `notify_on_recovery`).
    pub receivers: Vec<String>,
    /// `notify_on_recovery`: also notify when the rate is back to normal. Default false.
    pub notify_on_recovery: bool,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            enabled: false,
            factor: Usd::from(5),
            min_spend_usd: Usd::from(1),
            window_hours: 1,
            baseline_hours: 168,
            receivers: Vec::new(),
            notify_on_recovery: false,
        }
    }
}

/// One `[[budgets.thresholds]]` table: exactly one of `percent` and `amount_usd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdConfig {
    /// `percent`: of the limit, e.g. 80.
    #[serde(
        default,
        with = "exact_usd_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub percent: Option<Usd>,
    /// `amount_usd`: an absolute amount, e.g. "750".
    #[serde(
        default,
        with = "exact_usd_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub amount_usd: Option<Usd>,
    /// `on`: `actual` spend so far (default) or `forecast` spend at period end.
    #[serde(default)]
    pub on: ThresholdOn,
    /// `notify_on_recovery`: also notify when spend falls back below (a forecast that
    /// drops, a limit raised, a re-price). Default false.
    #[serde(default)]
    pub notify_on_recovery: bool,
    /// `receivers`: names of `[[notifications.receivers]]`; empty: metrics only.
    #[serde(default)]
    pub receivers: Vec<String>,
}

/// `budgets[].thresholds[].on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdOn {
    /// Spend so far in the period.
    #[default]
    Actual,
    /// Projected spend at the end of the period.
    Forecast,
}

impl ThresholdOn {
    /// `actual` or `forecast` (the metrics `kind` label).
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdOn::Actual => "actual",
            ThresholdOn::Forecast => "forecast",
        }
    }
}

/// `[notifications]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// `evaluation_interval_secs`: seconds between budget evaluations (and outbox
    /// deliveries); at least 1. Default 60.
    pub evaluation_interval_secs: u64,
    /// `dashboard_url`: a link put in every notification; "": none.
    pub dashboard_url: String,
    /// `[[notifications.receivers]]`.
    pub receivers: Vec<ReceiverConfig>,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            evaluation_interval_secs: 60,
            dashboard_url: String::new(),
            receivers: Vec::new(),
        }
    }
}

/// One `[[notifications.receivers]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// `name`: unique, `[a-z0-9_-]{1,64}`; thresholds refer to it; the metrics label.
    pub name: String,
    /// `kind`: `webhook`, `slack`, `alertmanager` or `log`.
    pub kind: ReceiverKind,
    /// `url`: where to POST (for `alertmanager`, its base URL; `/api/v2/alerts` is added);
    /// "" for `log`.
    #[serde(default)]
    pub url: String,
    /// `hmac_key_env`: variable holding the key that signs webhook bodies.
    #[serde(default, with = "super::empty_is_none")]
    pub hmac_key_env: Option<String>,
    /// `hmac_key_file`: file holding that key.
    #[serde(default, with = "super::empty_is_none")]
    pub hmac_key_file: Option<PathBuf>,
    /// `bearer_token_env`: variable holding a bearer token sent as `Authorization`.
    #[serde(default, with = "super::empty_is_none")]
    pub bearer_token_env: Option<String>,
    /// `bearer_token_file`: file holding that token.
    #[serde(default, with = "super::empty_is_none")]
    pub bearer_token_file: Option<PathBuf>,
    /// `timeout_secs`: per attempt; 1 to 300. Default 10.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// `retries`: further attempts after a failure, with exponential backoff; 0 to 10.
    /// Default 3.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

/// `notifications.receivers[].kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverKind {
    /// The documented JSON payload, optionally HMAC-signed.
    Webhook,
    /// A Slack-compatible incoming-webhook message (`{"text": …}`).
    Slack,
    /// Alertmanager's `POST /api/v2/alerts`.
    Alertmanager,
    /// No HTTP: the notification is written to the daemon's log (a structured `info` line
    /// with the webhook payload's fields). For trying budgets out; `url` must be "".
    Log,
}

fn default_time_zone() -> String {
    "UTC".to_string()
}
fn default_week_start() -> String {
    "monday".to_string()
}
fn default_timeout_secs() -> u64 {
    10
}
fn default_retries() -> u32 {
    3
}

/// The cost streams a budget may filter on (the ledger's `pricing_mode`).
pub const COST_KINDS: &[&str] = &["on_demand", "provisioned", "customization"];

/// The accepted `week_start` words.
pub const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl BudgetConfig {
    /// The budgets in `deploy/bedrock-meter.example.toml` (the config tests compare).
    pub fn examples() -> Vec<BudgetConfig> {
        vec![BudgetConfig {
            name: "all-bedrock".to_string(),
            limit_usd: Usd::from(1000),
            period: PeriodSetting::Monthly,
            period_length: String::new(),
            period_anchor: String::new(),
            time_zone: default_time_zone(),
            week_start: default_week_start(),
            accounts: Vec::new(),
            regions: Vec::new(),
            models: Vec::new(),
            principals: Vec::new(),
            tags: Vec::new(),
            cost_kinds: Vec::new(),
            anomaly: AnomalyConfig::default(),
            thresholds: vec![
                ThresholdConfig {
                    percent: Some(Usd::from(80)),
                    amount_usd: None,
                    on: ThresholdOn::Actual,
                    notify_on_recovery: false,
                    receivers: vec!["ops-webhook".to_string()],
                },
                ThresholdConfig {
                    percent: None,
                    amount_usd: Some(Usd::from(1000)),
                    on: ThresholdOn::Forecast,
                    notify_on_recovery: false,
                    receivers: vec!["ops-webhook".to_string()],
                },
            ],
        }]
    }

    /// The parsed custom period length in seconds, if valid.
    pub fn custom_length_secs(&self) -> Option<i64> {
        parse_length_secs(&self.period_length)
    }

    /// `time_zone` as a tz, if valid.
    pub fn tz(&self) -> Option<chrono_tz::Tz> {
        chrono_tz::Tz::from_str(&self.time_zone).ok()
    }

    /// `week_start` as a weekday, if valid.
    pub fn week_start_day(&self) -> Option<chrono::Weekday> {
        WEEKDAYS
            .iter()
            .position(|d| *d == self.week_start)
            .and_then(|i| chrono::Weekday::try_from(i as u8).ok())
    }
}

impl NotificationsConfig {
    /// The `[notifications]` of the example file.
    pub fn example() -> NotificationsConfig {
        NotificationsConfig {
            receivers: vec![ReceiverConfig {
                name: "ops-webhook".to_string(),
                kind: ReceiverKind::Webhook,
                url: "https://hooks.example.com/bedrock-meter".to_string(),
                hmac_key_env: None,
                hmac_key_file: None,
                bearer_token_env: None,
                bearer_token_file: None,
                timeout_secs: default_timeout_secs(),
                retries: default_retries(),
            }],
            ..NotificationsConfig::default()
        }
    }
}

/// `14d`, `36h` → seconds; anything else (or zero) → `None`.
pub fn parse_length_secs(s: &str) -> Option<i64> {
    let (n, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    let per = match unit {
        "d" => 86_400,
        "h" => 3_600,
        _ => return None,
    };
    n.checked_mul(per).filter(|s| *s <= 366 * 86_400)
}

fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks of `[[budgets]]` and `[notifications]` (called from `validate.rs`).
pub(super) fn check(
    budgets: &[BudgetConfig],
    notifications: &NotificationsConfig,
    ledger_tag_keys: &[String],
    out: &mut Vec<Problem>,
) {
    let kept = |k: &str| {
        ledger_tag_keys
            .iter()
            .any(|t| t == k || t == super::ALL_TAG_KEYS)
    };
    let n = notifications;
    if n.evaluation_interval_secs == 0 {
        out.push(Problem::new(
            "notifications.evaluation_interval_secs",
            "must be at least 1 (seconds between budget evaluations)",
        ));
    }
    let mut receivers = Vec::new();
    for (i, r) in n.receivers.iter().enumerate() {
        let at = |k: &str| format!("notifications.receivers[{i}].{k}");
        if !is_name(&r.name) {
            out.push(Problem::new(
                at("name"),
                format!("`{}` must be 1 to 64 of a-z, 0-9, _ and -", r.name),
            ));
        } else if receivers.contains(&r.name.as_str()) {
            out.push(Problem::new(
                at("name"),
                format!(
                    "`{}` is used by another receiver; names must be unique",
                    r.name
                ),
            ));
        }
        receivers.push(r.name.as_str());
        if r.kind == ReceiverKind::Log {
            if !r.url.is_empty() {
                out.push(Problem::new(
                    at("url"),
                    "kind = \"log\" writes to the daemon's log; remove the url",
                ));
            }
        } else if !(r.url.starts_with("http://") || r.url.starts_with("https://")) {
            out.push(Problem::new(
                at("url"),
                format!(
                    "`{}` is not an http:// or https:// URL; write e.g. \
                     \"https://hooks.example.com/bedrock\"",
                    r.url
                ),
            ));
        }
        if !(1..=300).contains(&r.timeout_secs) {
            out.push(Problem::new(at("timeout_secs"), "must be 1 to 300 seconds"));
        }
        if r.retries > 10 {
            out.push(Problem::new(at("retries"), "must be 0 to 10"));
        }
        for (base, env, file) in [
            ("hmac_key", &r.hmac_key_env, r.hmac_key_file.is_some()),
            (
                "bearer_token",
                &r.bearer_token_env,
                r.bearer_token_file.is_some(),
            ),
        ] {
            if env.is_some() && file {
                out.push(Problem::new(
                    at(&format!("{base}_file")),
                    format!("set only one of {base}_env and {base}_file"),
                ));
            }
            if let Some(v) = env
                && !super::validate::is_env_name(v)
            {
                out.push(Problem::new(
                    at(&format!("{base}_env")),
                    format!(
                        "`{v}` is not an environment variable name; put the secret in a \
                         variable and write its name here"
                    ),
                ));
            }
        }
        if r.kind != ReceiverKind::Webhook
            && (r.hmac_key_env.is_some() || r.hmac_key_file.is_some())
        {
            out.push(Problem::new(
                at("hmac_key_env"),
                "only kind = \"webhook\" bodies are signed; remove the HMAC key",
            ));
        }
    }

    let mut names: Vec<&str> = Vec::new();
    for (i, b) in budgets.iter().enumerate() {
        let at = |k: &str| format!("budgets[{i}].{k}");
        if !is_name(&b.name) {
            out.push(Problem::new(
                at("name"),
                format!("`{}` must be 1 to 64 of a-z, 0-9, _ and -", b.name),
            ));
        } else if names.contains(&b.name.as_str()) {
            out.push(Problem::new(
                at("name"),
                format!(
                    "`{}` is used by another budget; names must be unique",
                    b.name
                ),
            ));
        }
        names.push(b.name.as_str());
        if b.limit_usd <= Usd::ZERO {
            out.push(Problem::new(
                at("limit_usd"),
                "must be more than 0, e.g. limit_usd = \"1000\"",
            ));
        }
        let custom = b.period == PeriodSetting::Custom;
        if custom {
            if b.custom_length_secs().is_none() {
                out.push(Problem::new(
                    at("period_length"),
                    format!(
                        "`{}` is not a length; period = \"custom\" needs e.g. \"14d\" or \
                         \"36h\" (at most 366 days)",
                        b.period_length
                    ),
                ));
            }
            if chrono::DateTime::parse_from_rfc3339(&b.period_anchor).is_err() {
                out.push(Problem::new(
                    at("period_anchor"),
                    format!(
                        "`{}` is not an RFC 3339 time; period = \"custom\" needs e.g. \
                         \"2026-01-05T00:00:00Z\"",
                        b.period_anchor
                    ),
                ));
            }
        } else {
            for (k, v) in [
                ("period_length", &b.period_length),
                ("period_anchor", &b.period_anchor),
            ] {
                if !v.is_empty() {
                    out.push(Problem::new(
                        at(k),
                        "is only used with period = \"custom\"; remove it or set the period",
                    ));
                }
            }
        }
        if b.tz().is_none() {
            let hint =
                error::did_you_mean(&b.time_zone, &["UTC", "Europe/Berlin", "America/New_York"]);
            out.push(Problem::new(
                at("time_zone"),
                format!(
                    "`{}` is not an IANA time zone; write e.g. \"Europe/Berlin\" or \"UTC\"{hint}",
                    b.time_zone
                ),
            ));
        }
        if b.week_start_day().is_none() {
            out.push(Problem::new(
                at("week_start"),
                format!(
                    "`{}` is not a weekday; use one of {}{}",
                    b.week_start,
                    error::quoted_list(WEEKDAYS),
                    error::did_you_mean(&b.week_start, WEEKDAYS)
                ),
            ));
        }
        for (j, t) in b.tags.iter().enumerate() {
            match t.split_once('=') {
                Some((k, v)) if !k.is_empty() && !v.is_empty() => {
                    if !kept(k) {
                        out.push(Problem::new(
                            format!("budgets[{i}].tags[{j}]"),
                            format!(
                                "the ledger does not keep tag `{k}`, so no spend would match; \
                                 add \"{k}\" to [ledger] tag_keys"
                            ),
                        ));
                    }
                }
                _ => out.push(Problem::new(
                    format!("budgets[{i}].tags[{j}]"),
                    format!("`{t}` is not KEY=VALUE; write e.g. \"team=search\""),
                )),
            }
        }
        for (j, k) in b.cost_kinds.iter().enumerate() {
            if !COST_KINDS.contains(&k.as_str()) {
                out.push(Problem::new(
                    format!("budgets[{i}].cost_kinds[{j}]"),
                    format!(
                        "`{k}` is not a cost kind; use {}{}",
                        error::quoted_list(COST_KINDS),
                        error::did_you_mean(k, COST_KINDS)
                    ),
                ));
            }
        }
        let an = &b.anomaly;
        if an.factor <= Usd::ONE {
            out.push(Problem::new(
                at("anomaly.factor"),
                "must be more than 1 (how many times the baseline rate is anomalous)",
            ));
        }
        if an.min_spend_usd < Usd::ZERO {
            out.push(Problem::new(
                at("anomaly.min_spend_usd"),
                "must not be negative",
            ));
        }
        if an.window_hours == 0 || an.window_hours > 168 {
            out.push(Problem::new(at("anomaly.window_hours"), "must be 1 to 168"));
        }
        if an.baseline_hours == 0 || an.baseline_hours > 2160 {
            out.push(Problem::new(
                at("anomaly.baseline_hours"),
                "must be 1 to 2160",
            ));
        }
        unknown_receivers(&an.receivers, &receivers, &at("anomaly.receivers"), out);
        let mut ids = Vec::new();
        for (j, t) in b.thresholds.iter().enumerate() {
            let tat = |k: &str| format!("budgets[{i}].thresholds[{j}].{k}");
            match (t.percent, t.amount_usd) {
                (Some(_), Some(_)) | (None, None) => out.push(Problem::new(
                    tat("percent"),
                    "set exactly one of percent (of the limit) and amount_usd",
                )),
                (Some(p), None) if p <= Usd::ZERO => {
                    out.push(Problem::new(tat("percent"), "must be more than 0, e.g. 80"))
                }
                (None, Some(a)) if a <= Usd::ZERO => out.push(Problem::new(
                    tat("amount_usd"),
                    "must be more than 0, e.g. \"750\"",
                )),
                _ => {
                    let id = (threshold_id(t), t.on);
                    if ids.contains(&id) {
                        out.push(Problem::new(
                            tat("percent"),
                            format!(
                                "threshold {} on {} is listed twice; remove one",
                                id.0,
                                t.on.as_str()
                            ),
                        ));
                    }
                    ids.push(id);
                }
            }
            unknown_receivers(&t.receivers, &receivers, &tat("receivers"), out);
        }
    }
}

/// The `threshold` label of a threshold: `80%` or `750usd`.
pub fn threshold_id(t: &ThresholdConfig) -> String {
    match (t.percent, t.amount_usd) {
        (Some(p), _) => format!("{}%", p.normalize()),
        (None, Some(a)) => format!("{}usd", a.normalize()),
        (None, None) => String::new(),
    }
}

fn unknown_receivers(listed: &[String], known: &[&str], at: &str, out: &mut Vec<Problem>) {
    for (k, r) in listed.iter().enumerate() {
        if !known.contains(&r.as_str()) {
            out.push(Problem::new(
                format!("{at}[{k}]"),
                format!(
                    "`{r}` is not a [[notifications.receivers]] name{}",
                    error::did_you_mean(r, known)
                ),
            ));
        }
    }
}

/// An exact dollar amount from a TOML string (`"12.50"`) or number (`12.5`, read through
/// its shortest decimal form, so `0.1` is 0.1 exactly). Written back as a string.
mod exact_usd {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Usd, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.normalize().to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Usd, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(i64),
            Float(f64),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(t) => t,
            Raw::Int(i) => i.to_string(),
            Raw::Float(f) => f.to_string(),
        };
        Usd::from_str(text.trim()).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not a decimal amount; write e.g. \"1000\" or \"12.50\""
            ))
        })
    }
}

/// [`exact_usd`] for an optional key.
mod exact_usd_opt {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<Usd>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::exact_usd::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Usd>, D::Error> {
        super::exact_usd::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    const HOOK: &str = "[[notifications.receivers]]\nname = \"hook\"\nkind = \"webhook\"\n\
                        url = \"http://127.0.0.1:1/\"\nhmac_key_env = \"HOOK_KEY\"\n\
                        bearer_token_file = \"/nonexistent/bedrock-meter-token\"\n";

    #[test]
    fn receiver_secrets_are_read_from_the_named_variable_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "t0ken\n").unwrap();
        let text = HOOK.replace("/nonexistent/bedrock-meter-token", token.to_str().unwrap());
        let c = Config::from_toml_str(&text, "t").unwrap();
        let s = c
            .resolve_secrets(&|k| (k == "HOOK_KEY").then(|| "k3y".to_string()))
            .unwrap();
        let hook = &s.receivers["hook"];
        assert_eq!(hook.hmac_key.as_ref().unwrap().expose(), "k3y");
        assert_eq!(hook.bearer_token.as_ref().unwrap().expose(), "t0ken");
        assert!(!format!("{s:?}").contains("k3y"));
    }

    #[test]
    fn a_missing_receiver_secret_names_its_key() {
        let c = Config::from_toml_str(HOOK, "t").unwrap();
        let e = c.resolve_secrets(&|_| None).unwrap_err().to_string();
        assert!(
            e.starts_with("notifications.receivers[0].hmac_key_env: the environment variable `HOOK_KEY` is not set"),
            "{e}"
        );
        let e = c
            .resolve_secrets(&|_| Some("k".to_string()))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "notifications.receivers[0].bearer_token_file: cannot read the secret file"
            ),
            "{e}"
        );
    }

    #[test]
    fn limits_parse_exactly_from_strings_integers_and_floats() {
        for (written, exact) in [("\"1000.10\"", "1000.1"), ("250", "250"), ("0.1", "0.1")] {
            let c = Config::from_toml_str(
                &format!("[[budgets]]\nname = \"b\"\nlimit_usd = {written}\n"),
                "t",
            )
            .unwrap();
            assert_eq!(c.budgets[0].limit_usd.normalize().to_string(), exact);
        }
    }
}
