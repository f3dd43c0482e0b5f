//! The daemon's budget thread: every `notifications.evaluation_interval_secs` it evaluates
//! the budgets ([`crate::budgets::run_cycle`]), publishes their metrics, then delivers the
//! outbox.
//!
//! It uses its own connection to the ledger. Its writes (a threshold state change with its
//! queued notifications; a delivery mark) are a few rows in short transactions, so the
//! writer thread waits at most milliseconds for them (the store's busy timeout covers the
//! rare overlap); its reads are WAL snapshots that never block the writer.
use super::{Notifier, render};
use crate::budgets::{BudgetSettings, Notification, run_cycle};
use crate::clock::Clock;
use crate::exporters::metrics::Telemetry;
use crate::store::{Durability, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A queued notification older than this is given up (logged, kept in the outbox with
/// `abandoned_at`).
pub const GIVE_UP_AFTER_SECS: i64 = 24 * 3600;

/// Delivered notifications and threshold states of periods older than this are deleted
/// (once an hour): the longest period is a quarter, so a year keeps every current one.
pub const KEEP_HISTORY_SECS: i64 = 400 * 86_400;

/// What the budget thread needs.
pub struct Runner {
    /// Budgets and receivers.
    pub settings: BudgetSettings,
    /// The ledger file.
    pub store_path: PathBuf,
    /// Its durability.
    pub durability: Durability,
    /// Where the metrics go.
    pub telemetry: Arc<Telemetry>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Set to stop.
    pub stop: Arc<AtomicBool>,
}

impl Runner {
    /// Starts the thread.
    pub fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("budgets".into())
            .spawn(move || self.run())
    }

    fn run(self) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "Cannot start the budget thread's runtime; budgets are not evaluated.");
                return;
            }
        };
        let mut store = match Store::open_with(&self.store_path, self.durability) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "Cannot open the ledger for budgets; budgets are not evaluated.");
                return;
            }
        };
        let notifier = match rt.block_on(async { Notifier::new() }) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::error!(error = %e, "Cannot build the HTTP client; notifications stay queued.");
                None
            }
        };
        let receivers: Vec<String> = self
            .settings
            .notifications
            .receivers
            .iter()
            .map(|r| r.name.clone())
            .collect();
        self.telemetry.with_budgets(|g| g.configure(&receivers));
        let every =
            Duration::from_secs(self.settings.notifications.evaluation_interval_secs.max(1));
        let mut pruned_at: Option<i64> = None;
        while !self.stop.load(Ordering::Relaxed) {
            let now = self.clock.now();
            let t = now.timestamp();
            if pruned_at.is_none_or(|p| t.saturating_sub(p) >= 3600) {
                pruned_at = Some(t);
                if let Err(e) = store.prune_budget_history(t.saturating_sub(KEEP_HISTORY_SECS)) {
                    tracing::warn!(error = %e, "Cannot prune old budget history.");
                }
            }
            match run_cycle(&mut store, &self.settings, now) {
                Ok(cycle) => self.telemetry.with_budgets(|g| g.set(cycle.statuses)),
                Err(e) => {
                    tracing::warn!(error = %e, "Budget evaluation failed; retrying next cycle.")
                }
            }
            if let Some(n) = &notifier {
                self.deliver(&rt, n, &mut store);
            }
            let mut slept = Duration::ZERO;
            while slept < every && !self.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                slept += Duration::from_millis(50);
            }
        }
    }

    /// Delivers every pending notification once (with the receiver's retries).
    fn deliver(&self, rt: &tokio::runtime::Runtime, notifier: &Notifier, store: &mut Store) {
        let pending = match store.pending_notifications() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "Cannot read the notification outbox.");
                return;
            }
        };
        let now = self.clock.now().timestamp();
        for row in pending {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let receiver = self.settings.receiver(&row.receiver);
            let event: Option<Notification> = serde_json::from_str(&row.event).ok();
            let (Some(receiver), Some(event)) = (receiver, event) else {
                tracing::warn!(receiver = %row.receiver, id = %row.event_key, "Dropping a queued notification: its receiver is no longer configured.");
                let _ = store.mark_abandoned(row.id, now);
                continue;
            };
            if now - row.created_at > GIVE_UP_AFTER_SECS {
                tracing::error!(receiver = %row.receiver, id = %row.event_key, attempts = row.attempts, "Giving up a notification after 24 hours of failed deliveries.");
                let _ = store.mark_abandoned(row.id, now);
                continue;
            }
            let secrets = self
                .settings
                .secrets
                .get(&receiver.name)
                .cloned()
                .unwrap_or_default();
            if receiver.kind == crate::config::ReceiverKind::Log {
                tracing::info!(
                    receiver = %receiver.name,
                    id = %row.event_key,
                    notification = %row.event,
                    "Budget notification."
                );
                self.telemetry
                    .with_budgets(|g| g.notification(&receiver.name, true));
                if let Err(e) = store.mark_delivered(row.id, self.clock.now().timestamp()) {
                    tracing::warn!(error = %e, "Cannot mark a notification delivered; it may be logged again.");
                }
                continue;
            }
            let req = render(receiver, &secrets, &event);
            let timeout = Duration::from_secs(receiver.timeout_secs);
            let stop = self.stop.clone();
            let result = rt.block_on(async {
                tokio::select! {
                    r = notifier.send(&req, timeout, receiver.retries) => Some(r),
                    _ = async {
                        while !stop.load(Ordering::Relaxed) {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    } => None,
                }
            });
            match result {
                // Stopping: the notification stays queued for the next start.
                None => return,
                Some(Ok(())) => {
                    self.telemetry
                        .with_budgets(|g| g.notification(&receiver.name, true));
                    tracing::info!(receiver = %receiver.name, id = %row.event_key, "Delivered a budget notification.");
                    if let Err(e) = store.mark_delivered(row.id, self.clock.now().timestamp()) {
                        tracing::warn!(error = %e, "Cannot mark a notification delivered; it may be sent again.");
                    }
                }
                Some(Err(e)) => {
                    self.telemetry
                        .with_budgets(|g| g.notification(&receiver.name, false));
                    tracing::warn!(receiver = %receiver.name, id = %row.event_key, error = %e, "Budget notification failed; retrying next cycle.");
                    let _ = store.mark_failed_attempt(row.id);
                }
            }
        }
    }
}
