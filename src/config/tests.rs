//! Config tests: the fixture table (`tests/fixtures/config/`), the example file kept in
//! step with the schema, conversions, and stage 2 (secrets).
use super::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/bedrock-meter.example.toml")
}

/// Each bad fixture and the substrings its error must contain (all of them).
const BAD: &[(&str, &[&str])] = &[
    (
        "unknown-key-in-server",
        &[
            "server.listen_addr: unknown key `listen_addr` in [server]; did you mean `listen_address`?",
        ],
    ),
    (
        "listen-address-is-a-host-name",
        &["server.listen_address: `localhost` is not an address:port; use e.g. 127.0.0.1:9464"],
    ),
    (
        "listen-address-without-port",
        &["server.listen_address: `0.0.0.0` has no port; use e.g. 0.0.0.0:9464"],
    ),
    (
        "bearer-mode-without-token",
        &[
            "server.auth.bearer_token_env: mode = \"bearer\" needs the bearer token",
            "or bearer_token_file",
        ],
    ),
    (
        "bearer-token-from-env-and-file",
        &["server.auth.bearer_token_file: set only one of bearer_token_env and bearer_token_file"],
    ),
    (
        "inline-bearer-token",
        &[
            "server.auth.bearer_token: secrets are not accepted inline",
            "bearer_token_env = ",
        ],
    ),
    (
        "basic-mode-without-username",
        &["server.auth.basic_username: mode = \"basic\" needs a user name"],
    ),
    (
        "token-set-but-auth-mode-none",
        &["server.auth.bearer_token_env: is set but mode = \"none\""],
    ),
    (
        "secret-written-where-a-variable-name-goes",
        &["server.auth.bearer_token_env: `c2VjcmV0-value` is not an environment variable name"],
    ),
    (
        "unknown-auth-mode",
        &["server.auth.mode: unknown value `token`; expected one of `none`, `bearer`, `basic`"],
    ),
    (
        "tls-enabled-without-files",
        &[
            "server.tls.cert_file: TLS is enabled but no certificate chain file is set",
            "server.tls.key_file: TLS is enabled but no private key file is set",
        ],
    ),
    (
        "tls-files-but-not-enabled",
        &["server.tls.cert_file: is set but enabled = false"],
    ),
    (
        "tls-enabled-as-a-string",
        &["server.tls.enabled: expected true or false, got string \"yes\""],
    ),
    (
        "unknown-durability",
        &["store.durability: unknown value `fsync`; expected one of `normal`, `full`"],
    ),
    (
        "dedup-window-longer-than-a-year",
        &["store.dedup_window_hours: expected 1 to 8760 (one year), got 9000"],
    ),
    (
        "dedup-window-negative",
        &[
            "store.dedup_window_hours: expected a whole number from 0 to 4294967295, got integer `-1`",
        ],
    ),
    (
        "empty-store-path",
        &["store.path: is empty; set the ledger file"],
    ),
    (
        "unknown-principal",
        &[
            "ledger.principal: unknown value `session`; expected one of `off`, `role`, `role_session`",
        ],
    ),
    (
        "star-with-other-tag-keys",
        &["ledger.tag_keys: `*` (every key) cannot be combined with other keys"],
    ),
    (
        "duplicate-tag-key",
        &["ledger.tag_keys[2]: `team` is already listed at ledger.tag_keys[0]"],
    ),
    (
        "metrics-tag-not-kept-by-ledger",
        &[
            "metrics.tag_labels[0]: `team` is not kept by the ledger",
            "ledger.tag_keys",
        ],
    ),
    (
        "metrics-tag-not-a-label-name",
        &["metrics.tag_labels[0]: `cost-center` cannot be a Prometheus label"],
    ),
    (
        "metrics-tag-labels-as-a-string",
        &["metrics.tag_labels: expected an array, e.g. [\"a\", \"b\"], got string \"team\""],
    ),
    (
        "metrics-principal-finer-than-ledger",
        &["metrics.principal: \"role_session\" needs ledger.principal"],
    ),
    (
        "zero-values-per-label",
        &["metrics.max_values_per_label: must be at least 1"],
    ),
    (
        "channel-capacity-zero",
        &["pipeline.channel_capacity: must be at least 1"],
    ),
    (
        "log-level-typo",
        &["logging.level: `inof` is not a level; did you mean `info`?"],
    ),
    (
        "unknown-log-format",
        &["logging.format: unknown value `logfmt`; expected one of `text`, `json`"],
    ),
    (
        "duplicate-source-name",
        &["sources[1].name: `logs` is already used by sources[0]; source names must be unique"],
    ),
    (
        "poll-interval-as-a-string",
        &[
            "sources[1].poll_interval_secs: expected a whole number of 0 or more, got string \"10\"",
            "write numbers without quotes",
        ],
    ),
    (
        "poll-interval-zero",
        &["sources[0].poll_interval_secs: must be at least 1"],
    ),
    (
        "unknown-source-type",
        &[
            "sources[0].type: unknown source type `s3_bucket`; valid types: `directory`, \
             `stdin`, `cloudwatch_logs`, `s3`",
        ],
    ),
    (
        "source-without-type",
        &["sources[0].type: missing required key `type` in sources[0]; valid types: `directory`"],
    ),
    (
        "source-without-name",
        &["sources[0].name: missing required key `name` in sources[0]"],
    ),
    (
        "unknown-key-in-directory-source",
        &[
            "sources[0].poll_interval: unknown key `poll_interval` in sources[0]; did you mean `poll_interval_secs`?",
        ],
    ),
    (
        "stdin-source-with-a-path",
        &[
            "sources[0].path: unknown key `path` in sources[0]; `path` is a key of [[sources]] \
             with type = \"directory\" (known keys: `name`)",
        ],
    ),
    (
        "two-stdin-sources",
        &[
            "sources[1].type: only one stdin source is allowed (there is one standard input), and sources[0] is one already",
        ],
    ),
    (
        "cloudwatch-source-without-log-group",
        &["sources[0].log_group_name: missing required key `log_group_name` in sources[0]"],
    ),
    (
        "cloudwatch-overlap-longer-than-dedup-window",
        &[
            "sources[0].overlap_secs: must be less than the dedup window (store.dedup_window_hours = 1 is 3600 s)",
        ],
    ),
    (
        "s3-source-with-bad-values",
        &[
            "7 problems:",
            "sources[0].region: `US East 1` is not an AWS region",
            "sources[0].external_id: is set but assume_role_arn is not",
            "sources[0].endpoint_url: `localhost:5000` is not an http:// or https:// URL",
            "sources[0].start_from: `last week` is neither \"month_start\" nor an RFC 3339 time",
            "sources[0].bucket: `s3://my-bedrock-logs/AWSLogs/` is not a bucket name",
            "sources[0].prefix: is the key prefix before AWSLogs/",
            "sources[0].relist_hours: expected 0 to 168 (a week), got 500",
        ],
    ),
    (
        "two-sources-reading-one-log-group",
        &[
            "sources[1].log_group_name: sources[0] already reads log group /aws/bedrock/modelinvocations in us-east-1",
        ],
    ),
    (
        "source-name-not-a-label-value",
        &["sources[0].name: `S3 Sync` is not a valid source name"],
    ),
    (
        "sources-as-a-single-table",
        &["sources: expected an array of tables; write each source as [[sources]]"],
    ),
    (
        "unknown-section",
        &["sever: unknown key `sever` at the top level; did you mean `server`?"],
    ),
    (
        "section-given-as-a-value",
        &["server: expected a table, got string \"127.0.0.1:9464\""],
    ),
    ("not-toml", &["not-toml.bad.toml: not valid TOML", "line 2"]),
    (
        "a-mistake-in-each-section",
        &[
            "3 problems:",
            "server.listen_adress: unknown key `listen_adress` in [server]; did you mean `listen_address`?",
            "store.dedup_window_hours: expected a whole number from 0 to 4294967295, got string \"48\"",
            "sources[0].path: missing required key `path` in sources[0]",
        ],
    ),
    (
        "several-rule-violations",
        &[
            "4 problems:",
            "store.dedup_window_hours: expected 1 to 8760",
            "pipeline.commit_max_records: must be at least 1",
            "sources[1].name: `in` is already used by sources[0]",
            "sources[1].type: only one stdin source is allowed",
        ],
    ),
    (
        "provisioned-model-mistakes",
        &[
            "provisioned_models[0].account: `1111` is not a 12-digit AWS account id",
            "provisioned_models[0].model_units: must be at least 1",
            "provisioned_models[0].created_at: `2026-01-15` is not an RFC 3339 time",
            "provisioned_models[0].commitment_expires_at: is set but commitment = \"none\"",
        ],
    ),
    (
        "provisioned-model-commitment-typo",
        &["provisioned_models[0].commitment", "12_months"],
    ),
    (
        "budget-mistakes",
        &[
            "12 problems:",
            "notifications.receivers[0].url: `hooks.example.com/bedrock` is not an http:// or https:// URL",
            "notifications.receivers[0].timeout_secs: must be 1 to 300 seconds",
            "budgets[0].limit_usd: must be more than 0",
            "budgets[0].period_length: `` is not a length; period = \"custom\" needs e.g. \"14d\"",
            "budgets[0].period_anchor: `` is not an RFC 3339 time",
            "budgets[0].time_zone: `Europe/Berln` is not an IANA time zone; write e.g. \"Europe/Berlin\" or \"UTC\"; did you mean `Europe/Berlin`?",
            "budgets[0].week_start: `mon` is not a weekday",
            "budgets[0].tags[0]: `team` is not KEY=VALUE",
            "budgets[0].tags[1]: the ledger does not keep tag `env`",
            "budgets[0].cost_kinds[0]: `ondemand` is not a cost kind; use `on_demand`, `provisioned`, `customization`; did you mean `on_demand`?",
            "budgets[0].thresholds[0].percent: set exactly one of percent (of the limit) and amount_usd",
            "budgets[0].thresholds[1].receivers[0]: `hooks` is not a [[notifications.receivers]] name; did you mean `hook`?",
        ],
    ),
    (
        "budget-limit-not-a-number",
        &["budgets[0].limit_usd: `ten dollars` is not a decimal amount; write e.g. \"1000\""],
    ),
    (
        "receiver-unknown-kind",
        &[
            "notifications.receivers[0].kind: unknown value `email`; expected one of `webhook`, `slack`, `alertmanager`, `log`",
        ],
    ),
];

fn fixture_names(suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.strip_suffix(suffix).map(str::to_string))
        .collect()
}

#[test]
fn every_bad_fixture_fails_with_the_message_paired_with_it() {
    let mut failures = Vec::new();
    for (name, expected) in BAD {
        let path = fixtures_dir().join(format!("{name}.bad.toml"));
        let message = match Config::load(&path) {
            Ok(_) => {
                failures.push(format!("{name}: loaded, but must fail"));
                continue;
            }
            Err(e) => e.to_string(),
        };
        for want in *expected {
            if !message.contains(want) {
                failures.push(format!("{name}:\n  wanted: {want}\n  got:    {message}"));
            }
        }
        assert!(
            message.starts_with(&path.display().to_string()),
            "{name}: {message}"
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// `cargo test --lib print_bad_fixture_messages -- --ignored --nocapture` shows every message,
/// for reviewing their wording.
#[test]
#[ignore = "prints the messages for review"]
fn print_bad_fixture_messages() {
    for (name, _) in BAD {
        let e = Config::load(&fixtures_dir().join(format!("{name}.bad.toml"))).unwrap_err();
        println!("{name}:\n  {e}\n");
    }
}

#[test]
fn every_bad_fixture_file_is_in_the_table_and_every_table_entry_has_a_file() {
    let files = fixture_names(".bad.toml");
    let table: BTreeSet<String> = BAD.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(files, table);
}

#[test]
fn every_ok_fixture_loads() {
    let names = fixture_names(".ok.toml");
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        let path = fixtures_dir().join(format!("{name}.ok.toml"));
        if let Err(e) = Config::load(&path) {
            panic!("{name}: {e}");
        }
    }
}

#[test]
fn an_ok_fixture_gives_the_typed_values_it_spells() {
    let c =
        Config::load(&fixtures_dir().join("basic-auth-password-file-with-tls.ok.toml")).unwrap();
    assert_eq!(
        c.server.listen_address,
        "[::]:9443".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.server.auth.mode, AuthMode::Basic);
    assert_eq!(c.server.auth.basic_username.as_deref(), Some("prometheus"));
    assert_eq!(
        c.server.auth.bearer_token_env, None,
        "\"\" and absent are both None"
    );
    let (cert, key) = c.server.tls.files().unwrap();
    assert_eq!(cert, Path::new("/etc/bedrock-meter/tls/cert.pem"));
    assert_eq!(key, Path::new("/etc/bedrock-meter/tls/key.pem"));

    let c =
        Config::load(&fixtures_dir().join("durable-store-with-custom-pricing.ok.toml")).unwrap();
    assert_eq!(c.durability(), Durability::Full);
    assert_eq!(c.store.dedup_window_hours_i64(), 168);
    assert_eq!(
        c.pricing.directory.as_deref(),
        Some(Path::new("/etc/bedrock-meter/pricing"))
    );
    assert_eq!(c.pipeline.commit_interval(), Duration::from_millis(250));
    assert_eq!(c.pipeline.shutdown_grace(), Duration::from_secs(120));
    assert_eq!(c.logging.format, LogFormat::Json);

    let c = Config::load(&fixtures_dir().join("two-directory-sources-and-stdin.ok.toml")).unwrap();
    let names: Vec<_> = c
        .sources
        .iter()
        .map(|s| (s.type_name(), s.name()))
        .collect();
    assert_eq!(
        names,
        [
            ("directory", "prod-us-east-1"),
            ("directory", "prod_eu-west-1"),
            ("stdin", "pipe")
        ]
    );
    let SourceConfig::Directory(d) = &c.sources[0] else {
        panic!()
    };
    assert_eq!(
        d.poll_interval(),
        Duration::from_secs(10),
        "the default interval"
    );
}

// --- the defaults and the example file --------------------------------------------------

/// The default config plus one source of each type: the whole schema, every key present.
fn full_schema() -> Config {
    Config {
        sources: SourceConfig::examples(),
        planner: PlannerSection::example(),
        provisioned_models: ProvisionedModelConfig::examples(),
        custom_models: CustomModelConfig::examples(),
        customization_jobs: CustomizationJobConfig::examples(),
        notifications: NotificationsConfig::example(),
        budgets: BudgetConfig::examples(),
        ..Config::default()
    }
}

#[test]
fn the_default_config_is_valid_and_reads_no_source() {
    let c = Config::default();
    c.validate("default").unwrap();
    assert!(c.sources.is_empty());
    assert_eq!(c.server.listen_address.to_string(), "127.0.0.1:9464");
    assert_eq!(Config::from_toml_str("", "empty").unwrap(), c);
}

#[test]
fn the_default_config_serialised_to_toml_loads_back_equal() {
    for config in [Config::default(), full_schema()] {
        let text = toml::to_string(&config).unwrap();
        let back =
            Config::from_toml_str(&text, "generated").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, config, "{text}");
    }
}

#[test]
fn the_example_file_loads_and_sets_every_key_to_its_default() {
    let example = Config::load(&example_path()).unwrap_or_else(|e| panic!("{e}"));
    // So the values the example shows are the real defaults, and its sources are the
    // documented examples.
    assert_eq!(example, full_schema());
}

#[test]
fn serdes_own_derive_reads_the_example_file_the_same_way() {
    // from_toml_str dispatches sources by hand (for key paths); the derive must agree.
    let text = std::fs::read_to_string(example_path()).unwrap();
    assert_eq!(toml::from_str::<Config>(&text).unwrap(), full_schema());
}

#[test]
fn a_key_under_the_wrong_header_says_where_it_belongs() {
    let e = Config::from_toml_str("[server]\ndurability = \"full\"\n", "t").unwrap_err();
    assert!(
        e.to_string().contains("; `durability` is a key of [store]"),
        "{e}"
    );
    let e = Config::from_toml_str("poll_interval_secs = 5\n", "t").unwrap_err();
    assert!(
        e.to_string()
            .contains("is a key of [[sources]] with type = \"directory\""),
        "{e}"
    );
}

#[test]
fn the_example_file_and_the_schema_have_the_same_keys() {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let example: toml::Table = toml::from_str(&text).unwrap();
    let schema: toml::Table = toml::from_str(&toml::to_string(&full_schema()).unwrap()).unwrap();
    let (mut in_example, mut in_schema) = (BTreeSet::new(), BTreeSet::new());
    key_paths("", &toml::Value::Table(example), &mut in_example);
    key_paths("", &toml::Value::Table(schema), &mut in_schema);
    let undocumented: Vec<_> = in_schema.difference(&in_example).collect();
    let unknown: Vec<_> = in_example.difference(&in_schema).collect();
    assert!(
        undocumented.is_empty(),
        "schema keys missing from the example file: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "example keys the schema does not know: {unknown:?}"
    );
    assert!(
        in_schema.contains("sources[type=directory].poll_interval_secs"),
        "{in_schema:?}"
    );
}

/// Every key path in `value`; array-of-table items are named by their `type` so that the
/// comparison is per source type, not per position.
fn key_paths(prefix: &str, value: &toml::Value, out: &mut BTreeSet<String>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let path = error::child(prefix, k);
                out.insert(path.clone());
                key_paths(&path, v, out);
            }
        }
        toml::Value::Array(items) => {
            for item in items {
                if let Some(t) = item.as_table() {
                    let ty = t.get("type").and_then(|v| v.as_str()).unwrap_or("?");
                    key_paths(&format!("{prefix}[type={ty}]"), item, out);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn every_key_and_table_in_the_example_file_has_a_comment() {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let mut previous = "";
    let mut bare = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let is_entry = !line.is_empty() && !line.starts_with('#');
        let commented = previous.starts_with('#') || line.contains(" # ");
        if is_entry && !commented {
            bare.push(line.to_string());
        }
        previous = line;
    }
    assert!(bare.is_empty(), "keys or tables with no comment: {bare:?}");
}

#[test]
fn the_top_level_section_list_matches_the_schema() {
    let schema: toml::Table = toml::from_str(&toml::to_string(&full_schema()).unwrap()).unwrap();
    let keys: BTreeSet<&str> = schema.keys().map(String::as_str).collect();
    assert_eq!(keys, SECTIONS.iter().copied().collect());
}

#[test]
fn the_dedup_window_default_is_the_ledger_default() {
    assert_eq!(
        StoreConfig::default().dedup_window_hours_i64(),
        crate::accounting::DEFAULT_WINDOW_HOURS
    );
}

// --- sources ------------------------------------------------------------------------------

#[test]
fn source_types_are_serdes_variant_names_and_each_has_an_example() {
    // serde lists its variants in the error for an unknown one.
    let err = toml::from_str::<SourceConfig>("type = \"?\"")
        .unwrap_err()
        .to_string();
    let serde_names: Vec<&str> = err.split('`').skip(3).step_by(2).collect();
    assert_eq!(serde_names, SourceConfig::TYPES, "{err}");
    let examples: Vec<&str> = SourceConfig::examples()
        .iter()
        .map(|s| s.type_name())
        .collect();
    assert_eq!(examples, SourceConfig::TYPES);
}

#[test]
fn every_example_source_reads_back_through_the_type_dispatch() {
    for (i, source) in SourceConfig::examples().into_iter().enumerate() {
        let value = toml::Value::try_from(&source).unwrap();
        assert_eq!(SourceConfig::from_table(i, value), Ok(source));
    }
}

#[test]
fn a_misspelt_source_type_gets_a_suggestion() {
    let e = Config::from_toml_str("[[sources]]\ntype = \"directroy\"\nname = \"x\"\n", "t")
        .unwrap_err();
    assert!(e.to_string().contains("did you mean `directory`?"), "{e}");
}

// --- conversions ----------------------------------------------------------------------------

#[test]
fn a_star_keeps_every_tag_and_a_list_keeps_only_those() {
    let c = Config::default();
    assert_eq!(c.ledger_config().tag_keys, TagKeys::All);
    assert_eq!(c.ledger_config().principal, PrincipalDetail::RoleSession);
    let c = Config::from_toml_str(
        "[ledger]\nprincipal = \"off\"\ntag_keys = [\"team\"]\n[metrics]\nprincipal = \"off\"\n",
        "t",
    )
    .unwrap();
    assert_eq!(
        c.ledger_config().tag_keys,
        TagKeys::Only(vec!["team".to_string()])
    );
    assert_eq!(c.ledger_config().principal, PrincipalDetail::Off);
    let c = Config::from_toml_str("[ledger]\ntag_keys = []\n", "t").unwrap();
    assert_eq!(
        c.ledger_config().tag_keys,
        TagKeys::Only(vec![]),
        "[] keeps no tag"
    );
}

#[test]
fn durability_normal_is_the_default_and_full_maps_to_full() {
    assert_eq!(Config::default().durability(), Durability::Normal);
    let c = Config::from_toml_str("[store]\ndurability = \"full\"\n", "t").unwrap();
    assert_eq!(c.durability(), Durability::Full);
}

#[test]
fn principal_settings_are_ordered_from_least_to_most_detail() {
    assert!(PrincipalSetting::Off < PrincipalSetting::Role);
    assert!(PrincipalSetting::Role < PrincipalSetting::RoleSession);
}

// --- errors ---------------------------------------------------------------------------------

#[test]
fn one_problem_is_one_line_that_names_the_file() {
    let e =
        Config::from_toml_str("[pipeline]\nchannel_capacity = 0\n", "/etc/bm.toml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/bm.toml: pipeline.channel_capacity: must be at least 1 (a zero-capacity channel \
         would block every source)"
    );
    assert_eq!(e.kind(), "invalid");
    assert_eq!(e.problems().len(), 1);
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let e = Config::load(Path::new("/nonexistent/bedrock-meter.toml")).unwrap_err();
    assert_eq!(e.kind(), "read");
    assert_eq!(
        e.to_string(),
        "cannot read the config file /nonexistent/bedrock-meter.toml"
    );
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn a_config_built_in_code_is_checked_by_the_same_rules() {
    let mut c = Config::default();
    c.sources.push(SourceConfig::Stdin(StdinSourceConfig {
        name: "Std In".to_string(),
    }));
    let e = c.validate("command line").unwrap_err();
    assert!(
        e.to_string().starts_with("command line: sources[0].name:"),
        "{e}"
    );
}

// --- stage 2: secrets ---------------------------------------------------------------------

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn no_auth_needs_no_secret() {
    let s = Config::default().resolve_secrets(&no_env).unwrap();
    assert!(matches!(s.auth, AuthCredentials::None));
}

#[test]
fn a_bearer_token_is_read_from_the_named_variable() {
    let c = Config::load(&fixtures_dir().join("bearer-token-from-env.ok.toml")).unwrap();
    let env = |k: &str| (k == "BEDROCK_METER_TOKEN").then(|| "t0ken".to_string());
    let AuthCredentials::Bearer { token } = c.resolve_secrets(&env).unwrap().auth else {
        panic!("not bearer");
    };
    assert_eq!(token.expose(), "t0ken");
}

#[test]
fn an_unset_variable_names_the_key_and_the_variable() {
    let c = Config::load(&fixtures_dir().join("bearer-token-from-env.ok.toml")).unwrap();
    let e = c.resolve_secrets(&no_env).unwrap_err();
    assert_eq!(e.kind(), "secret");
    let msg = e.to_string();
    assert!(msg.starts_with("server.auth.bearer_token_env: the environment variable `BEDROCK_METER_TOKEN` is not set"), "{msg}");
    let empty = |_: &str| Some(String::new());
    let msg = c.resolve_secrets(&empty).unwrap_err().to_string();
    assert!(msg.contains("`BEDROCK_METER_TOKEN` is empty"), "{msg}");
}

fn basic_with_password_file(path: &Path) -> Config {
    let text = format!(
        "[server.auth]\nmode = \"basic\"\nbasic_username = \"prom\"\nbasic_password_file = {:?}\n",
        path.display().to_string()
    );
    Config::from_toml_str(&text, "t").unwrap()
}

#[test]
fn a_password_file_is_read_without_its_trailing_newline() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "pa ss\r\n").unwrap();
    let s = basic_with_password_file(&file)
        .resolve_secrets(&no_env)
        .unwrap();
    let AuthCredentials::Basic { username, password } = s.auth else {
        panic!("not basic")
    };
    assert_eq!(username, "prom");
    assert_eq!(password.expose(), "pa ss", "inner spaces are kept");
}

#[test]
fn an_empty_or_missing_secret_file_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "\n").unwrap();
    let msg = basic_with_password_file(&file)
        .resolve_secrets(&no_env)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("server.auth.basic_password_file: the secret file"),
        "{msg}"
    );
    assert!(msg.ends_with("is empty; put the secret in it"), "{msg}");

    let e = basic_with_password_file(&dir.path().join("absent"))
        .resolve_secrets(&no_env)
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("server.auth.basic_password_file: cannot read the secret file")
    );
    assert!(
        std::error::Error::source(&e).is_some(),
        "the I/O error is the source"
    );
}

#[test]
fn debug_output_never_shows_a_secret() {
    let secrets = ResolvedSecrets {
        auth: AuthCredentials::Basic {
            username: "prom".to_string(),
            password: Secret::new("hunter2"),
        },
        receivers: Default::default(),
    };
    let debug = format!("{secrets:?} {:?}", Secret::new("hunter2"));
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
}

// --- [discovery] --------------------------------------------------------------------------

#[test]
fn discovery_is_off_by_default_and_reads_its_keys() {
    assert!(Config::default().discovery.regions.is_empty());
    assert_eq!(Config::default().discovery.prefer, DiscoveryPrefer::S3);
    let c = Config::from_toml_str(
        "[discovery]\nregions = [\"us-east-1\", \"eu-west-1\"]\nprefer = \"both\"\n\
         assume_role_arn = \"arn:aws:iam::123456789012:role/Read\"\nexternal_id = \"x\"\n",
        "t",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.discovery.regions, ["us-east-1", "eu-west-1"]);
    assert_eq!(c.discovery.prefer, DiscoveryPrefer::Both);
    assert_eq!(c.discovery.external_id.as_deref(), Some("x"));
}

#[test]
fn discovery_is_validated_strictly() {
    let e = Config::from_toml_str(
        "[discovery]\nregions = [\"us-east-1\", \"US-EAST-1\", \"us-east-1\"]\n\
         prefer = \"cloudwatch\"\n",
        "t",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("discovery.prefer"), "{e}");
    let e = Config::from_toml_str(
        "[discovery]\nregions = [\"us-east-1\", \"US-EAST-1\", \"us-east-1\"]\n\
         external_id = \"x\"\nendpoint_url = \"localhost\"\nregion = \"us-east-1\"\n",
        "t",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("`region`"), "an unknown key: {e}");
    let e = Config::from_toml_str(
        "[discovery]\nregions = [\"us-east-1\", \"US-EAST-1\", \"us-east-1\"]\n\
         external_id = \"x\"\nendpoint_url = \"localhost\"\n",
        "t",
    )
    .unwrap_err()
    .to_string();
    for want in [
        "discovery.regions[1]: `US-EAST-1` is not an AWS region",
        "discovery.regions[2]: `us-east-1` is already listed as regions[0]",
        "discovery.external_id: is set but assume_role_arn is not",
        "discovery.endpoint_url: `localhost` is not an http:// or https:// URL",
    ] {
        assert!(e.contains(want), "{want}\n{e}");
    }
    let e = Config::from_toml_str(
        "[discovery]\nregions = [\"us-east-1\"]\n\n[[sources]]\ntype = \"stdin\"\nname = \"in\"\n",
        "t",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("discovery.regions: discovery only runs when no [[sources]]"),
        "{e}"
    );
}

// --- [control_plane] ----------------------------------------------------------------------

#[test]
fn the_control_plane_follows_the_aws_sources_unless_told_otherwise() {
    // No AWS source and no regions: nothing to read.
    assert_eq!(Config::default().control_plane_spec(), None);
    let sources = "[[sources]]\ntype = \"s3\"\nname = \"a\"\nregion = \"eu-west-1\"\n\
                   bucket = \"logs\"\nendpoint_url = \"http://127.0.0.1:1\"\n\n\
                   [[sources]]\ntype = \"cloudwatch_logs\"\nname = \"c\"\nregion = \"eu-west-1\"\n\
                   log_group_name = \"/g\"\n";
    let c = Config::from_toml_str(sources, "t").unwrap_or_else(|e| panic!("{e}"));
    let spec = c.control_plane_spec().unwrap();
    assert_eq!(spec.refresh_interval, Duration::from_secs(3600));
    assert_eq!(spec.targets.len(), 1);
    assert_eq!(spec.targets[0].region, "eu-west-1");
    // The source's endpoint serves S3, not Bedrock: never inherited.
    assert_eq!(spec.targets[0].endpoint_url, None);
    let off = format!("[control_plane]\nenabled = false\n\n{sources}");
    let c = Config::from_toml_str(&off, "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.control_plane_spec(), None);
    let own = "[control_plane]\nregions = [\"us-east-1\", \"us-west-2\"]\n\
               refresh_interval_secs = 600\nendpoint_url = \"http://127.0.0.1:2\"\n";
    let c = Config::from_toml_str(own, "t").unwrap_or_else(|e| panic!("{e}"));
    let spec = c.control_plane_spec().unwrap();
    assert_eq!(spec.refresh_interval, Duration::from_secs(600));
    let regions: Vec<&str> = spec.targets.iter().map(|t| t.region.as_str()).collect();
    assert_eq!(regions, ["us-east-1", "us-west-2"]);
    assert!(
        spec.targets
            .iter()
            .all(|t| t.endpoint_url.as_deref() == Some("http://127.0.0.1:2"))
    );
}

#[test]
fn the_control_plane_is_validated_strictly() {
    let e = Config::from_toml_str(
        "[control_plane]\nregions = [\"us-east-1\", \"us-east-1\", \"east\"]\n\
         refresh_interval_secs = 5\nexternal_id = \"x\"\nendpoint_url = \"localhost\"\n",
        "t",
    )
    .unwrap_err()
    .to_string();
    for want in [
        "control_plane.regions[1]: `us-east-1` is already listed as regions[0]",
        "control_plane.regions[2]: `east` is not an AWS region",
        "control_plane.refresh_interval_secs: 5 is out of range; use 60 to 86400",
        "control_plane.external_id: is set but assume_role_arn is not",
        "control_plane.endpoint_url: `localhost` is not an http:// or https:// URL",
    ] {
        assert!(e.contains(want), "{want}\nnot in\n{e}");
    }
    let e = Config::from_toml_str("[control_plane]\nrefresh_interval = 60\n", "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("control_plane"), "{e}");
}

#[test]
fn cloudwatch_metrics_sources_are_checked_and_auto_mode_follows_the_logs() {
    use crate::sources::cloudwatch_metrics::Mode;
    let bad = "[[sources]]\ntype = \"cloudwatch_metrics\"\nname = \"m\"\nregion = \"us-east-1\"\n\
               mode = \"both\"\naccount_id = \"12345\"\npoll_interval_secs = 5\n\
               overlap_secs = 90000\n";
    let msg = Config::from_toml_str(bad, "bad.toml")
        .unwrap_err()
        .to_string();
    for want in [
        "sources[0].mode: `both` is not a mode",
        "sources[0].account_id: `12345` is not an AWS account id",
        "sources[0].poll_interval_secs: must be at least 60",
        "sources[0].overlap_secs: expected 0 to 86400",
    ] {
        assert!(msg.contains(want), "missing {want:?} in:\n{msg}");
    }
    let only = "[[sources]]\ntype = \"cloudwatch_metrics\"\nname = \"m\"\nregion = \"eu-west-1\"\n";
    let c = Config::from_toml_str(only, "ok.toml").unwrap();
    // What the daemon does (DaemonSettings::from_config).
    let mode = |c: &Config| match &c.sources[0] {
        SourceConfig::CloudwatchMetrics(m) => {
            m.spec(c.sources.iter().any(|o| o.may_read_logs_of(&m.region)))
                .mode
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(mode(&c), Mode::Primary);
    let with_logs = format!(
        "{only}\n[[sources]]\ntype = \"s3\"\nname = \"b\"\nregion = \"eu-west-1\"\nbucket = \"logs-bucket\"\n"
    );
    let c = Config::from_toml_str(&with_logs, "ok.toml").unwrap();
    assert_eq!(mode(&c), Mode::CrossCheck);
    let other_region = with_logs.replace(
        "region = \"eu-west-1\"\nbucket",
        "region = \"us-east-1\"\nbucket",
    );
    let c = Config::from_toml_str(&other_region, "ok.toml").unwrap();
    assert_eq!(mode(&c), Mode::Primary);
}
