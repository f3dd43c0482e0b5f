//! CloudWatch metrics (`aws-sdk-cloudwatch`): the two calls the `cloudwatch_metrics` source
//! makes, `ListMetrics` (which `AWS/Bedrock` metric names exist, per `ModelId`) and
//! `GetMetricData` (per-period sums), returned in this crate's own types behind
//! [`MetricsApi`], so the source logic ([`crate::sources::cloudwatch_metrics`]) is tested
//! without AWS.
//!
//! The Rust SDK speaks Smithy RPC-v2 CBOR to CloudWatch; the tests put a small translator
//! in front of moto (`tests/support/cw_cbor_shim.py`). Must not: keep checkpoints, price, or
//! decide which metrics matter (the source does).
use super::{Api, AwsError, AwsSettings, assumed_role, classify, runtime, sdk_config};
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use chrono::{DateTime, Utc};

/// The namespace of Bedrock's runtime metrics.
pub const NAMESPACE: &str = "AWS/Bedrock";

/// A metric that exists in [`NAMESPACE`] with exactly the dimension `ModelId`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelMetric {
    /// The metric name, e.g. `InputTokenCount`.
    pub metric: String,
    /// The `ModelId` dimension value (base id, profile id or ARN, as the caller wrote it).
    pub model_id: String,
}

/// One page of `ListMetrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsPage {
    /// Metrics whose only dimension is `ModelId` (others are left out).
    pub metrics: Vec<ModelMetric>,
    /// The next page, if any.
    pub next_token: Option<String>,
}

/// One `GetMetricData` request: `Sum` of each metric over `[start, end)` in `period_secs`
/// buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDataRequest {
    /// At most 500 metrics (the API's limit); query ids are `q<index>`.
    pub metrics: Vec<ModelMetric>,
    /// Start (inclusive), aligned to the period.
    pub start: DateTime<Utc>,
    /// End (exclusive), aligned to the period.
    pub end: DateTime<Utc>,
    /// The period: 60, or 300 / 3600 for data CloudWatch keeps only coarser.
    pub period_secs: i32,
    /// The page to read (from the previous page).
    pub next_token: Option<String>,
}

/// One page of `GetMetricData`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricDataPage {
    /// (index into the request's metrics, bucket start, sum).
    pub points: Vec<(usize, DateTime<Utc>, f64)>,
    /// The next page, if any.
    pub next_token: Option<String>,
}

/// Reading metrics (implemented by [`MetricsClient`]; by fakes in tests).
pub trait MetricsApi {
    /// One `ListMetrics` page of [`NAMESPACE`].
    fn list_page(&self, next_token: Option<&str>) -> Result<MetricsPage, AwsError>;
    /// One `GetMetricData` page.
    fn data_page(&self, q: &MetricDataRequest) -> Result<MetricDataPage, AwsError>;
}

/// A CloudWatch client with its own runtime.
pub struct MetricsClient {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_cloudwatch::Client,
    settings: AwsSettings,
}

impl MetricsClient {
    /// A client for `settings`. Credentials are resolved on the first call.
    pub fn new(settings: &AwsSettings) -> Result<MetricsClient, AwsError> {
        let rt = runtime()?;
        let client = rt.block_on(async {
            let base = sdk_config(settings).await;
            let mut b = aws_sdk_cloudwatch::config::Builder::from(&base);
            if let Some(p) = assumed_role(settings, &base).await {
                b = b.credentials_provider(p);
            }
            aws_sdk_cloudwatch::Client::from_conf(b.build())
        });
        Ok(MetricsClient {
            rt,
            client,
            settings: settings.clone(),
        })
    }

    fn resource(&self) -> String {
        format!("{NAMESPACE} metrics in {}", self.settings.region)
    }
}

fn smithy_time(t: DateTime<Utc>) -> aws_sdk_cloudwatch::primitives::DateTime {
    aws_sdk_cloudwatch::primitives::DateTime::from_secs(t.timestamp())
}

impl MetricsApi for MetricsClient {
    fn list_page(&self, next_token: Option<&str>) -> Result<MetricsPage, AwsError> {
        let req = self
            .client
            .list_metrics()
            .namespace(NAMESPACE)
            .set_next_token(next_token.map(str::to_string));
        let out = self
            .rt
            .block_on(req.send())
            .map_err(|e| classify(&e, Api::ListMetrics, &self.resource(), &self.settings))?;
        let metrics = out
            .metrics()
            .iter()
            .filter_map(|m| {
                let [d] = m.dimensions() else {
                    return None;
                };
                if d.name() != Some("ModelId") {
                    return None;
                }
                Some(ModelMetric {
                    metric: m.metric_name()?.to_string(),
                    model_id: d.value()?.to_string(),
                })
            })
            .collect();
        Ok(MetricsPage {
            metrics,
            next_token: out
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        })
    }

    fn data_page(&self, q: &MetricDataRequest) -> Result<MetricDataPage, AwsError> {
        let queries: Vec<MetricDataQuery> = q
            .metrics
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let metric = Metric::builder()
                    .namespace(NAMESPACE)
                    .metric_name(&m.metric)
                    .dimensions(
                        Dimension::builder()
                            .name("ModelId")
                            .value(&m.model_id)
                            .build(),
                    )
                    .build();
                MetricDataQuery::builder()
                    .id(format!("q{i}"))
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(q.period_secs)
                            .stat("Sum")
                            .build(),
                    )
                    .return_data(true)
                    .build()
            })
            .collect();
        let req = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(smithy_time(q.start))
            .end_time(smithy_time(q.end))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(q.next_token.clone());
        let out = self
            .rt
            .block_on(req.send())
            .map_err(|e| classify(&e, Api::GetMetricData, &self.resource(), &self.settings))?;
        let mut points = Vec::new();
        for r in out.metric_data_results() {
            let Some(i) = r
                .id()
                .and_then(|id| id.strip_prefix('q'))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&i| i < q.metrics.len())
            else {
                continue;
            };
            for (t, v) in r.timestamps().iter().zip(r.values()) {
                if let Some(t) = DateTime::<Utc>::from_timestamp(t.secs(), 0) {
                    points.push((i, t, *v));
                }
            }
        }
        Ok(MetricDataPage {
            points,
            next_token: out
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        })
    }
}
