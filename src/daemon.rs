//! The daemon: builds every component from [`DaemonSettings`], connects them, and states the
//! shutdown order.
//!
//! Threads: one per source, one writer that owns SQLite, and a small tokio runtime for HTTP.
//! Sources send [`SourceChunk`]s through a bounded channel (backpressure when the writer is
//! slow); the writer commits on size or time, then updates the metrics.
//!
//! Shutdown (SIGINT/SIGTERM or the caller's future): stop sources, let the channel drain,
//! commit rollups and checkpoints together, then stop HTTP, all within
//! `shutdown_grace`. Past the deadline the daemon logs what was left and exits non-zero.
use crate::accounting::{Ledger, LedgerConfig};
use crate::clock::Clock;
use crate::exporters::http::{HttpAuth, HttpState, Readiness, router};
use crate::exporters::metrics::{MetricsConfig, Telemetry};
use crate::pipeline::{SourceChunk, Writer};
use crate::pricing::PriceBook;
use crate::sources::{self, HealthSink, SourceContext, SourceSpec};
use crate::store::{Durability, Store};
use anyhow::{Context, Result, anyhow};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Everything the daemon needs, already validated.
#[derive(Debug, Clone)]
pub struct DaemonSettings {
    /// Address for HTTP (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Auth for `/metrics`.
    pub auth: HttpAuth,
    /// TLS certificate and key (PEM files), if HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The ledger file.
    pub store_path: PathBuf,
    /// Commit durability.
    pub durability: Durability,
    /// Dedup window in hours.
    pub dedup_window_hours: i64,
    /// A replacement price-table directory.
    pub pricing_dir: Option<PathBuf>,
    /// Ledger granularity.
    pub ledger: LedgerConfig,
    /// Metric labels and cardinality.
    pub metrics: MetricsConfig,
    /// Chunks in flight between sources and the writer.
    pub channel_capacity: usize,
    /// Commit after this many records.
    pub commit_max_records: u64,
    /// Commit at least this often when records are pending.
    pub commit_interval: Duration,
    /// Deadline for a graceful shutdown.
    pub shutdown_grace: Duration,
    /// Sources to run.
    pub sources: Vec<SourceSpec>,
    /// The Bedrock control-plane poller, if any (`[control_plane]`).
    pub control_plane: Option<crate::sources::control_plane::ControlPlaneSpec>,
    /// Provisioned-throughput and customization accrual (runs when entries are declared).
    pub provisioned: crate::provisioned::ProvisionedSettings,
    /// Budgets and notification receivers (`[[budgets]]`, `[notifications]`).
    pub budgets: crate::budgets::BudgetSettings,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            auth: HttpAuth::None,
            tls: None,
            store_path: PathBuf::from("bedrock-meter.db"),
            durability: Durability::Normal,
            dedup_window_hours: crate::accounting::DEFAULT_WINDOW_HOURS,
            pricing_dir: None,
            ledger: LedgerConfig::default(),
            metrics: MetricsConfig::default(),
            channel_capacity: 64,
            commit_max_records: 1000,
            commit_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
            sources: Vec::new(),
            control_plane: None,
            provisioned: crate::provisioned::ProvisionedSettings::default(),
            budgets: crate::budgets::BudgetSettings::default(),
        }
    }
}

/// How the daemon ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was drained and committed.
    Clean,
    /// The grace deadline passed first; what was left is in the message.
    DeadlineExceeded(String),
}

/// Waits for SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

impl HealthSink for Telemetry {
    fn up(&self, source: &str, up: bool) {
        self.set_source_up(source, up);
    }
    fn success(&self, source: &str, at: chrono::DateTime<chrono::Utc>, lag_secs: Option<f64>) {
        // Unknown lag (no record seen yet) is NaN, not 0, which would read as "caught up".
        self.source_success(source, at, lag_secs.unwrap_or(f64::NAN));
    }
    fn error(&self, source: &str, kind: &'static str) {
        self.source_error(source, kind);
    }
    fn api_call(&self, source: &str, api: &'static str) {
        Telemetry::api_call(self, source, api);
    }
}

/// Runs the daemon until `shutdown` completes. `on_listening` gets the bound address (useful
/// with port 0).
pub fn run<F, L>(
    settings: DaemonSettings,
    clock: Arc<dyn Clock>,
    shutdown: F,
    on_listening: L,
) -> Result<Outcome>
where
    F: Future<Output = ()> + Send + 'static,
    L: FnOnce(SocketAddr) + Send,
{
    let ready = Arc::new(Readiness::default());
    let book = Arc::new(match &settings.pricing_dir {
        Some(dir) => {
            PriceBook::from_dir(dir).map_err(|e| anyhow!("price table {}: {e}", dir.display()))?
        }
        None => PriceBook::embedded().map_err(|e| anyhow!("embedded price table: {e}"))?,
    });
    ready.pricing_loaded.store(true, Ordering::Relaxed);

    let store = Store::open_with(&settings.store_path, settings.durability)
        .with_context(|| format!("opening the ledger {}", settings.store_path.display()))?;
    let telemetry = Arc::new(
        Telemetry::restore(&store, settings.metrics.clone())
            .with_context(|| "restoring metrics from the ledger")?,
    );
    telemetry
        .refresh_cloudwatch(&store)
        .with_context(|| "restoring CloudWatch metrics from the ledger")?;

    // What the control plane knows (profiles, provisioned throughputs, …), shared with the
    // ledger, the metrics and the provisioned-throughput accrual (one handle for all).
    let inventory = settings.provisioned.inventory.clone();
    if settings.control_plane.is_some() {
        telemetry.set_inventory(inventory.clone());
    }

    let (tx, rx) = std::sync::mpsc::sync_channel::<SourceChunk>(settings.channel_capacity.max(1));
    let writer_stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let inventory = inventory.clone();
        let book = book.clone();
        let telemetry = telemetry.clone();
        let ledger_cfg = settings.ledger.clone();
        let stop = writer_stop.clone();
        let (max, every, window) = (
            settings.commit_max_records,
            settings.commit_interval,
            settings.dedup_window_hours,
        );
        let ready = ready.clone();
        std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                let ledger = Ledger::new(&book, ledger_cfg).with_inventory(inventory.clone());
                let writer = match Writer::new(store, ledger, window) {
                    Ok(w) => w,
                    Err(e) => {
                        tracing::error!(error = %e, "Cannot start the writer.");
                        return Err(anyhow!(e));
                    }
                };
                ready.store_open.store(true, Ordering::Relaxed);
                write_loop(writer, &rx, &telemetry, &stop, max, every, &inventory);
                Ok(())
            })?
    };

    // Budgets: their own thread and ledger connection (see notify::Runner).
    let budget_stop = Arc::new(AtomicBool::new(false));
    let budget_thread = if settings.budgets.is_empty() {
        None
    } else {
        Some(
            crate::notify::Runner {
                settings: settings.budgets.clone(),
                store_path: settings.store_path.clone(),
                durability: settings.durability,
                telemetry: telemetry.clone(),
                clock: clock.clone(),
                stop: budget_stop.clone(),
            }
            .spawn()?,
        )
    };

    let stop = Arc::new(AtomicBool::new(false));
    if let Some(spec) = &settings.control_plane {
        // Not joined at shutdown: it writes nothing, and may be inside an SDK retry.
        let (_thread, first) = crate::sources::control_plane::spawn(
            spec.clone(),
            inventory.clone(),
            telemetry.clone() as Arc<dyn HealthSink>,
            clock.clone(),
            stop.clone(),
        )?;
        // Records are priced with the inventory in hand when it comes quickly; a slow or
        // failing control plane delays the sources by at most this.
        let _ = first.recv_timeout(Duration::from_secs(30));
    }
    let mut source_threads = Vec::new();
    for spec in &settings.sources {
        let cx = SourceContext::new(
            spec.name(),
            tx.clone(),
            stop.clone(),
            telemetry.clone() as Arc<dyn HealthSink>,
            clock.clone(),
            Some(settings.store_path.clone()),
        );
        let joinable = !matches!(spec, SourceSpec::Stdin { .. });
        source_threads.push((
            spec.name().to_string(),
            joinable,
            sources::spawn(spec.clone(), cx)?,
        ));
    }
    if !settings.provisioned.is_empty() || settings.control_plane.is_some() {
        // Its chunks (rollup deltas + checkpoint) go through the same writer as a source's.
        let cx = SourceContext::new(
            crate::provisioned::CP_PROVISIONED,
            tx.clone(),
            stop.clone(),
            telemetry.clone() as Arc<dyn HealthSink>,
            clock.clone(),
            Some(settings.store_path.clone()),
        );
        source_threads.push((
            crate::provisioned::CP_PROVISIONED.to_string(),
            true,
            crate::provisioned::spawn(
                settings.provisioned.clone(),
                book.clone(),
                telemetry.clone(),
                settings.store_path.clone(),
                cx,
            )?,
        ));
    }
    drop(tx);
    ready.sources_started.store(true, Ordering::Relaxed);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("http")
        .build()?;
    let listener = std::net::TcpListener::bind(settings.listen)
        .with_context(|| format!("binding {} (server.listen_address)", settings.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let app = router(HttpState {
        telemetry: telemetry.clone(),
        book: book.clone(),
        ready: ready.clone(),
        auth: settings.auth.clone(),
        clock: clock.clone(),
        store_path: Some(settings.store_path.clone()),
    });
    let server = {
        let handle = handle.clone();
        let tls = settings.tls.clone();
        rt.spawn(async move {
            let svc = app.into_make_service();
            match tls {
                Some((cert, key)) => {
                    let cfg = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                        .await
                        .with_context(|| {
                            format!(
                                "loading TLS certificate {} and key {}",
                                cert.display(),
                                key.display()
                            )
                        })?;
                    axum_server::from_tcp_rustls(listener, cfg)?
                        .handle(handle)
                        .serve(svc)
                        .await?;
                }
                None => {
                    axum_server::from_tcp(listener)?
                        .handle(handle)
                        .serve(svc)
                        .await?
                }
            }
            anyhow::Ok(())
        })
    };
    tracing::info!(address = %addr, tls = settings.tls.is_some(), "Serving /metrics, /healthz, /readyz.");
    on_listening(addr);

    // Wait for shutdown, or for the server to fail.
    let server_result = rt.block_on(async {
        tokio::pin!(server);
        tokio::select! {
            _ = shutdown => None,
            r = &mut server => Some(r),
        }
    });
    if let Some(r) = server_result {
        budget_stop.store(true, Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        writer_stop.store(true, Ordering::Relaxed);
        let _ = writer.join();
        return Err(match r {
            Ok(Ok(())) => anyhow!("the HTTP server stopped unexpectedly"),
            Ok(Err(e)) => e,
            Err(e) => anyhow!(e),
        });
    }

    // 1. Stop sources. 2. Drain and commit. 3. Stop HTTP.
    tracing::info!("Shutting down: stopping sources.");
    let deadline = Instant::now() + settings.shutdown_grace;
    stop.store(true, Ordering::Relaxed);
    budget_stop.store(true, Ordering::Relaxed);
    let mut left = Vec::new();
    for (name, joinable, t) in source_threads {
        if !joinable {
            continue;
        }
        while !t.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if t.is_finished() {
            let _ = t.join();
        } else {
            left.push(format!("source {name}"));
        }
    }
    writer_stop.store(true, Ordering::Relaxed);
    while !writer.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if writer.is_finished() {
        match writer.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => left.push(format!("writer: {e}")),
            Err(_) => left.push("writer panicked".to_string()),
        }
    } else {
        left.push("writer (uncommitted records)".to_string());
    }
    if let Some(t) = budget_thread {
        while !t.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if t.is_finished() {
            let _ = t.join();
        } else {
            left.push("budget thread".to_string());
        }
    }
    handle.graceful_shutdown(Some(Duration::from_secs(2)));
    rt.shutdown_timeout(Duration::from_secs(3));
    if left.is_empty() {
        tracing::info!("Stopped cleanly.");
        Ok(Outcome::Clean)
    } else {
        let what = left.join(", ");
        tracing::error!(left = %what, "Shutdown deadline passed.");
        Ok(Outcome::DeadlineExceeded(what))
    }
}

/// The writer thread: apply chunks, commit on size or time, retry failed commits with
/// backoff (without taking more input, so sources feel the backpressure), and drain on stop.
fn write_loop(
    mut writer: Writer<'_>,
    rx: &Receiver<SourceChunk>,
    telemetry: &Telemetry,
    stop: &AtomicBool,
    max: u64,
    every: Duration,
    inventory: &crate::inventory::InventoryHandle,
) {
    let mut foundation_models = crate::sources::control_plane::FoundationModelsPersist::default();
    let mut last_commit = Instant::now();
    let mut backoff = Duration::from_millis(100);
    let mut last_cloudwatch = Instant::now();
    loop {
        let due = writer.pending_records() >= max
            || (writer.pending_records() > 0 && last_commit.elapsed() >= every);
        let stopping = stop.load(Ordering::Relaxed);
        if stopping {
            while let Ok(chunk) = rx.try_recv() {
                writer.chunk(chunk);
            }
        }
        if due || stopping {
            let t = Instant::now();
            match writer.commit() {
                Ok(batch) => {
                    if let Some(batch) = batch {
                        telemetry.observe_commit(t.elapsed());
                        // Label values named in metrics stay named across restarts.
                        if let Some(u) = telemetry.apply(&batch)
                            && let Err(e) = writer.store_mut().meta_set(u.key, &u.value)
                        {
                            tracing::warn!(error = %e, "Cannot record metric label admissions.");
                        }
                        // CloudWatch totals follow their samples; the coverage ratio also
                        // follows the logs, re-read at most every 10 s.
                        if !batch.metric_samples.is_empty()
                            || (telemetry.cloudwatch_active()
                                && last_cloudwatch.elapsed() >= Duration::from_secs(10))
                        {
                            last_cloudwatch = Instant::now();
                            if let Err(e) = telemetry.refresh_cloudwatch(writer.store()) {
                                tracing::warn!(error = %e, "Cannot read CloudWatch metrics.");
                            }
                        }
                    }
                    last_commit = Instant::now();
                    backoff = Duration::from_millis(100);
                    if stopping {
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, retry_ms = backoff.as_millis() as u64, "Commit failed; keeping the batch and retrying.");
                    telemetry.source_error("store", e.kind());
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    // Take no more input until the batch is safe: sources feel the backpressure.
                    continue;
                }
            }
        }
        // The control plane's foundation-model list, for `pricing check --db`.
        if let Some(json) = foundation_models.due(inventory)
            && let Err(e) = writer.store_mut().meta_set(
                crate::sources::control_plane::FOUNDATION_MODELS_META_KEY,
                &json,
            )
        {
            tracing::warn!(error = %e, "Cannot record the foundation-model list.");
        }
        let wait = every
            .saturating_sub(last_commit.elapsed())
            .clamp(Duration::from_millis(10), Duration::from_millis(100));
        match rx.recv_timeout(wait) {
            Ok(chunk) => writer.chunk(chunk),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => stop.store(true, Ordering::Relaxed),
        }
    }
}

impl DaemonSettings {
    /// Settings from a validated config file and its resolved secrets.
    pub fn from_config(
        c: &crate::config::Config,
        secrets: &crate::config::ResolvedSecrets,
    ) -> DaemonSettings {
        use crate::config::{AuthCredentials, PrincipalSetting, SourceConfig};
        use crate::exporters::metrics::PrincipalLabel;
        let auth = match &secrets.auth {
            AuthCredentials::None => HttpAuth::None,
            AuthCredentials::Bearer { token } => HttpAuth::Bearer(token.expose().to_string()),
            AuthCredentials::Basic { username, password } => HttpAuth::Basic {
                username: username.clone(),
                password: password.expose().to_string(),
            },
        };
        let sources = c
            .sources
            .iter()
            .map(|s| match s {
                SourceConfig::Directory(d) => {
                    SourceSpec::Directory(sources::directory::DirectorySpec {
                        name: d.name.clone(),
                        path: d.path.clone(),
                        poll_interval: d.poll_interval(),
                    })
                }
                SourceConfig::Stdin(s) => SourceSpec::Stdin {
                    name: s.name.clone(),
                },
                SourceConfig::CloudwatchLogs(c) => SourceSpec::CloudWatchLogs(c.spec()),
                SourceConfig::S3(c) => SourceSpec::S3(c.spec()),
                SourceConfig::CloudwatchMetrics(m) => SourceSpec::CloudWatchMetrics(
                    m.spec(c.sources.iter().any(|o| o.may_read_logs_of(&m.region))),
                ),
            })
            .collect();
        DaemonSettings {
            listen: c.server.listen_address,
            auth,
            tls: c
                .server
                .tls
                .files()
                .map(|(c, k)| (c.to_path_buf(), k.to_path_buf())),
            store_path: c.store.path.clone(),
            durability: c.durability(),
            dedup_window_hours: c.store.dedup_window_hours_i64(),
            pricing_dir: c.pricing.directory.clone(),
            ledger: c.ledger_config(),
            metrics: MetricsConfig {
                principal: match c.metrics.principal {
                    PrincipalSetting::Off => PrincipalLabel::Off,
                    PrincipalSetting::Role => PrincipalLabel::Role,
                    PrincipalSetting::RoleSession => PrincipalLabel::RoleSession,
                },
                tag_labels: c.metrics.tag_labels.clone(),
                max_values_per_label: c.metrics.max_values_per_label as usize,
            },
            channel_capacity: c.pipeline.channel_capacity,
            commit_max_records: c.pipeline.commit_max_records as u64,
            commit_interval: c.pipeline.commit_interval(),
            shutdown_grace: c.pipeline.shutdown_grace(),
            sources,
            control_plane: c.control_plane_spec(),
            provisioned: c.provisioned_settings(),
            budgets: crate::budgets::BudgetSettings {
                budgets: c.budgets.clone(),
                notifications: c.notifications.clone(),
                secrets: secrets.receivers.clone(),
            },
        }
    }
}
