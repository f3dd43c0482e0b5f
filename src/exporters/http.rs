//! The HTTP endpoints: `/metrics` (Prometheus text format), `/healthz` (the process is alive),
//! `/readyz` (store open, price table loaded, sources started). Optional bearer or basic
//! auth protects `/metrics`; TLS is served when a certificate and key are configured.
//! Reads shared state only; never writes the store. `/` and `/api/v1/overview` (the
//! overview page and its JSON, see [`super::overview`]) sit behind the same auth as
//! `/metrics`.
use crate::clock::Clock;
use crate::exporters::metrics::Telemetry;
use crate::pricing::PriceBook;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How `/metrics` is protected.
#[derive(Clone, Default)]
pub enum HttpAuth {
    /// Open.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic <base64(user:password)>`.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
}

impl std::fmt::Debug for HttpAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpAuth::None => f.write_str("None"),
            HttpAuth::Bearer(_) => f.write_str("Bearer([redacted])"),
            HttpAuth::Basic { username, .. } => write!(f, "Basic({username}, [redacted])"),
        }
    }
}

/// Readiness flags, set by the daemon as it starts.
#[derive(Debug, Default)]
pub struct Readiness {
    /// The writer opened the store.
    pub store_open: AtomicBool,
    /// The price table loaded.
    pub pricing_loaded: AtomicBool,
    /// Every configured source was started.
    pub sources_started: AtomicBool,
}

impl Readiness {
    fn ready(&self) -> Result<(), &'static str> {
        if !self.store_open.load(Ordering::Relaxed) {
            return Err("store not open");
        }
        if !self.pricing_loaded.load(Ordering::Relaxed) {
            return Err("price table not loaded");
        }
        if !self.sources_started.load(Ordering::Relaxed) {
            return Err("sources not started");
        }
        Ok(())
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// Metrics.
    pub telemetry: Arc<Telemetry>,
    /// The price table.
    pub book: Arc<PriceBook>,
    /// Readiness.
    pub ready: Arc<Readiness>,
    /// Auth for `/metrics`.
    pub auth: HttpAuth,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The ledger, opened read-only per request by the overview; `None` disables it.
    pub store_path: Option<std::path::PathBuf>,
}

/// The router.
pub fn router(state: HttpState) -> Router {
    let protected = Router::new()
        .route("/metrics", get(metrics))
        .route("/", get(overview_page))
        .route("/api/v1/overview", get(overview_json))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_auth));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .merge(protected)
        .with_state(state)
}

/// The exposition `/metrics` serves; the overview reads budgets and health back from it,
/// so anything added here shows on the overview page too.
fn exposition(s: &HttpState) -> String {
    s.telemetry.render(&s.book, s.clock.now())
}

async fn metrics(State(s): State<HttpState>) -> Response {
    let body = exposition(&s);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

async fn overview_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                super::overview::content_security_policy(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        super::overview::PAGE,
    )
        .into_response()
}

async fn overview_json(State(s): State<HttpState>) -> Response {
    let json = |status: StatusCode, body: String| {
        let headers = [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ];
        (status, headers, body).into_response()
    };
    let error = |e: &str| serde_json::json!({ "error": e }).to_string();
    let Some(path) = s.store_path.clone() else {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            error("no ledger is configured"),
        );
    };
    let text = exposition(&s);
    let version = s.book.version().to_string();
    let now = s.clock.now();
    let built = tokio::task::spawn_blocking(move || {
        super::overview::build(&path, &text, &version, now).map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(format!("the overview task failed: {e}")));
    match built.and_then(|o| serde_json::to_string(&o).map_err(|e| e.to_string())) {
        Ok(body) => json(StatusCode::OK, body),
        Err(e) => {
            tracing::warn!(error = %e, "Cannot build the overview.");
            json(StatusCode::SERVICE_UNAVAILABLE, error(&e))
        }
    }
}

async fn readyz(State(s): State<HttpState>) -> Response {
    match s.ready.ready() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

/// Constant-time comparison, so a wrong token takes as long as a right one.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(auth: &HttpAuth, header_value: Option<&str>) -> bool {
    match auth {
        HttpAuth::None => true,
        HttpAuth::Bearer(token) => header_value
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| same(t.trim().as_bytes(), token.as_bytes())),
        HttpAuth::Basic { username, password } => header_value
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .is_some_and(|raw| same(&raw, format!("{username}:{password}").as_bytes())),
    }
}

async fn require_auth(State(s): State<HttpState>, req: Request, next: Next) -> Response {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if authorized(&s.auth, value) {
        return next.run(req).await;
    }
    let challenge = match s.auth {
        HttpAuth::Basic { .. } => "Basic realm=\"bedrock-meter\"",
        _ => "Bearer",
    };
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
        "unauthorized\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_credentials_are_checked_exactly() {
        let bearer = HttpAuth::Bearer("s3cret".into());
        assert!(authorized(&bearer, Some("Bearer s3cret")));
        assert!(!authorized(&bearer, Some("Bearer s3cre")));
        assert!(!authorized(&bearer, None));
        let basic = HttpAuth::Basic {
            username: "prom".into(),
            password: "pw".into(),
        };
        let ok = base64::engine::general_purpose::STANDARD.encode("prom:pw");
        assert!(authorized(&basic, Some(&format!("Basic {ok}"))));
        assert!(!authorized(&basic, Some("Basic cHJvbTp4")));
        assert!(authorized(&HttpAuth::None, None));
    }
}
