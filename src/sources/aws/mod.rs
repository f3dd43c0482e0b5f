//! The AWS boundary: the only module that uses the AWS SDK crates (`aws-config`,
//! `aws-sdk-bedrock`, `aws-sdk-cloudwatch`, `aws-sdk-cloudwatchlogs`, `aws-sdk-s3`).
//! CloudWatch metrics (`ListMetrics`, `GetMetricData`) are in [`cloudwatch`].
//!
//! Owns: building credentials (the standard chain: environment, profiles, web identity,
//! ECS/EC2 roles; optionally a role assumed per source, with an external id), the region and
//! an optional endpoint override; the calls the log sources need (CloudWatch Logs
//! `FilterLogEvents`, S3 `ListObjectsV2`/`GetObject` with a streaming body), and the one
//! `[discovery]` needs (Bedrock `GetModelInvocationLoggingConfiguration`, returned as
//! [`InvocationLogging`]); and turning SDK
//! errors into [`AwsError`] with a message that says what to fix (which IAM action, which
//! log group or bucket). Everything it exposes is in this crate's own types, behind the
//! narrow traits [`LogEventsApi`] and [`ObjectStoreApi`], so the source logic
//! ([`super::cloudwatch_logs`], [`super::s3`]) is tested without AWS.
//!
//! The SDK is async; each client owns a current-thread tokio runtime, built on the source
//! thread that uses it, and its methods block on it. Must not: interpret records, keep
//! checkpoints, or log message bodies, object contents or credentials.
pub mod bedrock;
pub mod cloudwatch;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use std::io::{self, Read};
use std::time::Duration;

/// How a source reaches AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// The region of the log group or bucket, e.g. `us-east-1`.
    pub region: String,
    /// A role to assume with the chain's credentials (to read another account).
    pub assume_role_arn: Option<String>,
    /// The external id the role's trust policy requires, if any.
    pub external_id: Option<String>,
    /// Another endpoint than AWS's (a VPC interface endpoint, or a local fake in tests).
    pub endpoint_url: Option<String>,
}

impl AwsSettings {
    /// The account id of `assume_role_arn` (`arn:aws:iam::<account>:role/…`), if set.
    pub fn role_account(&self) -> Option<&str> {
        self.assume_role_arn
            .as_deref()
            .and_then(|arn| arn.split(':').nth(4))
            .filter(|a| !a.is_empty())
    }
}

/// Where a source starts reading when it has no checkpoint yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The start (00:00 UTC on the 1st) of the current UTC month.
    MonthStart,
    /// A fixed instant.
    At(DateTime<Utc>),
}

impl StartFrom {
    /// Reads `"month_start"` or an RFC 3339 time.
    pub fn parse(s: &str) -> Result<StartFrom, String> {
        if s == "month_start" {
            return Ok(StartFrom::MonthStart);
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| StartFrom::At(t.with_timezone(&Utc)))
            .map_err(|e| {
                format!(
                    "`{s}` is neither \"month_start\" nor an RFC 3339 time ({e}); write e.g. \
                     \"2026-11-01T00:00:00Z\""
                )
            })
    }

    /// The instant, given the current time.
    pub fn resolve(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            StartFrom::At(t) => t,
            StartFrom::MonthStart => Utc
                .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
                .single()
                .unwrap_or(now),
        }
    }
}

/// A failed AWS call, classified so that the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// No credentials could be found or loaded.
    #[error(
        "no AWS credentials: {0}; provide them through the standard chain (AWS_PROFILE or \
         AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/config, web identity, an ECS or EC2 \
         instance role)"
    )]
    Credentials(String),
    /// Assuming the configured role failed.
    #[error(
        "cannot assume role {role}: {detail}; the daemon's identity needs sts:AssumeRole on \
         it, and the role's trust policy must allow that identity (with the external id, \
         if one is set)"
    )]
    AssumeRole {
        /// The role ARN.
        role: String,
        /// What STS said.
        detail: String,
    },
    /// The identity may not make the call.
    #[error("access denied to {resource}: grant {action} to the daemon's identity ({detail})")]
    AccessDenied {
        /// The IAM action needed, e.g. `logs:FilterLogEvents`.
        action: &'static str,
        /// The log group or bucket.
        resource: String,
        /// What AWS said.
        detail: String,
    },
    /// The log group or bucket does not exist (in that region and account).
    #[error("{0}")]
    NotFound(String),
    /// The call was throttled (after the SDK's own retries).
    #[error("throttled by AWS on {api}: {detail}")]
    Throttled {
        /// The API that was throttled.
        api: &'static str,
        /// What AWS said.
        detail: String,
    },
    /// Anything else (network, a 5xx, a bad endpoint).
    #[error("{api} failed: {detail}")]
    Other {
        /// The API.
        api: &'static str,
        /// The full error chain.
        detail: String,
    },
}

impl AwsError {
    /// A bounded label for `bedrock_meter_source_errors_total{kind}`.
    pub fn kind(&self) -> &'static str {
        match self {
            AwsError::Credentials(_) => "aws_credentials",
            AwsError::AssumeRole { .. } => "aws_assume_role",
            AwsError::AccessDenied { .. } => "aws_access_denied",
            AwsError::NotFound(_) => "aws_not_found",
            AwsError::Throttled { .. } => "aws_throttled",
            AwsError::Other { .. } => "aws",
        }
    }
}

/// Which call failed, for error messages.
#[derive(Debug, Clone, Copy)]
enum Api {
    FilterLogEvents,
    ListObjectsV2,
    GetObject,
    GetModelInvocationLoggingConfiguration,
    ListInferenceProfiles,
    ListTagsForResource,
    ListProvisionedModelThroughputs,
    ListFoundationModels,
    ListCustomModels,
    ListModelCustomizationJobs,
    GetModelCustomizationJob,
    ListMetrics,
    GetMetricData,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::FilterLogEvents => "FilterLogEvents",
            Api::ListObjectsV2 => "ListObjectsV2",
            Api::GetObject => "GetObject",
            Api::GetModelInvocationLoggingConfiguration => "GetModelInvocationLoggingConfiguration",
            Api::ListInferenceProfiles => "ListInferenceProfiles",
            Api::ListTagsForResource => "ListTagsForResource",
            Api::ListProvisionedModelThroughputs => "ListProvisionedModelThroughputs",
            Api::ListFoundationModels => "ListFoundationModels",
            Api::ListCustomModels => "ListCustomModels",
            Api::ListModelCustomizationJobs => "ListModelCustomizationJobs",
            Api::GetModelCustomizationJob => "GetModelCustomizationJob",
            Api::ListMetrics => "ListMetrics",
            Api::GetMetricData => "GetMetricData",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Api::FilterLogEvents => "logs:FilterLogEvents",
            Api::ListObjectsV2 => "s3:ListBucket",
            Api::GetObject => "s3:GetObject (and kms:Decrypt if the bucket uses SSE-KMS)",
            Api::GetModelInvocationLoggingConfiguration => {
                "bedrock:GetModelInvocationLoggingConfiguration"
            }
            Api::ListInferenceProfiles => "bedrock:ListInferenceProfiles",
            Api::ListTagsForResource => "bedrock:ListTagsForResource",
            Api::ListProvisionedModelThroughputs => "bedrock:ListProvisionedModelThroughputs",
            Api::ListFoundationModels => "bedrock:ListFoundationModels",
            Api::ListCustomModels => "bedrock:ListCustomModels",
            Api::ListModelCustomizationJobs => "bedrock:ListModelCustomizationJobs",
            Api::GetModelCustomizationJob => "bedrock:GetModelCustomizationJob",
            Api::ListMetrics => "cloudwatch:ListMetrics",
            Api::GetMetricData => "cloudwatch:GetMetricData",
        }
    }
}

const THROTTLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
    "RequestThrottledException",
];

/// An error and its sources, `: `-separated (the SDK's own display adds debug output).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Turns an SDK error into an [`AwsError`]. `resource` names the log group or bucket.
fn classify<E, R>(
    err: &SdkError<E, R>,
    api: Api,
    resource: &str,
    settings: &AwsSettings,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + 'static,
{
    let detail = chain(err);
    let code = err.code().unwrap_or_default();
    let message = err.message().unwrap_or_default().to_string();
    let said = if message.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {message}")
    };
    if matches!(err, SdkError::ServiceError(_)) {
        if code.starts_with("AccessDenied") || code == "UnauthorizedOperation" {
            return AwsError::AccessDenied {
                action: api.action(),
                resource: resource.to_string(),
                detail: said,
            };
        }
        if THROTTLE_CODES.contains(&code) {
            return AwsError::Throttled {
                api: api.name(),
                detail: said,
            };
        }
        match (api, code) {
            (Api::FilterLogEvents, "ResourceNotFoundException") => {
                return AwsError::NotFound(format!(
                    "log group {resource} not found in region {} ({said}); check \
                     log_group_name, region and the account",
                    settings.region
                ));
            }
            (Api::ListObjectsV2 | Api::GetObject, "NoSuchBucket") => {
                return AwsError::NotFound(format!(
                    "bucket {resource} does not exist ({said}); check bucket and the account"
                ));
            }
            (_, "InvalidAccessKeyId" | "UnrecognizedClientException" | "ExpiredToken")
            | (_, "ExpiredTokenException" | "InvalidClientTokenId" | "SignatureDoesNotMatch") => {
                return AwsError::Credentials(said);
            }
            _ => {}
        }
    }
    // Credential failures happen before the request is sent, so they are not service
    // errors: recognise them from the error chain.
    let lower = detail.to_ascii_lowercase();
    if let Some(role) = &settings.assume_role_arn
        && lower.contains("assumerole")
    {
        return AwsError::AssumeRole {
            role: role.clone(),
            detail,
        };
    }
    if lower.contains("credential") && !matches!(err, SdkError::ServiceError(_)) {
        return AwsError::Credentials(detail);
    }
    AwsError::Other {
        api: api.name(),
        detail,
    }
}

/// A current-thread runtime for one client, on the calling thread.
fn runtime() -> Result<tokio::runtime::Runtime, AwsError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AwsError::Other {
            api: "runtime",
            detail: e.to_string(),
        })
}

/// The shared SDK config: the standard credential chain, the region, the endpoint, and
/// the standard retry mode (which backs off on throttling).
async fn sdk_config(s: &AwsSettings) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(s.region.clone()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(5)
                .with_max_backoff(Duration::from_secs(20)),
        );
    if let Some(url) = &s.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The role provider, when the source assumes a role.
async fn assumed_role(
    s: &AwsSettings,
    base: &aws_config::SdkConfig,
) -> Option<aws_config::sts::AssumeRoleProvider> {
    let role = s.assume_role_arn.as_ref()?;
    let mut b = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("bedrock-meter")
        .region(aws_config::Region::new(s.region.clone()))
        .configure(base);
    if let Some(id) = &s.external_id {
        b = b.external_id(id);
    }
    Some(b.build().await)
}

// ---------------------------------------------------------------------------------------
// CloudWatch Logs

/// One `FilterLogEvents` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterQuery {
    /// The log group.
    pub log_group: String,
    /// One stream, or every stream of the group.
    pub log_stream: Option<String>,
    /// Events at or after this time (ms since the epoch).
    pub start_ms: i64,
    /// Events at or before this time (ms since the epoch).
    pub end_ms: i64,
    /// The page to read (from the previous page).
    pub next_token: Option<String>,
}

/// One log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// CloudWatch's id of the event, unique in the group.
    pub event_id: String,
    /// The event time (ms since the epoch).
    pub timestamp_ms: i64,
    /// The message: one invocation-log record.
    pub message: String,
}

/// One page of events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsPage {
    /// The events.
    pub events: Vec<LogEvent>,
    /// The next page, if any.
    pub next_token: Option<String>,
}

/// Reading log events (implemented by [`LogsClient`]; by fakes in tests).
pub trait LogEventsApi {
    /// One `FilterLogEvents` page.
    fn filter_page(&self, q: &FilterQuery) -> Result<EventsPage, AwsError>;
}

/// A CloudWatch Logs client with its own runtime.
pub struct LogsClient {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_cloudwatchlogs::Client,
    settings: AwsSettings,
}

impl LogsClient {
    /// A client for `settings`. Credentials are resolved on the first call.
    pub fn new(settings: &AwsSettings) -> Result<LogsClient, AwsError> {
        let rt = runtime()?;
        let client = rt.block_on(async {
            let base = sdk_config(settings).await;
            let mut b = aws_sdk_cloudwatchlogs::config::Builder::from(&base);
            if let Some(p) = assumed_role(settings, &base).await {
                b = b.credentials_provider(p);
            }
            aws_sdk_cloudwatchlogs::Client::from_conf(b.build())
        });
        Ok(LogsClient {
            rt,
            client,
            settings: settings.clone(),
        })
    }
}

impl LogEventsApi for LogsClient {
    fn filter_page(&self, q: &FilterQuery) -> Result<EventsPage, AwsError> {
        let mut req = self
            .client
            .filter_log_events()
            .log_group_name(&q.log_group)
            .start_time(q.start_ms)
            .end_time(q.end_ms)
            .set_next_token(q.next_token.clone());
        if let Some(s) = &q.log_stream {
            req = req.log_stream_names(s);
        }
        let out = self
            .rt
            .block_on(req.send())
            .map_err(|e| classify(&e, Api::FilterLogEvents, &q.log_group, &self.settings))?;
        let next_token = out.next_token.filter(|t| !t.is_empty());
        let events = out
            .events
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| {
                Some(LogEvent {
                    event_id: e.event_id?,
                    timestamp_ms: e.timestamp?,
                    message: e.message.unwrap_or_default(),
                })
            })
            .collect();
        Ok(EventsPage { events, next_token })
    }
}

// ---------------------------------------------------------------------------------------
// S3

/// One `ListObjectsV2` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// The bucket.
    pub bucket: String,
    /// Keys starting with this.
    pub prefix: String,
    /// Group keys up to this character into common prefixes (`/` to list "directories").
    pub delimiter: Option<String>,
    /// Keys after this one (S3 lists in UTF-8 binary order).
    pub start_after: Option<String>,
    /// The page to read (from the previous page).
    pub continuation_token: Option<String>,
}

/// An object in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its key.
    pub key: String,
    /// Its ETag, without quotes.
    pub etag: String,
    /// Its size in bytes.
    pub size: u64,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// Objects, in key order.
    pub objects: Vec<ObjectInfo>,
    /// Common prefixes (with a delimiter), in key order.
    pub prefixes: Vec<String>,
    /// The next page, if any.
    pub continuation_token: Option<String>,
}

/// Listing and reading objects (implemented by [`S3Client`]; by fakes in tests).
pub trait ObjectStoreApi {
    /// One `ListObjectsV2` page.
    fn list_page(&self, q: &ListQuery) -> Result<ListPage, AwsError>;
    /// The object's bytes, as stored (still compressed), streamed.
    fn open<'a>(&'a self, bucket: &str, key: &str) -> Result<Box<dyn Read + 'a>, AwsError>;
}

/// An S3 client with its own runtime.
pub struct S3Client {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
    settings: AwsSettings,
}

impl S3Client {
    /// A client for `settings`. With an endpoint override, path-style addressing is used
    /// (`<endpoint>/<bucket>/<key>`), which VPC interface endpoints and fakes accept.
    pub fn new(settings: &AwsSettings) -> Result<S3Client, AwsError> {
        let rt = runtime()?;
        let client = rt.block_on(async {
            let base = sdk_config(settings).await;
            let mut b = aws_sdk_s3::config::Builder::from(&base)
                .force_path_style(settings.endpoint_url.is_some());
            if let Some(p) = assumed_role(settings, &base).await {
                b = b.credentials_provider(p);
            }
            aws_sdk_s3::Client::from_conf(b.build())
        });
        Ok(S3Client {
            rt,
            client,
            settings: settings.clone(),
        })
    }
}

impl ObjectStoreApi for S3Client {
    fn list_page(&self, q: &ListQuery) -> Result<ListPage, AwsError> {
        let req = self
            .client
            .list_objects_v2()
            .bucket(&q.bucket)
            .prefix(&q.prefix)
            .set_delimiter(q.delimiter.clone())
            .set_start_after(q.start_after.clone())
            .set_continuation_token(q.continuation_token.clone());
        let out = self
            .rt
            .block_on(req.send())
            .map_err(|e| classify(&e, Api::ListObjectsV2, &q.bucket, &self.settings))?;
        let objects = out
            .contents
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| {
                Some(ObjectInfo {
                    key: o.key?,
                    etag: o.e_tag.unwrap_or_default().trim_matches('"').to_string(),
                    size: o.size.unwrap_or(0).max(0) as u64,
                })
            })
            .collect();
        let prefixes = out
            .common_prefixes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.prefix)
            .collect();
        let continuation_token = if out.is_truncated == Some(true) {
            out.next_continuation_token.filter(|t| !t.is_empty())
        } else {
            None
        };
        Ok(ListPage {
            objects,
            prefixes,
            continuation_token,
        })
    }

    fn open<'a>(&'a self, bucket: &str, key: &str) -> Result<Box<dyn Read + 'a>, AwsError> {
        let req = self.client.get_object().bucket(bucket).key(key);
        let out = self.rt.block_on(req.send()).map_err(|e| {
            classify(
                &e,
                Api::GetObject,
                &format!("s3://{bucket}/{key}"),
                &self.settings,
            )
        })?;
        Ok(Box::new(BodyReader {
            rt: &self.rt,
            body: out.body,
            buf: Vec::new(),
            at: 0,
        }))
    }
}

// ---------------------------------------------------------------------------------------
// Bedrock (discovery)

/// Where Bedrock delivers a region's model invocation logs, and what it includes
/// (`GetModelInvocationLoggingConfiguration`, in this crate's own type).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvocationLogging {
    /// The CloudWatch Logs group, when logs go to CloudWatch Logs.
    pub log_group: Option<String>,
    /// The S3 bucket and key prefix (`""` when none), when logs go to S3.
    pub s3: Option<(String, String)>,
    /// Text requests are logged (`textDataDeliveryEnabled`).
    pub text: bool,
    /// Image requests are logged (`imageDataDeliveryEnabled`).
    pub image: bool,
    /// Embedding requests are logged (`embeddingDataDeliveryEnabled`).
    pub embedding: bool,
}

/// A Bedrock control-plane client with its own runtime (discovery only).
pub struct BedrockClient {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_bedrock::Client,
    settings: AwsSettings,
}

impl BedrockClient {
    /// A client for `settings` (the region whose logging configuration is read).
    pub fn new(settings: &AwsSettings) -> Result<BedrockClient, AwsError> {
        let rt = runtime()?;
        let client = rt.block_on(async {
            let base = sdk_config(settings).await;
            let mut b = aws_sdk_bedrock::config::Builder::from(&base);
            if let Some(p) = assumed_role(settings, &base).await {
                b = b.credentials_provider(p);
            }
            aws_sdk_bedrock::Client::from_conf(b.build())
        });
        Ok(BedrockClient {
            rt,
            client,
            settings: settings.clone(),
        })
    }

    /// The region's invocation logging configuration. Logging off (no configuration, or
    /// one without a destination) is an [`InvocationLogging`] with neither destination.
    pub fn invocation_logging(&self) -> Result<InvocationLogging, AwsError> {
        let req = self.client.get_model_invocation_logging_configuration();
        let out = self.rt.block_on(req.send()).map_err(|e| {
            classify(
                &e,
                Api::GetModelInvocationLoggingConfiguration,
                &format!(
                    "the model invocation logging configuration in {}",
                    self.settings.region
                ),
                &self.settings,
            )
        })?;
        let Some(c) = out.logging_config() else {
            return Ok(InvocationLogging::default());
        };
        Ok(InvocationLogging {
            log_group: c
                .cloud_watch_config()
                .map(|w| w.log_group_name().to_string())
                .filter(|g| !g.is_empty()),
            s3: c
                .s3_config()
                .filter(|s| !s.bucket_name().is_empty())
                .map(|s| {
                    (
                        s.bucket_name().to_string(),
                        s.key_prefix().unwrap_or_default().to_string(),
                    )
                }),
            text: c.text_data_delivery_enabled().unwrap_or(false),
            image: c.image_data_delivery_enabled().unwrap_or(false),
            embedding: c.embedding_data_delivery_enabled().unwrap_or(false),
        })
    }
}

/// A blocking reader over a streamed object body: one chunk in memory at a time.
struct BodyReader<'a> {
    rt: &'a tokio::runtime::Runtime,
    body: aws_sdk_s3::primitives::ByteStream,
    buf: Vec<u8>,
    at: usize,
}

impl Read for BodyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.buf.len() {
            match self.rt.block_on(self.body.try_next()) {
                Ok(Some(chunk)) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(&chunk);
                    self.at = 0;
                }
                Ok(None) => return Ok(0),
                Err(e) => return Err(io::Error::other(chain(&e))),
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_from_parses_month_start_and_rfc3339() {
        let now = Utc.with_ymd_and_hms(2026, 11, 17, 13, 5, 0).unwrap();
        assert_eq!(
            StartFrom::parse("month_start").unwrap().resolve(now),
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            StartFrom::parse("2026-10-31T22:00:00-02:00")
                .unwrap()
                .resolve(now),
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
        );
        let e = StartFrom::parse("yesterday").unwrap_err();
        assert!(
            e.contains("neither \"month_start\" nor an RFC 3339 time"),
            "{e}"
        );
    }

    fn settings() -> AwsSettings {
        AwsSettings {
            region: "eu-west-1".into(),
            assume_role_arn: None,
            external_id: None,
            endpoint_url: None,
        }
    }

    fn service_error(
        code: &str,
        status: u16,
    ) -> SdkError<
        aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error,
        aws_sdk_s3::config::http::HttpResponse,
    > {
        let meta = aws_sdk_s3::error::ErrorMetadata::builder()
            .code(code)
            .message("said by AWS")
            .build();
        SdkError::service_error(
            aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error::generic(meta),
            aws_sdk_s3::config::http::HttpResponse::new(
                status.try_into().unwrap(),
                aws_sdk_s3::primitives::SdkBody::empty(),
            ),
        )
    }

    #[test]
    fn service_errors_name_the_fix() {
        let s = settings();
        let e = classify(
            &service_error("AccessDenied", 403),
            Api::ListObjectsV2,
            "logs",
            &s,
        );
        assert_eq!(e.kind(), "aws_access_denied");
        assert!(e.to_string().contains("grant s3:ListBucket"), "{e}");
        let e = classify(
            &service_error("AccessDeniedException", 400),
            Api::FilterLogEvents,
            "/g",
            &s,
        );
        assert!(e.to_string().contains("grant logs:FilterLogEvents"), "{e}");
        let e = classify(
            &service_error("AccessDenied", 403),
            Api::GetObject,
            "s3://b/k",
            &s,
        );
        assert!(
            e.to_string().contains("s3:GetObject (and kms:Decrypt"),
            "{e}"
        );
        let e = classify(
            &service_error("ResourceNotFoundException", 400),
            Api::FilterLogEvents,
            "/aws/bedrock/x",
            &s,
        );
        assert!(
            e.to_string()
                .starts_with("log group /aws/bedrock/x not found in region eu-west-1"),
            "{e}"
        );
        let e = classify(
            &service_error("NoSuchBucket", 404),
            Api::ListObjectsV2,
            "b",
            &s,
        );
        assert!(e.to_string().starts_with("bucket b does not exist"), "{e}");
        let e = classify(
            &service_error("SlowDown", 503),
            Api::GetObject,
            "s3://b/k",
            &s,
        );
        assert_eq!(e.kind(), "aws_throttled");
        let e = classify(
            &service_error("ExpiredToken", 400),
            Api::GetObject,
            "s3://b/k",
            &s,
        );
        assert_eq!(e.kind(), "aws_credentials");
        let e = classify(
            &service_error("InternalError", 500),
            Api::GetObject,
            "s3://b/k",
            &s,
        );
        assert_eq!(e.kind(), "aws");
        let e = classify(
            &service_error("AccessDeniedException", 403),
            Api::GetModelInvocationLoggingConfiguration,
            "the model invocation logging configuration in eu-west-1",
            &s,
        );
        assert!(
            e.to_string()
                .contains("grant bedrock:GetModelInvocationLoggingConfiguration"),
            "{e}"
        );
    }

    #[test]
    fn credential_failures_before_sending_are_recognised() {
        let err: SdkError<
            aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error,
            aws_sdk_s3::config::http::HttpResponse,
        > = SdkError::dispatch_failure(aws_sdk_s3::error::ConnectorError::other(
            "no providers in chain provided credentials".into(),
            None,
        ));
        let e = classify(&err, Api::ListObjectsV2, "b", &settings());
        assert_eq!(e.kind(), "aws_credentials");
        assert!(e.to_string().starts_with("no AWS credentials: "), "{e}");

        let role = AwsSettings {
            assume_role_arn: Some("arn:aws:iam::210987654321:role/Read".into()),
            ..settings()
        };
        let err: SdkError<
            aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error,
            aws_sdk_s3::config::http::HttpResponse,
        > = SdkError::dispatch_failure(aws_sdk_s3::error::ConnectorError::other(
            "failed to load credentials: AssumeRole: AccessDenied: not authorized".into(),
            None,
        ));
        let e = classify(&err, Api::ListObjectsV2, "b", &role);
        assert_eq!(e.kind(), "aws_assume_role");
        assert!(
            e.to_string()
                .contains("needs sts:AssumeRole on it, and the role's trust policy"),
            "{e}"
        );
    }

    #[test]
    fn the_role_account_comes_from_the_arn() {
        let s = AwsSettings {
            region: "us-east-1".into(),
            assume_role_arn: Some("arn:aws:iam::210987654321:role/BedrockMeterRead".into()),
            external_id: None,
            endpoint_url: None,
        };
        assert_eq!(s.role_account(), Some("210987654321"));
        assert_eq!(
            AwsSettings {
                assume_role_arn: None,
                ..s
            }
            .role_account(),
            None
        );
    }
}
