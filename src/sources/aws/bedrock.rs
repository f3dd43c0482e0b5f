//! The Bedrock control plane (`aws-sdk-bedrock`) for the control-plane poller: inference
//! profiles (both types) and their tags, provisioned model throughputs, foundation models,
//! custom models and model-customization jobs.
//!
//! Owns: the SDK calls (paged to the end), counting each call through the hook the client
//! is built with, and mirroring the answers into this crate's plain types
//! ([`ProfileSummary`], [`ProvisionedSummary`], …) behind the narrow trait
//! [`ControlPlaneApi`], so that [`crate::sources::control_plane`] is tested without AWS.
//! Must not: interpret what it reads (model labels, scopes, deletions are the poller's),
//! keep state between calls, or log resource tags.
use super::{Api, AwsError, AwsSettings, BedrockClient, classify};
use aws_sdk_bedrock::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrock::types::InferenceProfileType;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// At most this many pages per listing: a server that always returns a next token must not
/// keep the poller busy forever.
const MAX_PAGES: usize = 1000;

/// One inference profile as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSummary {
    /// `inferenceProfileArn`.
    pub arn: String,
    /// `inferenceProfileId`.
    pub id: String,
    /// `type`: `SYSTEM_DEFINED` or `APPLICATION`.
    pub kind: String,
    /// `models[].modelArn`, in the order listed.
    pub model_arns: Vec<String>,
}

/// One provisioned model throughput as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedSummary {
    /// `provisionedModelArn`.
    pub arn: String,
    /// `provisionedModelName`.
    pub name: String,
    /// `modelArn`: the model served (a foundation-model or custom-model ARN).
    pub model_arn: String,
    /// `foundationModelArn`: the base model, also for custom models.
    pub foundation_model_arn: String,
    /// `modelUnits`.
    pub model_units: i32,
    /// `status`.
    pub status: String,
    /// `commitmentDuration` (`OneMonth`, `SixMonths`); `None`: no commitment.
    pub commitment: Option<String>,
    /// `commitmentExpirationTime`.
    pub commitment_expires_at: Option<DateTime<Utc>>,
    /// `creationTime`.
    pub created_at: DateTime<Utc>,
    /// `lastModifiedTime`.
    pub last_modified_at: DateTime<Utc>,
}

/// One foundation model as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundationModelSummary {
    /// `modelId`.
    pub model_id: String,
    /// `modelLifecycle.status` (`ACTIVE`, `LEGACY`); empty when not given.
    pub lifecycle: String,
    /// `modelLifecycle.publicExtendedAccessTime`: from here the higher extended-access
    /// prices apply.
    pub extended_access_at: Option<DateTime<Utc>>,
    /// `modelLifecycle.endOfLifeTime`.
    pub end_of_life_at: Option<DateTime<Utc>>,
}

/// One custom model as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomModelSummary {
    /// `modelArn`.
    pub arn: String,
    /// `modelName`.
    pub name: String,
    /// `baseModelArn`.
    pub base_model_arn: String,
    /// `creationTime`.
    pub created_at: DateTime<Utc>,
}

/// One model-customization job as listed, with the details `GetModelCustomizationJob`
/// adds when they were fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    /// `jobArn`.
    pub arn: String,
    /// `jobName`.
    pub name: String,
    /// `baseModelArn`.
    pub base_model_arn: String,
    /// `customizationType` (`FINE_TUNING`, …); empty when not given.
    pub customization_type: String,
    /// `status` (`InProgress`, `Completed`, `Failed`, `Stopping`, `Stopped`).
    pub status: String,
    /// `creationTime`.
    pub created_at: DateTime<Utc>,
    /// `endTime`.
    pub ended_at: Option<DateTime<Utc>>,
    /// `customModelArn` / `outputModelArn`.
    pub output_model_arn: Option<String>,
    /// `hyperParameters.epochCount` (details only).
    pub epochs: Option<u32>,
}

/// The control-plane reads the poller needs (implemented by [`ControlPlaneClient`]; by
/// fakes in tests). Listings are read to their last page.
pub trait ControlPlaneApi {
    /// `ListInferenceProfiles` with `typeEquals` = `APPLICATION` (true) or `SYSTEM_DEFINED`.
    fn inference_profiles(&self, application: bool) -> Result<Vec<ProfileSummary>, AwsError>;
    /// `ListTagsForResource` of one resource.
    fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError>;
    /// `ListProvisionedModelThroughputs`.
    fn provisioned(&self) -> Result<Vec<ProvisionedSummary>, AwsError>;
    /// `ListFoundationModels` (not paged by AWS).
    fn foundation_models(&self) -> Result<Vec<FoundationModelSummary>, AwsError>;
    /// `ListCustomModels`.
    fn custom_models(&self) -> Result<Vec<CustomModelSummary>, AwsError>;
    /// `ListModelCustomizationJobs`.
    fn customization_jobs(&self) -> Result<Vec<JobSummary>, AwsError>;
    /// `GetModelCustomizationJob` of one job.
    fn customization_job(&self, arn: &str) -> Result<JobSummary, AwsError>;
}

/// Counts one API call (`bedrock_meter_aws_api_calls_total`).
pub type CallHook = Box<dyn Fn(&'static str) + Send + Sync>;

/// A Bedrock control-plane client with its own runtime, counting every call.
pub struct ControlPlaneClient {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_bedrock::Client,
    settings: AwsSettings,
    on_call: CallHook,
}

impl ControlPlaneClient {
    /// A client for `settings`; `on_call` is told the name of every API called.
    pub fn new(settings: &AwsSettings, on_call: CallHook) -> Result<ControlPlaneClient, AwsError> {
        let BedrockClient {
            rt,
            client,
            settings,
        } = BedrockClient::new(settings)?;
        Ok(ControlPlaneClient {
            rt,
            client,
            settings,
            on_call,
        })
    }

    /// A client with fixed credentials instead of the chain: for tests against a local
    /// fake control plane (the test process cannot set the environment safely).
    #[doc(hidden)]
    pub fn with_static_credentials(
        settings: &AwsSettings,
        access_key_id: &str,
        secret_access_key: &str,
        on_call: CallHook,
    ) -> Result<ControlPlaneClient, AwsError> {
        let rt = super::runtime()?;
        let client = rt.block_on(async {
            let base = super::sdk_config(settings).await;
            let creds = aws_sdk_bedrock::config::Credentials::new(
                access_key_id,
                secret_access_key,
                None,
                None,
                "static",
            );
            let b = aws_sdk_bedrock::config::Builder::from(&base).credentials_provider(creds);
            aws_sdk_bedrock::Client::from_conf(b.build())
        });
        Ok(ControlPlaneClient {
            rt,
            client,
            settings: settings.clone(),
            on_call,
        })
    }

    fn called(&self, api: Api) {
        (self.on_call)(api.name());
    }

    fn resource(&self, what: &str) -> String {
        format!("{what} in {}", self.settings.region)
    }

    /// Reads every page of a List call (at most `MAX_PAGES`): `send` makes one request from
    /// the page token, `take` moves a page's items into the output and returns its next
    /// token. Each request is counted; a failure is classified with `what` as the resource.
    fn paged<P, T, E, R, Fut>(
        &self,
        api: Api,
        what: &str,
        mut send: impl FnMut(Option<String>) -> Fut,
        mut take: impl FnMut(P, &mut Vec<T>) -> Option<String>,
    ) -> Result<Vec<T>, AwsError>
    where
        Fut: std::future::Future<Output = Result<P, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + 'static,
    {
        let mut out = Vec::new();
        let (mut token, mut pages) = (None, 0);
        loop {
            self.called(api);
            let page = self
                .rt
                .block_on(send(token.take()))
                .map_err(|e| classify(&e, api, &self.resource(what), &self.settings))?;
            pages += 1;
            token = more(take(page, &mut out).as_deref(), pages);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}

fn time(t: &aws_sdk_bedrock::primitives::DateTime) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

fn more(next: Option<&str>, pages: usize) -> Option<String> {
    next.filter(|t| !t.is_empty() && pages < MAX_PAGES)
        .map(str::to_string)
}

impl ControlPlaneApi for ControlPlaneClient {
    fn inference_profiles(&self, application: bool) -> Result<Vec<ProfileSummary>, AwsError> {
        let kind = if application {
            InferenceProfileType::Application
        } else {
            InferenceProfileType::SystemDefined
        };
        self.paged(
            Api::ListInferenceProfiles,
            "the inference profiles",
            |token| {
                self.client
                    .list_inference_profiles()
                    .type_equals(kind.clone())
                    .set_next_token(token)
                    .send()
            },
            |page, out| {
                for p in page.inference_profile_summaries() {
                    out.push(ProfileSummary {
                        arn: p.inference_profile_arn().to_string(),
                        id: p.inference_profile_id().to_string(),
                        kind: p.r#type().as_str().to_string(),
                        model_arns: p
                            .models()
                            .iter()
                            .filter_map(|m| m.model_arn().map(str::to_string))
                            .collect(),
                    });
                }
                page.next_token
            },
        )
    }

    fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let req = self.client.list_tags_for_resource().resource_arn(arn);
        self.called(Api::ListTagsForResource);
        let out = self
            .rt
            .block_on(req.send())
            .map_err(|e| classify(&e, Api::ListTagsForResource, arn, &self.settings))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }

    fn provisioned(&self) -> Result<Vec<ProvisionedSummary>, AwsError> {
        self.paged(
            Api::ListProvisionedModelThroughputs,
            "the provisioned model throughputs",
            |token| {
                self.client
                    .list_provisioned_model_throughputs()
                    .set_next_token(token)
                    .send()
            },
            |page, out| {
                for p in page.provisioned_model_summaries() {
                    out.push(ProvisionedSummary {
                        arn: p.provisioned_model_arn().to_string(),
                        name: p.provisioned_model_name().to_string(),
                        model_arn: p.model_arn().to_string(),
                        foundation_model_arn: p.foundation_model_arn().to_string(),
                        model_units: p.model_units(),
                        status: p.status().as_str().to_string(),
                        commitment: p.commitment_duration().map(|c| c.as_str().to_string()),
                        commitment_expires_at: p.commitment_expiration_time().map(time),
                        created_at: time(p.creation_time()),
                        last_modified_at: time(p.last_modified_time()),
                    });
                }
                page.next_token
            },
        )
    }

    fn foundation_models(&self) -> Result<Vec<FoundationModelSummary>, AwsError> {
        let req = self.client.list_foundation_models();
        self.called(Api::ListFoundationModels);
        let out = self.rt.block_on(req.send()).map_err(|e| {
            classify(
                &e,
                Api::ListFoundationModels,
                &self.resource("the foundation models"),
                &self.settings,
            )
        })?;
        Ok(out
            .model_summaries()
            .iter()
            .map(|m| FoundationModelSummary {
                model_id: m.model_id().to_string(),
                lifecycle: m
                    .model_lifecycle()
                    .map(|l| l.status().as_str().to_string())
                    .unwrap_or_default(),
                extended_access_at: m
                    .model_lifecycle()
                    .and_then(|l| l.public_extended_access_time())
                    .map(time),
                end_of_life_at: m
                    .model_lifecycle()
                    .and_then(|l| l.end_of_life_time())
                    .map(time),
            })
            .collect())
    }

    fn custom_models(&self) -> Result<Vec<CustomModelSummary>, AwsError> {
        self.paged(
            Api::ListCustomModels,
            "the custom models",
            |token| {
                self.client
                    .list_custom_models()
                    .set_next_token(token)
                    .send()
            },
            |page, out| {
                for m in page.model_summaries() {
                    out.push(CustomModelSummary {
                        arn: m.model_arn().to_string(),
                        name: m.model_name().to_string(),
                        base_model_arn: m.base_model_arn().to_string(),
                        created_at: time(m.creation_time()),
                    });
                }
                page.next_token
            },
        )
    }

    fn customization_jobs(&self) -> Result<Vec<JobSummary>, AwsError> {
        self.paged(
            Api::ListModelCustomizationJobs,
            "the model customization jobs",
            |token| {
                self.client
                    .list_model_customization_jobs()
                    .set_next_token(token)
                    .send()
            },
            |page, out| {
                for j in page.model_customization_job_summaries() {
                    out.push(JobSummary {
                        arn: j.job_arn().to_string(),
                        name: j.job_name().to_string(),
                        base_model_arn: j.base_model_arn().to_string(),
                        customization_type: j
                            .customization_type()
                            .map(|c| c.as_str().to_string())
                            .unwrap_or_default(),
                        status: j.status().as_str().to_string(),
                        created_at: time(j.creation_time()),
                        ended_at: j.end_time().map(time),
                        output_model_arn: j.custom_model_arn().map(str::to_string),
                        epochs: None,
                    });
                }
                page.next_token
            },
        )
    }

    fn customization_job(&self, arn: &str) -> Result<JobSummary, AwsError> {
        let req = self
            .client
            .get_model_customization_job()
            .job_identifier(arn);
        self.called(Api::GetModelCustomizationJob);
        let j = self
            .rt
            .block_on(req.send())
            .map_err(|e| classify(&e, Api::GetModelCustomizationJob, arn, &self.settings))?;
        Ok(JobSummary {
            arn: j.job_arn().to_string(),
            name: j.job_name().to_string(),
            base_model_arn: j.base_model_arn().to_string(),
            customization_type: j
                .customization_type()
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            status: j
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            created_at: time(j.creation_time()),
            ended_at: j.end_time().map(time),
            output_model_arn: j.output_model_arn().map(str::to_string),
            epochs: j
                .hyper_parameters()
                .and_then(|h| h.get("epochCount"))
                .and_then(|e| e.trim().parse().ok()),
        })
    }
}
