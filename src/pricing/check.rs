//! Validation of a whole table: problems found while loading, cross-entry rules (duplicate
//! ids, overlapping date ranges for the same key), and the report `pricing check` prints.
use super::entry::{PriceEntry, day_start};
use super::{ContextBand, PriceBook, PricingError};
use crate::normalize::{Scope, ServiceTier};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

/// How bad a [`CheckProblem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The table cannot be loaded.
    Error,
    /// The table loads, but something deserves a look.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a price table, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckProblem {
    /// Error or warning.
    pub severity: Severity,
    /// The file, as displayed (`pricing/anthropic.toml`), or empty for table-wide problems.
    pub file: String,
    /// 1-based line, when it could be found.
    pub line: Option<usize>,
    /// The entry id (or `[[price]] #N` when the entry has no id).
    pub entry: Option<String>,
    /// The key the problem is about.
    pub key: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl CheckProblem {
    pub(crate) fn error(file: &str, message: impl Into<String>) -> CheckProblem {
        CheckProblem {
            severity: Severity::Error,
            file: file.to_string(),
            line: None,
            entry: None,
            key: None,
            message: message.into(),
        }
    }

    pub(crate) fn warning(file: &str, message: impl Into<String>) -> CheckProblem {
        CheckProblem {
            severity: Severity::Warning,
            ..CheckProblem::error(file, message)
        }
    }

    pub(crate) fn at_line(mut self, line: Option<usize>) -> CheckProblem {
        self.line = line;
        self
    }

    pub(crate) fn in_entry(mut self, entry: &str) -> CheckProblem {
        self.entry = Some(entry.to_string());
        self
    }

    pub(crate) fn for_key(mut self, key: &str) -> CheckProblem {
        self.key = Some(key.to_string());
        self
    }
}

impl fmt::Display for CheckProblem {
    /// `error: pricing/anthropic.toml:12: entry `id`: key `k`: message`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.severity.as_str())?;
        if !self.file.is_empty() {
            match self.line {
                Some(l) => write!(f, "{}:{}: ", self.file, l)?,
                None => write!(f, "{}: ", self.file)?,
            }
        }
        if let Some(e) = &self.entry {
            write!(f, "entry `{e}`: ")?;
        }
        if let Some(k) = &self.key {
            write!(f, "key `{k}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// What `pricing check` reports for a table that loads.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The table version string.
    pub version: String,
    /// The table description.
    pub description: String,
    /// Number of TOML files read.
    pub files: usize,
    /// Number of price entries.
    pub entries: usize,
    /// Number of distinct model ids.
    pub models: usize,
    /// Number of distinct regions priced.
    pub regions: usize,
    /// Entries per confidence letter (`A`, `B`, `C`).
    pub entries_by_confidence: BTreeMap<&'static str, usize>,
    /// Non-fatal problems.
    pub warnings: Vec<CheckProblem>,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "price table {}: {} files, {} entries, {} models, {} regions",
            self.version, self.files, self.entries, self.models, self.regions
        )?;
        let conf: Vec<String> = self
            .entries_by_confidence
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        writeln!(f, "entries by confidence: {}", conf.join(", "))?;
        for w in &self.warnings {
            writeln!(f, "{w}")?;
        }
        if self.warnings.is_empty() {
            writeln!(f, "no problems found")?;
        } else {
            writeln!(f, "{} warnings", self.warnings.len())?;
        }
        Ok(())
    }
}

/// Loads a table the way `bedrock-meter pricing check [DIR]` does: the directory when given,
/// else the embedded table. Returns counts and warnings, or an error whose message lists every
/// problem found (not just the first).
pub fn check_dir(dir: Option<&Path>) -> Result<CheckReport, PricingError> {
    let book = match dir {
        Some(d) => PriceBook::from_dir(d)?,
        None => PriceBook::embedded()?,
    };
    Ok(book.report())
}

impl PricingError {
    /// An error whose message lists every problem, one per line, errors first.
    pub fn from_problems(what: &str, problems: &[CheckProblem]) -> PricingError {
        let mut sorted: Vec<&CheckProblem> = problems.iter().collect();
        sorted.sort_by_key(|p| p.severity);
        let errors = problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
        let mut msg = format!(
            "{what}: {errors} error{}",
            if errors == 1 { "" } else { "s" }
        );
        for p in sorted {
            msg.push_str("\n  ");
            msg.push_str(&p.to_string());
        }
        PricingError(msg)
    }
}

/// The family of meters an entry takes part in; overlaps are checked per family, since an
/// on-demand entry and a provisioned-throughput entry for the same model do not conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Family {
    Invocation,
    Provisioned,
    Customization,
}

impl Family {
    fn as_str(self) -> &'static str {
        match self {
            Family::Invocation => "on-demand",
            Family::Provisioned => "provisioned-throughput",
            Family::Customization => "customization",
        }
    }
}

/// An expanded key. Provisioned and customization keys ignore scope, tier and band.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key<'a> {
    family: Family,
    model: &'a str,
    region: &'a str,
    scope: Option<Scope>,
    tier: Option<ServiceTier>,
    band: Option<ContextBand>,
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} in {}",
            self.family.as_str(),
            self.model,
            self.region
        )?;
        if let Some(s) = self.scope {
            write!(f, " scope {}", s.as_str())?;
        }
        if let Some(t) = self.tier {
            write!(f, " tier {}", t.as_str())?;
        }
        if let Some(b) = self.band {
            write!(f, " context {}", b.as_str())?;
        }
        Ok(())
    }
}

fn keys_of(e: &PriceEntry) -> Vec<Key<'_>> {
    let mut keys = Vec::new();
    for model in &e.models {
        for region in &e.regions {
            if e.prices_invocations() {
                for &scope in &e.scopes {
                    keys.push(Key {
                        family: Family::Invocation,
                        model,
                        region,
                        scope: Some(scope),
                        tier: Some(e.tier),
                        band: Some(e.context),
                    });
                }
            }
            for (family, has) in [
                (Family::Provisioned, e.prices_provisioned()),
                (Family::Customization, e.prices_customization()),
            ] {
                if has {
                    keys.push(Key {
                        family,
                        model,
                        region,
                        scope: None,
                        tier: None,
                        band: None,
                    });
                }
            }
        }
    }
    keys
}

fn range(e: &PriceEntry) -> String {
    match e.effective_to {
        Some(to) => format!("{}..{}", e.effective_from, to),
        None => format!("{}..open", e.effective_from),
    }
}

/// Cross-entry rules: duplicate ids, overlapping ranges per expanded key, long-context entries
/// without a standard entry.
pub(crate) fn cross_entry_problems(entries: &[PriceEntry]) -> Vec<CheckProblem> {
    let mut problems = Vec::new();

    let mut by_id: HashMap<&str, &PriceEntry> = HashMap::new();
    for e in entries {
        if let Some(first) = by_id.get(&*e.id) {
            problems.push(
                CheckProblem::error(
                    &e.file,
                    format!(
                        "duplicate id: already used by the entry at {}{}; ids must be unique \
                         across the table (append the tier, scope or date to tell them apart)",
                        first.file,
                        first.line.map(|l| format!(":{l}")).unwrap_or_default()
                    ),
                )
                .at_line(e.line)
                .in_entry(&e.id)
                .for_key("id"),
            );
        } else {
            by_id.insert(&e.id, e);
        }
    }

    // Overlaps: collect every (from, to, entry) per key, then compare neighbours in time.
    let mut per_key: HashMap<Key<'_>, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        for k in keys_of(e) {
            per_key.entry(k).or_default().push(i);
        }
    }
    // One problem per pair of entries, naming one key and how many keys collide.
    let mut pairs: BTreeMap<(usize, usize), (Key<'_>, usize)> = BTreeMap::new();
    for (key, mut idx) in per_key {
        if idx.len() < 2 {
            continue;
        }
        idx.sort_by_key(|&i| (entries[i].effective_from, i));
        for (n, &a) in idx.iter().enumerate() {
            for &b in &idx[n + 1..] {
                let (ea, eb) = (&entries[a], &entries[b]);
                let a_to = ea.effective_to.map_or(i64::MAX, day_start);
                if a_to > day_start(eb.effective_from) {
                    // `a` starts no later than `b`: the pair is in time order.
                    let pair = (a, b);
                    let slot = pairs.entry(pair).or_insert((key.clone(), 0));
                    if key < slot.0 {
                        slot.0 = key.clone();
                    }
                    slot.1 += 1;
                }
            }
        }
    }
    for ((a, b), (key, count)) in pairs {
        let (ea, eb) = (&entries[a], &entries[b]);
        let more = if count > 1 {
            format!(" (and {} more keys)", count - 1)
        } else {
            String::new()
        };
        problems.push(
            CheckProblem::error(
                &eb.file,
                format!(
                    "date range {} overlaps entry `{}` ({}, {}{}) for key {}{}; end the \
                     earlier entry with effective_to = \"{}\" or narrow models/regions/scopes",
                    range(eb),
                    ea.id,
                    range(ea),
                    ea.file,
                    ea.line.map(|l| format!(":{l}")).unwrap_or_default(),
                    key,
                    more,
                    eb.effective_from.max(ea.effective_from),
                ),
            )
            .at_line(eb.line)
            .in_entry(&eb.id),
        );
    }

    // Long-context entries need a standard entry for the same key, else requests under the
    // threshold are unpriced.
    let mut standard: BTreeSet<(&str, &str, Scope, ServiceTier)> = BTreeSet::new();
    for e in entries
        .iter()
        .filter(|e| e.context == ContextBand::Standard)
    {
        for m in &e.models {
            for r in &e.regions {
                for &s in &e.scopes {
                    standard.insert((m, r, s, e.tier));
                }
            }
        }
    }
    for e in entries.iter().filter(|e| e.context == ContextBand::Long) {
        let missing = e
            .models
            .iter()
            .flat_map(|m| e.regions.iter().map(move |r| (m, r)))
            .flat_map(|(m, r)| e.scopes.iter().map(move |s| (m, r, *s)))
            .filter(|(m, r, s)| !standard.contains(&(m.as_str(), r.as_str(), *s, e.tier)))
            .count();
        if missing > 0 {
            problems.push(
                CheckProblem::warning(
                    &e.file,
                    format!(
                        "long-context entry has no standard-context entry for {missing} of its \
                         keys; requests at or under the threshold will be unpriced there"
                    ),
                )
                .at_line(e.line)
                .in_entry(&e.id),
            );
        }
    }
    problems
}

/// Summary counts for a loaded book.
pub(crate) fn report(book: &PriceBook) -> CheckReport {
    let models: BTreeSet<&str> = book
        .entries
        .iter()
        .flat_map(|e| e.models.iter().map(String::as_str))
        .collect();
    let regions: BTreeSet<&str> = book
        .entries
        .iter()
        .flat_map(|e| e.regions.iter().map(String::as_str))
        .collect();
    let mut by_conf = BTreeMap::new();
    for e in &book.entries {
        *by_conf.entry(e.confidence.as_str()).or_insert(0) += 1;
    }
    CheckReport {
        version: book.version.to_string(),
        description: book.description.clone(),
        files: book.files,
        entries: book.entries.len(),
        models: models.len(),
        regions: regions.len(),
        entries_by_confidence: by_conf,
        warnings: book.warnings.clone(),
    }
}

/// Parses a strict `YYYY-MM-DD` date (the only form the table accepts).
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}
