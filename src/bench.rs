//! The benchmark behind `bedrock-meter bench`: generates its own corpora with
//! [`crate::synth`] and measures, in one run,
//!
//! - **parse only**: [`parse_record`] over in-memory lines (bodies are skipped by the parser);
//! - **full path**: the files read from disk by [`Ingest`] (discover, frame, parse, price, roll
//!   up, commit to a fresh SQLite ledger in a temporary directory), and its ratio to parse
//!   only;
//! - **where the time goes**: one instrumented pass of the same stages (read+frame, parse,
//!   account = dedup + price + roll up, commit) through the public pieces
//!   ([`Framer`], [`parse_record`], [`Writer`]);
//! - the full path over a **gzip** copy of the ~18 KB corpus;
//! - **peak memory** (VmHWM) of the full path over 10 %, 50 % and 100 % of a million-record
//!   corpus of ~3 KB records, each in a child process of the current binary (`bench-child`),
//!   plus a run whose dedup window holds every request id (dense traffic), which is where
//!   memory does grow: by the window, not by the number of records read.
//!
//! Figures are single-threaded, from the page cache (the corpora were just written), median
//! of `reps` timed repetitions after one warm-up, parse and full path interleaved. The
//! targets come from `research/performance.md` §0 and §3.
use crate::accounting::{Ledger, LedgerConfig};
use crate::ingest::{Ingest, IngestOptions, IngestSummary};
use crate::normalize::parse_record;
use crate::pipeline::Writer;
use crate::pricing::PriceBook;
use crate::sources::files;
use crate::sources::framing::{Frame, Framer};
use crate::store::Store;
use crate::synth::{Synth, SynthConfig};
use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Full-path target per core at ~18 KB records, records/s (performance.md §0).
pub const TARGET_LARGE_RPS: f64 = 50_000.0;
/// Full-path target per core at ~3 KB records, records/s.
pub const TARGET_SMALL_RPS: f64 = 200_000.0;
/// Full path / parse only, at least.
pub const TARGET_RATIO: f64 = 0.4;
/// Gzip input at ~18 KB, records/s (performance.md §3, informational).
pub const TARGET_GZIP_RPS: f64 = 25_000.0;
/// Peak resident memory of a 1M-record ingest, bytes.
pub const TARGET_PEAK_BYTES: u64 = 200 * 1024 * 1024;

/// Event-time spacing of the throughput corpora (5 records per second of event time).
const THROUGHPUT_SPACING_MS: u64 = 200;
/// Event-time spacing of the memory corpus (one record every 2 s): its 48 h dedup window
/// holds at most 86,400 ids, so 10 % and 100 % of a million-record corpus both fill it.
const MEMORY_SPACING_MS: u64 = 2_000;
/// A dedup window longer than any corpus: every id stays in memory.
const HUGE_WINDOW_HOURS: i64 = 1_000_000;
/// First event time of every corpus.
const START: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z

/// How peak memory is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MemoryProbe {
    /// A child process of the current binary (`bench-child`), VmHWM read by the child at its
    /// end. The only clean measure: nothing else lives in that process.
    Child,
    /// In this process, after resetting VmHWM (`/proc/self/clear_refs`); for tests, where the
    /// current executable is not `bedrock-meter`.
    InProcess,
    /// No memory figures.
    Off,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Records in the ~18 KB corpus.
    pub records_large: usize,
    /// Records in the ~3 KB corpus.
    pub records_small: usize,
    /// Records in the memory corpus (~3 KB records); 10 % of it is the smaller run.
    pub records_memory: usize,
    /// Small sizes and one repetition (a smoke run of a few seconds).
    pub quick: bool,
    /// Timed repetitions (median reported), after one warm-up.
    pub reps: usize,
    /// Print JSON instead of the table.
    pub json: bool,
    /// How to measure peak memory.
    pub memory: MemoryProbe,
    /// Progress lines on stderr.
    pub progress: bool,
    /// Where to put the corpora and ledgers (default: the system temp directory). Removed at
    /// the end unless `keep`.
    pub dir: Option<PathBuf>,
    /// Keep the ~18 KB and ~3 KB corpora (and their gzip copy) for profiling; the memory
    /// corpus (gigabytes) is removed either way.
    pub keep: bool,
    /// Corpus seed.
    pub seed: u64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            records_large: 20_000,
            records_small: 100_000,
            records_memory: 1_000_000,
            quick: false,
            reps: 3,
            json: false,
            memory: MemoryProbe::Child,
            progress: true,
            dir: None,
            keep: false,
            seed: 42,
        }
    }
}

impl BenchOptions {
    /// Sizes after `quick`: (large, small, memory, reps).
    fn sizes(&self) -> (usize, usize, usize, usize) {
        if self.quick {
            (
                self.records_large.min(500),
                self.records_small.min(3_000),
                self.records_memory.min(20_000),
                1,
            )
        } else {
            (
                self.records_large,
                self.records_small,
                self.records_memory,
                self.reps.max(1),
            )
        }
    }
}

/// A timed measurement.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rate {
    /// Median seconds.
    pub seconds: f64,
    /// Records per second at the median.
    pub records_per_sec: f64,
    /// MB (10^6 bytes) of uncompressed records per second at the median.
    pub mb_per_sec: f64,
    /// Every timed repetition, seconds.
    pub samples: Vec<f64>,
}

impl Rate {
    fn of(samples: Vec<f64>, records: u64, bytes: u64) -> Rate {
        let mut s = samples.clone();
        s.sort_by(f64::total_cmp);
        let median = if s.is_empty() { 0.0 } else { s[s.len() / 2] };
        let per = |x: f64| if median > 0.0 { x / median } else { 0.0 };
        Rate {
            seconds: median,
            records_per_sec: per(records as f64),
            mb_per_sec: per(bytes as f64 / 1e6),
            samples,
        }
    }
}

/// Microseconds per record in each stage of one instrumented pass.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stages {
    /// Opening files, reading (and gunzipping), framing records.
    pub read_frame_us: f64,
    /// `parse_record`.
    pub parse_us: f64,
    /// Dedup window, pricing and rolling up into the batch (`Writer::event`).
    pub account_us: f64,
    /// Committing batches to SQLite (`Writer::commit`, includes dedup pruning).
    pub commit_us: f64,
    /// Sum of the stages (timer overhead of ~0.1 µs per record included).
    pub total_us: f64,
    /// The real full path's median, for comparison.
    pub full_path_us: f64,
}

/// Counts of one full-path run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    /// Records ingested.
    pub ingested: u64,
    /// Records counted as duplicates.
    pub duplicate: u64,
    /// Records rejected.
    pub rejected: u64,
}

impl Counts {
    fn of(s: &IngestSummary) -> Counts {
        Counts {
            ingested: s.records_ingested,
            duplicate: s.records_duplicate,
            rejected: s.rejected_total(),
        }
    }

    fn total(&self) -> u64 {
        self.ingested + self.duplicate + self.rejected
    }
}

/// One corpus's figures.
#[derive(Debug, Clone, Serialize)]
pub struct CorpusResult {
    /// `18 KB`, `3 KB`, `18 KB gzip`.
    pub name: String,
    /// Records generated.
    pub records: u64,
    /// Of which deliberately malformed.
    pub malformed: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Bytes on disk (compressed for gzip).
    pub file_bytes: u64,
    /// Mean record size, bytes.
    pub mean_record_bytes: f64,
    /// Parse only (absent for the gzip variant).
    pub parse: Option<Rate>,
    /// Full path.
    pub full: Rate,
    /// Full path records/s over parse-only records/s.
    pub full_over_parse: Option<f64>,
    /// Full-path target, records/s.
    pub target_records_per_sec: f64,
    /// Where the time goes.
    pub stages: Stages,
    /// Counts of the last full-path run.
    pub counts: Counts,
    /// Records parse-only rejected.
    pub parse_rejected: u64,
    /// Every record accounted for exactly once, and the rejections are the planted ones.
    pub counts_ok: bool,
}

/// One peak-memory run.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryRun {
    /// What the run shows.
    pub label: String,
    /// Records ingested from the memory corpus.
    pub records: u64,
    /// Dedup window of the run, hours.
    pub dedup_window_hours: i64,
    /// Event time the records span, hours.
    pub event_span_hours: f64,
    /// Request ids the dedup window holds at the end (computed from the spacing).
    pub ids_in_window: u64,
    /// Peak resident set (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// Resident set before the ingest started (binary, price table), bytes.
    pub baseline_rss_bytes: u64,
    /// Wall time of the ingest, seconds.
    pub seconds: f64,
    /// Counts of the run.
    pub counts: Counts,
    /// How it was measured.
    pub probe: MemoryProbe,
}

/// Everything `bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// `release` or `debug` (debug figures mean nothing).
    pub build: &'static str,
    /// Timed repetitions per figure.
    pub reps: usize,
    /// The uncompressed corpora, then the gzip variant.
    pub corpora: Vec<CorpusResult>,
    /// Peak-memory runs.
    pub memory: Vec<MemoryRun>,
    /// Peak of the whole-corpus run below the target and not above the half-corpus run's by
    /// more than 5 % + 2 MiB (`None` without both runs, e.g. with `quick`).
    pub memory_flat: Option<bool>,
    /// Every count added up in every run.
    pub counts_ok: bool,
    /// Every target met (throughput, ratio, memory).
    pub targets_met: bool,
}

// ---------------------------------------------------------------------------------------
// Entry points

/// Runs the benchmark and prints a table (or JSON) to `out`. Progress goes to stderr.
pub fn run(opts: &BenchOptions, out: &mut dyn Write) -> Result<BenchResult> {
    let (n_large, n_small, n_memory, reps) = opts.sizes();
    let mut tmp = TempDir::new(opts.dir.as_deref())?;
    tmp.keep = opts.keep;
    let book = PriceBook::embedded().map_err(|e| anyhow!("embedded price table: {e}"))?;
    let say = |msg: &str| {
        if opts.progress {
            eprintln!("bench: {msg}");
        }
    };

    let mut corpora = Vec::new();
    for (name, config, n, target) in [
        (
            "18 KB",
            SynthConfig::bench_large(),
            n_large,
            TARGET_LARGE_RPS,
        ),
        (
            "3 KB",
            SynthConfig::bench_small(),
            n_small,
            TARGET_SMALL_RPS,
        ),
    ] {
        say(&format!("generating {n} records of ~{name}"));
        let dir = tmp.path().join(format!("corpus-{}", name.replace(' ', "")));
        let corpus = Corpus::generate(&dir, config, opts.seed, n, THROUGHPUT_SPACING_MS, true)?;
        say(&format!(
            "{name}: {:.0} MB; timing parse only and full path",
            corpus.bytes as f64 / 1e6
        ));
        let r = measure(name, &corpus, &dir, tmp.path(), &book, reps, target, true)?;
        if name == "18 KB" {
            say("writing the gzip copy");
            let gz = tmp.path().join("corpus-18KB-gz");
            let file_bytes = gzip_dir(&dir, &gz)?;
            let mut g = measure(
                "18 KB gzip",
                &corpus,
                &gz,
                tmp.path(),
                &book,
                reps,
                TARGET_GZIP_RPS,
                false,
            )?;
            g.file_bytes = file_bytes;
            if !opts.keep {
                std::fs::remove_dir_all(&gz).ok();
            }
            corpora.push(r);
            corpora.push(g);
        } else {
            corpora.push(r);
        }
        drop(corpus);
        if !opts.keep {
            // Freed as soon as measured, so the memory runs have the disk to themselves.
            std::fs::remove_dir_all(&dir).ok();
        }
    }
    // Keep the table order: 18 KB, 3 KB, then the gzip line.
    corpora.sort_by_key(|c| c.name.contains("gzip"));

    let mut memory = Vec::new();
    if opts.memory != MemoryProbe::Off && n_memory > 0 {
        say(&format!(
            "generating {n_memory} records of ~3 KB for the memory runs"
        ));
        let dir = tmp.path().join("corpus-memory");
        let corpus = Corpus::generate(
            &dir,
            SynthConfig::bench_small(),
            opts.seed ^ 0x004D_454D,
            n_memory,
            MEMORY_SPACING_MS,
            false,
        )?;
        let first = corpus.files.first().cloned().unwrap_or_else(|| dir.clone());
        let tenth = corpus.per_file.min(corpus.records);
        let half = (corpus.per_file * 5).min(corpus.records);
        let runs = [
            ("10 % of the corpus", first, tenth, 48, true),
            ("half of the corpus", dir.join("h1"), half, 48, !opts.quick),
            ("whole corpus", dir.clone(), corpus.records, 48, true),
            (
                "whole corpus, window holds every id",
                dir.clone(),
                corpus.records,
                HUGE_WINDOW_HOURS,
                !opts.quick,
            ),
        ];
        for (label, input, records, window, wanted) in runs {
            if !wanted {
                continue;
            }
            say(&format!("peak memory: {label} ({records} records)"));
            let db = tmp.path().join("memory.db");
            remove_db(&db);
            let child = ChildOptions {
                input,
                db: db.clone(),
                dedup_window_hours: window,
            };
            let report = match opts.memory {
                MemoryProbe::Child => spawn_child(&child)?,
                _ => in_process(&child)?,
            };
            remove_db(&db);
            let span_s = records.saturating_sub(1) * MEMORY_SPACING_MS / 1000;
            let window_ids = (window as u64).saturating_mul(3_600_000) / MEMORY_SPACING_MS;
            memory.push(MemoryRun {
                label: label.to_string(),
                records,
                dedup_window_hours: window,
                event_span_hours: span_s as f64 / 3600.0,
                ids_in_window: records.min(window_ids + 1),
                peak_rss_bytes: report.peak_rss_kib * 1024,
                baseline_rss_bytes: report.baseline_rss_kib * 1024,
                seconds: report.seconds,
                counts: report.counts,
                probe: opts.memory,
            });
        }
        for m in &mut memory {
            let expect = corpus.malformed_in_first(m.records);
            if m.counts.total() != m.records || m.counts.rejected != expect {
                bail!(
                    "memory run `{}`: {:?} for {} records ({} planted rejections)",
                    m.label,
                    m.counts,
                    m.records,
                    expect
                );
            }
        }
        drop(corpus);
        std::fs::remove_dir_all(&dir).ok();
    }

    // Judged between half and all of the corpus: both hold the same ids in the dedup window,
    // and the window's hash table settles (it doubles once, when deletions have used up its
    // spare room) within the first half.
    let memory_flat = match (
        memory.iter().find(|m| m.label == "half of the corpus"),
        memory.iter().find(|m| m.label == "whole corpus"),
    ) {
        (Some(a), Some(b)) => Some(
            b.peak_rss_bytes < TARGET_PEAK_BYTES
                && b.peak_rss_bytes as f64 <= a.peak_rss_bytes as f64 * 1.05 + 2.0 * 1048576.0,
        ),
        _ => None,
    };
    let counts_ok = corpora.iter().all(|c| c.counts_ok);
    let targets_met = corpora
        .iter()
        .filter(|c| !c.name.contains("gzip"))
        .all(|c| {
            c.full.records_per_sec >= c.target_records_per_sec
                && c.full_over_parse.unwrap_or(0.0) >= TARGET_RATIO
        })
        && memory_flat != Some(false);
    let result = BenchResult {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        reps,
        corpora,
        memory,
        memory_flat,
        counts_ok,
        targets_met,
    };
    if opts.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&result)?)?;
    } else {
        print_table(&result, out)?;
    }
    if opts.keep {
        eprintln!(
            "bench: corpora kept in {} (corpus-18KB, corpus-3KB, corpus-18KB-gz)",
            tmp.path().display()
        );
    }
    Ok(result)
}

/// Settings of the hidden `bench-child` subcommand: one full-path ingest whose peak memory
/// is reported.
#[derive(Debug, Clone)]
pub struct ChildOptions {
    /// File or directory to ingest.
    pub input: PathBuf,
    /// Ledger to create (must not exist yet).
    pub db: PathBuf,
    /// Dedup window, hours of event time.
    pub dedup_window_hours: i64,
}

/// What `bench-child` prints (one JSON line on stdout).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildReport {
    /// VmHWM when the child started its work, KiB.
    pub baseline_rss_kib: u64,
    /// VmHWM at the end, KiB.
    pub peak_rss_kib: u64,
    /// Ingest wall time, seconds.
    pub seconds: f64,
    /// Counts of the run.
    pub counts: Counts,
}

/// The hidden `bench-child` subcommand: ingests `opts.input` into a new ledger at
/// `opts.db` exactly like `ingest` does, then prints a [`ChildReport`] as one JSON line.
pub fn child(opts: &ChildOptions, out: &mut dyn Write) -> Result<()> {
    let report = child_run(opts)?;
    writeln!(out, "{}", serde_json::to_string(&report)?)?;
    Ok(())
}

fn child_run(opts: &ChildOptions) -> Result<ChildReport> {
    let book = PriceBook::embedded().map_err(|e| anyhow!("embedded price table: {e}"))?;
    let baseline = vm_hwm_kib().unwrap_or(0);
    let t = Instant::now();
    let (summary, _) = full_path(&opts.input, &opts.db, &book, opts.dedup_window_hours)?;
    let seconds = t.elapsed().as_secs_f64();
    Ok(ChildReport {
        baseline_rss_kib: baseline,
        peak_rss_kib: vm_hwm_kib().unwrap_or(0),
        seconds,
        counts: Counts::of(&summary),
    })
}

fn spawn_child(opts: &ChildOptions) -> Result<ChildReport> {
    let exe = std::env::current_exe().context("locating the bedrock-meter binary")?;
    let output = std::process::Command::new(&exe)
        .arg("bench-child")
        .arg("--db")
        .arg(&opts.db)
        .arg("--dedup-window-hours")
        .arg(opts.dedup_window_hours.to_string())
        .arg(&opts.input)
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("running {} bench-child", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{'));
    match (output.status.success(), line) {
        (true, Some(l)) => serde_json::from_str(l).context("reading the bench-child report"),
        _ => bail!(
            "{} bench-child failed ({}): {}",
            exe.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

fn in_process(opts: &ChildOptions) -> Result<ChildReport> {
    // Resets VmHWM to the current RSS (Linux ≥ 4.0); without it the peak is the process's.
    std::fs::write("/proc/self/clear_refs", "5").ok();
    child_run(opts)
}

/// VmHWM (peak resident set) of this process, KiB (Linux only).
pub fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// ---------------------------------------------------------------------------------------
// Corpora

struct Corpus {
    /// All records (kept corpora only), newline-terminated.
    data: Vec<u8>,
    /// End offsets (exclusive, without the newline) of each record in `data`.
    ends: Vec<usize>,
    /// Which records are malformed.
    malformed_at: Vec<bool>,
    files: Vec<PathBuf>,
    per_file: u64,
    records: u64,
    malformed: u64,
    bytes: u64,
}

impl Corpus {
    /// Writes `n` records into 4 files (kept: also held in memory for parse only) or 10 files
    /// (the memory corpus: 5 in `h1/`, 5 in `h2/`); record `i` is stamped
    /// `START + i × spacing`.
    fn generate(
        dir: &Path,
        config: SynthConfig,
        seed: u64,
        n: usize,
        spacing_ms: u64,
        keep: bool,
    ) -> Result<Corpus> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let files_n = if keep { 4 } else { 10 };
        let per_file = n.div_ceil(files_n).max(1);
        let mut synth = Synth::new(seed, config);
        let mut c = Corpus {
            data: Vec::new(),
            ends: Vec::new(),
            malformed_at: Vec::new(),
            files: Vec::new(),
            per_file: per_file as u64,
            records: n as u64,
            malformed: 0,
            bytes: 0,
        };
        let mut buf = Vec::new();
        let mut i = 0usize;
        while i < n {
            let k = per_file.min(n - i);
            buf.clear();
            for _ in 0..k {
                let at = DateTime::<Utc>::from_timestamp(
                    START + (i as u64 * spacing_ms / 1000) as i64,
                    0,
                )
                .unwrap_or_default();
                synth.record(at, &mut buf);
                c.malformed_at.push(synth.last_malformed().is_some());
                if keep {
                    c.ends.push(c.data.len() + buf.len() - 1);
                }
                i += 1;
            }
            // The memory corpus keeps its first half in `h1/` (the half-size run's input).
            let sub = match (keep, c.files.len() < files_n / 2) {
                (true, _) => dir.to_path_buf(),
                (false, true) => dir.join("h1"),
                (false, false) => dir.join("h2"),
            };
            std::fs::create_dir_all(&sub)?;
            let path = sub.join(format!("part-{:04}.ndjson", c.files.len()));
            std::fs::write(&path, &buf).with_context(|| format!("writing {}", path.display()))?;
            if keep {
                c.data.extend_from_slice(&buf);
            }
            c.files.push(path);
        }
        let stats = synth.stats();
        c.malformed = stats.malformed;
        c.bytes = stats.bytes;
        Ok(c)
    }

    fn malformed_in_first(&self, n: u64) -> u64 {
        self.malformed_at
            .iter()
            .take(n as usize)
            .filter(|m| **m)
            .count() as u64
    }

    /// Parse only, over the in-memory lines: (accepted, rejected).
    fn parse_all(&self) -> (u64, u64) {
        let (mut ok, mut bad) = (0u64, 0u64);
        let mut start = 0;
        for &end in &self.ends {
            match parse_record(&self.data[start..end]) {
                Ok(ev) => {
                    black_box(&ev);
                    ok += 1;
                }
                Err(rej) => {
                    black_box(&rej);
                    bad += 1;
                }
            }
            start = end + 1;
        }
        (ok, bad)
    }
}

/// Gzips every file of `from` into `to` (default level, like S3 delivery objects); returns
/// the compressed bytes.
fn gzip_dir(from: &Path, to: &Path) -> Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut total = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(from)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    for p in names {
        let data = std::fs::read(&p)?;
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let target = to.join(format!("{}.gz", name.unwrap_or_default()));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&data)?;
        let gz = enc.finish()?;
        total += gz.len() as u64;
        std::fs::write(&target, gz)?;
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------
// Measurements

/// Timings of one corpus: warm-up, then `reps` interleaved parse / full-path repetitions,
/// then one instrumented pass.
#[allow(clippy::too_many_arguments)]
fn measure(
    name: &str,
    corpus: &Corpus,
    input: &Path,
    tmp: &Path,
    book: &PriceBook,
    reps: usize,
    target: f64,
    with_parse: bool,
) -> Result<CorpusResult> {
    let db = tmp.join(format!("bench-{}.db", name.replace(' ', "-")));
    let mut parse_s = Vec::new();
    let mut full_s = Vec::new();
    let mut counts = Counts::default();
    let mut parsed = (0, 0);
    for rep in 0..=reps {
        if with_parse {
            let t = Instant::now();
            parsed = corpus.parse_all();
            let s = t.elapsed().as_secs_f64();
            if rep > 0 {
                parse_s.push(s);
            }
        }
        remove_db(&db);
        let t = Instant::now();
        let (summary, _) = full_path(input, &db, book, crate::accounting::DEFAULT_WINDOW_HOURS)?;
        let s = t.elapsed().as_secs_f64();
        if rep > 0 {
            full_s.push(s);
        }
        counts = Counts::of(&summary);
    }
    remove_db(&db);
    let mut stages = instrumented(input, &db, book)?;
    remove_db(&db);
    let full = Rate::of(full_s, corpus.records, corpus.bytes);
    stages.full_path_us = full.seconds * 1e6 / corpus.records.max(1) as f64;
    let parse = with_parse.then(|| Rate::of(parse_s, corpus.records, corpus.bytes));
    let full_over_parse = parse
        .as_ref()
        .filter(|p| p.records_per_sec > 0.0)
        .map(|p| full.records_per_sec / p.records_per_sec);
    let counts_ok = counts.total() == corpus.records
        && counts.rejected == corpus.malformed
        && counts.duplicate == 0
        && (!with_parse || (parsed.0 + parsed.1 == corpus.records && parsed.1 == corpus.malformed));
    if !counts_ok {
        bail!(
            "{name}: counts do not add up: {counts:?}, parse only {parsed:?}, {} records, {} planted rejections",
            corpus.records,
            corpus.malformed
        );
    }
    let file_bytes = files::discover(&[input.to_path_buf()])
        .files
        .iter()
        .map(|f| f.size)
        .sum();
    Ok(CorpusResult {
        name: name.to_string(),
        records: corpus.records,
        malformed: corpus.malformed,
        bytes: corpus.bytes,
        file_bytes,
        mean_record_bytes: corpus.bytes as f64 / corpus.records.max(1) as f64,
        parse,
        full,
        full_over_parse,
        target_records_per_sec: target,
        stages,
        counts,
        parse_rejected: parsed.1,
        counts_ok,
    })
}

/// The full path, as `bedrock-meter ingest` runs it: open (create) the ledger, ingest,
/// close. Returns the summary and the seconds it took.
fn full_path(
    input: &Path,
    db: &Path,
    book: &PriceBook,
    window_hours: i64,
) -> Result<(IngestSummary, f64)> {
    let t = Instant::now();
    let store = Store::open(db).with_context(|| format!("opening {}", db.display()))?;
    let ledger = Ledger::new(book, LedgerConfig::default());
    let opts = IngestOptions {
        dedup_window_hours: window_hours,
        ..IngestOptions::default()
    };
    let (summary, store) = Ingest::new(store, ledger, opts)?.run(&[input.to_path_buf()])?;
    drop(store);
    Ok((summary, t.elapsed().as_secs_f64()))
}

/// One pass of the full path's stages through the public pieces, each timed per record.
fn instrumented(input: &Path, db: &Path, book: &PriceBook) -> Result<Stages> {
    let store = Store::open(db)?;
    let ledger = Ledger::new(book, LedgerConfig::default());
    let mut writer = Writer::new(store, ledger, crate::accounting::DEFAULT_WINDOW_HOURS)?;
    let (mut frame, mut parse, mut account, mut commit) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    let mut records = 0u64;
    let every = IngestOptions::default().batch_records.max(1) as u64;
    let started = Instant::now();
    for f in files::discover(&[input.to_path_buf()]).files {
        let t = Instant::now();
        let mut framer = Framer::new(files::open(&f.path)?);
        frame += t.elapsed();
        loop {
            let t0 = Instant::now();
            let Some(fr) = framer.next_frame()? else {
                frame += t0.elapsed();
                break;
            };
            let t1 = Instant::now();
            frame += t1 - t0;
            records += 1;
            match fr {
                Frame::Value(bytes) => {
                    let parsed = parse_record(bytes);
                    let t2 = Instant::now();
                    parse += t2 - t1;
                    match parsed {
                        Ok(ev) => writer.event(&ev),
                        Err(rej) => writer.reject(rej.reason),
                    }
                    account += t2.elapsed();
                }
                Frame::Garbage(_) => {
                    writer.reject(crate::normalize::RejectReason::MalformedJson);
                    account += t1.elapsed();
                }
            }
            if writer.pending_records() >= every {
                let t = Instant::now();
                writer.commit()?;
                commit += t.elapsed();
            }
        }
    }
    let t = Instant::now();
    writer.commit()?;
    drop(writer);
    commit += t.elapsed();
    let total = started.elapsed();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / records.max(1) as f64;
    Ok(Stages {
        read_frame_us: per(frame),
        parse_us: per(parse),
        account_us: per(account),
        commit_us: per(commit),
        total_us: per(total),
        full_path_us: 0.0,
    })
}

fn remove_db(db: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        std::fs::remove_file(PathBuf::from(p)).ok();
    }
}

/// A directory removed (with its contents) when dropped, unless `keep`.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn new(base: Option<&Path>) -> Result<TempDir> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let base = base.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let unique = format!(
            "bedrock-meter-bench-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let p = base.join(unique);
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(TempDir {
            path: p,
            keep: false,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep {
            // The corpora are directories; the files beside them are the ledgers, of no use
            // afterwards.
            for e in std::fs::read_dir(&self.path)
                .into_iter()
                .flatten()
                .flatten()
            {
                if e.path().is_file() {
                    std::fs::remove_file(e.path()).ok();
                }
            }
        } else {
            std::fs::remove_dir_all(&self.path).ok();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Output

fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn print_table(r: &BenchResult, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "bedrock-meter bench: {} build, 1 thread, median of {} run(s) after a warm-up, input from the page cache",
        r.build, r.reps
    )?;
    if r.build == "debug" {
        writeln!(
            out,
            "WARNING: debug build; build with --release for meaningful figures"
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:>10} {:>10} {:>9}   {:<22}",
        "throughput", "records/s", "MB/s", "seconds", "target"
    )?;
    for c in &r.corpora {
        let tag = format!(
            "{} ({} rec, {:.0} MB{})",
            c.name,
            thousands(c.records as f64),
            c.file_bytes as f64 / 1e6,
            if c.name.contains("gzip") {
                " on disk"
            } else {
                ""
            }
        );
        writeln!(out, "{tag}")?;
        if let Some(p) = &c.parse {
            writeln!(
                out,
                "  {:<22} {:>10} {:>10} {:>9.3}",
                "parse only",
                thousands(p.records_per_sec),
                thousands(p.mb_per_sec),
                p.seconds
            )?;
        }
        let informational = c.name.contains("gzip");
        writeln!(
            out,
            "  {:<22} {:>10} {:>10} {:>9.3}   {:<22} {}",
            "full path",
            thousands(c.full.records_per_sec),
            thousands(c.full.mb_per_sec),
            c.full.seconds,
            format!(
                ">= {} rec/s{}",
                thousands(c.target_records_per_sec),
                if informational { " (info)" } else { "" }
            ),
            verdict(c.full.records_per_sec >= c.target_records_per_sec)
        )?;
        if let Some(ratio) = c.full_over_parse {
            writeln!(
                out,
                "  {:<22} {:>10.2} {:>10} {:>9}   {:<22} {}",
                "full / parse",
                ratio,
                "",
                "",
                format!(">= {TARGET_RATIO:.2}"),
                verdict(ratio >= TARGET_RATIO)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "where the time goes (µs per record, one instrumented pass, committing every {} records as ingest does)",
        thousands(IngestOptions::default().batch_records as f64)
    )?;
    writeln!(
        out,
        "  {:<12} {:>11} {:>8} {:>9} {:>8} {:>8} {:>10}",
        "corpus", "read+frame", "parse", "account", "commit", "sum", "full path"
    )?;
    for c in &r.corpora {
        let s = &c.stages;
        writeln!(
            out,
            "  {:<12} {:>11.2} {:>8.2} {:>9.2} {:>8.2} {:>8.2} {:>10.2}",
            c.name,
            s.read_frame_us,
            s.parse_us,
            s.account_us,
            s.commit_us,
            s.total_us,
            s.full_path_us
        )?;
    }
    if !r.memory.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "peak memory of the full path (VmHWM, {}), ~3 KB records, one every {} s of event time",
            match r.memory[0].probe {
                MemoryProbe::Child => "child process",
                _ => "in process",
            },
            MEMORY_SPACING_MS / 1000
        )?;
        writeln!(
            out,
            "  {:<38} {:>10} {:>9} {:>11} {:>12} {:>12} {:>10}",
            "run", "records", "span h", "ids held", "peak RSS", "baseline", "records/s"
        )?;
        for m in &r.memory {
            writeln!(
                out,
                "  {:<38} {:>10} {:>9.0} {:>11} {:>12} {:>12} {:>10}",
                m.label,
                thousands(m.records as f64),
                m.event_span_hours,
                thousands(m.ids_in_window as f64),
                mib(m.peak_rss_bytes),
                mib(m.baseline_rss_bytes),
                thousands(m.records as f64 / m.seconds.max(1e-9))
            )?;
        }
        if let Some(flat) = r.memory_flat {
            writeln!(
                out,
                "  target: peak < {} and not growing with the record count: {}",
                mib(TARGET_PEAK_BYTES),
                verdict(flat)
            )?;
        }
        if let Some(all) = r
            .memory
            .iter()
            .find(|m| m.dedup_window_hours == HUGE_WINDOW_HOURS)
        {
            writeln!(
                out,
                "  (the last run keeps every request id in the dedup window, as {} records inside 48 h of event time would)",
                thousands(all.records as f64)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "counts (every record ingested or rejected once; rejections = planted malformed records): {}",
        verdict(r.counts_ok)
    )?;
    writeln!(
        out,
        "all targets met: {}",
        if r.targets_met { "yes" } else { "no" }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_bench_runs_and_its_counts_add_up() {
        let kept = tempfile::tempdir().unwrap();
        let opts = BenchOptions {
            records_large: 60,
            records_small: 400,
            records_memory: 600,
            quick: true,
            reps: 1,
            json: false,
            memory: MemoryProbe::InProcess,
            progress: false,
            dir: Some(kept.path().to_path_buf()),
            keep: true,
            seed: 3,
        };
        let mut table = Vec::new();
        let r = run(&opts, &mut table).unwrap();
        // --keep leaves the throughput corpora (and nothing else) behind.
        let runs: Vec<_> = std::fs::read_dir(kept.path()).unwrap().flatten().collect();
        assert_eq!(runs.len(), 1);
        let mut left: Vec<String> = std::fs::read_dir(runs[0].path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["corpus-18KB", "corpus-18KB-gz", "corpus-3KB"]);
        let small = runs[0].path().join("corpus-3KB");
        assert_eq!(std::fs::read_dir(&small).unwrap().count(), 4);
        let table = String::from_utf8(table).unwrap();
        assert!(r.counts_ok, "{table}");
        assert_eq!(r.corpora.len(), 3, "18 KB, 3 KB, 18 KB gzip");
        let names: Vec<&str> = r.corpora.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["18 KB", "3 KB", "18 KB gzip"]);
        for (c, n) in r.corpora.iter().zip([60, 400, 60]) {
            assert_eq!(c.records, n);
            assert_eq!(c.counts.total(), n, "{}", c.name);
            assert_eq!(c.counts.rejected, c.malformed, "{}", c.name);
            assert!(c.full.records_per_sec > 0.0);
            assert!(c.stages.parse_us > 0.0 && c.stages.total_us > 0.0);
        }
        assert_eq!(r.corpora[0].parse_rejected, r.corpora[0].malformed);
        assert!(r.corpora[2].parse.is_none());
        assert!(r.corpora[2].file_bytes < r.corpora[0].file_bytes);
        let mem: Vec<u64> = r.memory.iter().map(|m| m.records).collect();
        assert_eq!(mem, [60, 600], "quick skips the half and whole-window runs");
        for m in &r.memory {
            assert_eq!(m.counts.total(), m.records);
        }
        for needle in [
            "parse only",
            "full path",
            "full / parse",
            "peak memory",
            "read+frame",
        ] {
            assert!(table.contains(needle), "table lacks {needle}:\n{table}");
        }
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["corpora"][1]["records"], 400);
    }

    #[test]
    fn rate_takes_the_median() {
        let r = Rate::of(vec![3.0, 1.0, 2.0], 100, 1_000_000);
        assert_eq!(r.seconds, 2.0);
        assert_eq!(r.records_per_sec, 50.0);
        assert_eq!(r.mb_per_sec, 0.5);
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(12.0), "12");
    }
}
