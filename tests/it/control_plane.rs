//! The Bedrock control plane against a fake server on 127.0.0.1 (moto lacks these APIs):
//! the real SDK makes real HTTP calls to REST-JSON routes that answer with recorded,
//! realistic bodies. Checks the inventory the poller builds, the exact requests (paths,
//! `type` and `nextToken` query parameters), the API-call counts, that a failed refresh
//! keeps the last good inventory and names the IAM action, throttling, and end to end in
//! the daemon that an application-profile ARN is priced as its base model with the
//! profile's tags, and that `pricing check --db` warns about a legacy, unpriced model.
//!
//! Also the `#[ignore]`d read-only smoke test against a real account.
use crate::util::{bin, run, signal_and_wait, stdout, wait_until};
use bedrock_meter::clock::SystemClock;
use bedrock_meter::inventory::{Commitment, InventoryHandle};
use bedrock_meter::sources::HealthSink;
use bedrock_meter::sources::aws::AwsSettings;
use bedrock_meter::sources::aws::bedrock::{ControlPlaneApi, ControlPlaneClient};
use bedrock_meter::sources::control_plane::{ControlPlaneSpec, Poller};
use bedrock_meter::store::Store;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// --- the fake control plane ----------------------------------------------------------------

const ACCOUNT: &str = "123456789012";
const APP: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/k1c3lwu20lem";
const APP_GLOBAL: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/glb0aa11bb22";
const PT: &str = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/a1b2c3d4e5f6";
const JOB: &str = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.titan-text-express-v1:0:8k/ti8uhtzbwyjd";
const CUSTOM: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/qx7yd4m2abcd";

const SYSTEM_PROFILES: &str = r#"{"inferenceProfileSummaries":[{"inferenceProfileName":"US Nova Lite","description":"Routes requests to Nova Lite in us-east-1, us-west-2 and us-east-2.","createdAt":"2024-11-26T00:00:00Z","updatedAt":"2024-11-26T00:00:00Z","inferenceProfileArn":"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0","models":[{"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"},{"modelArn":"arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0"},{"modelArn":"arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-lite-v1:0"}],"inferenceProfileId":"us.amazon.nova-lite-v1:0","status":"ACTIVE","type":"SYSTEM_DEFINED"}]}"#;

const APP_PROFILES_1: &str = r#"{"inferenceProfileSummaries":[{"inferenceProfileName":"search-nova-lite","description":"Search team, Nova Lite","createdAt":"2026-10-02T09:14:07.331Z","updatedAt":"2026-10-02T09:14:07.331Z","inferenceProfileArn":"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/k1c3lwu20lem","models":[{"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"}],"inferenceProfileId":"k1c3lwu20lem","status":"ACTIVE","type":"APPLICATION"}],"nextToken":"page-2"}"#;

const APP_PROFILES_2: &str = r#"{"inferenceProfileSummaries":[{"inferenceProfileName":"ml-sonnet-global","createdAt":"2026-10-05T16:40:00Z","updatedAt":"2026-10-05T16:40:00Z","inferenceProfileArn":"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/glb0aa11bb22","models":[{"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"},{"modelArn":"arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"}],"inferenceProfileId":"glb0aa11bb22","status":"ACTIVE","type":"APPLICATION"}]}"#;

const PROVISIONED: &str = r#"{"provisionedModelSummaries":[{"provisionedModelName":"support-bot","provisionedModelArn":"arn:aws:bedrock:us-east-1:123456789012:provisioned-model/a1b2c3d4e5f6","modelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k","desiredModelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k","foundationModelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k","modelUnits":2,"desiredModelUnits":2,"status":"InService","commitmentDuration":"OneMonth","commitmentExpirationTime":"2026-12-01T08:00:00Z","creationTime":"2026-11-01T08:00:00Z","lastModifiedTime":"2026-11-01T08:05:12Z"}]}"#;

const FOUNDATION_MODELS: &str = r#"{"modelSummaries":[{"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0","modelId":"amazon.nova-lite-v1:0","modelName":"Nova Lite","providerName":"Amazon","inputModalities":["TEXT","IMAGE","VIDEO"],"outputModalities":["TEXT"],"responseStreamingSupported":true,"customizationsSupported":[],"inferenceTypesSupported":["INFERENCE_PROFILE"],"modelLifecycle":{"status":"ACTIVE"}},{"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-tg1-large","modelId":"amazon.titan-tg1-large","modelName":"Titan Text Large","providerName":"Amazon","inputModalities":["TEXT"],"outputModalities":["TEXT"],"responseStreamingSupported":true,"customizationsSupported":[],"inferenceTypesSupported":["ON_DEMAND"],"modelLifecycle":{"status":"LEGACY","startOfLifeTime":"2023-09-28T00:00:00Z","legacyTime":"2025-06-01T00:00:00Z","publicExtendedAccessTime":"2025-12-01T00:00:00Z","endOfLifeTime":"2026-12-01T00:00:00Z"}}]}"#;

const CUSTOM_MODELS: &str = r#"{"modelSummaries":[{"modelArn":"arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/qx7yd4m2abcd","modelName":"support-tuned","creationTime":"2026-11-03T12:00:00Z","baseModelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k","baseModelName":"","customizationType":"FINE_TUNING","ownerAccountId":"123456789012","modelStatus":"Active"}]}"#;

const JOBS: &str = r#"{"modelCustomizationJobSummaries":[{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.titan-text-express-v1:0:8k/ti8uhtzbwyjd","baseModelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k","jobName":"support-tune-1","status":"Completed","lastModifiedTime":"2026-11-03T12:00:00Z","creationTime":"2026-11-03T09:00:00Z","endTime":"2026-11-03T11:58:00Z","customModelArn":"arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/qx7yd4m2abcd","customModelName":"support-tuned","customizationType":"FINE_TUNING"}]}"#;

const JOB_DETAIL: &str = r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.titan-text-express-v1:0:8k/ti8uhtzbwyjd","jobName":"support-tune-1","outputModelName":"support-tuned","outputModelArn":"arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/qx7yd4m2abcd","roleArn":"arn:aws:iam::123456789012:role/BedrockTune","status":"Completed","creationTime":"2026-11-03T09:00:00Z","lastModifiedTime":"2026-11-03T12:00:00Z","endTime":"2026-11-03T11:58:00Z","baseModelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k","hyperParameters":{"epochCount":"2","batchSize":"1","learningRate":"0.00001"},"trainingDataConfig":{"s3Uri":"s3://tune-data/train.jsonl"},"outputDataConfig":{"s3Uri":"s3://tune-data/out/"},"customizationType":"FINE_TUNING","trainingMetrics":{"trainingLoss":0.52}}"#;

#[derive(Default)]
struct State {
    /// `METHOD path?query` of every request, in order.
    requests: Vec<String>,
    /// Answer requests whose path starts with `.0` with status `.1` and error type `.2`.
    fail: Option<(String, u16, &'static str)>,
}

struct Fake {
    url: String,
    state: Arc<Mutex<State>>,
}

impl Fake {
    fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
    fn fail(&self, path: &str, status: u16, code: &'static str) {
        self.state.lock().unwrap().fail = Some((path.to_string(), status, code));
    }
    fn heal(&self) {
        self.state.lock().unwrap().fail = None;
    }
}

fn json(status: u16, body: String, error: Option<&str>) -> axum::response::Response {
    let mut b = axum::response::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(code) = error {
        b = b.header("x-amzn-errortype", code);
    }
    b.body(axum::body::Body::from(body)).unwrap()
}

fn answer(
    state: &Mutex<State>,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
) -> axum::response::Response {
    let mut s = state.lock().unwrap();
    s.requests.push(if query.is_empty() {
        format!("{method} {path}")
    } else {
        format!("{method} {path}?{query}")
    });
    if let Some((prefix, status, code)) = &s.fail
        && path.starts_with(prefix.as_str())
    {
        let message = if code.starts_with("AccessDenied") {
            "User: arn:aws:sts::123456789012:assumed-role/BedrockMeterRead/meter is not authorized to perform this action".to_string()
        } else {
            "Rate exceeded".to_string()
        };
        return json(*status, format!(r#"{{"message":"{message}"}}"#), Some(code));
    }
    drop(s);
    let q: BTreeMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ok = |b: &str| json(200, b.to_string(), None);
    match (method, path) {
        ("GET", "/inference-profiles") => {
            match (q.get("type").map(String::as_str), q.get("nextToken")) {
                (Some("SYSTEM_DEFINED"), None) => ok(SYSTEM_PROFILES),
                (Some("APPLICATION"), None) => ok(APP_PROFILES_1),
                (Some("APPLICATION"), Some(t)) if t == "page-2" => ok(APP_PROFILES_2),
                _ => json(
                    400,
                    r#"{"message":"bad query"}"#.into(),
                    Some("ValidationException"),
                ),
            }
        }
        ("POST", "/listTagsForResource") => {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let tags = match v["resourceARN"].as_str() {
                Some(APP) => {
                    r#"[{"key":"team","value":"search"},{"key":"cost-center","value":"cc-42"}]"#
                }
                Some(APP_GLOBAL) => r#"[{"key":"team","value":"ml"}]"#,
                _ => "[]",
            };
            ok(&format!(r#"{{"tags":{tags}}}"#))
        }
        ("GET", "/provisioned-model-throughputs") => ok(PROVISIONED),
        ("GET", "/foundation-models") => ok(FOUNDATION_MODELS),
        ("GET", "/custom-models") => ok(CUSTOM_MODELS),
        ("GET", "/model-customization-jobs") => ok(JOBS),
        ("GET", p) if p.starts_with("/model-customization-jobs/") => ok(JOB_DETAIL),
        _ => json(
            404,
            r#"{"message":"no such route"}"#.into(),
            Some("UnknownOperationException"),
        ),
    }
}

/// A fake control plane on 127.0.0.1:<free port>, serving until the test binary exits.
fn fake() -> Fake {
    let state = Arc::new(Mutex::new(State::default()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let st = state.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().fallback(
                move |method: axum::http::Method, uri: axum::http::Uri, body: axum::body::Bytes| {
                    let st = st.clone();
                    async move {
                        answer(
                            &st,
                            method.as_str(),
                            uri.path(),
                            uri.query().unwrap_or_default(),
                            &body,
                        )
                    }
                },
            );
            axum::serve(listener, app).await.unwrap();
        });
    });
    Fake { url, state }
}

// --- in-process: the poller with the real SDK --------------------------------------------

/// Health reports, as the metrics would count them.
#[derive(Default)]
struct Health {
    calls: Mutex<BTreeMap<&'static str, u64>>,
    errors: Mutex<Vec<&'static str>>,
    up: Mutex<Option<bool>>,
}

impl HealthSink for Health {
    fn up(&self, _: &str, up: bool) {
        *self.up.lock().unwrap() = Some(up);
    }
    fn success(&self, _: &str, _: DateTime<Utc>, _: Option<f64>) {
        *self.up.lock().unwrap() = Some(true);
    }
    fn error(&self, _: &str, kind: &'static str) {
        self.errors.lock().unwrap().push(kind);
    }
    fn api_call(&self, _: &str, api: &'static str) {
        *self.calls.lock().unwrap().entry(api).or_default() += 1;
    }
}

fn poller(f: &Fake, inventory: &InventoryHandle, health: &Arc<Health>) -> Poller {
    let spec = ControlPlaneSpec {
        targets: vec![AwsSettings {
            region: "us-east-1".into(),
            assume_role_arn: None,
            external_id: None,
            endpoint_url: Some(f.url.clone()),
        }],
        refresh_interval: Duration::from_secs(3600),
    };
    Poller::new(
        spec,
        inventory.clone(),
        health.clone(),
        Arc::new(SystemClock),
        Box::new(|s, hook| {
            Ok(Box::new(ControlPlaneClient::with_static_credentials(
                s, "testing", "testing", hook,
            )?) as Box<dyn ControlPlaneApi>)
        }),
    )
}

#[test]
fn the_sdk_reads_the_fake_control_plane_into_the_inventory() {
    let f = fake();
    let inventory = InventoryHandle::default();
    let health = Arc::new(Health::default());
    let mut p = poller(&f, &inventory, &health);
    p.refresh().unwrap_or_else(|e| panic!("{e}"));
    let inv = inventory.snapshot();
    assert!(inv.refreshed_at.is_some());

    // Profiles: the application ones with their tags, base model and scope.
    assert_eq!(inv.profiles.len(), 3);
    let app = &inv.profiles[APP];
    assert_eq!(
        (app.kind.as_str(), app.model.as_str(), app.scope.as_str()),
        ("APPLICATION", "amazon.nova-lite-v1:0", "in_region")
    );
    assert_eq!(
        app.tags,
        BTreeMap::from([
            ("cost-center".to_string(), "cc-42".to_string()),
            ("team".to_string(), "search".to_string())
        ])
    );
    let global = &inv.profiles[APP_GLOBAL];
    assert_eq!(
        (global.model.as_str(), global.scope.as_str()),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "global")
    );
    let sys = &inv.profiles["arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0"];
    assert_eq!(
        (sys.kind.as_str(), sys.scope.as_str()),
        ("SYSTEM_DEFINED", "geo")
    );

    // Provisioned throughput, for the provisioned-throughput cost stream.
    let pt = &inv.provisioned[PT];
    assert_eq!(pt.name, "support-bot");
    assert_eq!(pt.account, ACCOUNT);
    assert_eq!(pt.model, "amazon.titan-text-express-v1:0");
    assert_eq!(pt.model_units, 2);
    assert_eq!(pt.commitment, Commitment::OneMonth);
    assert_eq!(pt.status, "InService");
    assert_eq!(pt.created_at.to_rfc3339(), "2026-11-01T08:00:00+00:00");
    assert_eq!(
        pt.commitment_expires_at.map(|t| t.to_rfc3339()),
        Some("2026-12-01T08:00:00+00:00".to_string())
    );
    assert_eq!(pt.custom_model_arn, None);
    assert_eq!(pt.deleted_at, None);

    // Customization: the job with its epochs (from GetModelCustomizationJob), the model.
    let job = &inv.jobs[JOB];
    assert_eq!(
        (job.base_model.as_str(), job.epochs, job.status.as_str()),
        ("amazon.titan-text-express-v1:0:8k", Some(2), "Completed")
    );
    assert_eq!(job.customization_type, "FINE_TUNING");
    assert_eq!(job.output_model_arn.as_deref(), Some(CUSTOM));
    assert_eq!(
        job.ended_at.map(|t| t.to_rfc3339()),
        Some("2026-11-03T11:58:00+00:00".to_string())
    );
    let custom = &inv.custom_models[CUSTOM];
    assert_eq!(custom.name, "support-tuned");
    assert_eq!(custom.base_model, "amazon.titan-text-express-v1:0:8k");

    // Foundation models with their lifecycle.
    let legacy = &inv.foundation_models[&(
        "us-east-1".to_string(),
        "amazon.titan-tg1-large".to_string(),
    )];
    assert_eq!(legacy.lifecycle, "LEGACY");

    // The exact requests: both profile types, the second page, tags per application
    // profile, the job read once by its ARN.
    let reqs = f.requests();
    for want in [
        "GET /inference-profiles?type=SYSTEM_DEFINED",
        "GET /inference-profiles?type=APPLICATION",
        "GET /inference-profiles?nextToken=page-2&type=APPLICATION",
        "POST /listTagsForResource",
        "GET /provisioned-model-throughputs",
        "GET /foundation-models",
        "GET /custom-models",
        "GET /model-customization-jobs",
    ] {
        assert!(reqs.iter().any(|r| r == want), "{want} not in {reqs:#?}");
    }
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("GET /model-customization-jobs/arn")),
        "{reqs:#?}"
    );
    let calls = health.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        BTreeMap::from([
            ("GetModelCustomizationJob", 1),
            ("ListCustomModels", 1),
            ("ListFoundationModels", 1),
            ("ListInferenceProfiles", 3),
            ("ListModelCustomizationJobs", 1),
            ("ListProvisionedModelThroughputs", 1),
            ("ListTagsForResource", 2),
        ])
    );
    assert_eq!(calls.values().sum::<u64>() as usize, reqs.len());

    // A second refresh does not read the finished job again.
    p.refresh().unwrap();
    assert_eq!(health.calls.lock().unwrap()["GetModelCustomizationJob"], 1);

    // Access denied on the tags: the refresh fails naming the IAM action, the inventory is
    // kept as it was, and the source is reported down.
    let before = inventory.snapshot();
    f.fail("/listTagsForResource", 403, "AccessDeniedException");
    let e = p.refresh().unwrap_err();
    assert_eq!(e.kind(), "aws_access_denied");
    assert!(
        e.to_string().contains("grant bedrock:ListTagsForResource"),
        "{e}"
    );
    assert_eq!(inventory.snapshot(), before);
    assert_eq!(*health.up.lock().unwrap(), Some(false));
    assert_eq!(
        health.errors.lock().unwrap().as_slice(),
        ["aws_access_denied"]
    );

    // Healed: the next refresh succeeds again.
    f.heal();
    p.refresh().unwrap();
    assert_eq!(*health.up.lock().unwrap(), Some(true));
}

#[test]
fn throttling_that_outlasts_the_sdk_retries_is_reported_and_keeps_the_inventory() {
    let f = fake();
    let inventory = InventoryHandle::default();
    let health = Arc::new(Health::default());
    let mut p = poller(&f, &inventory, &health);
    p.refresh().unwrap();
    let before = inventory.snapshot();
    f.fail("/provisioned-model-throughputs", 429, "ThrottlingException");
    let e = p.refresh().unwrap_err();
    assert_eq!(e.kind(), "aws_throttled");
    assert!(
        e.to_string().contains("ListProvisionedModelThroughputs"),
        "{e}"
    );
    // The SDK retried before giving up.
    let throttled = f
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /provisioned-model-throughputs"))
        .count();
    assert!(throttled > 2, "{throttled}");
    assert_eq!(inventory.snapshot(), before);
}

// --- the daemon, end to end --------------------------------------------------------------

/// A running daemon, killed if the test fails before stopping it.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn record(request_id: &str, model_id: &str) -> String {
    format!(
        concat!(
            r#"{{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2026-11-02T10:00:00Z","#,
            r#""accountId":"123456789012","identity":{{"arn":"arn:aws:sts::123456789012:assumed-role/App/s1"}},"#,
            r#""region":"us-east-1","requestId":"{id}","operation":"Converse","modelId":"{model}","#,
            r#""input":{{"inputContentType":"application/json","inputTokenCount":1000000}},"#,
            r#""output":{{"outputContentType":"application/json","outputTokenCount":100000}}}}"#
        ),
        id = request_id,
        model = model_id
    )
}

#[test]
fn the_daemon_prices_an_application_profile_as_its_model_with_the_profile_tags() {
    let f = fake();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("records.json"),
        format!(
            "{}\n{}\n",
            record("app-1", APP),
            record("legacy-1", "amazon.titan-tg1-large")
        ),
    )
    .unwrap();
    let db = dir.path().join("ledger.db");
    let config = dir.path().join("bedrock-meter.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten_address = \"127.0.0.1:0\"\n\n[store]\npath = \"{}\"\n\n\
             [metrics]\ntag_labels = [\"team\"]\n\n\
             [pipeline]\ncommit_interval_ms = 100\n\n\
             [control_plane]\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n\n\
             [[sources]]\ntype = \"directory\"\nname = \"logs\"\npath = \"{}\"\npoll_interval_secs = 1\n",
            db.display(),
            f.url,
            logs.display()
        ),
    )
    .unwrap();
    let mut cmd = bin();
    cmd.args(["run", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    let mut child = Running(cmd.spawn().unwrap());
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .rsplit("//")
        .next()
        .and_then(|a| a.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();

    let ingested = || {
        Store::open_read_only(&db)
            .ok()
            .and_then(|s| s.counters().ok())
            .and_then(|c| c.get("records_ingested").copied())
            .unwrap_or(0)
    };
    wait_until("both records in the ledger", 60, || ingested() == 2);

    let rows = Store::open_read_only(&db)
        .unwrap()
        .rollup_rows(i64::MIN, i64::MAX)
        .unwrap();
    let input: Vec<_> = rows.iter().filter(|r| r.meter == "input_tokens").collect();
    let app = input
        .iter()
        .find(|r| r.dims.model == "amazon.nova-lite-v1:0")
        .unwrap_or_else(|| panic!("the profile was not resolved: {rows:#?}"));
    assert_eq!(app.dims.scope, "in_region");
    assert_eq!(app.dims.tags, r#"{"cost-center":"cc-42","team":"search"}"#);
    assert!(
        !app.price_entry.is_empty() && app.amount.cost.is_some(),
        "{app:#?}"
    );
    let legacy = input
        .iter()
        .find(|r| r.dims.model == "amazon.titan-tg1-large")
        .unwrap();
    assert!(legacy.price_entry.is_empty() && legacy.amount.cost.is_none());

    let (status, metrics) = crate::daemon::http_get(&addr, "/metrics", None);
    assert_eq!(status, 200);
    for want in [
        "bedrock_inference_profiles{kind=\"APPLICATION\"} 2",
        "bedrock_inference_profiles{kind=\"SYSTEM_DEFINED\"} 1",
        "bedrock_foundation_models{region=\"us-east-1\",lifecycle=\"LEGACY\"} 1",
        "bedrock_meter_source_up{source=\"control-plane\"} 1",
        "bedrock_meter_aws_api_calls_total{source=\"control-plane\",api=\"ListTagsForResource\"}",
        "bedrock_control_plane_refresh_timestamp_seconds ",
    ] {
        assert!(metrics.contains(want), "{want} not in\n{metrics}");
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("bedrock_cost_usd_total{")
                && l.contains("model=\"amazon.nova-lite-v1:0\"")
                && l.contains("tag_team=\"search\"")),
        "{metrics}"
    );

    // A provisioned throughput the control plane reports (and the config does not declare)
    // accrues cost: 2 model units at the 1-month us-east-1 rate, from its creation time.
    wait_until("provisioned accrual in the ledger", 60, || {
        Store::open_read_only(&db)
            .ok()
            .and_then(|s| s.rollup_rows(i64::MIN, i64::MAX).ok())
            .is_some_and(|rows| rows.iter().any(|r| r.meter == "model_unit_seconds"))
    });
    let rows = Store::open_read_only(&db)
        .unwrap()
        .rollup_rows(i64::MIN, i64::MAX)
        .unwrap();
    let pt: Vec<_> = rows
        .iter()
        .filter(|r| r.meter == "model_unit_seconds")
        .collect();
    assert!(
        pt.iter().all(|r| r.dims.pricing_mode == "provisioned"
            && r.dims.model.starts_with("amazon.titan-text-express-v1")
            && r.price_entry == "amazon.titan-text-express/provisioned/2023-11-29"
            && r.amount
                .cost
                .is_some_and(|c| c > rust_decimal::Decimal::ZERO)),
        "{pt:#?}"
    );
    // The first hour (2026-11-01T08:00 to 09:00) is whole: 2 units x 3600 s.
    let first = pt.iter().min_by_key(|r| r.dims.hour).unwrap();
    assert_eq!(first.dims.hour, 1_793_520_000);
    assert_eq!(first.amount.quantity, 7200);
    // 7200 model-unit seconds at 18.40 USD per model-unit hour = 36.80 USD.
    assert_eq!(
        first.amount.cost.unwrap().normalize().to_string(),
        "36.8",
        "{first:#?}"
    );
    let (_, metrics) = crate::daemon::http_get(&addr, "/metrics", None);
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("bedrock_provisioned_model_units{")
                && l.contains("provisioned_model=\"support-bot\"")
                && l.ends_with(" 2")),
        "{metrics}"
    );

    // The foundation-model list is kept with the ledger (wait for the writer to store it).
    wait_until("the foundation-model list in the ledger", 60, || {
        Store::open_read_only(&db)
            .ok()
            .and_then(|s| s.meta_get("control_plane.foundation_models").ok().flatten())
            .is_some()
    });
    assert_eq!(signal_and_wait(&mut child.0, "-TERM"), 0);
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);

    let o = run(&["pricing", "check", "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    assert!(
        text.contains("warning: usage in the ledger with no price")
            && text.contains("amazon.titan-tg1-large in us-east-1: 1000000 input_tokens, 100000 output_tokens [LEGACY, extended access from 2025-12-01, end of life 2026-12-01]"),
        "{text}"
    );
    assert!(
        text.contains("models with usage that the control plane lists as LEGACY")
            && !text.contains("amazon.nova-lite-v1:0 in us-east-1"),
        "{text}"
    );
}

// --- smoke test against a real account ---------------------------------------------------

/// Reads a real account's control plane once, read-only (List*/Get* calls only), and
/// prints what it found. Runs only when asked: `BEDROCK_METER_SMOKE_REGION=us-east-1 cargo
/// test --test it control_plane::smoke -- --ignored --nocapture` with credentials in the
/// environment (AWS_PROFILE, SSO, keys…). Costs about 8 API calls plus one per
/// application profile and one per unfinished customization job.
#[test]
#[ignore = "needs AWS credentials and BEDROCK_METER_SMOKE_REGION; read-only"]
fn smoke_a_real_account_control_plane() {
    let Ok(region) = std::env::var("BEDROCK_METER_SMOKE_REGION") else {
        panic!(
            "refusing to run: set BEDROCK_METER_SMOKE_REGION (e.g. us-east-1) and provide \
             credentials to read a real account's Bedrock control plane (read-only)"
        );
    };
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_none(),
        "refusing to run with AWS_ENDPOINT_URL set: this test is for a real account"
    );
    let inventory = InventoryHandle::default();
    let health = Arc::new(Health::default());
    let spec = ControlPlaneSpec {
        targets: vec![AwsSettings {
            region: region.clone(),
            assume_role_arn: std::env::var("BEDROCK_METER_SMOKE_ROLE_ARN").ok(),
            external_id: None,
            endpoint_url: None,
        }],
        refresh_interval: Duration::from_secs(3600),
    };
    let mut p = Poller::new(
        spec,
        inventory.clone(),
        health.clone(),
        Arc::new(SystemClock),
        Box::new(bedrock_meter::sources::control_plane::connect_aws),
    );
    p.refresh()
        .unwrap_or_else(|e| panic!("control-plane refresh in {region}: {e}"));
    let inv = inventory.snapshot();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for p in inv.profiles.values() {
        *kinds.entry(p.kind.as_str()).or_default() += 1;
    }
    let legacy = inv
        .foundation_models
        .values()
        .filter(|m| m.lifecycle == "LEGACY")
        .count();
    let mut o = std::io::stdout().lock();
    writeln!(o, "region {region}: profiles {kinds:?}, {} provisioned, {} custom models, {} jobs, {} foundation models ({legacy} legacy)",
        inv.provisioned.len(), inv.custom_models.len(), inv.jobs.len(), inv.foundation_models.len()).unwrap();
    writeln!(o, "API calls: {:?}", health.calls.lock().unwrap()).unwrap();
    assert!(
        !inv.foundation_models.is_empty(),
        "a region with Bedrock lists foundation models"
    );
}
