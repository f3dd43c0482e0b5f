//! Pricing: the versioned, effective-dated price table and exact lookups.
//!
//! Owns: the TOML schema of `pricing/*.toml` (documented in `pricing/README.md`), loading the
//! embedded table or a directory, validation (`pricing check`), and lookups by (model, region,
//! scope, service tier, context band, time). Must not: do I/O after load, use floats, or
//! invent a price: a missing price is `None`, which callers count as unpriced.
//!
//! # Layout
//!
//! - `load`: TOML files → [`PriceEntry`] values. Every file is linted key by key so one run
//!   reports every problem (file, line, entry, key, and how to fix it).
//! - `check`: cross-entry rules (duplicate ids, overlapping date ranges per expanded key),
//!   [`CheckProblem`], [`CheckReport`] and [`check_dir`] for `bedrock-meter pricing check`.
//! - `index`: the per-record lookup structure (no allocation per lookup).
//! - `entry`: [`PriceEntry`] and its accessors, [`Meter`], [`ImageBand`], [`Confidence`].
#![deny(clippy::float_arithmetic)]

mod check;
mod entry;
mod index;
mod load;
#[cfg(test)]
mod tests;

pub use check::{CheckProblem, CheckReport, Severity, check_dir};
pub use entry::{Confidence, ImageBand, Meter, PriceEntry};

use crate::money::Usd;
use crate::normalize::{Scope, ServiceTier};
use chrono::{DateTime, Utc};
use include_dir::{Dir, include_dir};
use index::Index;
use load::SourceFile;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Context band of a request: `long` applies to the whole request once its total input
/// (input + cache read + cache write) exceeds the entry's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContextBand {
    /// The normal price.
    Standard,
    /// The long-context price.
    Long,
}

impl ContextBand {
    /// `standard` or `long`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContextBand::Standard => "standard",
            ContextBand::Long => "long",
        }
    }
}

/// A token meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenMeter {
    /// Uncached input tokens.
    Input,
    /// Output tokens.
    Output,
    /// Prompt-cache reads.
    CacheRead,
    /// Prompt-cache writes, 5-minute TTL.
    CacheWrite5m,
    /// Prompt-cache writes, 1-hour TTL.
    CacheWrite1h,
}

impl TokenMeter {
    /// All token meters.
    pub const ALL: [TokenMeter; 5] = [
        TokenMeter::Input,
        TokenMeter::Output,
        TokenMeter::CacheRead,
        TokenMeter::CacheWrite5m,
        TokenMeter::CacheWrite1h,
    ];

    /// The ledger's meter name (`input_tokens`, `output_tokens`, `cache_read_tokens`,
    /// `cache_write_5m_tokens`, `cache_write_1h_tokens`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenMeter::Input => "input_tokens",
            TokenMeter::Output => "output_tokens",
            TokenMeter::CacheRead => "cache_read_tokens",
            TokenMeter::CacheWrite5m => "cache_write_5m_tokens",
            TokenMeter::CacheWrite1h => "cache_write_1h_tokens",
        }
    }
}

/// Provisioned-throughput commitment term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommitmentTerm {
    /// No commitment (hourly).
    None,
    /// One month.
    OneMonth,
    /// Six months.
    SixMonths,
}

/// What to look up.
#[derive(Debug, Clone, Copy)]
pub struct PriceQuery<'a> {
    /// Base model id as the normalizer resolved it (`anthropic.claude-sonnet-4-20250514-v1:0`).
    pub model: &'a str,
    /// Source region (`region` of the record).
    pub region: &'a str,
    /// Scope.
    pub scope: Scope,
    /// Service tier.
    pub tier: ServiceTier,
    /// When the usage happened.
    pub at: DateTime<Utc>,
}

/// The price of one image, with the size band it fell in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePrice {
    /// Dollars per image.
    pub usd_per_image: Usd,
    /// The band label, e.g. `1024x1024/premium`.
    pub band: String,
}

/// The repository's `pricing/` directory, compiled into the binary.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/pricing");

/// `include_dir!` does not make cargo rebuild when a file under `pricing/` changes (it needs
/// a nightly feature for that); `include_str!` does. Every embedded TOML file is listed here,
/// and [`PriceBook::embedded`] refuses a file missing from the list, so the list cannot rot.
macro_rules! tracked_files {
    ($($f:literal),* $(,)?) => {
        const TRACKED_FILES: &[&str] = &[$($f),*];
        $(const _: &str = include_str!(concat!("../../pricing/", $f));)*
    };
}

tracked_files!(
    "table.toml",
    "ai21.toml",
    "amazon.toml",
    "anthropic.toml",
    "cohere.toml",
    "deepseek.toml",
    "meta.toml",
    "mistral.toml",
    "openai.toml",
    "stability.toml",
    "twelvelabs.toml",
    "writer.toml",
);

/// The loaded table.
#[derive(Debug, Clone)]
pub struct PriceBook {
    /// Shared with every rollup key the table prices.
    pub(crate) version: std::sync::Arc<str>,
    pub(crate) description: String,
    pub(crate) region_groups: BTreeMap<String, Vec<String>>,
    pub(crate) entries: Vec<PriceEntry>,
    pub(crate) files: usize,
    /// Per-entry warnings found while loading (cross-entry ones are recomputed by `check`).
    pub(crate) entry_warnings: Vec<CheckProblem>,
    pub(crate) warnings: Vec<CheckProblem>,
    by_id: HashMap<String, u32>,
    index: Index,
}

/// Loading or validation failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PricingError(pub String);

impl PriceBook {
    /// The table embedded in the binary (the repository's `pricing/` directory).
    pub fn embedded() -> Result<PriceBook, PricingError> {
        let mut files: Vec<(String, String)> = Vec::new();
        for f in EMBEDDED.files() {
            let path = f.path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let name = path.to_string_lossy().into_owned();
            if !TRACKED_FILES.contains(&name.as_str()) {
                return Err(PricingError(format!(
                    "pricing/{name} is embedded but not listed in tracked_files! in \
                     src/pricing/mod.rs; add it there so cargo rebuilds when it changes"
                )));
            }
            let text = f
                .contents_utf8()
                .ok_or_else(|| PricingError(format!("pricing/{name} is not UTF-8")))?;
            files.push((format!("pricing/{name}"), text.to_string()));
        }
        files.sort();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        PriceBook::from_sources(&refs)
            .map_err(|p| PricingError::from_problems("embedded price table", &p))
    }

    /// Loads every `*.toml` in a directory (not its subdirectories). Fails with every problem
    /// found, one per line.
    pub fn from_dir(dir: &Path) -> Result<PriceBook, PricingError> {
        let read_err = |e: std::io::Error| {
            PricingError(format!(
                "cannot read price table directory {}: {e}",
                dir.display()
            ))
        };
        let mut files: Vec<(String, String)> = Vec::new();
        for item in std::fs::read_dir(dir).map_err(read_err)? {
            let path = item.map_err(read_err)?.path();
            if !path.is_file() || path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| PricingError(format!("cannot read {}: {e}", path.display())))?;
            files.push((path.display().to_string(), text));
        }
        files.sort();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        PriceBook::from_sources(&refs)
            .map_err(|p| PricingError::from_problems(&format!("price table {}", dir.display()), &p))
    }

    /// Loads a table from `(path, contents)` pairs, collecting every problem instead of
    /// stopping at the first. The file named `table.toml` holds `[table]` and
    /// `[region_groups]`; the others hold `[[price]]` entries. On success, warnings stay
    /// available through [`PriceBook::check`]; on failure, the `Vec` holds every error and
    /// warning.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<PriceBook, Vec<CheckProblem>> {
        let files: Vec<SourceFile> = sources
            .iter()
            .map(|(path, text)| SourceFile {
                name: Path::new(path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                display: (*path).to_string(),
                text: (*text).to_string(),
            })
            .collect();
        let (loaded, entry_warnings) = load::load(&files);
        let cross = check::cross_entry_problems(&loaded.entries);
        if entry_warnings
            .iter()
            .chain(&cross)
            .any(|p| p.severity == Severity::Error)
        {
            let mut all = entry_warnings;
            all.extend(cross);
            return Err(all);
        }
        let index = Index::build(&loaded.entries);
        let by_id = loaded
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.to_string(), i as u32))
            .collect();
        let mut book = PriceBook {
            version: loaded.version.into(),
            description: loaded.description,
            region_groups: loaded.region_groups,
            entries: loaded.entries,
            files: loaded.files,
            entry_warnings,
            warnings: Vec::new(),
            by_id,
            index,
        };
        book.warnings = book.check();
        Ok(book)
    }

    /// The table version string.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The version as the shared value rollup keys hold.
    pub fn version_shared(&self) -> &std::sync::Arc<str> {
        &self.version
    }

    /// The table description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Named region groups from `table.toml`.
    pub fn region_groups(&self) -> &BTreeMap<String, Vec<String>> {
        &self.region_groups
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[PriceEntry] {
        &self.entries
    }

    /// The entry with this id (for re-pricing and audit: the ledger stores entry ids).
    pub fn entry_by_id(&self, id: &str) -> Option<&PriceEntry> {
        self.by_id.get(id).map(|&i| &self.entries[i as usize])
    }

    /// Every model id the table prices, sorted.
    pub fn models(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.index.models.iter().map(|m| m.id.as_str()).collect();
        v.sort_unstable();
        v
    }

    /// Every region any entry prices, sorted.
    pub fn regions(&self) -> Vec<&str> {
        let set: BTreeSet<&str> = self
            .entries
            .iter()
            .flat_map(|e| e.regions.iter().map(String::as_str))
            .collect();
        set.into_iter().collect()
    }

    /// The entry that prices a request whose whole prompt is `total_input_tokens`.
    ///
    /// The model id is matched exactly, else with its trailing `:0` added or removed
    /// (`anthropic.claude-opus-4-6-v1` ↔ `anthropic.claude-opus-4-6-v1:0`); nothing fuzzier.
    /// Of the entries for (model, region, scope, tier) effective at `q.at`
    /// (`effective_from ≤ day < effective_to`, UTC), a `long` context entry wins when
    /// `total_input_tokens` exceeds its threshold, else the `standard` one. `None` means
    /// unpriced, never zero. Does not allocate.
    pub fn entry_for(&self, q: &PriceQuery<'_>, total_input_tokens: u64) -> Option<&PriceEntry> {
        self.index
            .find(
                q.model,
                q.region,
                q.scope,
                q.tier,
                q.at.timestamp(),
                total_input_tokens,
            )
            .map(|i| &self.entries[i as usize])
    }

    /// The entry with provisioned-throughput prices for a model in a region at a time.
    pub fn provisioned_entry(
        &self,
        model: &str,
        region: &str,
        at: DateTime<Utc>,
    ) -> Option<&PriceEntry> {
        let m = self.index.model(model)?;
        Index::find_dated(&m.provisioned, region, at.timestamp()).map(|i| &self.entries[i as usize])
    }

    /// The entry with customization prices (training, storage) for a model in a region at a
    /// time.
    pub fn customization_entry(
        &self,
        model: &str,
        region: &str,
        at: DateTime<Utc>,
    ) -> Option<&PriceEntry> {
        let m = self.index.model(model)?;
        Index::find_dated(&m.customization, region, at.timestamp())
            .map(|i| &self.entries[i as usize])
    }

    /// Entries for `bedrock-meter pricing show MODEL [--region R] [--at DATE]`.
    ///
    /// `model` may be a base id, an inference-profile id (`us.…`, `eu.…`, `apac.…`, `jp.…`,
    /// `au.…`, `ca.…`, `us-gov.…` → entries with the `geo` scope; `global.…` → `global`) or a
    /// foundation-model / inference-profile ARN. The `:0` tolerance of
    /// [`PriceBook::entry_for`] applies. Sorted by tier, context band, first scope, then date.
    pub fn entries_matching(
        &self,
        model: &str,
        region: Option<&str>,
        at: Option<DateTime<Utc>>,
    ) -> Vec<&PriceEntry> {
        let (id, scope) = query_model(model);
        let Some(m) = self.index.model(id) else {
            return Vec::new();
        };
        let mut out: Vec<&PriceEntry> = m
            .entries
            .iter()
            .map(|&i| &self.entries[i as usize])
            .filter(|e| region.is_none_or(|r| e.regions.iter().any(|x| x == r)))
            .filter(|e| at.is_none_or(|t| e.is_effective_at(t)))
            .filter(|e| scope.is_none_or(|s| e.scopes.contains(&s)))
            .collect();
        out.sort_by(|a, b| {
            (a.tier, a.context, a.scopes.first(), a.effective_from, &a.id).cmp(&(
                b.tier,
                b.context,
                b.scopes.first(),
                b.effective_from,
                &b.id,
            ))
        });
        out
    }

    /// Every problem `pricing check` reports for this table: per-entry warnings found at load
    /// and the cross-entry rules re-run now. A table that loaded has no errors, only warnings.
    pub fn check(&self) -> Vec<CheckProblem> {
        let mut all = self.entry_warnings.clone();
        all.extend(check::cross_entry_problems(&self.entries));
        all
    }

    /// Counts and warnings, as `pricing check` prints them.
    pub fn report(&self) -> CheckReport {
        check::report(self)
    }
}

/// Splits what a user typed for `pricing show` into a base id and the scope a profile
/// prefix implies.
fn query_model(model: &str) -> (&str, Option<Scope>) {
    let id = if model.starts_with("arn:") {
        model.rsplit('/').next().unwrap_or(model)
    } else {
        model
    };
    match load::split_geo_prefix(id) {
        Some(("global", base)) => (base, Some(Scope::Global)),
        Some((_, base)) => (base, Some(Scope::Geo)),
        None => (id, None),
    }
}
