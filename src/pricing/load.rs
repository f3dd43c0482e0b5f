//! Reading the TOML files of a price table into entries.
//!
//! Every file is parsed to a generic TOML table first and linted key by key, so that one run
//! reports every problem with its file, line, entry and key (unknown keys with a suggestion,
//! prices written as TOML floats, unquoted dates, …). What passes the lint is mapped onto the
//! typed schema below (`deny_unknown_fields` everywhere) and then checked for meaning
//! (negative prices, date order, unknown region groups, …).
use super::check::{CheckProblem, parse_date};
use super::entry::{Confidence, ImageBand, Meter, PriceEntry};
use super::{CommitmentTerm, ContextBand};
use crate::money::Usd;
use crate::normalize::{ImageQuality, Scope, ServiceTier};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use toml::{Table, Value};

/// The file that holds `[table]` and `[region_groups]`.
pub(crate) const TABLE_FILE: &str = "table.toml";

/// Prefixes of system inference-profile ids (`us.anthropic.…`, `global.…`).
pub(crate) const GEO_PREFIXES: &[&str] =
    &["us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"];

/// One TOML file of the table.
pub(crate) struct SourceFile {
    /// File name (`anthropic.toml`).
    pub name: String,
    /// Name used in messages (`pricing/anthropic.toml`, or the path read).
    pub display: String,
    /// Contents.
    pub text: String,
}

/// A table that parsed, before cross-entry checks.
pub(crate) struct Loaded {
    pub version: String,
    pub description: String,
    pub region_groups: BTreeMap<String, Vec<String>>,
    pub entries: Vec<PriceEntry>,
    pub files: usize,
}

// ---------------------------------------------------------------------------------------
// The typed schema.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    table: TableMeta,
    #[serde(default)]
    region_groups: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableMeta {
    version: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    models: Vec<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    region_groups: Vec<String>,
    scopes: Vec<String>,
    #[serde(default)]
    service_tier: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    long_context_threshold_input_tokens: Option<i64>,
    effective_from: String,
    #[serde(default)]
    effective_to: Option<String>,
    #[serde(default)]
    input_usd_per_1m_tokens: Option<String>,
    #[serde(default)]
    output_usd_per_1m_tokens: Option<String>,
    #[serde(default)]
    cache_read_usd_per_1m_tokens: Option<String>,
    #[serde(default)]
    cache_write_5m_usd_per_1m_tokens: Option<String>,
    #[serde(default)]
    cache_write_1h_usd_per_1m_tokens: Option<String>,
    #[serde(default)]
    input_usd_per_image: Option<String>,
    #[serde(default)]
    input_audio_usd_per_second: Option<String>,
    #[serde(default)]
    input_video_usd_per_second: Option<String>,
    #[serde(default)]
    usd_per_1k_queries: Option<String>,
    #[serde(default)]
    output_video_usd_per_second: Option<String>,
    #[serde(default)]
    training_usd_per_1m_tokens: Option<String>,
    #[serde(default)]
    training_usd_per_image: Option<String>,
    #[serde(default)]
    training_usd_per_hour: Option<String>,
    #[serde(default)]
    custom_model_storage_usd_per_month: Option<String>,
    #[serde(default)]
    images: Vec<RawImageBand>,
    #[serde(default)]
    provisioned_usd_per_model_unit_hour: Option<RawProvisioned>,
    source: String,
    retrieved: String,
    confidence: String,
    #[serde(default)]
    note: Option<String>,
}

impl RawEntry {
    fn meter(&self, m: Meter) -> Option<&str> {
        let v = match m {
            Meter::InputTokens => &self.input_usd_per_1m_tokens,
            Meter::OutputTokens => &self.output_usd_per_1m_tokens,
            Meter::CacheReadTokens => &self.cache_read_usd_per_1m_tokens,
            Meter::CacheWrite5mTokens => &self.cache_write_5m_usd_per_1m_tokens,
            Meter::CacheWrite1hTokens => &self.cache_write_1h_usd_per_1m_tokens,
            Meter::InputImages => &self.input_usd_per_image,
            Meter::InputAudioSeconds => &self.input_audio_usd_per_second,
            Meter::InputVideoSeconds => &self.input_video_usd_per_second,
            Meter::Queries => &self.usd_per_1k_queries,
            Meter::OutputVideoSeconds => &self.output_video_usd_per_second,
            Meter::TrainingTokens => &self.training_usd_per_1m_tokens,
            Meter::TrainingImages => &self.training_usd_per_image,
            Meter::TrainingHours => &self.training_usd_per_hour,
            Meter::CustomModelStorageMonths => &self.custom_model_storage_usd_per_month,
        };
        v.as_deref()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImageBand {
    #[serde(default)]
    quality: Option<String>,
    #[serde(default)]
    max_width: Option<i64>,
    #[serde(default)]
    max_height: Option<i64>,
    usd_per_image: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvisioned {
    #[serde(default)]
    no_commitment: Option<String>,
    #[serde(default)]
    one_month: Option<String>,
    #[serde(default)]
    six_months: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Key lint.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    StrList,
    Date,
    Count,
    Price,
    Images,
    Provisioned,
}

/// Non-meter keys of a `[[price]]` entry: (key, kind, required).
const ENTRY_KEYS: &[(&str, Kind, bool)] = &[
    ("id", Kind::Str, true),
    ("models", Kind::StrList, true),
    ("regions", Kind::StrList, false),
    ("region_groups", Kind::StrList, false),
    ("scopes", Kind::StrList, true),
    ("service_tier", Kind::Str, false),
    ("context", Kind::Str, false),
    ("long_context_threshold_input_tokens", Kind::Count, false),
    ("effective_from", Kind::Date, true),
    ("effective_to", Kind::Date, false),
    ("images", Kind::Images, false),
    (
        "provisioned_usd_per_model_unit_hour",
        Kind::Provisioned,
        false,
    ),
    ("source", Kind::Str, true),
    ("retrieved", Kind::Date, true),
    ("confidence", Kind::Str, true),
    ("note", Kind::Str, false),
];

const IMAGE_KEYS: &[(&str, Kind, bool)] = &[
    ("quality", Kind::Str, false),
    ("max_width", Kind::Count, false),
    ("max_height", Kind::Count, false),
    ("usd_per_image", Kind::Price, true),
];

const PROVISIONED_KEYS: &[(&str, Kind, bool)] = &[
    ("no_commitment", Kind::Price, false),
    ("one_month", Kind::Price, false),
    ("six_months", Kind::Price, false),
];

fn entry_key(key: &str) -> Option<(Kind, bool)> {
    if let Some(&(_, k, r)) = ENTRY_KEYS.iter().find(|(n, _, _)| *n == key) {
        return Some((k, r));
    }
    Meter::from_key(key).map(|_| (Kind::Price, false))
}

fn all_entry_keys() -> Vec<&'static str> {
    ENTRY_KEYS
        .iter()
        .map(|(n, _, _)| *n)
        .chain(Meter::ALL.iter().map(|m| m.key()))
        .collect()
}

/// Edit distance, for "did you mean" suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A hint for an unknown key: a unit fix (`per_1k_tokens` → `per_1m_tokens`), else the
/// nearest known key, else the list of allowed keys.
fn suggest(unknown: &str, known: &[&str]) -> String {
    for (from, to, how) in [
        (
            "_per_1k_tokens",
            "_per_1m_tokens",
            "multiply the per-1K price by 1000",
        ),
        (
            "_per_token",
            "_per_1m_tokens",
            "multiply the per-token price by 1000000",
        ),
        ("_per_1m_token", "_per_1m_tokens", "note the plural"),
    ] {
        if let Some(stem) = unknown.strip_suffix(from) {
            let candidate = format!("{stem}{to}");
            if known.contains(&candidate.as_str()) {
                return format!("prices are per 1M tokens: use `{candidate}` ({how})");
            }
        }
    }
    let best = known
        .iter()
        .map(|k| (distance(unknown, k), *k))
        .min()
        .filter(|(d, k)| *d <= (k.len() / 3).max(2));
    match best {
        Some((_, k)) => format!("did you mean `{k}`?"),
        None => format!("allowed keys: {}", known.join(", ")),
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Str => "a string",
        Kind::StrList => "an array of strings",
        Kind::Date => "a quoted UTC date such as \"2025-09-29\"",
        Kind::Count => "a positive integer",
        Kind::Price => "a decimal string such as \"3.00\"",
        Kind::Images => "an array of [[price.images]] tables",
        Kind::Provisioned => "an inline table such as { one_month = \"39.60\" }",
    }
}

/// Finds lines for messages. Entries are located by their `[[price]]` header; keys by their
/// `key =` line inside the entry's block.
struct Locator<'a> {
    lines: Vec<&'a str>,
    headers: Vec<usize>,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Locator<'a> {
        let lines: Vec<&str> = text.lines().collect();
        let headers = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("[[price]]"))
            .map(|(i, _)| i)
            .collect();
        Locator { lines, headers }
    }

    /// 0-based line range of the n-th entry.
    fn block(&self, n: usize) -> Option<(usize, usize)> {
        let start = *self.headers.get(n)?;
        let end = self.headers.get(n + 1).copied().unwrap_or(self.lines.len());
        Some((start, end))
    }

    /// 1-based line of the entry's `id =` line, else its header.
    fn entry_line(&self, n: usize) -> Option<usize> {
        self.key_line(n, "id")
            .or_else(|| self.headers.get(n).map(|h| h + 1))
    }

    /// 1-based line of `key = …` inside the n-th entry.
    fn key_line(&self, n: usize, key: &str) -> Option<usize> {
        let (start, end) = self.block(n)?;
        (start..end).find_map(|i| {
            let rest = self.lines[i].trim_start().strip_prefix(key)?;
            rest.trim_start().starts_with('=').then_some(i + 1)
        })
    }

    /// The text after `key =` inside the n-th entry, without a trailing comment.
    fn raw_value(&self, n: usize, key: &str) -> Option<&'a str> {
        let line = self.lines[self.key_line(n, key)? - 1];
        let (_, rest) = line.split_once('=')?;
        let value = rest.split('#').next().unwrap_or(rest).trim();
        (!value.is_empty()).then_some(value)
    }

    /// 1-based line of the first line starting with `prefix` anywhere in the file.
    fn line_of(&self, prefix: &str) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| l.trim_start().starts_with(prefix))
            .map(|i| i + 1)
    }
}

/// Context for problems inside one entry.
struct EntryCtx<'a> {
    file: &'a str,
    label: String,
    n: usize,
    loc: &'a Locator<'a>,
}

impl EntryCtx<'_> {
    fn err(&self, key: Option<&str>, message: impl Into<String>) -> CheckProblem {
        let line = key
            .and_then(|k| self.loc.key_line(self.n, k))
            .or_else(|| self.loc.entry_line(self.n));
        let p = CheckProblem::error(self.file, message)
            .at_line(line)
            .in_entry(&self.label);
        match key {
            Some(k) => p.for_key(k),
            None => p,
        }
    }

    fn warn(&self, key: Option<&str>, message: impl Into<String>) -> CheckProblem {
        let mut p = self.err(key, message);
        p.severity = super::check::Severity::Warning;
        p
    }
}

/// Checks one value against its kind. Returns false when the value must be dropped before
/// typed deserialization. Floats, integers and TOML dates that should have been strings are
/// reported and converted, so the rest of the entry is still checked.
fn lint_value(
    v: &mut Value,
    kind: Kind,
    key: &str,
    ctx: &EntryCtx<'_>,
    problems: &mut Vec<CheckProblem>,
) -> bool {
    match (kind, &*v) {
        (Kind::Str, Value::String(_)) => true,
        (Kind::StrList, Value::Array(a)) if a.iter().all(Value::is_str) => true,
        (Kind::Date, Value::String(_)) => true,
        (Kind::Date, Value::Datetime(d)) => {
            let shown = d.to_string();
            problems.push(ctx.err(
                Some(key),
                format!("dates are quoted strings: write {key} = \"{shown}\""),
            ));
            *v = Value::String(shown);
            true
        }
        (Kind::Count, Value::Integer(i)) if *i > 0 => true,
        (Kind::Price, Value::String(_)) => true,
        (Kind::Price, Value::Float(_) | Value::Integer(_)) => {
            // Quote what the file says (`3.00`), not the float's rendering (`3.0`).
            let last = key.rsplit('.').next().unwrap_or(key);
            let shown = ctx
                .loc
                .raw_value(ctx.n, last)
                .filter(|raw| raw.parse::<f64>().is_ok())
                .map_or_else(|| v.to_string(), str::to_string);
            problems.push(ctx.err(
                Some(key),
                format!(
                    "{key} = {shown} is a TOML {}; prices are decimal strings so they stay \
                     exact: write {key} = \"{shown}\"",
                    v.type_str()
                ),
            ));
            *v = Value::String(shown);
            true
        }
        (Kind::Images, Value::Array(bands)) if bands.iter().all(Value::is_table) => {
            let Value::Array(bands) = v else { return false };
            let mut ok = true;
            for (i, band) in bands.iter_mut().enumerate() {
                if let Value::Table(t) = band {
                    let what = format!("images[{i}]");
                    ok &= lint_table(t, IMAGE_KEYS, &what, ctx, problems);
                }
            }
            ok
        }
        (Kind::Provisioned, Value::Table(_)) => {
            let Value::Table(t) = v else { return false };
            lint_table(t, PROVISIONED_KEYS, key, ctx, problems)
        }
        _ => {
            problems.push(ctx.err(
                Some(key),
                format!("must be {}, found {}", kind_name(kind), describe(v)),
            ));
            false
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) if *i <= 0 => format!("{i}"),
        Value::Array(_) => "an array with non-string items".to_string(),
        other => format!("a {}", other.type_str()),
    }
}

/// Lints a nested table (image band, provisioned terms) against its keys.
fn lint_table(
    t: &mut Table,
    keys: &[(&str, Kind, bool)],
    what: &str,
    ctx: &EntryCtx<'_>,
    problems: &mut Vec<CheckProblem>,
) -> bool {
    let known: Vec<&str> = keys.iter().map(|(k, _, _)| *k).collect();
    let mut ok = true;
    let names: Vec<String> = t.keys().cloned().collect();
    for name in names {
        let full = format!("{what}.{name}");
        match keys.iter().find(|(k, _, _)| *k == name) {
            None => {
                problems.push(ctx.err(
                    Some(&name),
                    format!("unknown key `{full}`; {}", suggest(&name, &known)),
                ));
                t.remove(&name);
            }
            Some(&(_, kind, required)) => {
                let v = t.get_mut(&name).expect("key listed");
                if !lint_value(v, kind, &full, ctx, problems) {
                    t.remove(&name);
                    ok &= !required;
                }
            }
        }
    }
    for (k, _, required) in keys {
        if *required && !t.contains_key(*k) && ok {
            problems.push(ctx.err(None, format!("`{what}` is missing required key `{k}`")));
            ok = false;
        }
    }
    ok
}

// ---------------------------------------------------------------------------------------
// Values.

/// A strict decimal: optional `-`, digits, optional `.digits`. No exponent, no `+`, no
/// spaces, no thousands separators.
pub(crate) fn parse_price(s: &str) -> Result<Usd, String> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let shaped = match body.split_once('.') {
        Some((i, f)) => digits(i) && digits(f),
        None => digits(body),
    };
    if !shaped {
        return Err(format!(
            "\"{s}\" is not a plain decimal; write digits with an optional fraction, e.g. \
             \"3.00\" or \"0.00875\""
        ));
    }
    let d = Usd::from_str(s).map_err(|e| format!("\"{s}\" is not a usable decimal: {e}"))?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err(format!("negative price \"{s}\"; prices are zero or more"));
    }
    Ok(d)
}

fn valid_region(r: &str) -> bool {
    // Two lowercase letters, one or more lowercase words, a number: `us-east-1`,
    // `us-gov-west-1`, `ap-southeast-7`.
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// `us.anthropic.x` → `Some(("us", "anthropic.x"))`.
pub(crate) fn split_geo_prefix(id: &str) -> Option<(&str, &str)> {
    let (prefix, rest) = id.split_once('.')?;
    (GEO_PREFIXES.contains(&prefix) && rest.contains('.')).then_some((prefix, rest))
}

fn parse_scope(s: &str) -> Option<Scope> {
    Scope::parse(s)
}

fn parse_quality(s: &str) -> Option<ImageQuality> {
    match s {
        "standard" => Some(ImageQuality::Standard),
        "premium" => Some(ImageQuality::Premium),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Files.

/// Parses every file. Returns what loaded (possibly partial) and every problem found.
pub(crate) fn load(files: &[SourceFile]) -> (Loaded, Vec<CheckProblem>) {
    let mut problems = Vec::new();
    let mut loaded = Loaded {
        version: String::new(),
        description: String::new(),
        region_groups: BTreeMap::new(),
        entries: Vec::new(),
        files: files.len(),
    };

    match files.iter().find(|f| f.name == TABLE_FILE) {
        Some(f) => load_table_file(f, &mut loaded, &mut problems),
        None => problems.push(CheckProblem::error(
            "",
            format!(
                "no {TABLE_FILE}: a price table needs a {TABLE_FILE} with [table] version = \
                 \"YYYY.MM.DD\" and its [region_groups]"
            ),
        )),
    }

    for f in files.iter().filter(|f| f.name != TABLE_FILE) {
        load_price_file(f, &mut loaded, &mut problems);
    }
    (loaded, problems)
}

fn parse_toml(f: &SourceFile, problems: &mut Vec<CheckProblem>) -> Option<Table> {
    match f.text.parse::<Table>() {
        Ok(t) => Some(t),
        Err(e) => {
            let line = e
                .span()
                .map(|s| f.text[..s.start.min(f.text.len())].lines().count().max(1));
            let msg = e.message().trim().to_string();
            problems.push(
                CheckProblem::error(&f.display, format!("not valid TOML: {msg}")).at_line(line),
            );
            None
        }
    }
}

fn load_table_file(f: &SourceFile, loaded: &mut Loaded, problems: &mut Vec<CheckProblem>) {
    let Some(doc) = parse_toml(f, problems) else {
        return;
    };
    let loc = Locator::new(&f.text);
    let before = problems.len();
    for (k, v) in &doc {
        match (k.as_str(), v) {
            ("table", Value::Table(t)) => {
                for (tk, tv) in t {
                    let ok = match tk.as_str() {
                        "version" | "description" => tv.is_str(),
                        _ => {
                            problems.push(
                                CheckProblem::error(
                                    &f.display,
                                    format!(
                                        "unknown key `table.{tk}`; {}",
                                        suggest(tk, &["version", "description"])
                                    ),
                                )
                                .at_line(loc.line_of(tk))
                                .for_key(tk),
                            );
                            true
                        }
                    };
                    if !ok {
                        problems.push(
                            CheckProblem::error(&f.display, "must be a string")
                                .at_line(loc.line_of(tk))
                                .for_key(&format!("table.{tk}")),
                        );
                    }
                }
            }
            ("region_groups", Value::Table(groups)) => {
                for (name, members) in groups {
                    let line = loc.line_of(name);
                    let is_list = matches!(members, Value::Array(a) if a.iter().all(Value::is_str));
                    if !is_list {
                        problems.push(
                            CheckProblem::error(
                                &f.display,
                                "a region group is an array of region codes, e.g. \
                                 us = [\"us-east-1\", \"us-west-2\"]",
                            )
                            .at_line(line)
                            .for_key(&format!("region_groups.{name}")),
                        );
                    }
                }
            }
            ("price", _) => problems.push(
                CheckProblem::error(
                    &f.display,
                    "price entries do not belong in table.toml; put [[price]] entries in a \
                     provider file such as anthropic.toml",
                )
                .at_line(loc.line_of("[[price]]")),
            ),
            (other, _) => problems.push(
                CheckProblem::error(
                    &f.display,
                    format!(
                        "unknown top-level key `{other}`; table.toml holds [table] and \
                         [region_groups] ({})",
                        suggest(other, &["table", "region_groups"])
                    ),
                )
                .at_line(
                    loc.line_of(other)
                        .or_else(|| loc.line_of(&format!("[{other}"))),
                )
                .for_key(other),
            ),
        }
    }
    if problems.len() > before {
        return;
    }
    let parsed: TableFile = match doc.try_into() {
        Ok(t) => t,
        Err(e) => {
            problems.push(CheckProblem::error(
                &f.display,
                format!(
                    "{}; table.toml needs [table] version = \"YYYY.MM.DD\"",
                    e.message().trim()
                ),
            ));
            return;
        }
    };
    let version = parsed.table.version.trim();
    if version.is_empty() || version.contains(char::is_whitespace) {
        problems.push(
            CheckProblem::error(
                &f.display,
                "the table version must be a non-empty string without spaces, e.g. \
                 \"2026.11.26\"; bump it on every change",
            )
            .at_line(loc.line_of("version"))
            .for_key("table.version"),
        );
    }
    loaded.version = parsed.table.version.clone();
    loaded.description = parsed.table.description;
    for (name, members) in parsed.region_groups {
        let line = loc.line_of(&name);
        let key = format!("region_groups.{name}");
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            problems.push(
                CheckProblem::error(
                    &f.display,
                    "group names use lowercase letters, digits and underscores",
                )
                .at_line(line)
                .for_key(&key),
            );
        }
        if members.is_empty() {
            problems.push(
                CheckProblem::error(&f.display, "empty region group; list at least one region")
                    .at_line(line)
                    .for_key(&key),
            );
        }
        let mut seen = BTreeSet::new();
        for r in &members {
            if !valid_region(r) {
                problems.push(
                    CheckProblem::error(
                        &f.display,
                        format!("`{r}` is not an AWS region code such as \"us-east-1\""),
                    )
                    .at_line(line)
                    .for_key(&key),
                );
            }
            if !seen.insert(r.as_str()) {
                problems.push(
                    CheckProblem::error(&f.display, format!("region `{r}` is listed twice"))
                        .at_line(line)
                        .for_key(&key),
                );
            }
        }
        loaded.region_groups.insert(name, members);
    }
}

fn load_price_file(f: &SourceFile, loaded: &mut Loaded, problems: &mut Vec<CheckProblem>) {
    let Some(mut doc) = parse_toml(f, problems) else {
        return;
    };
    let loc = Locator::new(&f.text);
    for k in doc.keys() {
        if k != "price" {
            let hint = if k == "table" || k == "region_groups" {
                format!("[{k}] belongs in table.toml")
            } else {
                format!(
                    "provider files hold only [[price]] entries ({})",
                    suggest(k, &["price"])
                )
            };
            problems.push(
                CheckProblem::error(&f.display, format!("unknown top-level key `{k}`; {hint}"))
                    .at_line(loc.line_of(&format!("[{k}")).or_else(|| loc.line_of(k)))
                    .for_key(k),
            );
        }
    }
    let entries = match doc.remove("price") {
        None => return,
        Some(Value::Array(a)) => a,
        Some(other) => {
            problems.push(
                CheckProblem::error(
                    &f.display,
                    format!(
                        "`price` must be an array of [[price]] tables, found a {}",
                        other.type_str()
                    ),
                )
                .for_key("price"),
            );
            return;
        }
    };
    for (n, value) in entries.into_iter().enumerate() {
        let Value::Table(t) = value else {
            problems.push(CheckProblem::error(
                &f.display,
                format!("[[price]] #{} is not a table", n + 1),
            ));
            continue;
        };
        if let Some(e) = load_entry(t, n, f, &loc, &loaded.region_groups, problems) {
            loaded.entries.push(e);
        }
    }
}

fn load_entry(
    mut t: Table,
    n: usize,
    f: &SourceFile,
    loc: &Locator<'_>,
    groups: &BTreeMap<String, Vec<String>>,
    problems: &mut Vec<CheckProblem>,
) -> Option<PriceEntry> {
    let label = t
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("[[price]] #{}", n + 1));
    let ctx = EntryCtx {
        file: &f.display,
        label,
        n,
        loc,
    };
    // 1. Lint every key.
    let known = all_entry_keys();
    let mut typed_ok = true;
    let names: Vec<String> = t.keys().cloned().collect();
    for name in names {
        match entry_key(&name) {
            None => {
                problems.push(ctx.err(
                    Some(&name),
                    format!("unknown key `{name}`; {}", suggest(&name, &known)),
                ));
                t.remove(&name);
            }
            Some((kind, required)) => {
                let v = t.get_mut(&name).expect("key listed");
                if !lint_value(v, kind, &name, &ctx, problems) {
                    t.remove(&name);
                    typed_ok &= !required;
                }
            }
        }
    }
    for (k, _, required) in ENTRY_KEYS {
        if *required && !t.contains_key(*k) && typed_ok {
            problems.push(ctx.err(None, format!("missing required key `{k}`")));
        }
    }
    if ENTRY_KEYS
        .iter()
        .any(|(k, _, required)| *required && !t.contains_key(*k))
    {
        return None;
    }

    // 2. Typed mapping (the schema's own `deny_unknown_fields` is the backstop here).
    let raw: RawEntry = match t.try_into() {
        Ok(r) => r,
        Err(e) => {
            problems.push(ctx.err(None, e.message().trim().to_string()));
            return None;
        }
    };

    // 3. Meaning. An entry with errors is still returned when its identity (dates, models,
    // regions) could be read, so cross-entry checks (duplicate ids, overlaps) see it too; the
    // table as a whole is rejected anyway.
    build_entry(raw, n, f, &ctx, groups, problems)
}

fn build_entry(
    raw: RawEntry,
    n: usize,
    f: &SourceFile,
    ctx: &EntryCtx<'_>,
    groups: &BTreeMap<String, Vec<String>>,
    problems: &mut Vec<CheckProblem>,
) -> Option<PriceEntry> {
    let mut err = |key: Option<&str>, msg: String| problems.push(ctx.err(key, msg));
    let mut warnings = Vec::new();

    if raw.id.trim().is_empty() || raw.id.contains(char::is_whitespace) {
        err(Some("id"), "ids are non-empty and contain no spaces, e.g. \"anthropic.claude-sonnet-4-5/global/standard/2025-09-29\"".into());
    }

    // Models.
    if raw.models.is_empty() {
        err(Some("models"), "empty `models`; list at least one base model id such as \"anthropic.claude-sonnet-4-5-20250929-v1:0\"".into());
    }
    let mut seen = BTreeSet::new();
    for m in &raw.models {
        if m.is_empty() || m.contains(char::is_whitespace) || !m.contains('.') {
            err(
                Some("models"),
                format!("`{m}` is not a Bedrock model id such as \"amazon.nova-lite-v1:0\""),
            );
        } else if m.starts_with("arn:") {
            err(
                Some("models"),
                format!("`{m}` is an ARN; list the base model id after `foundation-model/`"),
            );
        } else if let Some((prefix, base)) = split_geo_prefix(m) {
            err(
                Some("models"),
                format!(
                    "`{m}` is an inference-profile id; list the base model id `{base}` and express the `{prefix}.` profile with scopes = [\"{}\"]",
                    if prefix == "global" { "global" } else { "geo" }
                ),
            );
        }
        if !seen.insert(m.as_str()) {
            err(Some("models"), format!("model `{m}` is listed twice"));
        }
    }

    // Regions.
    let mut regions: BTreeSet<String> = BTreeSet::new();
    for r in &raw.regions {
        if !valid_region(r) {
            err(
                Some("regions"),
                format!("`{r}` is not an AWS region code such as \"us-east-1\""),
            );
        }
        if !regions.insert(r.clone()) {
            err(Some("regions"), format!("region `{r}` is listed twice"));
        }
    }
    for g in &raw.region_groups {
        match groups.get(g) {
            Some(members) => {
                for r in members {
                    if raw.regions.contains(r) {
                        warnings.push(ctx.warn(
                            Some("regions"),
                            format!(
                                "region `{r}` is listed explicitly and again through group `{g}`"
                            ),
                        ));
                    }
                    regions.insert(r.clone());
                }
            }
            None => {
                let names: Vec<&str> = groups.keys().map(String::as_str).collect();
                err(
                    Some("region_groups"),
                    format!(
                        "unknown region group `{g}`; {TABLE_FILE} defines: {}",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                );
            }
        }
    }
    if raw.regions.is_empty() && raw.region_groups.is_empty() {
        err(
            None,
            "the entry prices no region: add regions = [\"us-east-1\"] or region_groups = [\"us\"]"
                .into(),
        );
    }

    // Scopes, tier, context.
    let mut scopes = Vec::new();
    if raw.scopes.is_empty() {
        err(
            Some("scopes"),
            "empty `scopes`; list one or more of \"in_region\", \"geo\", \"global\"".into(),
        );
    }
    for s in &raw.scopes {
        match parse_scope(s) {
            Some(sc) if scopes.contains(&sc) => {
                err(Some("scopes"), format!("scope `{s}` is listed twice"))
            }
            Some(sc) => scopes.push(sc),
            None => err(
                Some("scopes"),
                format!("unknown scope `{s}`; use \"in_region\", \"geo\" or \"global\""),
            ),
        }
    }
    let tier_s = raw.service_tier.as_deref().unwrap_or("standard");
    let tier = ServiceTier::parse(tier_s).unwrap_or_else(|| {
        let allowed: Vec<&str> = ServiceTier::ALL.iter().map(|t| t.as_str()).collect();
        err(
            Some("service_tier"),
            format!(
                "unknown service tier `{tier_s}`; use one of {}",
                allowed.join(", ")
            ),
        );
        ServiceTier::Standard
    });
    let context = match raw.context.as_deref().unwrap_or("standard") {
        "standard" => ContextBand::Standard,
        "long" => ContextBand::Long,
        other => {
            err(
                Some("context"),
                format!("unknown context band `{other}`; use \"standard\" or \"long\""),
            );
            ContextBand::Standard
        }
    };
    let threshold = raw
        .long_context_threshold_input_tokens
        .and_then(|t| u64::try_from(t).ok());
    match (context, threshold) {
        (ContextBand::Long, None) => err(
            Some("context"),
            "a long-context entry needs long_context_threshold_input_tokens, e.g. 200000".into(),
        ),
        (ContextBand::Standard, Some(_)) => err(
            Some("long_context_threshold_input_tokens"),
            "only context = \"long\" entries take a threshold; remove it or set context = \"long\""
                .into(),
        ),
        _ => {}
    }

    // Dates.
    let mut date = |key: &str, s: &str| {
        let d = parse_date(s);
        if d.is_none() {
            err(
                Some(key),
                format!("\"{s}\" is not a UTC date; write \"YYYY-MM-DD\", e.g. \"2025-09-29\""),
            );
        }
        d
    };
    let from = date("effective_from", &raw.effective_from);
    let to = raw
        .effective_to
        .as_deref()
        .and_then(|s| date("effective_to", s));
    let retrieved = date("retrieved", &raw.retrieved);
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        err(
            Some("effective_to"),
            format!(
                "effective_to ({t}) must be after effective_from ({f}); the range is [from, to) in UTC days"
            ),
        );
    }

    // Meters.
    let mut meters = [None; Meter::ALL.len()];
    for m in Meter::ALL {
        if let Some(s) = raw.meter(m) {
            match parse_price(s) {
                Ok(p) => meters[m.index()] = Some(p),
                Err(e) => err(Some(m.key()), e),
            }
        }
    }

    // Images.
    let mut images: Vec<ImageBand> = Vec::new();
    for (i, b) in raw.images.iter().enumerate() {
        let key = format!("images[{i}]");
        let quality = match b.quality.as_deref() {
            None => None,
            Some(q) => match parse_quality(q) {
                Some(q) => Some(q),
                None => {
                    err(
                        Some("quality"),
                        format!(
                            "{key}: unknown quality `{q}`; use \"standard\" or \"premium\", or omit it to price any quality"
                        ),
                    );
                    None
                }
            },
        };
        let dim = |v: Option<i64>| v.and_then(|x| u32::try_from(x).ok());
        let (w, h) = (dim(b.max_width), dim(b.max_height));
        if w.is_some() != h.is_some() {
            err(
                Some("max_width"),
                format!(
                    "{key}: give both max_width and max_height, or neither for a band without a size limit"
                ),
            );
        }
        let usd = match parse_price(&b.usd_per_image) {
            Ok(p) => p,
            Err(e) => {
                err(Some("usd_per_image"), format!("{key}: {e}"));
                continue;
            }
        };
        let band = ImageBand {
            quality,
            max_width: w,
            max_height: h,
            usd_per_image: usd,
        };
        if images.iter().any(|o| {
            o.quality == band.quality
                && o.max_width == band.max_width
                && o.max_height == band.max_height
        }) {
            err(
                Some("images"),
                format!("{key}: a band for {} already exists", band.label()),
            );
        }
        images.push(band);
    }

    // Provisioned throughput.
    let mut provisioned = [None; CommitmentTerm::ALL.len()];
    if let Some(p) = &raw.provisioned_usd_per_model_unit_hour {
        for (term, v) in [
            (CommitmentTerm::None, &p.no_commitment),
            (CommitmentTerm::OneMonth, &p.one_month),
            (CommitmentTerm::SixMonths, &p.six_months),
        ] {
            if let Some(s) = v {
                match parse_price(s) {
                    Ok(d) => provisioned[term as usize] = Some(d),
                    Err(e) => err(
                        Some("provisioned_usd_per_model_unit_hour"),
                        format!("{}: {e}", term.as_str()),
                    ),
                }
            }
        }
        if provisioned.iter().all(Option::is_none) {
            err(
                Some("provisioned_usd_per_model_unit_hour"),
                "give at least one of no_commitment, one_month, six_months".into(),
            );
        }
    }

    let any_meter_key = Meter::ALL.into_iter().any(|m| raw.meter(m).is_some());
    if !any_meter_key && raw.images.is_empty() && raw.provisioned_usd_per_model_unit_hour.is_none()
    {
        err(None, "the entry prices nothing: add a meter such as input_usd_per_1m_tokens, [[price.images]] bands or provisioned_usd_per_model_unit_hour".into());
    }
    if context == ContextBand::Long && meters[Meter::InputTokens.index()].is_none() {
        err(
            Some("input_usd_per_1m_tokens"),
            "a long-context entry must price input tokens".into(),
        );
    }

    if raw.source.trim().is_empty() {
        err(
            Some("source"),
            "cite where the prices come from: a URL or repo:path@commit".into(),
        );
    }
    let confidence = Confidence::parse(&raw.confidence).unwrap_or_else(|| {
        err(
            Some("confidence"),
            format!(
                "unknown confidence `{}`; use \"A\", \"B\" or \"C\" (see pricing/README.md)",
                raw.confidence
            ),
        );
        Confidence::C
    });

    problems.extend(warnings);
    Some(PriceEntry {
        id: raw.id.into(),
        file: f.display.clone(),
        line: ctx.loc.entry_line(n),
        models: raw.models,
        explicit_regions: raw.regions,
        region_groups: raw.region_groups,
        regions: regions.into_iter().collect(),
        scopes,
        tier,
        context,
        long_context_threshold: threshold,
        effective_from: from?,
        effective_to: to,
        meters,
        images,
        provisioned,
        source: raw.source,
        retrieved: retrieved?,
        confidence,
        note: raw.note.filter(|n| !n.trim().is_empty()),
    })
}
