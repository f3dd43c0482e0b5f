//! `bedrock-meter estimate`: what a prompt would cost on one or more models, before sending it.
//!
//! Counts the prompt's tokens once with tiktoken's `o200k_base` (the same process-wide encoder
//! the ingest estimate uses, see [`O200kBase`]) and prices them for each model from the price
//! table: input tokens, plus output tokens when the caller says how many to expect.
//!
//! Owns: model arguments (`all`, base ids, profile ids, foundation-model and system-profile
//! ARNs), the comparison rows and their order, the three renderings, and reading the prompt
//! (UTF-8 text from a file or stdin).
//! Must not: read the clock (the caller passes `at`), invent a price (a model without one is a
//! "no price" row, never $0), keep or print the prompt, or use floats.
#![deny(clippy::float_arithmetic)]

use crate::cli::{Format, PricingArgs, UsageError, load_book, parse_time};
use crate::money::{Usd, format_usd};
use crate::normalize::{Scope, ServiceTier};
use crate::pricing::{ContextBand, PriceBook, PriceEntry, PriceQuery, TokenMeter};
use anyhow::anyhow;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The encoding every count is made with.
pub const ENCODING: &str = "o200k_base";

/// The caveat printed with every estimate (table and CSV on a note line, JSON as a field).
pub const TOKENIZER_NOTE: &str = "Token counts use OpenAI's o200k_base encoding (tiktoken), \
which only approximates the tokenizers of Anthropic, Amazon, Meta, Mistral and the other \
Bedrock models: typically within ±10–20% for English prose; code and other languages can \
differ more. Costs price the text as uncached input (no prompt-cache, tool, image or \
message-format tokens).";

/// The `o200k_base` token counter. Its one function, `O200kBase::count(text) -> Option<u64>`,
/// is defined in `normalize/estimate.rs`, next to the encoder it shares with the ingest
/// estimate (that module is private to `normalize`). It encodes the text whole, so tiktoken-rs
/// panics on a whitespace run of about 500,000 characters; [`estimate`] counts in pieces.
#[derive(Debug, Clone, Copy)]
pub struct O200kBase;

/// What to estimate.
#[derive(Debug, Clone)]
pub struct EstimateRequest {
    /// Base model ids, inference-profile ids (`us.…`, `eu.…`, `global.…`), foundation-model or
    /// system-profile ARNs, or `all`. An item may itself be comma-separated.
    pub models: Vec<String>,
    /// The source region whose prices apply (`us-east-1`).
    pub region: String,
    /// The service tier to price.
    pub tier: ServiceTier,
    /// The time whose prices apply.
    pub at: DateTime<Utc>,
    /// Expected output tokens; `None` prices the input only.
    pub output_tokens: Option<u64>,
    /// The prompt.
    pub text: String,
}

/// One model's line of the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstimateRow {
    /// The model as asked for (a profile keeps its prefix), in the table's spelling.
    pub model: String,
    /// The base model id the price table keys on.
    pub base_model: String,
    /// Pricing scope: `in_region` for a base id, `geo` for `us.`/`eu.`/… profiles, `global`.
    pub scope: Scope,
    /// Service tier priced.
    pub tier: ServiceTier,
    /// Input tokens (the `o200k_base` count of the prompt).
    pub input_tokens: u64,
    /// Dollars per 1M input tokens, when the entry has that price.
    pub input_usd_per_1m: Option<Usd>,
    /// Output tokens as given by the caller.
    pub output_tokens: Option<u64>,
    /// Dollars per 1M output tokens, when the entry has that price.
    pub output_usd_per_1m: Option<Usd>,
    /// Exact cost; `None` means no price (never zero).
    pub cost_usd: Option<Usd>,
    /// The price entry behind the cost.
    pub price_entry: Option<String>,
    /// Context band of that entry (`long` once the prompt exceeds its threshold).
    pub context_band: Option<ContextBand>,
    /// Why there is no cost, for rows without one.
    pub no_price_reason: Option<String>,
}

/// The result: priced rows by cost ascending (ties by model, then scope), then the rows
/// without a price, by model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    /// The encoding used for the counts ([`ENCODING`]).
    pub encoding: &'static str,
    /// The approximation caveat ([`TOKENIZER_NOTE`]).
    pub tokenizer_note: &'static str,
    /// Version of the price table.
    pub pricing_version: String,
    /// Region priced.
    pub region: String,
    /// Tier priced.
    pub tier: ServiceTier,
    /// Time whose prices apply.
    pub at: DateTime<Utc>,
    /// Tokens in the prompt.
    pub input_tokens: u64,
    /// Output tokens as given.
    pub output_tokens: Option<u64>,
    /// One row per (model, scope).
    pub rows: Vec<EstimateRow>,
}

/// A `--model` item that is not in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownModel {
    /// As typed.
    pub model: String,
    /// Table model ids that look like it, best first.
    pub close_matches: Vec<String>,
}

/// Why an estimate could not be made. Each message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum EstimateError {
    /// `--model` is missing or empty.
    #[error(
        "no model given: pass --model with a base model id (amazon.nova-lite-v1:0), an \
         inference-profile id (us.…, global.…), a comma-separated list of them, or `all`"
    )]
    NoModels,
    /// Some models are not in the table.
    #[error("{}", unknown_models_message(.unknown, .pricing_version))]
    UnknownModels {
        /// Every unknown item.
        unknown: Vec<UnknownModel>,
        /// The table searched.
        pricing_version: String,
    },
    /// An ARN whose base model cannot be known offline.
    #[error(
        "`{model}` is a {kind} ARN: its base model cannot be known without calling AWS; pass \
         the base model id (e.g. amazon.nova-lite-v1:0) or the system profile id (us.…, global.…)"
    )]
    UnresolvableModel {
        /// As typed.
        model: String,
        /// The ARN resource type (`application-inference-profile`, `provisioned-model`, …).
        kind: String,
    },
    /// No entry of the table prices anything in this region.
    #[error(
        "region `{region}` has no prices in table {pricing_version}{}; pass --region with a \
         Bedrock region such as us-east-1",
        did_you_mean(.close_matches)
    )]
    UnknownRegion {
        /// As typed.
        region: String,
        /// Known regions that look like it.
        close_matches: Vec<String>,
        /// The table searched.
        pricing_version: String,
    },
    /// The input is not UTF-8.
    #[error(
        "{source_name} is not UTF-8 text (invalid byte at offset {byte_offset}, line {line}); \
         estimate reads text prompts: convert it first, e.g. `iconv -f LATIN1 -t UTF-8 FILE`"
    )]
    NotUtf8 {
        /// The file name, or `stdin`.
        source_name: String,
        /// Offset of the first invalid byte.
        byte_offset: usize,
        /// 1-based line of that byte.
        line: usize,
    },
    /// The input could not be read.
    #[error("cannot read {source_name}: {error}")]
    Read {
        /// The file name, or `stdin`.
        source_name: String,
        /// The I/O error.
        #[source]
        error: std::io::Error,
    },
    /// tiktoken could not build the `o200k_base` encoder.
    #[error("the o200k_base tokenizer could not be loaded; the build of tiktoken-rs is broken")]
    TokenizerUnavailable,
}

impl EstimateError {
    /// True for mistakes in what the user asked (exit code 2); false for runtime failures.
    pub fn is_usage(&self) -> bool {
        !matches!(
            self,
            EstimateError::Read { .. } | EstimateError::TokenizerUnavailable
        )
    }
}

fn did_you_mean(close: &[String]) -> String {
    if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", close.join(", "))
    }
}

fn unknown_models_message(unknown: &[UnknownModel], version: &str) -> String {
    let lines: Vec<String> = unknown
        .iter()
        .map(|u| {
            format!(
                "model `{}` is not in price table {version}{}",
                u.model,
                did_you_mean(&u.close_matches)
            )
        })
        .collect();
    format!(
        "{}\nPass a model id as the table spells it (list them with `bedrock-meter pricing \
         show <part of a name>`), a profile id (us.…, global.…), or `all`",
        lines.join("\n")
    )
}

/// Command-line arguments of `bedrock-meter estimate`.
#[derive(Debug, clap::Args)]
pub struct EstimateArgs {
    /// Price-table replacement (default: the embedded table).
    #[command(flatten)]
    pub pricing: PricingArgs,
    /// Models, comma-separated: base ids (amazon.nova-lite-v1:0), profile ids (us.…, eu.…,
    /// global.…; priced at the geo or global rate), or `all` (every model with a token price
    /// in the region at that time).
    #[arg(long, value_delimiter = ',', required = true)]
    pub model: Vec<String>,
    /// Source region whose prices apply.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Expected output tokens, priced at each model's output rate (default: input only).
    #[arg(long)]
    pub output_tokens: Option<u64>,
    /// Use the prices in effect at this UTC date (YYYY-MM-DD) or RFC 3339 time (default: now).
    #[arg(long)]
    pub at: Option<String>,
    /// Service tier to price.
    #[arg(long, default_value = "standard", value_parser = tier_parser())]
    pub tier: ServiceTier,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The prompt: a UTF-8 text file, or `-` for stdin.
    pub input: PathBuf,
}

fn tier_parser() -> impl clap::builder::TypedValueParser<Value = ServiceTier> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(ServiceTier::ALL.map(ServiceTier::as_str)).map(|s| {
        ServiceTier::parse(&s).unwrap_or(ServiceTier::Standard) // clap has checked it
    })
}

/// Runs `bedrock-meter estimate`; `now` is the default for `--at`. Returns the exit code.
pub fn run(args: EstimateArgs, now: DateTime<Utc>) -> anyhow::Result<u8> {
    let book = load_book(&args.pricing)?;
    let at = match &args.at {
        Some(a) => parse_time(a, false).map_err(|e| anyhow!(UsageError(format!("--at: {e}"))))?,
        None => now,
    };
    let fail = |e: EstimateError| {
        if e.is_usage() {
            anyhow!(UsageError(e.to_string()))
        } else {
            anyhow!(e)
        }
    };
    let text = read_input(&args.input).map_err(fail)?;
    let req = EstimateRequest {
        models: args.model,
        region: args.region,
        tier: args.tier,
        at,
        output_tokens: args.output_tokens,
        text,
    };
    let est = estimate(&book, &req).map_err(fail)?;
    match args.format {
        Format::Table => print!("{}", est.to_table()),
        Format::Csv => {
            print!("{}", est.to_csv()?);
            eprintln!("note: {TOKENIZER_NOTE}");
        }
        Format::Json => println!("{}", est.to_json()),
    }
    Ok(0)
}

/// Reads the prompt: `-` is stdin, anything else a file. See [`read_text`].
pub fn read_input(path: &Path) -> Result<String, EstimateError> {
    if path == Path::new("-") {
        return read_text(std::io::stdin().lock(), "stdin");
    }
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|error| EstimateError::Read {
        source_name: name.clone(),
        error,
    })?;
    read_text(file, &name)
}

/// Reads all of `r` as UTF-8 text (a leading byte-order mark is dropped). Invalid UTF-8 is an
/// error naming the offset and line of the first bad byte.
pub fn read_text<R: Read>(mut r: R, source_name: &str) -> Result<String, EstimateError> {
    let mut buf = Vec::new();
    r.read_to_end(&mut buf)
        .map_err(|error| EstimateError::Read {
            source_name: source_name.to_string(),
            error,
        })?;
    let mut text = String::from_utf8(buf).map_err(|e| {
        let byte_offset = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        EstimateError::NotUtf8 {
            source_name: source_name.to_string(),
            byte_offset,
            line: 1 + memchr::memchr_iter(b'\n', &bytes[..byte_offset]).count(),
        }
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// System inference-profile prefixes (mirrors `normalize::model_id`; that list is private).
const PROFILE_PREFIXES: [&str; 8] = ["us-gov", "global", "apac", "us", "eu", "jp", "au", "ca"];

/// One model to price.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    label: String,
    base: String,
    scope: Scope,
}

/// What one `--model` item names.
enum Parsed {
    All,
    One(Wanted),
    Unknown(UnknownModel),
}

/// Table model ids, and lookups that tolerate a missing or extra trailing `:0` as
/// [`PriceBook::entry_for`] does.
struct Models<'a> {
    sorted: Vec<&'a str>,
    set: HashSet<&'a str>,
}

impl<'a> Models<'a> {
    fn new(book: &'a PriceBook) -> Models<'a> {
        let sorted = book.models();
        let set = sorted.iter().copied().collect();
        Models { sorted, set }
    }

    fn canonical(&self, id: &str) -> Option<&'a str> {
        let alias = match id.strip_suffix(":0") {
            Some(base) => base.to_string(),
            None => format!("{id}:0"),
        };
        self.set
            .get(id)
            .or_else(|| self.set.get(alias.as_str()))
            .copied()
    }
}

fn parse_model(models: &Models<'_>, raw: &str) -> Result<Parsed, EstimateError> {
    if raw.eq_ignore_ascii_case("all") {
        return Ok(Parsed::All);
    }
    let id = match raw.strip_prefix("arn:") {
        None => raw,
        Some(rest) => {
            let resource = rest.splitn(5, ':').nth(4).unwrap_or("");
            let (kind, id) = resource.split_once('/').unwrap_or((resource, ""));
            if !matches!(kind, "foundation-model" | "inference-profile") || id.is_empty() {
                return Err(EstimateError::UnresolvableModel {
                    model: raw.to_string(),
                    kind: if kind.is_empty() { "malformed" } else { kind }.to_string(),
                });
            }
            id
        }
    };
    let (prefix, base, scope) = match id.split_once('.') {
        Some((p, rest)) if PROFILE_PREFIXES.contains(&p) && rest.contains('.') => {
            let scope = if p == "global" {
                Scope::Global
            } else {
                Scope::Geo
            };
            (Some(p), rest, scope)
        }
        _ => (None, id, Scope::InRegion),
    };
    let Some(canonical) = models.canonical(base) else {
        return Ok(Parsed::Unknown(UnknownModel {
            model: raw.to_string(),
            close_matches: close_matches(&models.sorted, base),
        }));
    };
    Ok(Parsed::One(Wanted {
        label: prefix.map_or_else(|| canonical.to_string(), |p| format!("{p}.{canonical}")),
        base: canonical.to_string(),
        scope,
    }))
}

/// Up to 5 candidates that look like `wanted`: those containing it (as typed, then ignoring
/// case and punctuation, so `claude sonnet 4.5` finds `…claude-sonnet-4-5…`), then those a
/// few edits away. Shorter names first within a rank.
fn close_matches(candidates: &[&str], wanted: &str) -> Vec<String> {
    fn squash(s: &str) -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    }
    let lower = wanted.to_ascii_lowercase();
    let squashed = squash(wanted);
    let max_edits = (wanted.chars().count() / 4).max(2);
    let mut ranked: Vec<(usize, usize, &str)> = candidates
        .iter()
        .filter_map(|&c| {
            let rank = if !lower.is_empty() && c.contains(lower.as_str()) {
                0
            } else if squashed.len() >= 3 && squash(c).contains(squashed.as_str()) {
                1
            } else {
                let d = edit_distance(&lower, c);
                if d > max_edits {
                    return None;
                }
                2 + d
            };
            Some((rank, c.len(), c))
        })
        .collect();
    ranked.sort_unstable();
    ranked
        .into_iter()
        .take(5)
        .map(|(_, _, c)| c.to_string())
        .collect()
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Largest piece of a prompt handed to the encoder at once. tiktoken-rs splits text with a
/// backtracking regex that panics past a million steps, which one run of about 500,000
/// whitespace characters reaches; 128 KiB pieces stay far below that.
const CHUNK_BYTES: usize = 128 * 1024;

/// `o200k_base` tokens in a prompt of any size, counted in pieces of at most [`CHUNK_BYTES`].
///
/// A piece ends just before a space that follows a non-whitespace character. No token of the
/// encoding's pre-split pattern spans such a place and the pattern looks only ahead, so the sum
/// over pieces equals the count of the whole text. Only a stretch of `CHUNK_BYTES` without such
/// a place (a huge whitespace run, a space-free blob) is cut elsewhere, which can change the
/// count by a token or two at that cut.
pub(crate) fn count_prompt(text: &str) -> Option<u64> {
    count_in_pieces(text, CHUNK_BYTES).map(|(tokens, _)| tokens)
}

/// Tokens of `text` counted in pieces of at most `max` bytes, and whether every cut was at a
/// place that cannot change the count.
fn count_in_pieces(text: &str, max: usize) -> Option<(u64, bool)> {
    let (mut total, mut exact, mut rest) = (0, true, text);
    while rest.len() > max {
        let (cut, safe) = cut_at(rest, max);
        total += O200kBase::count(&rest[..cut])?;
        exact &= safe;
        rest = &rest[cut..];
    }
    Some((total + O200kBase::count(rest)?, exact))
}

/// Where to end the first piece of `text` (longer than `max`), and whether that place is safe:
/// the last byte offset in `1..=max` holding a space preceded by a non-whitespace character;
/// failing that the last character boundary in `1..=max` (or the end of the first character).
fn cut_at(text: &str, max: usize) -> (usize, bool) {
    let bytes = text.as_bytes();
    for p in (1..=max).rev() {
        if bytes[p] == b' '
            && text[..p]
                .chars()
                .next_back()
                .is_some_and(|c| !c.is_whitespace())
        {
            return (p, true);
        }
    }
    let forced = (1..=max)
        .rev()
        .find(|&p| text.is_char_boundary(p))
        .unwrap_or_else(|| text.chars().next().map_or(text.len(), char::len_utf8));
    (forced, false)
}

/// Every (model, scope) with an input-token price in `region` at `at`, under any tier.
fn all_models(book: &PriceBook, region: &str, at: DateTime<Utc>) -> BTreeSet<(String, Scope)> {
    book.entries()
        .iter()
        .filter(|e| {
            e.token_usd_per_1m(TokenMeter::Input).is_some()
                && e.is_effective_at(at)
                && e.regions().iter().any(|r| r == region)
        })
        .flat_map(|e| {
            e.models()
                .iter()
                .flat_map(|m| e.scopes().iter().map(move |&s| (m.clone(), s)))
        })
        .collect()
}

/// Counts the prompt and prices it for every model asked for. Pure: no I/O, no clock.
pub fn estimate(book: &PriceBook, req: &EstimateRequest) -> Result<Estimate, EstimateError> {
    let items: Vec<&str> = req
        .models
        .iter()
        .flat_map(|m| m.split(','))
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    if items.is_empty() {
        return Err(EstimateError::NoModels);
    }
    let models = Models::new(book);
    let mut wanted: Vec<Wanted> = Vec::new();
    let mut unknown: Vec<UnknownModel> = Vec::new();
    let mut all = false;
    for item in items {
        match parse_model(&models, item)? {
            Parsed::All => all = true,
            Parsed::One(w) => wanted.push(w),
            Parsed::Unknown(u) => unknown.push(u),
        }
    }
    if !unknown.is_empty() {
        return Err(EstimateError::UnknownModels {
            unknown,
            pricing_version: book.version().to_string(),
        });
    }
    let regions = book.regions();
    if !regions.contains(&req.region.as_str()) {
        return Err(EstimateError::UnknownRegion {
            close_matches: close_matches(&regions, &req.region),
            region: req.region.clone(),
            pricing_version: book.version().to_string(),
        });
    }
    if all {
        wanted.extend(
            all_models(book, &req.region, req.at)
                .into_iter()
                .map(|(base, scope)| Wanted {
                    label: base.clone(),
                    base,
                    scope,
                }),
        );
    }
    let mut seen = HashSet::new();
    wanted.retain(|w| seen.insert((w.base.clone(), w.scope)));

    let input_tokens = count_prompt(&req.text).ok_or(EstimateError::TokenizerUnavailable)?;
    let mut rows: Vec<EstimateRow> = wanted
        .into_iter()
        .map(|w| price_row(book, req, w, input_tokens))
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &EstimateRow| (r.cost_usd.is_none(), r.cost_usd);
        key(a)
            .cmp(&key(b))
            .then_with(|| a.model.cmp(&b.model))
            .then_with(|| a.scope.cmp(&b.scope))
    });
    Ok(Estimate {
        encoding: ENCODING,
        tokenizer_note: TOKENIZER_NOTE,
        pricing_version: book.version().to_string(),
        region: req.region.clone(),
        tier: req.tier,
        at: req.at,
        input_tokens,
        output_tokens: req.output_tokens,
        rows,
    })
}

/// `tokens × usd_per_1m / 1,000,000`, exactly; `None` only past `Decimal`'s range.
fn cost_of(tokens: u64, usd_per_1m: Usd) -> Option<Usd> {
    Usd::from(tokens)
        .checked_mul(usd_per_1m)?
        .checked_div(Usd::from(1_000_000u32))
}

fn price_row(book: &PriceBook, req: &EstimateRequest, w: Wanted, input_tokens: u64) -> EstimateRow {
    let mut row = EstimateRow {
        model: w.label,
        base_model: w.base,
        scope: w.scope,
        tier: req.tier,
        input_tokens,
        input_usd_per_1m: None,
        output_tokens: req.output_tokens,
        output_usd_per_1m: None,
        cost_usd: None,
        price_entry: None,
        context_band: None,
        no_price_reason: None,
    };
    let q = PriceQuery {
        model: &row.base_model,
        region: &req.region,
        scope: row.scope,
        tier: req.tier,
        at: req.at,
    };
    let Some(entry) = book.entry_for(&q, input_tokens) else {
        row.no_price_reason = Some(why_unpriced(book, &q));
        return row;
    };
    row.price_entry = Some(entry.id().to_string());
    row.context_band = Some(entry.context_band());
    row.input_usd_per_1m = entry.token_usd_per_1m(TokenMeter::Input);
    row.output_usd_per_1m = entry.token_usd_per_1m(TokenMeter::Output);
    let Some(in_price) = row.input_usd_per_1m else {
        row.no_price_reason = Some(format!("entry {} has no input-token price", entry.id()));
        return row;
    };
    let output = match (req.output_tokens.filter(|&n| n > 0), row.output_usd_per_1m) {
        (None, _) => Some(Usd::ZERO),
        (Some(n), Some(out_price)) => cost_of(n, out_price),
        (Some(_), None) => {
            row.no_price_reason = Some(format!("entry {} has no output-token price", entry.id()));
            return row;
        }
    };
    row.cost_usd = cost_of(input_tokens, in_price)
        .zip(output)
        .and_then(|(i, o)| i.checked_add(o));
    if row.cost_usd.is_none() {
        row.no_price_reason = Some("the cost is beyond exact decimal range".to_string());
    }
    row
}

/// A short reason for a missing price: region, date, scope, tier or context band.
fn why_unpriced(book: &PriceBook, q: &PriceQuery<'_>) -> String {
    let date = q.at.format("%Y-%m-%d");
    let has_tokens = |e: &&PriceEntry| e.token_usd_per_1m(TokenMeter::Input).is_some();
    let here: Vec<&PriceEntry> = book
        .entries_matching(q.model, Some(q.region), Some(q.at))
        .into_iter()
        .filter(has_tokens)
        .collect();
    let list = |v: BTreeSet<&str>| v.into_iter().collect::<Vec<_>>().join(", ");
    if here.is_empty() {
        let other_dates = book
            .entries_matching(q.model, Some(q.region), None)
            .iter()
            .any(has_tokens);
        return if other_dates {
            format!("no token price in {} in effect on {date}", q.region)
        } else {
            format!("no token price in {}", q.region)
        };
    }
    let scoped: Vec<&PriceEntry> = here
        .iter()
        .copied()
        .filter(|e| e.scopes().contains(&q.scope))
        .collect();
    if scoped.is_empty() {
        let scopes = here
            .iter()
            .flat_map(|e| e.scopes().iter().map(|s| s.as_str()))
            .collect();
        return format!(
            "no {} price in {} (priced scopes: {})",
            q.scope.as_str(),
            q.region,
            list(scopes)
        );
    }
    if scoped.iter().any(|e| e.tier() == q.tier) {
        return format!(
            "only a long-context {} price in {}, and the prompt is below its threshold",
            q.tier.as_str(),
            q.region
        );
    }
    let tiers = scoped.iter().map(|e| e.tier().as_str()).collect();
    format!(
        "no {} tier price for {} in {} (priced tiers: {})",
        q.tier.as_str(),
        q.scope.as_str(),
        q.region,
        list(tiers)
    )
}

fn opt_usd(v: Option<Usd>) -> String {
    v.map(format_usd).unwrap_or_default()
}

fn opt_u64(v: Option<u64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

const NO_PRICE: &str = "no price";

impl Estimate {
    /// The summary line above the table.
    fn headline(&self) -> String {
        let output = self
            .output_tokens
            .map(|n| format!(" + {n} output tokens (as given)"))
            .unwrap_or_default();
        format!(
            "Prompt: {} input tokens ({}){output} · region {} · tier {} · prices in effect {} · \
             price table {}",
            self.input_tokens,
            self.encoding,
            self.region,
            self.tier.as_str(),
            self.at.format("%Y-%m-%d"),
            self.pricing_version
        )
    }

    /// A terminal table sorted by cost, the approximation note, and the reasons for rows
    /// without a price.
    pub fn to_table(&self) -> String {
        use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        t.set_header([
            "model",
            "scope",
            "tier",
            "input tokens",
            "input $/1M",
            "output tokens",
            "output $/1M",
            "cost USD",
            "price entry",
        ]);
        for r in &self.rows {
            let dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
            t.add_row([
                r.model.clone(),
                r.scope.as_str().to_string(),
                r.tier.as_str().to_string(),
                r.input_tokens.to_string(),
                dash(opt_usd(r.input_usd_per_1m)),
                dash(opt_u64(r.output_tokens)),
                dash(opt_usd(r.output_usd_per_1m)),
                r.cost_usd.map_or_else(|| NO_PRICE.to_string(), format_usd),
                dash(r.price_entry.clone().unwrap_or_default()),
            ]);
        }
        for i in [3, 4, 5, 6, 7] {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        let mut out = format!("{}\n{t}\nNote: {}\n", self.headline(), self.tokenizer_note);
        let unpriced: Vec<&EstimateRow> =
            self.rows.iter().filter(|r| r.cost_usd.is_none()).collect();
        if !unpriced.is_empty() {
            out.push_str(&format!(
                "No price ({} row{}; left out, never counted as $0):\n",
                unpriced.len(),
                if unpriced.len() == 1 { "" } else { "s" }
            ));
            for r in unpriced {
                out.push_str(&format!(
                    "  {} ({}): {}\n",
                    r.model,
                    r.scope.as_str(),
                    r.no_price_reason.as_deref().unwrap_or(NO_PRICE)
                ));
            }
        }
        out
    }

    /// CSV, one row per model in table order; money as exact decimal strings, `cost_usd`
    /// empty and `no_price_reason` set when there is no price. Every row names the encoding
    /// (`token_encoding`); the note itself is in [`TOKENIZER_NOTE`].
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "model",
            "base_model",
            "scope",
            "tier",
            "region",
            "input_tokens",
            "input_usd_per_1m",
            "output_tokens",
            "output_usd_per_1m",
            "cost_usd",
            "price_entry",
            "context_band",
            "no_price_reason",
            "token_encoding",
            "pricing_version",
        ])?;
        for r in &self.rows {
            w.write_record([
                r.model.as_str(),
                r.base_model.as_str(),
                r.scope.as_str(),
                r.tier.as_str(),
                self.region.as_str(),
                &r.input_tokens.to_string(),
                &opt_usd(r.input_usd_per_1m),
                &opt_u64(r.output_tokens),
                &opt_usd(r.output_usd_per_1m),
                &opt_usd(r.cost_usd),
                r.price_entry.as_deref().unwrap_or(""),
                r.context_band.map_or("", ContextBand::as_str),
                r.no_price_reason.as_deref().unwrap_or(""),
                self.encoding,
                self.pricing_version.as_str(),
            ])?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Pretty JSON: `encoding`, `tokenizer_note`, `pricing_version`, `region`, `tier`, `at`,
    /// `input_tokens`, `output_tokens`, and `rows[]` with the CSV's fields; money as exact
    /// decimal strings, `null` when there is no price.
    pub fn to_json(&self) -> String {
        #[derive(serde::Serialize)]
        struct Row<'a> {
            model: &'a str,
            base_model: &'a str,
            scope: &'a str,
            tier: &'a str,
            input_tokens: u64,
            input_usd_per_1m: Option<String>,
            output_tokens: Option<u64>,
            output_usd_per_1m: Option<String>,
            cost_usd: Option<String>,
            price_entry: Option<&'a str>,
            context_band: Option<&'a str>,
            no_price_reason: Option<&'a str>,
        }
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            encoding: &'a str,
            tokenizer_note: &'a str,
            pricing_version: &'a str,
            region: &'a str,
            tier: &'a str,
            at: String,
            input_tokens: u64,
            output_tokens: Option<u64>,
            rows: Vec<Row<'a>>,
        }
        let doc = Doc {
            encoding: self.encoding,
            tokenizer_note: self.tokenizer_note,
            pricing_version: &self.pricing_version,
            region: &self.region,
            tier: self.tier.as_str(),
            at: self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            rows: self
                .rows
                .iter()
                .map(|r| Row {
                    model: &r.model,
                    base_model: &r.base_model,
                    scope: r.scope.as_str(),
                    tier: r.tier.as_str(),
                    input_tokens: r.input_tokens,
                    input_usd_per_1m: r.input_usd_per_1m.map(format_usd),
                    output_tokens: r.output_tokens,
                    output_usd_per_1m: r.output_usd_per_1m.map(format_usd),
                    cost_usd: r.cost_usd.map(format_usd),
                    price_entry: r.price_entry.as_deref(),
                    context_band: r.context_band.map(ContextBand::as_str),
                    no_price_reason: r.no_price_reason.as_deref(),
                })
                .collect(),
        };
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn book() -> PriceBook {
        PriceBook::embedded().unwrap_or_else(|e| panic!("{e}"))
    }

    fn usd(s: &str) -> Usd {
        Usd::from_str(s).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn request(models: &[&str], text: &str, output_tokens: Option<u64>) -> EstimateRequest {
        EstimateRequest {
            models: models.iter().map(|m| m.to_string()).collect(),
            region: "us-east-1".to_string(),
            tier: ServiceTier::Standard,
            at: at("2026-11-26T12:00:00Z"),
            output_tokens,
            text: text.to_string(),
        }
    }

    fn run_ok(book: &PriceBook, req: &EstimateRequest) -> Estimate {
        estimate(book, req).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A fixed English sentence and its o200k_base count (computed once with tiktoken-rs
    /// 0.12, pinned here: a change means the encoder changed).
    const SENTENCE: &str = "The quick brown fox jumps over the lazy dog.";
    const SENTENCE_TOKENS: u64 = 10;

    #[test]
    fn a_short_english_sentence_has_a_pinned_o200k_count() {
        assert_eq!(O200kBase::count(SENTENCE), Some(SENTENCE_TOKENS));
        assert_eq!(O200kBase::count(""), Some(0));
        let e = run_ok(
            &book(),
            &request(&["amazon.nova-lite-v1:0"], SENTENCE, None),
        );
        assert_eq!(e.input_tokens, SENTENCE_TOKENS);
        assert_eq!(e.encoding, "o200k_base");
    }

    #[test]
    fn nova_lite_in_us_east_1_costs_its_input_and_output_rates_exactly() {
        // A longer prompt: count it, then price it by the rates.
        let text = "word ".repeat(2_000);
        let tokens = O200kBase::count(&text).unwrap();
        let e = run_ok(
            &book(),
            &request(&["amazon.nova-lite-v1:0"], &text, Some(500)),
        );
        let r = &e.rows[0];
        assert_eq!(r.input_usd_per_1m, Some(usd("0.06")));
        assert_eq!(r.output_usd_per_1m, Some(usd("0.24")));
        // input: tokens × 0.06 / 1e6; output: 500 × 0.24 / 1e6 = 0.00012.
        let want = Usd::from(tokens) * usd("0.06") / usd("1000000") + usd("0.00012");
        assert_eq!(r.cost_usd, Some(want));
        assert_eq!(
            r.price_entry.as_deref(),
            Some("amazon.nova-lite/standard/2024-12-03")
        );
        assert_eq!(r.scope, Scope::InRegion);

        // And one fully by hand: the pinned sentence (10 tokens) + 1,000 output tokens:
        // 10 × 0.06 / 1e6 = 0.0000006; 1,000 × 0.24 / 1e6 = 0.00024; total 0.0002406.
        let e = run_ok(
            &book(),
            &request(&["amazon.nova-lite-v1:0"], SENTENCE, Some(1_000)),
        );
        assert_eq!(e.rows[0].cost_usd, Some(usd("0.0002406")));
        assert!(e.to_table().contains("0.0002406"));
    }

    #[test]
    fn claude_sonnet_4_5_global_is_cheaper_than_geo_by_the_table_rates() {
        let base = "anthropic.claude-sonnet-4-5-20250929-v1:0";
        let models = [format!("global.{base}"), format!("us.{base}")];
        let models: Vec<&str> = models.iter().map(String::as_str).collect();
        let e = run_ok(&book(), &request(&models, SENTENCE, Some(1_000)));
        assert_eq!(e.rows.len(), 2);
        let (global, geo) = (&e.rows[0], &e.rows[1]);
        assert_eq!(global.scope, Scope::Global);
        assert_eq!(global.model, format!("global.{base}"));
        assert_eq!(geo.scope, Scope::Geo);
        assert_eq!(geo.model, format!("us.{base}"));
        // global: 10 × 3.00 / 1e6 = 0.00003; 1,000 × 15.00 / 1e6 = 0.015; total 0.01503.
        assert_eq!(global.cost_usd, Some(usd("0.01503")));
        // geo: 10 × 3.30 / 1e6 = 0.000033; 1,000 × 16.50 / 1e6 = 0.0165; total 0.016533.
        assert_eq!(geo.cost_usd, Some(usd("0.016533")));
        assert_eq!(
            global.price_entry.as_deref(),
            Some("anthropic.claude-sonnet-4-5/global/standard/2025-09-29")
        );
        assert_eq!(
            geo.price_entry.as_deref(),
            Some("anthropic.claude-sonnet-4-5/geo/standard/2025-09-29")
        );
        assert_eq!(format_usd(geo.cost_usd.unwrap()), "0.016533");
    }

    #[test]
    fn a_prompt_over_200k_tokens_uses_the_long_context_entry() {
        let text = "hello ".repeat(210_000);
        let e = run_ok(
            &book(),
            &request(
                &["global.anthropic.claude-sonnet-4-5-20250929-v1:0"],
                &text,
                None,
            ),
        );
        let r = &e.rows[0];
        assert!(r.input_tokens > 200_000, "{}", r.input_tokens);
        assert_eq!(r.context_band, Some(ContextBand::Long));
        assert_eq!(r.input_usd_per_1m, Some(usd("6.00")));
    }

    #[test]
    fn the_trailing_colon_zero_is_optional_and_duplicates_collapse() {
        let e = run_ok(
            &book(),
            &request(
                &[
                    "amazon.nova-lite-v1",
                    "amazon.nova-lite-v1:0,amazon.nova-lite-v1:0",
                ],
                SENTENCE,
                None,
            ),
        );
        assert_eq!(e.rows.len(), 1);
        assert_eq!(e.rows[0].model, "amazon.nova-lite-v1:0");
        assert_eq!(e.rows[0].cost_usd, Some(usd("0.0000006")));
    }

    /// A small table: two priced models at different rates, one with a batch price only,
    /// and an embedding model without an output price.
    fn small_book() -> PriceBook {
        let table = r#"
[table]
version = "test.1"
description = "test"

[region_groups]
us = ["us-east-1", "us-west-2"]
"#;
        let entry = |id: &str, model: &str, tier: &str, prices: &str| {
            format!(
                r#"
[[price]]
id = "{id}"
models = ["{model}"]
region_groups = ["us"]
scopes = ["in_region"]
service_tier = "{tier}"
effective_from = "2025-01-01"
{prices}
source = "test"
retrieved = "2025-01-01"
confidence = "A"
"#
            )
        };
        let prices = [
            entry(
                "b-std",
                "acme.bbb-v1:0",
                "standard",
                "input_usd_per_1m_tokens = \"1.00\"\noutput_usd_per_1m_tokens = \"2.00\"",
            ),
            entry(
                "a-std",
                "acme.aaa-v1:0",
                "standard",
                "input_usd_per_1m_tokens = \"5.00\"\noutput_usd_per_1m_tokens = \"10.00\"",
            ),
            entry(
                "c-std",
                "acme.ccc-v1:0",
                "standard",
                "input_usd_per_1m_tokens = \"1.00\"\noutput_usd_per_1m_tokens = \"2.00\"",
            ),
            entry(
                "z-batch",
                "acme.zzz-v1:0",
                "batch",
                "input_usd_per_1m_tokens = \"0.01\"\noutput_usd_per_1m_tokens = \"0.02\"",
            ),
            entry(
                "e-std",
                "acme.embed-v1:0",
                "standard",
                "input_usd_per_1m_tokens = \"0.02\"",
            ),
        ]
        .concat();
        PriceBook::from_sources(&[
            ("pricing/table.toml", table),
            ("pricing/test.toml", &prices),
        ])
        .unwrap_or_else(|p| panic!("{p:?}"))
    }

    #[test]
    fn all_sorts_by_cost_ascending_with_ties_by_name_and_lists_unpriced_last() {
        let e = run_ok(&small_book(), &request(&["all"], SENTENCE, Some(100)));
        let order: Vec<(&str, Option<String>)> = e
            .rows
            .iter()
            .map(|r| (r.model.as_str(), r.cost_usd.map(format_usd)))
            .collect();
        // bbb and ccc cost the same: 10 × 1.00 / 1e6 + 100 × 2.00 / 1e6 = 0.00021.
        // aaa: 10 × 5.00 / 1e6 + 100 × 10.00 / 1e6 = 0.00105.
        // embed: no output price; zzz: batch only. Unpriced, by name, never $0.
        assert_eq!(
            order,
            [
                ("acme.bbb-v1:0", Some("0.00021".to_string())),
                ("acme.ccc-v1:0", Some("0.00021".to_string())),
                ("acme.aaa-v1:0", Some("0.00105".to_string())),
                ("acme.embed-v1:0", None),
                ("acme.zzz-v1:0", None),
            ]
        );
        let zzz = &e.rows[4];
        assert!(
            zzz.no_price_reason
                .as_deref()
                .is_some_and(|r| r.contains("priced tiers: batch")),
            "{zzz:?}"
        );
        let table = e.to_table();
        assert!(table.contains("no price"), "{table}");
        for line in table
            .lines()
            .filter(|l| l.contains("acme.zzz") || l.contains("embed"))
        {
            assert!(!line.contains(" 0.00 ") && !line.contains(" 0 "), "{line}");
        }
        let csv = e.to_csv().unwrap();
        assert_eq!(csv.lines().count(), 6);
        assert!(csv.lines().nth(5).unwrap().starts_with("acme.zzz-v1:0,"));
    }

    #[test]
    fn all_on_the_embedded_table_is_sorted_and_never_prices_at_zero() {
        let e = run_ok(&book(), &request(&["all"], SENTENCE, Some(100)));
        assert!(e.rows.len() > 20, "{}", e.rows.len());
        let costs: Vec<Option<Usd>> = e.rows.iter().map(|r| r.cost_usd).collect();
        let first_unpriced = costs
            .iter()
            .position(Option::is_none)
            .unwrap_or(costs.len());
        assert!(costs[first_unpriced..].iter().all(Option::is_none));
        let priced: Vec<Usd> = costs[..first_unpriced].iter().flatten().copied().collect();
        assert!(priced.windows(2).all(|w| w[0] <= w[1]));
        assert!(priced.iter().all(|c| *c > Usd::ZERO));
        assert!(
            e.rows
                .iter()
                .any(|r| r.model == "amazon.nova-lite-v1:0" && r.scope == Scope::InRegion)
        );
    }

    #[test]
    fn json_names_the_encoding_and_carries_the_approximation_note() {
        let e = run_ok(
            &small_book(),
            &request(&["acme.aaa-v1:0", "acme.zzz-v1:0"], SENTENCE, None),
        );
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["encoding"], "o200k_base");
        let note = v["tokenizer_note"].as_str().unwrap();
        assert!(
            note.contains("o200k_base") && note.contains("approximates"),
            "{note}"
        );
        assert!(note.contains("±10–20%"), "{note}");
        assert_eq!(v["input_tokens"], SENTENCE_TOKENS);
        assert_eq!(v["output_tokens"], serde_json::Value::Null);
        assert_eq!(v["rows"][0]["cost_usd"], "0.00005");
        assert_eq!(v["rows"][1]["cost_usd"], serde_json::Value::Null);
        assert!(v["rows"][1]["no_price_reason"].is_string());
        assert!(
            e.to_table()
                .contains("Note: Token counts use OpenAI's o200k_base")
        );
    }

    #[test]
    fn an_unknown_model_is_an_error_naming_close_matches() {
        let err = estimate(
            &book(),
            &request(&["amazon.nova-lyte-v1:0"], SENTENCE, None),
        )
        .unwrap_err();
        let EstimateError::UnknownModels { unknown, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(unknown[0].close_matches[0], "amazon.nova-lite-v1:0");
        let msg = err.to_string();
        assert!(msg.contains("did you mean amazon.nova-lite-v1:0"), "{msg}");
        assert!(msg.contains("pricing show"), "{msg}");
        assert!(err.is_usage());

        let err =
            estimate(&book(), &request(&["us.claude sonnet 4.5"], SENTENCE, None)).unwrap_err();
        assert!(
            err.to_string()
                .contains("anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_model_list_is_an_error_that_says_what_to_pass() {
        for models in [&[][..], &[""][..], &[" , "][..]] {
            let err = estimate(&book(), &request(models, SENTENCE, None)).unwrap_err();
            assert!(matches!(err, EstimateError::NoModels), "{err:?}");
            assert!(err.to_string().contains("`all`"));
        }
    }

    #[test]
    fn an_unknown_region_is_an_error_naming_close_matches() {
        let mut req = request(&["amazon.nova-lite-v1:0"], SENTENCE, None);
        req.region = "us-east1".to_string();
        let err = estimate(&book(), &req).unwrap_err();
        assert!(err.to_string().contains("did you mean us-east-1"), "{err}");
    }

    #[test]
    fn a_known_model_without_a_price_here_is_a_no_price_row_not_an_error() {
        let mut req = request(&["amazon.nova-lite-v1:0"], SENTENCE, None);
        req.at = at("2020-01-01T00:00:00Z");
        let e = run_ok(&book(), &req);
        assert_eq!(e.rows[0].cost_usd, None);
        assert!(
            e.rows[0]
                .no_price_reason
                .as_deref()
                .is_some_and(|r| r.contains("in effect on 2020-01-01")),
            "{:?}",
            e.rows[0]
        );
    }

    #[test]
    fn application_profile_arns_cannot_be_estimated_offline() {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc";
        let err = estimate(&book(), &request(&[arn], SENTENCE, None)).unwrap_err();
        assert!(matches!(err, EstimateError::UnresolvableModel { .. }));
        let fm = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0";
        let e = run_ok(&book(), &request(&[fm], SENTENCE, None));
        assert_eq!(e.rows[0].model, "amazon.nova-lite-v1:0");
    }

    #[test]
    fn input_must_be_utf8_and_the_error_names_the_line() {
        let err = read_text(&b"line one\nline \xff two"[..], "prompt.txt").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("prompt.txt is not UTF-8"), "{msg}");
        assert!(msg.contains("offset 14, line 2"), "{msg}");
        assert!(err.is_usage());
        assert_eq!(
            read_text(&b"\xef\xbb\xbfhi"[..], "bom.txt").unwrap(),
            "hi".to_string()
        );
    }

    #[test]
    fn counting_in_pieces_gives_the_count_of_the_whole_text() {
        let mut text = String::new();
        for i in 0..12_000 {
            text.push_str(match i % 6 {
                0 => "The quick brown fox jumps over the lazy dog.  ",
                1 => "fn main() {\n    let x = vec![1, 2, 3];\n}\n",
                2 => "Zoë's café — naïve coöperation, 東京 and Москва.\t",
                3 => "   \n\n  \t  ",
                4 => "IDs: 12345678, 0xDEADBEEF; URL=https://example.com/a/b?c=d ",
                _ => "I'll say it's THEY'RE and we've ",
            });
        }
        assert!(text.len() > 2 * CHUNK_BYTES, "{}", text.len());
        assert_eq!(count_prompt(&text), O200kBase::count(&text));
        // Cuts land just before a space that follows a non-space.
        let (cut, safe) = cut_at(&text, CHUNK_BYTES);
        assert!(safe);
        assert_eq!(text.as_bytes()[cut], b' ');
        assert!(!text[..cut].ends_with(char::is_whitespace));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 64,
            ..proptest::prelude::ProptestConfig::default()
        })]
        #[test]
        fn a_cut_before_a_space_that_follows_a_non_space_keeps_the_count(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    " ", "  ", "\n", "\r\n", "\t", "\u{a0}", "a", "Ab", "THE", "é", "東京",
                    "7", "123456", ".", "'s", "'LL", "!?", "/", "—", "\u{301}", "x ",
                ]),
                0..80,
            ),
        ) {
            let text = parts.concat();
            let whole = O200kBase::count(&text);
            for p in 1..text.len() {
                let at_space = text.as_bytes()[p] == b' ';
                if at_space && text[..p].chars().next_back().is_some_and(|c| !c.is_whitespace()) {
                    let split = O200kBase::count(&text[..p])
                        .zip(O200kBase::count(&text[p..]))
                        .map(|(a, b)| a + b);
                    proptest::prop_assert_eq!(split, whole, "cut at {} of {:?}", p, text);
                }
            }
            let (pieces, exact) = count_in_pieces(&text, 16).unwrap();
            if exact {
                proptest::prop_assert_eq!(Some(pieces), whole);
            }
        }
    }

    #[test]
    fn a_megabyte_of_whitespace_is_counted_without_a_panic() {
        // One run this long makes tiktoken-rs's splitting regex give up (and panic) when
        // encoded whole; 128 spaces are one token.
        let text = " ".repeat(1_000_000);
        assert_eq!(count_prompt(&text), Some(7_813));
        let text = format!("x{}é", "\n".repeat(600_000));
        assert!(count_prompt(&text).is_some());
    }

    #[test]
    fn megabytes_of_input_are_counted() {
        let text = "The quick brown fox jumps over the lazy dog.\n".repeat(50_000); // 2.25 MB
        let tokens = count_prompt(&text).unwrap();
        // 10 tokens per sentence plus the newline, which merges with the period or stands
        // alone depending on the encoding; either way between 10 and 11 per line.
        assert!((500_000..=550_000).contains(&tokens), "{tokens}");
    }

    #[test]
    fn run_prints_and_maps_bad_input_to_the_usage_exit_code() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct T {
            #[command(flatten)]
            a: EstimateArgs,
        }
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("prompt.txt");
        let bad = dir.path().join("latin1.txt");
        std::fs::write(&good, SENTENCE).unwrap();
        std::fs::write(&bad, b"caf\xe9").unwrap();
        let args = |file: &Path, format: &str| {
            T::try_parse_from([
                "x".as_ref(),
                "--model=amazon.nova-lite-v1:0".as_ref(),
                "--format".as_ref(),
                format.as_ref(),
                file.as_os_str(),
            ])
            .unwrap()
            .a
        };
        let now = at("2026-11-26T00:00:00Z");
        for format in ["table", "csv", "json"] {
            assert_eq!(run(args(&good, format), now).unwrap(), 0);
        }
        let err = run(args(&bad, "table"), now).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
        assert!(err.to_string().contains("not UTF-8"), "{err:#}");
        let err = run(args(&dir.path().join("missing.txt"), "table"), now).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_none(), "{err:#}");
        assert!(err.to_string().contains("cannot read"), "{err:#}");
    }

    #[test]
    fn the_cli_arguments_parse_with_their_defaults() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct T {
            #[command(flatten)]
            a: EstimateArgs,
        }
        let t = T::try_parse_from(["x", "--model", "all,us.amazon.nova-lite-v1:0", "-"]).unwrap();
        assert_eq!(t.a.model, ["all", "us.amazon.nova-lite-v1:0"]);
        assert_eq!(t.a.region, "us-east-1");
        assert_eq!(t.a.tier, ServiceTier::Standard);
        assert_eq!(t.a.format, Format::Table);
        assert_eq!(t.a.input, PathBuf::from("-"));
        let t = T::try_parse_from([
            "x",
            "--model=m",
            "--tier",
            "latency_optimized",
            "--output-tokens",
            "7",
            "p.txt",
        ])
        .unwrap();
        assert_eq!(t.a.tier, ServiceTier::LatencyOptimized);
        assert_eq!(t.a.output_tokens, Some(7));
        assert!(T::try_parse_from(["x", "--model", "m", "--tier", "cheap", "-"]).is_err());
        assert!(T::try_parse_from(["x", "-"]).is_err());
    }
}
