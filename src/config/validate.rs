//! The rules a parsed config must follow beyond its types. Pure: no file, variable or
//! socket is looked at (stage 2 does that). Every broken rule is reported, not just the
//! first.
use std::collections::HashMap;

use super::error::{self, Problem};
use super::{ALL_TAG_KEYS, AuthMode, Config, SourceConfig};

/// The longest tag key that can match: the parser truncates `requestMetadata` keys at 256
/// characters.
const MAX_TAG_KEY_CHARS: usize = 256;

/// The longest source name (it becomes a metrics label value and a checkpoint key).
const MAX_SOURCE_NAME_CHARS: usize = 64;

/// The largest dedup window: one year of hours. Ids are kept in the ledger, so a longer
/// window only grows the file; checkpoints already prevent re-reading old files.
const MAX_DEDUP_WINDOW_HOURS: u32 = 8760;

/// The most hours an S3 source re-lists each poll.
const MAX_RELIST_HOURS: u32 = 168;

/// The words `logging.level` accepts on its own.
const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

impl Config {
    /// Every broken rule, in file order (empty when the config is valid).
    pub(super) fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        self.check_auth(&mut out);
        self.check_tls(&mut out);
        self.check_store(&mut out);
        self.check_tags(&mut out);
        self.check_pipeline(&mut out);
        self.check_logging(&mut out);
        self.check_discovery(&mut out);
        self.check_control_plane(&mut out);
        self.check_sources(&mut out);
        super::provisioned::problems(
            &self.provisioned,
            &self.planner,
            &self.provisioned_models,
            &self.custom_models,
            &self.customization_jobs,
            &mut out,
        );
        super::budgets::check(
            &self.budgets,
            &self.notifications,
            &self.ledger.tag_keys,
            &mut out,
        );
        out
    }

    fn check_discovery(&self, out: &mut Vec<Problem>) {
        let d = &self.discovery;
        let at = |key: &str| format!("discovery.{key}");
        check_region_list("discovery", &d.regions, out);
        check_aws_access(
            &at,
            &d.assume_role_arn,
            &d.external_id,
            &d.endpoint_url,
            out,
        );
        if !d.regions.is_empty() && !self.sources.is_empty() {
            out.push(Problem::new(
                "discovery.regions",
                "discovery only runs when no [[sources]] are configured, and this file has \
                 some; remove the [[sources]] tables to discover them, or set regions = [] \
                 to keep your own",
            ));
        }
    }

    fn check_control_plane(&self, out: &mut Vec<Problem>) {
        let c = &self.control_plane;
        let at = |key: &str| format!("control_plane.{key}");
        check_region_list("control_plane", &c.regions, out);
        if !(60..=86_400).contains(&c.refresh_interval_secs) {
            out.push(Problem::new(
                at("refresh_interval_secs"),
                format!(
                    "{} is out of range; use 60 to 86400 seconds (default 3600: each refresh \
                     costs about 8 API calls per region)",
                    c.refresh_interval_secs
                ),
            ));
        }
        check_aws_access(
            &at,
            &c.assume_role_arn,
            &c.external_id,
            &c.endpoint_url,
            out,
        );
    }

    fn check_auth(&self, out: &mut Vec<Problem>) {
        let auth = &self.server.auth;
        let mode = auth.mode;
        let p = "server.auth";
        // A secret given for another mode would be silently unused, and an operator who set
        // a token but forgot `mode` would believe /metrics is protected when it is open.
        let ignored = |key: &str, set: bool, out: &mut Vec<Problem>| {
            if set {
                out.push(Problem::new(
                    error::child(p, key),
                    format!(
                        "is set but mode = \"{}\", so it would be ignored; set the mode that \
                         uses it or remove the key",
                        mode.as_str()
                    ),
                ));
            }
        };
        if mode != AuthMode::Bearer {
            ignored("bearer_token_env", auth.bearer_token_env.is_some(), out);
            ignored("bearer_token_file", auth.bearer_token_file.is_some(), out);
        }
        if mode != AuthMode::Basic {
            ignored("basic_username", auth.basic_username.is_some(), out);
            ignored("basic_password_env", auth.basic_password_env.is_some(), out);
            ignored(
                "basic_password_file",
                auth.basic_password_file.is_some(),
                out,
            );
        }
        match mode {
            AuthMode::None => {}
            AuthMode::Bearer => {
                one_secret(
                    mode,
                    "bearer_token",
                    &auth.bearer_token_env,
                    &auth.bearer_token_file,
                    out,
                );
            }
            AuthMode::Basic => {
                match auth.basic_username.as_deref() {
                    None => out.push(Problem::new(
                        error::child(p, "basic_username"),
                        "mode = \"basic\" needs a user name; set basic_username = \"prometheus\" \
                         (or another name)",
                    )),
                    Some(u) if u.contains(':') || u.chars().any(char::is_control) => {
                        out.push(Problem::new(
                            error::child(p, "basic_username"),
                            "must not contain `:` or control characters (RFC 7617)",
                        ))
                    }
                    Some(_) => {}
                }
                one_secret(
                    mode,
                    "basic_password",
                    &auth.basic_password_env,
                    &auth.basic_password_file,
                    out,
                );
            }
        }
        for (key, var) in [
            ("bearer_token_env", &auth.bearer_token_env),
            ("basic_password_env", &auth.basic_password_env),
        ] {
            if let Some(var) = var
                && !is_env_name(var)
            {
                out.push(Problem::new(
                    error::child(p, key),
                    format!(
                        "`{var}` is not an environment variable name; write the name only \
                         (letters, digits and _, not starting with a digit), e.g. \
                         \"BEDROCK_METER_TOKEN\", never the secret itself"
                    ),
                ));
            }
        }
    }

    fn check_tls(&self, out: &mut Vec<Problem>) {
        let tls = &self.server.tls;
        for (key, file, what) in [
            ("cert_file", &tls.cert_file, "certificate chain"),
            ("key_file", &tls.key_file, "private key"),
        ] {
            let path = error::child("server.tls", key);
            match (tls.enabled, file) {
                (true, None) => out.push(Problem::new(
                    path,
                    format!(
                        "TLS is enabled but no {what} file is set; set {key} = \"/path/to/file.pem\" \
                         or enabled = false"
                    ),
                )),
                (false, Some(_)) => out.push(Problem::new(
                    path,
                    "is set but enabled = false, so the server would speak plain HTTP; set \
                     enabled = true or remove the key",
                )),
                _ => {}
            }
        }
    }

    fn check_store(&self, out: &mut Vec<Problem>) {
        if self.store.path.as_os_str().is_empty() {
            out.push(Problem::new(
                "store.path",
                "is empty; set the ledger file, e.g. \"/var/lib/bedrock-meter/ledger.db\"",
            ));
        }
        let hours = self.store.dedup_window_hours;
        if !(1..=MAX_DEDUP_WINDOW_HOURS).contains(&hours) {
            out.push(Problem::new(
                "store.dedup_window_hours",
                format!(
                    "expected 1 to {MAX_DEDUP_WINDOW_HOURS} (one year), got {hours}; the default \
                     is 48"
                ),
            ));
        }
    }

    fn check_tags(&self, out: &mut Vec<Problem>) {
        let keys = &self.ledger.tag_keys;
        let all = keys.iter().any(|k| k == ALL_TAG_KEYS);
        if all && keys.len() > 1 {
            out.push(Problem::new(
                "ledger.tag_keys",
                "`*` (every key) cannot be combined with other keys; use [\"*\"] or list the keys",
            ));
        }
        let mut seen = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            let path = format!("ledger.tag_keys[{i}]");
            if key == ALL_TAG_KEYS {
                continue;
            }
            if let Some(why) = tag_key_problem(key) {
                out.push(Problem::new(path, why));
            } else if let Some(first) = seen.insert(key.as_str(), i) {
                out.push(Problem::new(
                    path,
                    format!("`{key}` is already listed at ledger.tag_keys[{first}]"),
                ));
            }
        }

        let mut seen = HashMap::new();
        for (i, key) in self.metrics.tag_labels.iter().enumerate() {
            let path = format!("metrics.tag_labels[{i}]");
            if let Some(why) = tag_key_problem(key) {
                out.push(Problem::new(path, why));
            } else if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.push(Problem::new(
                    path,
                    format!(
                        "`{key}` cannot be a Prometheus label (`tag_{key}`): label names allow \
                         only letters, digits and _; keep it in the ledger (reports can group by \
                         tag:{key}) instead"
                    ),
                ));
            } else if let Some(first) = seen.insert(key.as_str(), i) {
                out.push(Problem::new(
                    path,
                    format!("`{key}` is already listed at metrics.tag_labels[{first}]"),
                ));
            } else if !all && !keys.contains(key) {
                // /metrics is rendered from the ledger's rollups: a tag the ledger drops
                // cannot be a label.
                out.push(Problem::new(
                    path,
                    format!(
                        "`{key}` is not kept by the ledger, so the label would always be empty; \
                         add \"{key}\" to ledger.tag_keys (or use [\"*\"])"
                    ),
                ));
            }
        }

        if self.metrics.principal > self.ledger.principal {
            out.push(Problem::new(
                "metrics.principal",
                format!(
                    "\"{}\" needs ledger.principal to keep at least as much (it is \"{}\"); \
                     the metrics are rendered from the ledger, so set ledger.principal = \"{}\" \
                     or lower this",
                    self.metrics.principal.as_str(),
                    self.ledger.principal.as_str(),
                    self.metrics.principal.as_str()
                ),
            ));
        }
        if self.metrics.max_values_per_label == 0 {
            out.push(Problem::new(
                "metrics.max_values_per_label",
                "must be at least 1 (0 would put every value under `other`); the default is 50",
            ));
        }
    }

    fn check_pipeline(&self, out: &mut Vec<Problem>) {
        let p = &self.pipeline;
        for (key, zero, why) in [
            (
                "channel_capacity",
                p.channel_capacity == 0,
                "a zero-capacity channel would block every source",
            ),
            (
                "commit_max_records",
                p.commit_max_records == 0,
                "a batch must hold at least one record",
            ),
            (
                "commit_interval_ms",
                p.commit_interval_ms == 0,
                "commits need a period",
            ),
            (
                "shutdown_grace_secs",
                p.shutdown_grace_secs == 0,
                "the final commit needs time to finish",
            ),
        ] {
            if zero {
                out.push(Problem::new(
                    error::child("pipeline", key),
                    format!("must be at least 1 ({why})"),
                ));
            }
        }
    }

    fn check_logging(&self, out: &mut Vec<Problem>) {
        let level = self.logging.level.trim();
        let bad = |why: String| Problem::new("logging.level", why);
        if level.is_empty() {
            out.push(bad(format!(
                "is empty; use one of {}",
                error::quoted_list(LEVELS)
            )));
            return;
        }
        // A bare word is a level. tracing would also take it as a target name ("inof"
        // enables everything under a target called inof), which hides typos, so only
        // `target=level` directives may name targets.
        for part in level.split(',').map(str::trim) {
            if !part.contains('=') && !LEVELS.contains(&part.to_ascii_lowercase().as_str()) {
                out.push(bad(format!(
                    "`{part}` is not a level{} (levels: {}; or target=level directives such as \
                     \"info,bedrock_meter::sources=debug\")",
                    error::did_you_mean(&part.to_ascii_lowercase(), LEVELS),
                    error::quoted_list(LEVELS)
                )));
                return;
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(level) {
            out.push(bad(format!("`{level}` is not a valid filter: {e}")));
        }
    }

    fn check_sources(&self, out: &mut Vec<Problem>) {
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut stdin: Option<usize> = None;
        let mut aws_keys: HashMap<String, usize> = HashMap::new();
        for (i, source) in self.sources.iter().enumerate() {
            let at = |key: &str| format!("sources[{i}].{key}");
            let name = source.name();
            if !is_source_name(name) {
                out.push(Problem::new(
                    at("name"),
                    format!(
                        "`{name}` is not a valid source name; use 1 to {MAX_SOURCE_NAME_CHARS} of \
                         a-z, 0-9, _ and - (it becomes the metrics `source` label), e.g. \"s3-sync\""
                    ),
                ));
            } else if let Some(first) = names.insert(name, i) {
                names.insert(name, first);
                out.push(Problem::new(
                    at("name"),
                    format!(
                        "`{name}` is already used by sources[{first}]; source names must be unique"
                    ),
                ));
            }
            match source {
                SourceConfig::Directory(d) => {
                    if d.path.as_os_str().is_empty() {
                        out.push(Problem::new(
                            at("path"),
                            "is empty; set the directory to watch, e.g. \"/var/lib/bedrock-logs\"",
                        ));
                    }
                    if d.poll_interval_secs == 0 {
                        out.push(Problem::new(at("poll_interval_secs"), "must be at least 1"));
                    }
                }
                SourceConfig::CloudwatchLogs(c) => {
                    check_aws(
                        &at,
                        &c.region,
                        &c.assume_role_arn,
                        &c.external_id,
                        &c.endpoint_url,
                        &c.start_from,
                        out,
                    );
                    if c.log_group_name.trim().is_empty() {
                        out.push(Problem::new(
                            at("log_group_name"),
                            "is empty; set the log group named in Bedrock's logging settings, \
                             e.g. \"/aws/bedrock/modelinvocations\"",
                        ));
                    }
                    if c.poll_interval_secs == 0 {
                        out.push(Problem::new(at("poll_interval_secs"), "must be at least 1"));
                    }
                    let window = u64::from(self.store.dedup_window_hours) * 3600;
                    if c.overlap_secs >= window {
                        out.push(Problem::new(
                            at("overlap_secs"),
                            format!(
                                "must be less than the dedup window (store.dedup_window_hours = \
                                 {} is {window} s), or events read again could be counted twice; \
                                 the default is 300",
                                self.store.dedup_window_hours
                            ),
                        ));
                    }
                    let key = c.spec().checkpoint_key();
                    if let Some(first) = aws_keys.insert(format!("cloudwatch_logs:{key}"), i) {
                        out.push(Problem::new(
                            at("log_group_name"),
                            format!(
                                "sources[{first}] already reads log group {} in {}; two sources \
                                 would share one checkpoint",
                                c.log_group_name, c.region
                            ),
                        ));
                    }
                }
                SourceConfig::S3(c) => {
                    check_aws(
                        &at,
                        &c.region,
                        &c.assume_role_arn,
                        &c.external_id,
                        &c.endpoint_url,
                        &c.start_from,
                        out,
                    );
                    if !is_bucket_name(&c.bucket) {
                        out.push(Problem::new(
                            at("bucket"),
                            format!(
                                "`{}` is not a bucket name; write the name only (3 to 63 of a-z, \
                                 0-9, . and -), not an ARN or s3:// URL, e.g. \"my-bedrock-logs\"",
                                c.bucket
                            ),
                        ));
                    }
                    if c.prefix.contains("AWSLogs") {
                        out.push(Problem::new(
                            at("prefix"),
                            "is the key prefix before AWSLogs/ (as set in Bedrock's logging \
                             settings); leave AWSLogs/… out",
                        ));
                    }
                    if c.poll_interval_secs == 0 {
                        out.push(Problem::new(at("poll_interval_secs"), "must be at least 1"));
                    }
                    if c.relist_hours > MAX_RELIST_HOURS {
                        out.push(Problem::new(
                            at("relist_hours"),
                            format!(
                                "expected 0 to {MAX_RELIST_HOURS} (a week), got {}; the default \
                                 is 2",
                                c.relist_hours
                            ),
                        ));
                    }
                    let spec = c.spec();
                    let key = format!(
                        "s3:{}:{}{}",
                        spec.aws.role_account().unwrap_or_default(),
                        c.bucket,
                        spec.base()
                    );
                    if let Some(first) = aws_keys.insert(key, i) {
                        out.push(Problem::new(
                            at("bucket"),
                            format!(
                                "sources[{first}] already reads {}{}; remove one of them",
                                c.bucket,
                                if c.prefix.is_empty() {
                                    String::new()
                                } else {
                                    format!(" under {}", c.prefix)
                                }
                            ),
                        ));
                    }
                }
                SourceConfig::CloudwatchMetrics(c) => {
                    check_aws(
                        &at,
                        &c.region,
                        &c.assume_role_arn,
                        &c.external_id,
                        &c.endpoint_url,
                        &c.start_from,
                        out,
                    );
                    let modes = super::source::METRICS_MODES;
                    if !modes.contains(&c.mode.as_str()) {
                        out.push(Problem::new(
                            at("mode"),
                            format!(
                                "`{}` is not a mode; write one of {}",
                                c.mode,
                                error::quoted_list(modes)
                            ),
                        ));
                    }
                    if !c.account_id.is_empty()
                        && (c.account_id.len() != 12
                            || !c.account_id.bytes().all(|b| b.is_ascii_digit()))
                    {
                        out.push(Problem::new(
                            at("account_id"),
                            format!(
                                "`{}` is not an AWS account id; write the 12 digits, e.g. \
                                 \"123456789012\", or \"\" to learn it",
                                c.account_id
                            ),
                        ));
                    }
                    if c.poll_interval_secs < 60 {
                        out.push(Problem::new(
                            at("poll_interval_secs"),
                            "must be at least 60 (CloudWatch metrics have one value a minute); \
                             the default is 300",
                        ));
                    }
                    if c.overlap_secs > 86_400 {
                        out.push(Problem::new(
                            at("overlap_secs"),
                            format!(
                                "expected 0 to 86400 (a day), got {}; the default is 3600",
                                c.overlap_secs
                            ),
                        ));
                    }
                    if c.delay_secs > 86_400 {
                        out.push(Problem::new(
                            at("delay_secs"),
                            format!(
                                "expected 0 to 86400 (a day), got {}; the default is 300",
                                c.delay_secs
                            ),
                        ));
                    }
                    let key = c.spec(false).checkpoint_key();
                    if let Some(first) = aws_keys.insert(format!("cloudwatch_metrics:{key}"), i) {
                        out.push(Problem::new(
                            at("region"),
                            format!(
                                "sources[{first}] already reads the CloudWatch metrics of {}; two \
                                 sources would share one checkpoint and count them twice",
                                c.region
                            ),
                        ));
                    }
                }
                SourceConfig::Stdin(_) => match stdin {
                    Some(first) => out.push(Problem::new(
                        at("type"),
                        format!(
                            "only one stdin source is allowed (there is one standard input), and \
                             sources[{first}] is one already; remove one of them"
                        ),
                    )),
                    None => stdin = Some(i),
                },
            }
        }
    }
}

/// Why `key` can never match a `requestMetadata` key, if it cannot.
fn tag_key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        Some("is empty; write the requestMetadata key, e.g. \"team\"".to_string())
    } else if key.chars().count() > MAX_TAG_KEY_CHARS {
        Some(format!(
            "is longer than {MAX_TAG_KEY_CHARS} characters (the longest key kept)"
        ))
    } else if key.chars().any(char::is_control) {
        Some(format!(
            "`{}` contains a control character",
            key.escape_debug()
        ))
    } else if key.trim() != key {
        Some(format!("`{key}` starts or ends with a space; remove it"))
    } else if key.contains('*') {
        Some(format!(
            "`{key}`: `*` only works alone (every key); wildcards inside keys are not supported"
        ))
    } else {
        None
    }
}

/// The checks common to AWS sources.
fn check_aws(
    at: &dyn Fn(&str) -> String,
    region: &str,
    assume_role_arn: &Option<String>,
    external_id: &Option<String>,
    endpoint_url: &Option<String>,
    start_from: &str,
    out: &mut Vec<Problem>,
) {
    if !is_region(region) {
        out.push(Problem::new(
            at("region"),
            format!("`{region}` is not an AWS region; write e.g. \"us-east-1\""),
        ));
    }
    check_aws_access(at, assume_role_arn, external_id, endpoint_url, out);
    if let Err(why) = crate::sources::aws::StartFrom::parse(start_from) {
        out.push(Problem::new(at("start_from"), why));
    }
}

/// `SECTION.regions`: each an AWS region, none listed twice.
fn check_region_list(section: &str, regions: &[String], out: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, region) in regions.iter().enumerate() {
        if !is_region(region) {
            out.push(Problem::new(
                format!("{section}.regions[{i}]"),
                format!("`{region}` is not an AWS region; write e.g. \"us-east-1\""),
            ));
        } else if let Some(first) = seen.insert(region, i) {
            out.push(Problem::new(
                format!("{section}.regions[{i}]"),
                format!("`{region}` is already listed as regions[{first}]; remove one"),
            ));
        }
    }
}

/// The checks of `assume_role_arn`, `external_id` and `endpoint_url` (AWS sources and
/// `[discovery]`).
fn check_aws_access(
    at: &dyn Fn(&str) -> String,
    assume_role_arn: &Option<String>,
    external_id: &Option<String>,
    endpoint_url: &Option<String>,
    out: &mut Vec<Problem>,
) {
    if let Some(arn) = assume_role_arn {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[2] == "iam"
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit())
            && parts[5].starts_with("role/")
            && parts[5].len() > 5;
        if !ok {
            out.push(Problem::new(
                at("assume_role_arn"),
                format!(
                    "`{arn}` is not a role ARN; write e.g. \
                     \"arn:aws:iam::123456789012:role/BedrockMeterRead\""
                ),
            ));
        }
    }
    if external_id.is_some() && assume_role_arn.is_none() {
        out.push(Problem::new(
            at("external_id"),
            "is set but assume_role_arn is not, so it would be ignored; set the role or remove \
             the key",
        ));
    }
    if let Some(url) = endpoint_url {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
            out.push(Problem::new(
                at("endpoint_url"),
                format!(
                    "`{url}` is not an http:// or https:// URL; write e.g. \
                     \"https://vpce-0123-abcd.logs.us-east-1.vpce.amazonaws.com\", or \"\" for \
                     AWS's own endpoint"
                ),
            ));
        }
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, …: lowercase words and a
/// number, joined by `-`.
pub(super) fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// An S3 bucket name: 3 to 63 of `a-z 0-9 . -`, starting and ending with a letter or digit.
fn is_bucket_name(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// `[a-z0-9_-]{1,64}`.
fn is_source_name(name: &str) -> bool {
    (1..=MAX_SOURCE_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A portable environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(super) fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Exactly one of `<base>_env` / `<base>_file` (in `[server.auth]`) must be set for `mode`.
fn one_secret(
    mode: AuthMode,
    base: &str,
    env: &Option<String>,
    file: &Option<std::path::PathBuf>,
    out: &mut Vec<Problem>,
) {
    let (env_key, file_key) = (format!("{base}_env"), format!("{base}_file"));
    match (env, file) {
        (None, None) => out.push(Problem::new(
            error::child("server.auth", &env_key),
            format!(
                "mode = \"{}\" needs the {}: set {env_key} = \"VARIABLE\" (the environment \
                 variable holding it) or {file_key} = \"/path/to/file\"",
                mode.as_str(),
                base.replace('_', " ")
            ),
        )),
        (Some(_), Some(_)) => out.push(Problem::new(
            error::child("server.auth", &file_key),
            format!("set only one of {env_key} and {file_key}"),
        )),
        _ => {}
    }
}
