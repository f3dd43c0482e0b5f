//! Config errors. Every problem names its key path (`sources[1].poll_interval_secs`), what
//! was wrong and the fix, so the message alone is enough to correct the file.
//!
//! serde reports mistakes in its own words ("unknown field `x`, expected one of …",
//! "invalid type: string \"10\", expected u64"); [`from_serde`] rewrites the common ones
//! into the file's vocabulary (keys, tables, arrays) and adds a "did you mean". Its words
//! are stable across serde 1.x (they come from `serde::de::Error`'s provided methods).
use std::fmt;
use std::path::PathBuf;

/// Why a configuration could not be used. [`ConfigError::kind`] gives a short fixed label.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read the config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The text is not TOML. `message` is the parser's, with line and column.
    #[error("{origin}: not valid TOML: {message}")]
    Syntax {
        /// The file (or what the text was called).
        origin: String,
        /// The parser's message.
        message: String,
    },

    /// The TOML does not fit the schema, or values break a rule. Lists every problem found.
    #[error("{}", Listing { origin, problems })]
    Invalid {
        /// The file (or what the text was called).
        origin: String,
        /// The problems, in file order where known.
        problems: Vec<Problem>,
    },

    /// A secret named by the config could not be read (stage 2,
    /// [`Config::resolve_secrets`](super::Config::resolve_secrets)).
    #[error("{path}: {message}")]
    Secret {
        /// The key naming the secret, e.g. `server.auth.bearer_token_file`.
        path: String,
        /// What was wrong and the fix (never the secret itself).
        message: String,
        /// The I/O error, for `_file` secrets.
        #[source]
        source: Option<std::io::Error>,
    },
}

impl ConfigError {
    /// A short fixed label for metrics and logs: `read`, `syntax`, `invalid` or `secret`.
    pub fn kind(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "read",
            ConfigError::Syntax { .. } => "syntax",
            ConfigError::Invalid { .. } => "invalid",
            ConfigError::Secret { .. } => "secret",
        }
    }

    /// The problems of an [`ConfigError::Invalid`] error (empty for the other kinds).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// Renders [`ConfigError::Invalid`]: one problem on one line, several as a list.
#[derive(Debug, Clone, Copy)]
struct Listing<'a> {
    origin: &'a str,
    problems: &'a [Problem],
}

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems {
            [one] => write!(f, "{}: {one}", self.origin),
            many => {
                write!(f, "{}: {} problems:", self.origin, many.len())?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

/// One thing wrong with a config: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path, e.g. `server.auth.mode` or `sources[1].name` (`sources[1]` is the
    /// second `[[sources]]` table). Empty for the file as a whole.
    pub path: String,
    /// What was wrong and how to fix it.
    pub message: String,
}

impl Problem {
    pub(super) fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// `parent.key` (or `key` at the top).
pub(super) fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Where a table is, in messages: "in [server.auth]", "in sources[1]", "at the top level".
fn location(path: &str) -> String {
    if path.is_empty() {
        "at the top level".to_string()
    } else if path.ends_with(']') {
        format!("in {path}")
    } else {
        format!("in [{path}]")
    }
}

/// `` `a`, `b`, `c` ``
pub(super) fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidate `word` was most likely meant to be, if any is close.
pub(super) fn closest<'a, S: AsRef<str>>(word: &str, candidates: &'a [S]) -> Option<&'a str> {
    // Jaro-Winkler rewards a shared prefix, which is how config keys are usually mistyped
    // (`listen_addr`, `poll_interval`); 0.8 is about where unrelated words stop matching.
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c.as_ref()), c.as_ref()))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// "; did you mean `x`?" or "".
pub(super) fn did_you_mean<S: AsRef<str>>(word: &str, candidates: &[S]) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// The problem for key `key` in table `parent`, which has the keys `known`.
pub(super) fn unknown_key<S: AsRef<str>>(parent: &str, key: &str, known: &[S]) -> Problem {
    let has = |k: String| known.iter().any(|x| x.as_ref() == k);
    let message = if has(format!("{key}_env")) && has(format!("{key}_file")) {
        // `bearer_token = "…"`: the secret itself, inline. Say why there is no such key.
        format!(
            "secrets are not accepted inline ({}); use `{key}_env = \"VARIABLE\"` or \
             `{key}_file = \"/path/to/file\"`",
            location(parent)
        )
    } else {
        let hint = match closest(key, known) {
            Some(close) => format!("; did you mean `{close}`?"),
            None => elsewhere(parent, key),
        };
        format!(
            "unknown key `{key}` {}{hint} (known keys: {})",
            location(parent),
            quoted_list(known)
        )
    };
    Problem::new(child(parent, key), message)
}

/// "; `path` is a key of [store]" when `key` exists in another table of the schema (a key
/// written under the wrong header, or before any header), else "".
fn elsewhere(parent: &str, key: &str) -> String {
    // From inside a source, only the other source types are plausible homes.
    let in_source = parent.starts_with("sources[");
    let homes: Vec<&str> = key_homes()
        .iter()
        .filter(|(table, k)| k == key && table != parent)
        .filter(|(table, _)| !in_source || table.starts_with("sources:"))
        .map(|(table, _)| table.as_str())
        .collect();
    if homes.is_empty() {
        return String::new();
    }
    let homes: Vec<String> = homes.iter().map(|t| describe_table(t)).collect();
    format!("; `{key}` is a key of {}", homes.join(" and "))
}

/// "[store]", or "[[sources]] with type = \"directory\"" for a source type's table.
fn describe_table(table: &str) -> String {
    match table.strip_prefix("sources:") {
        Some(ty) => format!("[[sources]] with type = \"{ty}\""),
        None if table.is_empty() => "the top level".to_string(),
        None => format!("[{table}]"),
    }
}

/// Every (table, key) of the schema; a source type's table is named `sources:<type>`.
fn key_homes() -> &'static [(String, String)] {
    static HOMES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    HOMES.get_or_init(|| {
        let full = super::Config {
            sources: super::SourceConfig::examples(),
            ..super::Config::default()
        };
        // Invariant: the defaults and examples hold only UTF-8 strings and paths, so they
        // serialise (a test serialises the same value).
        let table = toml::Table::try_from(&full).expect("the default config serialises");
        let mut out = Vec::new();
        collect_keys("", &table, &mut out);
        out
    })
}

fn collect_keys(path: &str, table: &toml::Table, out: &mut Vec<(String, String)>) {
    for (key, value) in table {
        out.push((path.to_string(), key.clone()));
        match value {
            toml::Value::Table(t) => collect_keys(&child(path, key), t, out),
            toml::Value::Array(items) => {
                for t in items.iter().filter_map(toml::Value::as_table) {
                    let ty = t
                        .get("type")
                        .and_then(toml::Value::as_str)
                        .unwrap_or_default();
                    collect_keys(&format!("{key}:{ty}"), t, out);
                }
            }
            _ => {}
        }
    }
}

/// Rewrites a deserialisation error at `prefix` (the table that was being read) into a
/// [`Problem`] with the full key path.
pub(super) fn from_serde(
    prefix: &str,
    err: &serde_path_to_error::Error<toml::de::Error>,
) -> Problem {
    let mut path = prefix.to_string();
    for segment in err.path() {
        use serde_path_to_error::Segment;
        match segment {
            Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => path = child(&path, key),
            Segment::Unknown => path = child(&path, "?"),
        }
    }
    interpret(path, err.inner().message())
}

/// Turns serde's message at `path` into a problem in the file's words.
fn interpret(path: String, msg: &str) -> Problem {
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        // serde puts the unknown key itself last in the path.
        let (key, expected) = split_named(rest);
        let parent = parent_of(&path, &key);
        return unknown_key(&parent, &key, &expected);
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let (value, expected) = split_named(rest);
        return Problem::new(
            path,
            format!(
                "unknown value `{value}`; expected one of {}{}",
                quoted_list(&expected),
                did_you_mean(&value, &expected)
            ),
        );
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let (key, _) = split_named(rest);
        return Problem::new(
            child(&path, &key),
            format!("missing required key `{key}` {}", location(&path)),
        );
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = msg.strip_prefix(prefix)
            && let Some((got, want)) = rest.split_once(", expected ")
        {
            let want = describe_expected(want);
            let hint = if got.starts_with("string") && want.starts_with("a whole number") {
                "; write numbers without quotes"
            } else if got.starts_with("string") && want.contains("true or false") {
                "; write true or false without quotes"
            } else if got.starts_with("integer") && want.starts_with("a string") {
                "; put the value in quotes"
            } else {
                ""
            };
            return Problem::new(path, format!("expected {want}, got {got}{hint}"));
        }
    }
    Problem::new(path, msg.to_string())
}

/// Splits "`name`, expected `a`, `b` or `c`" into the name and the expected names.
fn split_named(rest: &str) -> (String, Vec<String>) {
    let mut parts = rest.split('`');
    let _ = parts.next();
    let name = parts.next().unwrap_or_default().to_string();
    let after = rest.splitn(3, '`').nth(2).unwrap_or_default();
    // Backticked words after the name are the expected ones ("there are no fields" has
    // none); the text between them (", ", " or ") sits at the even positions.
    let expected = after
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (name, expected)
}

/// The path without its last key (`key`).
fn parent_of(path: &str, key: &str) -> String {
    path.strip_suffix(key)
        .map(|p| p.strip_suffix('.').unwrap_or(p).to_string())
        .unwrap_or_else(|| path.to_string())
}

/// serde's name for an expected type, in TOML words.
fn describe_expected(want: &str) -> String {
    let integer = |max: &str| format!("a whole number from 0 to {max}");
    match want {
        "u8" => integer("255"),
        "u16" => integer("65535"),
        "u32" => integer("4294967295"),
        "u64" | "usize" => "a whole number of 0 or more".to_string(),
        "i64" | "isize" => "a whole number".to_string(),
        "a boolean" => "true or false".to_string(),
        "a string" | "a path string" => "a string".to_string(),
        "a sequence" => "an array, e.g. [\"a\", \"b\"]".to_string(),
        w if w.starts_with("struct ") => "a table".to_string(),
        w if w.starts_with("internally tagged enum") || w.starts_with("enum ") => {
            "a string".to_string()
        }
        w => w.to_string(),
    }
}
