//! The demo's declared provisioned throughputs, custom model and training job, so the
//! provisioned and customization metrics exist in `bedrock-meter demo`.
use super::ProvisionedSettings;
use crate::inventory::{
    Commitment, CustomModel, CustomizationJob, Inventory, Origin, ProvisionedThroughput,
};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// The base model of the demo's provisioned traffic (its records carry a Titan Text body).
pub const DEMO_PT_MODEL: &str = "amazon.titan-text-express-v1";
/// The tokens per minute per model unit the demo assumes for [`DEMO_PT_MODEL`] (an
/// illustration, not an AWS figure: AWS does not publish it).
pub const DEMO_MU_TPM: u64 = 20_000;

/// Settings for the demo: one 1-month, 1-MU throughput per account the generator sends
/// provisioned traffic from (the ARNs `src/synth.rs` writes), created a day before `now`;
/// one custom Cohere Command model stored since then and its completed training job.
pub fn demo_settings(accounts: &[String], now: DateTime<Utc>) -> ProvisionedSettings {
    let created = now - Duration::hours(26);
    let mut declared = Inventory::default();
    for (i, account) in accounts.iter().enumerate() {
        let id = crate::synth::PROVISIONED_IDS[i % crate::synth::PROVISIONED_IDS.len()];
        let arn = format!("arn:aws:bedrock:us-east-1:{account}:provisioned-model/{id}");
        declared.provisioned.insert(
            arn.clone(),
            ProvisionedThroughput {
                arn,
                name: format!("demo-pt-{}", i + 1),
                account: account.clone(),
                region: "us-east-1".into(),
                model: DEMO_PT_MODEL.into(),
                custom_model_arn: None,
                model_units: 1,
                commitment: Commitment::OneMonth,
                status: "InService".into(),
                created_at: created,
                deleted_at: None,
                commitment_expires_at: None,
                last_modified_at: None,
                origin: Origin::Config,
            },
        );
    }
    if let Some(account) = accounts.first() {
        let arn = format!(
            "arn:aws:bedrock:us-east-1:{account}:custom-model/cohere.command-text-v14/demo1"
        );
        declared.custom_models.insert(
            arn.clone(),
            CustomModel {
                arn: arn.clone(),
                name: "demo-command-ft".into(),
                account: account.clone(),
                region: "us-east-1".into(),
                base_model: "cohere.command-text-v14".into(),
                created_at: created + Duration::hours(2),
                deleted_at: None,
                origin: Origin::Config,
            },
        );
        let job = format!("config:customization-job/{account}/us-east-1/demo-command-ft-job");
        declared.jobs.insert(
            job.clone(),
            CustomizationJob {
                arn: job,
                name: "demo-command-ft-job".into(),
                account: account.clone(),
                region: "us-east-1".into(),
                base_model: "cohere.command-text-v14".into(),
                customization_type: "FINE_TUNING".into(),
                training_tokens: Some(1_200_000),
                epochs: Some(2),
                status: "Completed".into(),
                created_at: created,
                ended_at: Some(created + Duration::hours(2)),
                output_model_arn: Some(arn),
                origin: Origin::Config,
            },
        );
    }
    ProvisionedSettings {
        declared,
        interval: std::time::Duration::from_secs(5),
        idle_after_secs: 3600,
        tokens_per_minute_per_model_unit: BTreeMap::from([(
            DEMO_PT_MODEL.to_string(),
            DEMO_MU_TPM,
        )]),
        ..ProvisionedSettings::default()
    }
}
