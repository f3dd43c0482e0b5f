//! The command line: argument definitions, logging setup, and one function per subcommand
//! that wires the library together and maps the outcome to an exit code.
//!
//! Exit codes: 0 success; 1 runtime failure (I/O, database); 2 usage or configuration error;
//! 3 `--strict` and some input was rejected; 4 nothing could be read.
use crate::accounting::{Ledger, LedgerConfig, PrincipalDetail, StoredCell, TagKeys, reprice_cell};
use crate::exporters::report::{GroupBy, ReportBuilder};
use crate::ingest::{Ingest, IngestOptions, IngestSummary};
use crate::money::format_usd;
use crate::pricing::PriceBook;
use crate::store::Store;
use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code: runtime failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: `--strict` and input was rejected.
pub const EXIT_REJECTED: u8 = 3;
/// Exit code: nothing could be read.
pub const EXIT_NOTHING_READ: u8 = 4;

/// Meters Amazon Bedrock spend from model invocation logs, priced exactly from a versioned,
/// effective-dated price table, into a local SQLite ledger.
#[derive(Debug, Parser)]
#[command(name = "bedrock-meter", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 ok, 1 runtime failure, 2 usage/config error, \
3 --strict and input rejected, 4 nothing could be read.\n\
Start with `bedrock-meter demo` (no AWS account needed)."
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter (e.g. `info`, `debug`, `bedrock_meter=trace`); RUST_LOG also works.
    /// Default: `logging.level` of the config for `run`, `warn` otherwise.
    #[arg(long, global = true, env = "BEDROCK_METER_LOG")]
    pub log_level: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Output format of reports and summaries.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// CSV with a header row and a TOTAL row.
    Csv,
    /// JSON (field names documented in README).
    Json,
}

/// Options shared by commands that use the ledger.
#[derive(Debug, clap::Args)]
pub struct DbArgs {
    /// SQLite ledger file (created if missing).
    #[arg(long, env = "BEDROCK_METER_DB", default_value = "bedrock-meter.db")]
    pub db: PathBuf,
}

/// Options shared by commands that price.
#[derive(Debug, clap::Args)]
pub struct PricingArgs {
    /// Price-table directory replacing the embedded table (see pricing/README.md).
    #[arg(long, env = "BEDROCK_METER_PRICING")]
    pub pricing: Option<PathBuf>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
#[allow(missing_docs)] // flattened option groups are documented on their own types
pub enum Command {
    /// Backfill: read invocation logs from files and directories into the ledger.
    ///
    /// Accepts copies of the S3 log bucket (…/AWSLogs/<acct>/BedrockModelInvocationLogs/
    /// <region>/YYYY/MM/DD/HH/*.json.gz; data/ sidecars and the permission-check marker are
    /// skipped), NDJSON or JSON files (gzip detected by magic bytes), and the JSON printed by
    /// `aws logs filter-log-events`. Re-running over the same files never counts a record
    /// twice; an interrupted run resumes where its last commit ended.
    Ingest {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        pricing: PricingArgs,
        /// Exit with code 3 if any record or file was rejected.
        #[arg(long)]
        strict: bool,
        /// How much of the caller identity to keep.
        #[arg(long, value_enum, default_value_t = PrincipalArg::RoleSession)]
        principal: PrincipalArg,
        /// requestMetadata keys to keep as attribution tags (default: all keys).
        #[arg(long, value_delimiter = ',')]
        tag_keys: Vec<String>,
        /// Summary format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Hide the progress bar even on a terminal.
        #[arg(long)]
        no_progress: bool,
        /// Records per commit. Each commit writes the rollups, checkpoints and seen ids in
        /// one transaction; a run killed mid-way re-reads at most this many records. Larger
        /// batches write fewer rollup rows per record.
        #[arg(long, default_value_t = crate::ingest::DEFAULT_COMMIT_RECORDS as u64,
              value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        commit_records: u64,
        /// s3:// sources only: read the hours from this one (a UTC date YYYY-MM-DD or an
        /// RFC 3339 time).
        #[arg(long)]
        from: Option<String>,
        /// s3:// sources only: read the hours before this one (a UTC date, through the end
        /// of that day, or an RFC 3339 time, exclusive).
        #[arg(long)]
        to: Option<String>,
        /// s3:// sources only: the bucket's region.
        #[arg(long, env = "AWS_REGION")]
        region: Option<String>,
        /// s3:// sources only: another endpoint than AWS's (a VPC endpoint, a local fake).
        #[arg(long)]
        endpoint_url: Option<String>,
        /// Files, directories, or s3://<bucket>/<prefix> log buckets (the prefix set in
        /// Bedrock's logging settings; credentials from the standard AWS chain).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Spend report from the ledger: invocations, tokens by kind, images, exact cost and
    /// unpriced usage per group, with totals.
    Report {
        #[command(flatten)]
        db: DbArgs,
        /// Start: a UTC date (YYYY-MM-DD, from its midnight) or an RFC 3339 time.
        #[arg(long)]
        from: String,
        /// End: a UTC date (YYYY-MM-DD, through the end of that day) or an RFC 3339 time
        /// (exclusive).
        #[arg(long)]
        to: String,
        /// Comma-separated: model, region, account, principal, role, operation, scope,
        /// service_tier, pricing_mode, tag:KEY, day, month, hour.
        #[arg(long, value_delimiter = ',', default_value = "model")]
        group_by: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Should we buy provisioned throughput? From the ledger's on-demand history per model
    /// and region: cost, tokens per minute (p50/p90/p99/max, traffic assumed even within
    /// each hour), busy hours, and for each commitment term the model units needed (sized
    /// for the max), their cost over the same window, break-even utilization and monthly
    /// volume, and a recommendation with the savings or loss. See README.
    PlanPt {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        pricing: PricingArgs,
        /// Only this model (base model id as reports show it).
        #[arg(long)]
        model: Option<String>,
        /// Only this region.
        #[arg(long)]
        region: Option<String>,
        /// Days of history before --to.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// End of the window: a UTC date (through the end of that day) or an RFC 3339 time
        /// (rounded down to the hour). Default: the start of the current hour.
        #[arg(long)]
        to: Option<String>,
        /// Tokens per minute one model unit serves, for every model (overrides the config;
        /// AWS does not publish it).
        #[arg(long)]
        mu_tpm: Option<u64>,
        /// A config file whose `[planner]` tokens_per_minute_per_model_unit to use.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Recompute stored costs in a time range under the current price table.
    Reprice {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        pricing: PricingArgs,
        /// Start: date or RFC 3339 time (hours are whole: rounded down).
        #[arg(long)]
        from: String,
        /// End: date (inclusive) or RFC 3339 time (exclusive).
        #[arg(long)]
        to: String,
        /// Show what would change without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// What a prompt would cost: counts its tokens (o200k_base, an approximation of the
    /// models' own tokenizers) and prices them for one or more models from the price table.
    Estimate(crate::estimate::EstimateArgs),
    /// Benchmark ingest: generates ~18 KB and ~3 KB record corpora and prints records/s and
    /// MB/s for parse only and for the full path (read, parse, price, roll up, commit), their
    /// ratio, and peak memory of a 1M-record ingest. Build with --release first.
    Bench {
        /// Small corpora and one repetition (a smoke run of a few seconds).
        #[arg(long)]
        quick: bool,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// Records in the ~18 KB corpus.
        #[arg(long)]
        records_large: Option<usize>,
        /// Records in the ~3 KB corpus.
        #[arg(long)]
        records_small: Option<usize>,
        /// Records in the memory corpus.
        #[arg(long)]
        records_memory: Option<usize>,
        /// Where to put the corpora (default: the system temp directory; removed at the end).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep the ~18 KB and ~3 KB corpora (about 0.7 GB) for profiling, e.g. with
        /// `valgrind --tool=callgrind bedrock-meter ingest`; prints where they are.
        #[arg(long)]
        keep: bool,
    },
    /// Internal: one measured ingest for `bench` (peak memory of a clean process).
    #[command(hide = true)]
    BenchChild {
        /// File or directory to ingest.
        input: PathBuf,
        /// Ledger to create.
        #[arg(long)]
        db: PathBuf,
        /// Dedup window in hours.
        #[arg(long, default_value_t = crate::accounting::DEFAULT_WINDOW_HOURS)]
        dedup_window_hours: i64,
    },
    /// Inspect and validate the price table.
    Pricing {
        /// What to do.
        #[command(subcommand)]
        action: PricingCommand,
    },
    /// Run the daemon: sources → ledger, with /metrics, /healthz, /readyz, the overview page
    /// (/) and its JSON (/api/v1/overview) over HTTP; budgets notify as configured.
    ///
    /// Stops gracefully on SIGINT/SIGTERM: sources stop, the queue drains, rollups and
    /// checkpoints are committed together, then HTTP stops.
    Run {
        /// The config file (see deploy/bedrock-meter.example.toml; every key is documented).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config file without starting anything; `--with-environment` also resolves
    /// secrets from the environment and files.
    CheckConfig {
        /// The config file.
        file: PathBuf,
        /// Also resolve `*_env` and `*_file` secrets.
        #[arg(long)]
        with_environment: bool,
    },
    /// Try it without AWS: runs the real daemon (same pipeline, ledger and /metrics) on
    /// generated, realistic invocation-log traffic, with example budgets, provisioned
    /// throughput and CloudWatch-metrics coverage; serves the overview page at
    /// http://127.0.0.1:9464/ and Prometheus metrics at /metrics.
    Demo {
        /// Keep the ledger here instead of a temporary directory.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Address to serve on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: std::net::SocketAddr,
        /// Records per second outside bursts (bursts are 5× for 10 s every minute).
        #[arg(long, default_value_t = 20)]
        rate: u32,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        /// Seed of the generator (same seed, same traffic). By default a new seed each run,
        /// so a demo restarted on a kept `--db` adds new requests instead of duplicates.
        #[arg(long)]
        seed: Option<u64>,
    },
}

/// `pricing` subcommands.
#[derive(Debug, Subcommand)]
#[allow(missing_docs)] // flattened option groups are documented on their own types
pub enum PricingCommand {
    /// Validate a price table (default: the embedded one): overlapping date ranges for the
    /// same key, negative prices, unknown meters or units, bad dates.
    Check {
        /// Directory of *.toml price files.
        dir: Option<PathBuf>,
        /// Also warn about usage in this ledger that has no price, naming models the
        /// control plane lists as LEGACY (with extended-access dates where known).
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Show the price entries that apply to a model.
    Show {
        #[command(flatten)]
        pricing: PricingArgs,
        /// Model id, profile id (`us.…`, `global.…`) or part of one.
        model: String,
        /// Only this region.
        #[arg(long)]
        region: Option<String>,
        /// Only entries in effect at this date or time.
        #[arg(long)]
        at: Option<String>,
    },
}

/// Principal granularity on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PrincipalArg {
    /// Do not keep the principal.
    Off,
    /// Role or user name only.
    Role,
    /// Role and session name.
    RoleSession,
}

/// Entry point used by the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            let usage = e.chain().any(|c| c.downcast_ref::<UsageError>().is_some());
            ExitCode::from(if usage { EXIT_USAGE } else { EXIT_FAILURE })
        }
    }
}

/// An error in what the user asked for (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn init_logging(format: LogFormat, level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => b.try_init(),
        LogFormat::Json => b.json().try_init(),
    };
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    if !matches!(cli.command, Command::Run { .. }) {
        init_logging(cli.log_format, cli.log_level.as_deref().unwrap_or("warn"));
    }
    match cli.command {
        Command::Ingest {
            db,
            pricing,
            strict,
            principal,
            tag_keys,
            format,
            no_progress,
            commit_records,
            from,
            to,
            region,
            endpoint_url,
            paths,
        } => {
            let (mut local, mut urls) = (Vec::new(), Vec::new());
            for p in paths {
                match p.to_str().and_then(crate::sources::s3::S3Url::parse) {
                    Some(url) => urls.push(url.map_err(UsageError)?),
                    None => local.push(p),
                }
            }
            let from = from
                .map(|f| parse_time(&f, false).map_err(|e| UsageError(format!("--from: {e}"))))
                .transpose()?;
            let to = to
                .map(|t| parse_time(&t, true).map_err(|e| UsageError(format!("--to: {e}"))))
                .transpose()?;
            if let (Some(f), Some(t)) = (from, to)
                && t <= f
            {
                return Err(anyhow!(UsageError(format!(
                    "--to ({t}) must be after --from ({f})"
                ))));
            }
            if urls.is_empty() && (from.is_some() || to.is_some()) {
                return Err(anyhow!(UsageError(
                    "--from and --to apply to s3:// sources only".to_string()
                )));
            }
            let region = match (region, urls.is_empty()) {
                (Some(r), _) => r,
                (None, true) => String::new(),
                (None, false) => {
                    return Err(anyhow!(UsageError(
                        "s3:// sources need a region: pass --region or set AWS_REGION".to_string()
                    )));
                }
            };
            let buckets: Vec<crate::ingest::S3Input> = urls
                .into_iter()
                .map(|url| crate::ingest::S3Input {
                    url,
                    aws: crate::sources::aws::AwsSettings {
                        region: region.clone(),
                        assume_role_arn: None,
                        external_id: None,
                        endpoint_url: endpoint_url.clone(),
                    },
                    from,
                    to,
                })
                .collect();
            let book = load_book(&pricing)?;
            let config = LedgerConfig {
                principal: match principal {
                    PrincipalArg::Off => PrincipalDetail::Off,
                    PrincipalArg::Role => PrincipalDetail::Role,
                    PrincipalArg::RoleSession => PrincipalDetail::RoleSession,
                },
                tag_keys: if tag_keys.is_empty() {
                    TagKeys::All
                } else {
                    TagKeys::Only(tag_keys)
                },
            };
            let store = Store::open(&db.db)
                .with_context(|| format!("opening the ledger {}", db.db.display()))?;
            let ledger = Ledger::new(&book, config);
            let opts = IngestOptions {
                progress: !no_progress && std::io::stderr().is_terminal(),
                batch_records: commit_records as usize,
                ..IngestOptions::default()
            };
            let (summary, _) = Ingest::new(store, ledger, opts)?.run_all(&local, &buckets)?;
            print_summary(&summary, format)?;
            Ok(ingest_exit_code(&summary, strict))
        }
        Command::Report {
            db,
            from,
            to,
            group_by,
            format,
        } => {
            let (from, to) = range(&from, &to)?;
            let groups = group_by
                .iter()
                .filter(|g| !g.is_empty())
                .map(|g| GroupBy::parse(g).map_err(UsageError))
                .collect::<Result<Vec<_>, _>>()?;
            let store = Store::open_read_only(&db.db)
                .with_context(|| format!("opening the ledger {}", db.db.display()))?;
            let b = report_builder(&store, groups, from.timestamp(), to.timestamp())?;
            let report = b.finish(from, to);
            match format {
                Format::Table => print!("{}", report.to_table()),
                Format::Csv => print!("{}", report.to_csv()?),
                Format::Json => println!("{}", report.to_json()),
            }
            Ok(0)
        }
        Command::PlanPt {
            db,
            pricing,
            model,
            region,
            days,
            to,
            mu_tpm,
            config,
            format,
        } => plan_pt(
            &db, &pricing, model, region, days, to, mu_tpm, config, format,
        ),
        Command::Reprice {
            db,
            pricing,
            from,
            to,
            dry_run,
        } => {
            let (from, to) = range(&from, &to)?;
            let (from_h, to_h) = (floor_hour(from.timestamp()), ceil_hour(to.timestamp()));
            let book = load_book(&pricing)?;
            let mut store = Store::open(&db.db)
                .with_context(|| format!("opening the ledger {}", db.db.display()))?;
            let rows = store.rollup_rows(from_h, to_h)?;
            let mut batch = crate::accounting::Batch::default();
            let (mut before, mut changed) = (rust_decimal::Decimal::ZERO, 0u64);
            for r in &rows {
                before += r.amount.cost.unwrap_or_default();
                let cell = StoredCell {
                    dims: &r.dims,
                    meter: &r.meter,
                    detail: &r.detail,
                    price_entry: &r.price_entry,
                    pricing_version: &r.pricing_version,
                    quantity: r.amount.quantity,
                    cost: r.amount.cost,
                };
                if reprice_cell(&book, &cell, &mut batch)
                    == crate::accounting::RepriceOutcome::Changed
                {
                    changed += 1;
                }
            }
            let after: rust_decimal::Decimal = batch
                .rollups
                .values()
                .flat_map(|c| c.values())
                .filter_map(|a| a.cost)
                .sum();
            if !dry_run {
                store.replace_range(from_h, to_h, &batch)?;
            }
            println!(
                "{} {} of {} rollup cells with table {}: cost {} -> {} USD",
                if dry_run {
                    "Would re-price"
                } else {
                    "Re-priced"
                },
                changed,
                rows.len(),
                book.version(),
                format_usd(before),
                format_usd(after)
            );
            Ok(0)
        }
        Command::Pricing { action } => crate::cli_pricing::run(action),
        Command::Bench {
            quick,
            json,
            records_large,
            records_small,
            records_memory,
            dir,
            keep,
        } => {
            let mut opts = crate::bench::BenchOptions {
                quick,
                json,
                dir,
                keep,
                ..Default::default()
            };
            opts.records_large = records_large.unwrap_or(opts.records_large);
            opts.records_small = records_small.unwrap_or(opts.records_small);
            opts.records_memory = records_memory.unwrap_or(opts.records_memory);
            crate::bench::run(&opts, &mut std::io::stdout())?;
            Ok(0)
        }
        Command::BenchChild {
            input,
            db,
            dedup_window_hours,
        } => {
            crate::bench::child(
                &crate::bench::ChildOptions {
                    input,
                    db,
                    dedup_window_hours,
                },
                &mut std::io::stdout(),
            )?;
            Ok(0)
        }
        Command::Estimate(args) => {
            crate::estimate::run(args, crate::clock::Clock::now(&crate::clock::SystemClock))
        }
        Command::Run { config } => run_daemon(&config, cli.log_level.as_deref(), cli.log_format),
        Command::CheckConfig {
            file,
            with_environment,
        } => {
            let c = crate::config::Config::load(&file)
                .map_err(|e| anyhow!(UsageError(format!("{e:#}"))))?;
            if with_environment {
                c.resolve_secrets(&|k| std::env::var(k).ok())
                    .map_err(|e| anyhow!(UsageError(format!("{}: {e:#}", file.display()))))?;
            }
            println!(
                "{}: ok ({} source{})",
                file.display(),
                c.sources.len(),
                if c.sources.len() == 1 { "" } else { "s" }
            );
            Ok(0)
        }
        Command::Demo {
            db,
            listen,
            rate,
            duration,
            seed,
        } => demo(db, listen, rate, duration, seed),
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_pt(
    db: &DbArgs,
    pricing: &PricingArgs,
    model: Option<String>,
    region: Option<String>,
    days: u32,
    to: Option<String>,
    mu_tpm: Option<u64>,
    config: Option<PathBuf>,
    format: Format,
) -> Result<u8> {
    if days == 0 {
        return Err(anyhow!(UsageError("--days must be at least 1".into())));
    }
    if mu_tpm == Some(0) {
        return Err(anyhow!(UsageError(
            "--mu-tpm must be above 0 (tokens per minute one model unit serves)".into()
        )));
    }
    let book = load_book(pricing)?;
    let mu_tpm_config = match &config {
        Some(path) => {
            crate::config::Config::load(path)
                .map_err(|e| anyhow!(UsageError(format!("{e}"))))?
                .planner
                .tokens_per_minute_per_model_unit
        }
        None => Default::default(),
    };
    let end = match &to {
        Some(t) => parse_time(t, true).map_err(|e| anyhow!(UsageError(format!("--to: {e}"))))?,
        None => crate::clock::Clock::now(&crate::clock::SystemClock),
    };
    let to_hour = floor_hour(end.timestamp());
    let params = crate::planner::PlanParams {
        model,
        region,
        from_hour: to_hour - i64::from(days) * 24 * 3600,
        to_hour,
        mu_tpm_flag: mu_tpm,
        mu_tpm_config,
    };
    let store = Store::open_read_only(&db.db)
        .with_context(|| format!("opening the ledger {}", db.db.display()))?;
    let plans = crate::planner::plan(&store, &book, &params)?;
    match format {
        Format::Table => print!("{}", crate::planner::to_table(&plans)),
        Format::Csv => print!("{}", crate::planner::to_csv(&plans)?),
        Format::Json => println!("{}", serde_json::to_string_pretty(&plans)?),
    }
    Ok(0)
}

/// A report builder fed with the ledger's rollups in `[from, to)` (unix seconds), streamed
/// so a long range never sits in memory row by row.
fn report_builder(
    store: &Store,
    groups: Vec<GroupBy>,
    from: i64,
    to: i64,
) -> Result<ReportBuilder> {
    let mut b = ReportBuilder::new(groups);
    store.for_each_rollup_row::<crate::store::StoreError, _>(from, to, |r| {
        b.add(
            &r.dims,
            &r.meter,
            &r.pricing_version,
            r.amount.quantity,
            r.amount.cost,
        );
        Ok(())
    })?;
    Ok(b)
}

fn ingest_exit_code(s: &IngestSummary, strict: bool) -> u8 {
    let read_any = s.records_total() > 0 || s.files_already_ingested > 0;
    if !read_any && (s.failed_total() > 0 || s.files_read == 0) {
        EXIT_NOTHING_READ
    } else if strict && (s.rejected_total() > 0 || s.failed_total() > 0) {
        EXIT_REJECTED
    } else {
        0
    }
}

fn print_summary(s: &IngestSummary, format: Format) -> Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(s)?),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record(["item", "value"])?;
            w.write_record(["files_read", &s.files_read.to_string()])?;
            w.write_record([
                "files_already_ingested",
                &s.files_already_ingested.to_string(),
            ])?;
            for (k, v) in &s.files_skipped {
                w.write_record([format!("files_skipped:{k}"), v.to_string()])?;
            }
            for (k, v) in &s.files_failed {
                w.write_record([format!("files_failed:{k}"), v.to_string()])?;
            }
            w.write_record(["records_ingested", &s.records_ingested.to_string()])?;
            w.write_record(["records_duplicate", &s.records_duplicate.to_string()])?;
            for (k, v) in &s.records_rejected {
                w.write_record([format!("records_rejected:{k}"), v.to_string()])?;
            }
            w.write_record(["cost_usd", &format_usd(s.cost_usd)])?;
            for (k, v) in &s.unpriced {
                w.write_record([format!("unpriced:{k}"), v.to_string()])?;
            }
            w.flush()?;
        }
        Format::Table => {
            println!(
                "Files: {} read, {} already ingested, {} skipped, {} failed",
                s.files_read,
                s.files_already_ingested,
                s.files_skipped.values().sum::<u64>(),
                s.failed_total()
            );
            for (k, v) in &s.files_failed {
                println!("  failed ({k}): {v}");
            }
            println!(
                "Records: {} ingested, {} duplicates, {} rejected",
                s.records_ingested,
                s.records_duplicate,
                s.rejected_total()
            );
            for (k, v) in &s.records_rejected {
                println!("  rejected ({k}): {v}");
            }
            println!("Cost of records ingested: {} USD", format_usd(s.cost_usd));
            for (k, v) in &s.unpriced {
                println!("  UNPRICED {k}: {v} (not in the cost; see `report`)");
            }
        }
    }
    Ok(())
}

/// Loads the embedded price table or a replacement directory.
pub fn load_book(p: &PricingArgs) -> Result<PriceBook> {
    match &p.pricing {
        Some(dir) => PriceBook::from_dir(dir)
            .map_err(|e| anyhow!(UsageError(format!("price table {}: {e}", dir.display())))),
        None => PriceBook::embedded().map_err(|e| anyhow!("embedded price table: {e}")),
    }
}

/// Parses `--from`/`--to`: a date means that day's midnight for `from` and the next midnight
/// for `to` (so the end date is included); an RFC 3339 time is used as is.
pub fn range(from: &str, to: &str) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let f = parse_time(from, false).map_err(|e| anyhow!(UsageError(format!("--from: {e}"))))?;
    let t = parse_time(to, true).map_err(|e| anyhow!(UsageError(format!("--to: {e}"))))?;
    if t <= f {
        return Err(anyhow!(UsageError(format!(
            "--to ({t}) must be after --from ({f})"
        ))));
    }
    Ok((f, t))
}

/// Parses a date (`YYYY-MM-DD`) or RFC 3339 time; `end_of_day` moves a date to the next
/// midnight.
pub fn parse_time(s: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let d = if end_of_day {
            d.succ_opt().unwrap_or(d)
        } else {
            d
        };
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

fn floor_hour(s: i64) -> i64 {
    s - s.rem_euclid(3600)
}

fn ceil_hour(s: i64) -> i64 {
    let f = floor_hour(s);
    if f == s { s } else { f + 3600 }
}

fn run_daemon(path: &std::path::Path, level: Option<&str>, format: LogFormat) -> Result<u8> {
    let loaded = crate::config::Config::load(path);
    let (level, format) = match &loaded {
        Ok(c) => (
            level.unwrap_or(&c.logging.level).to_string(),
            match c.logging.format {
                crate::config::LogFormat::Json => LogFormat::Json,
                crate::config::LogFormat::Text => format,
            },
        ),
        Err(_) => (level.unwrap_or("warn").to_string(), format),
    };
    init_logging(format, &level);
    let c = loaded.map_err(|e| anyhow!(UsageError(format!("{e:#}"))))?;
    let secrets = c
        .resolve_secrets(&|k| std::env::var(k).ok())
        .map_err(|e| anyhow!(UsageError(format!("{}: {e:#}", path.display()))))?;
    let c = discover_sources(c, path)?;
    let settings = crate::daemon::DaemonSettings::from_config(&c, &secrets);
    let clock: std::sync::Arc<dyn crate::clock::Clock> =
        std::sync::Arc::new(crate::clock::SystemClock);
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let outcome = crate::daemon::run(settings, clock, crate::daemon::shutdown_signal(), |addr| {
        println!("bedrock-meter listening on {scheme}://{addr}/metrics");
    })?;
    Ok(match outcome {
        crate::daemon::Outcome::Clean => 0,
        crate::daemon::Outcome::DeadlineExceeded(_) => EXIT_FAILURE,
    })
}

/// With no `[[sources]]` and `discovery.regions` set, the config with the discovered
/// sources added (and the warnings logged); otherwise the config as it is.
fn discover_sources(
    mut c: crate::config::Config,
    path: &std::path::Path,
) -> Result<crate::config::Config> {
    if !c.sources.is_empty() || c.discovery.regions.is_empty() {
        return Ok(c);
    }
    let lookup = |s: &crate::sources::aws::AwsSettings| {
        crate::sources::aws::BedrockClient::new(s)?.invocation_logging()
    };
    let plan = crate::discovery::discover(&c.discovery, &lookup).map_err(|e| anyhow!(e))?;
    for w in &plan.warnings {
        tracing::warn!("{w}");
    }
    for s in &plan.sources {
        tracing::info!(
            source = s.name(),
            r#type = s.type_name(),
            "Discovered a source."
        );
    }
    if plan.sources.is_empty() {
        tracing::warn!(
            regions = %c.discovery.regions.join(","),
            "Discovery found no invocation-log destination; no source runs."
        );
    }
    c.sources = plan.sources;
    // The discovered sources get the same checks as written ones (discovery itself, which
    // forbids written sources beside it, has been checked at load).
    let mut check = c.clone();
    check.discovery.regions.clear();
    check
        .validate(&format!("{} (discovered sources)", path.display()))
        .map_err(|e| anyhow!("{e:#}"))?;
    Ok(c)
}

fn demo(
    db: Option<PathBuf>,
    listen: std::net::SocketAddr,
    rate: u32,
    duration: Option<u64>,
    seed: Option<u64>,
) -> Result<u8> {
    let seed = seed.unwrap_or_else(|| {
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        (now.timestamp_nanos_opt().unwrap_or_default() as u64) ^ u64::from(std::process::id())
    });
    use crate::sources::{SourceSpec, synthetic::SyntheticSpec};
    let dir = std::env::temp_dir().join(format!("bedrock-meter-demo-{}", std::process::id()));
    let temporary = db.is_none();
    let store_path = match db {
        Some(p) => p,
        None => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.join("ledger.db")
        }
    };
    let settings = crate::daemon::DaemonSettings {
        listen,
        store_path: store_path.clone(),
        metrics: crate::exporters::metrics::MetricsConfig {
            tag_labels: vec!["team".to_string()],
            ..Default::default()
        },
        sources: vec![SourceSpec::Synthetic(SyntheticSpec {
            name: "demo".into(),
            rate_per_sec: rate,
            seed,
        })],
        // The provisioned models the generated traffic names, a custom model and its job.
        provisioned: crate::provisioned::demo_settings(
            &crate::synth::SynthConfig::default().accounts,
            crate::clock::Clock::now(&crate::clock::SystemClock),
        ),
        budgets: crate::budgets::BudgetSettings::demo(),
        ..Default::default()
    };
    let clock: std::sync::Arc<dyn crate::clock::Clock> =
        std::sync::Arc::new(crate::clock::SystemClock);
    let shutdown = async move {
        match duration {
            Some(secs) => {
                tokio::select! {
                    _ = crate::daemon::shutdown_signal() => {},
                    _ = tokio::time::sleep(std::time::Duration::from_secs(secs)) => {},
                }
            }
            None => crate::daemon::shutdown_signal().await,
        }
    };
    let db_display = store_path.display().to_string();
    let outcome = crate::daemon::run(settings, clock, shutdown, move |addr| {
        println!(
            "bedrock-meter demo: generating Bedrock invocation-log traffic ({rate}/s, bursts of 5x) into {db_display}"
        );
        println!();
        println!("  Metrics:    http://{addr}/metrics");
        println!("  Overview:   http://{addr}/   (JSON: http://{addr}/api/v1/overview)");
        println!("  Health:     http://{addr}/healthz   http://{addr}/readyz");
        println!();
        println!("Try:");
        println!("  curl -s http://{addr}/metrics | grep '^bedrock_cost_usd_total'");
        println!("  curl -s http://{addr}/metrics | grep '^bedrock_budget_'   # example budgets");
        println!(
            "  bedrock-meter report --db {db_display} --from 2020-01-01 --to 2100-01-01 --group-by model,tag:team"
        );
        println!();
        println!(
            "Press Ctrl-C to stop{}.",
            if duration.is_some() {
                " (or wait for --duration)"
            } else {
                ""
            }
        );
    })?;
    let clock = crate::clock::SystemClock;
    let now = crate::clock::Clock::now(&clock);
    let store = Store::open_read_only(&store_path)?;
    let b = report_builder(&store, vec![GroupBy::Model], i64::MIN, i64::MAX)?;
    let from = DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default();
    println!("\n{}", b.finish(from, now).to_table());
    if temporary {
        println!(
            "The demo ledger is kept at {} (delete it when done).",
            store_path.display()
        );
    }
    Ok(match outcome {
        crate::daemon::Outcome::Clean => 0,
        crate::daemon::Outcome::DeadlineExceeded(_) => EXIT_FAILURE,
    })
}
