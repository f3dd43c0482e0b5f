//! Notifications: delivers queued budget events to receivers — a generic JSON webhook
//! (optionally HMAC-signed), a Slack-compatible incoming webhook, or Alertmanager's v2
//! alerts API — with a timeout per attempt and retries with exponential backoff.
//!
//! Owns the wire formats and HTTP delivery. It never decides *whether* to notify (that is
//! [`crate::budgets`], which queues events in the ledger's outbox) and never writes SQLite:
//! the caller marks deliveries through the store.
//!
//! The HTTP client is hyper-util's with hyper-rustls (native roots), the stack the AWS SDK
//! already builds, so HTTPS webhooks add no TLS library of their own.
mod runner;

pub use runner::{GIVE_UP_AFTER_SECS, KEEP_HISTORY_SECS, Runner};

use crate::budgets::Notification;
use crate::config::{ReceiverConfig, ReceiverKind, ReceiverSecrets};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// The signature header of webhook bodies: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Bedrock-Meter-Signature";

/// A whole request body.
type Body = http_body_util::Full<hyper::body::Bytes>;

/// One request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Where to POST.
    pub url: String,
    /// Headers besides `Content-Type: application/json`.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// The hex HMAC-SHA256 of `body` under `key`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The request a receiver gets for a notification.
pub fn render(r: &ReceiverConfig, secrets: &ReceiverSecrets, n: &Notification) -> Request {
    let mut headers = Vec::new();
    if let Some(t) = &secrets.bearer_token {
        headers.push((
            "Authorization".to_string(),
            format!("Bearer {}", t.expose()),
        ));
    }
    let (url, body) = match r.kind {
        ReceiverKind::Webhook => {
            let body = serde_json::to_vec(n).unwrap_or_default();
            if let Some(k) = &secrets.hmac_key {
                headers.push((
                    SIGNATURE_HEADER.to_string(),
                    format!("sha256={}", sign(k.expose().as_bytes(), &body)),
                ));
            }
            (r.url.clone(), body)
        }
        ReceiverKind::Slack => {
            let body = serde_json::json!({ "text": slack_text(n) });
            (r.url.clone(), serde_json::to_vec(&body).unwrap_or_default())
        }
        // Never sent: the runner logs it instead.
        ReceiverKind::Log => (String::new(), serde_json::to_vec(n).unwrap_or_default()),
        ReceiverKind::Alertmanager => {
            let url = format!("{}/api/v2/alerts", r.url.trim_end_matches('/'));
            (
                url,
                serde_json::to_vec(&alertmanager_alerts(n)).unwrap_or_default(),
            )
        }
    };
    Request { url, headers, body }
}

/// The one-line message of a Slack notification.
pub fn slack_text(n: &Notification) -> String {
    let what = match n.event.as_str() {
        "threshold_crossed" => format!("crossed {} ({})", n.threshold, n.kind),
        "threshold_recovered" => format!("is back below {} ({})", n.threshold, n.kind),
        "anomaly_started" => "is spending far above its usual rate".to_string(),
        _ => "is spending at its usual rate again".to_string(),
    };
    let icon = if n.state == "firing" {
        ":warning:"
    } else {
        ":white_check_mark:"
    };
    let mut text = format!(
        "{icon} Bedrock budget *{}* {what}: spend ${} of ${} (forecast ${}) for {} to {}.",
        n.budget, n.spend_usd, n.limit_usd, n.forecast_usd, n.period_start, n.period_end
    );
    if let Some(url) = &n.dashboard_url {
        text.push_str(&format!(" <{url}|Dashboard>"));
    }
    text
}

/// The Alertmanager v2 body: one alert. A firing alert ends with the period (Alertmanager
/// would otherwise resolve it after its `resolve_timeout`); a resolved one ends now.
pub fn alertmanager_alerts(n: &Notification) -> serde_json::Value {
    let anomaly = n.kind == "anomaly";
    let alertname = if anomaly {
        "BedrockBudgetAnomaly"
    } else {
        "BedrockBudgetThreshold"
    };
    let ends = if n.state == "firing" {
        &n.period_end
    } else {
        &n.at
    };
    let mut alert = serde_json::json!({
        "labels": {
            "alertname": alertname,
            "budget": n.budget,
            "threshold": n.threshold,
            "kind": n.kind,
            "severity": "warning",
            "source": "bedrock-meter",
        },
        "annotations": {
            "summary": slack_text(n),
            "spend_usd": n.spend_usd,
            "forecast_usd": n.forecast_usd,
            "limit_usd": n.limit_usd,
            "period_start": n.period_start,
            "period_end": n.period_end,
        },
        "startsAt": n.at,
        "endsAt": ends,
    });
    if let Some(url) = &n.dashboard_url {
        alert["generatorURL"] = serde_json::Value::String(url.clone());
    }
    serde_json::Value::Array(vec![alert])
}

/// Sends requests; one per process.
pub struct Notifier {
    client: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Body,
    >,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier")
    }
}

impl Notifier {
    /// A client that speaks HTTP and HTTPS (the system's root certificates). Must be
    /// called inside a tokio runtime.
    pub fn new() -> anyhow::Result<Notifier> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| anyhow::anyhow!("loading the system's root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(https);
        Ok(Notifier { client })
    }

    /// One attempt: POSTs the request and waits at most `timeout` for a 2xx answer.
    pub async fn send_once(&self, req: &Request, timeout: Duration) -> Result<(), String> {
        let mut builder = hyper::Request::post(&req.url)
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                concat!("bedrock-meter/", env!("CARGO_PKG_VERSION")),
            );
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        let request = builder
            .body(Body::new(req.body.clone().into()))
            .map_err(|e| format!("bad request: {e}"))?;
        let attempt = async {
            let resp = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("{e}"))?;
            let status = resp.status();
            // Read the (small) answer so the connection can be reused.
            let _ = http_body_util::BodyExt::collect(resp.into_body()).await;
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("the receiver answered HTTP {}", status.as_u16()))
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
        }
    }

    /// Up to `1 + retries` attempts with backoff 0.5 s, 1 s, 2 s, … (at most 30 s) between
    /// them. The last error when every attempt failed.
    pub async fn send(&self, req: &Request, timeout: Duration, retries: u32) -> Result<(), String> {
        let mut backoff = Duration::from_millis(500);
        let mut last = String::new();
        for attempt in 0..=retries {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            match self.send_once(req, timeout).await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn notification() -> Notification {
        Notification {
            version: 1,
            id: "b/actual/80%/1764547200/threshold_crossed".into(),
            event: "threshold_crossed".into(),
            state: "firing".into(),
            budget: "b".into(),
            period_start: "2026-12-01T00:00:00Z".into(),
            period_end: "2027-01-01T00:00:00Z".into(),
            threshold: "80%".into(),
            kind: "actual".into(),
            threshold_usd: "800".into(),
            spend_usd: "812.4".into(),
            forecast_usd: "1100".into(),
            limit_usd: "1000".into(),
            currency: "USD".into(),
            at: "2026-12-20T10:00:00Z".into(),
            dashboard_url: Some("https://grafana.example.com/d/bedrock".into()),
        }
    }

    fn receiver(kind: ReceiverKind) -> ReceiverConfig {
        let mut r = crate::config::NotificationsConfig::example().receivers[0].clone();
        r.kind = kind;
        r.url = "http://127.0.0.1:9093/".into();
        r
    }

    #[test]
    fn the_signature_is_the_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_signed_webhook_carries_the_payload_and_its_signature() {
        let secrets = ReceiverSecrets {
            hmac_key: Some(Secret::new("k")),
            bearer_token: Some(Secret::new("t")),
        };
        let req = render(&receiver(ReceiverKind::Webhook), &secrets, &notification());
        let back: Notification = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(back, notification());
        let sig = format!("sha256={}", sign(b"k", &req.body));
        assert!(req.headers.contains(&(SIGNATURE_HEADER.to_string(), sig)));
        assert!(
            req.headers
                .contains(&("Authorization".to_string(), "Bearer t".to_string()))
        );
    }

    #[test]
    fn slack_and_alertmanager_bodies() {
        let none = ReceiverSecrets::default();
        let req = render(&receiver(ReceiverKind::Slack), &none, &notification());
        let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            v["text"],
            ":warning: Bedrock budget *b* crossed 80% (actual): spend $812.4 of $1000 \
             (forecast $1100) for 2026-12-01T00:00:00Z to 2027-01-01T00:00:00Z. \
             <https://grafana.example.com/d/bedrock|Dashboard>"
        );
        assert!(req.headers.is_empty());
        let req = render(
            &receiver(ReceiverKind::Alertmanager),
            &none,
            &notification(),
        );
        assert_eq!(req.url, "http://127.0.0.1:9093/api/v2/alerts");
        let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(v[0]["labels"]["alertname"], "BedrockBudgetThreshold");
        assert_eq!(v[0]["labels"]["budget"], "b");
        assert_eq!(v[0]["endsAt"], "2027-01-01T00:00:00Z");
        assert_eq!(
            v[0]["generatorURL"],
            "https://grafana.example.com/d/bedrock"
        );
    }
}
