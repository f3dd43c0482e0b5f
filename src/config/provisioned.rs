//! `[provisioned]`, `[planner]`, `[[provisioned_models]]`, `[[custom_models]]` and
//! `[[customization_jobs]]`: the cost streams that no invocation record carries, declared
//! in the file (they work without the Bedrock control plane; when the control plane reports
//! the same ARN, its entry wins, because it is what AWS bills).
use super::error::Problem;
use super::validate::is_region;
use crate::inventory::{
    Commitment, CustomModel, CustomizationJob, Inventory, InventoryHandle, Origin,
    ProvisionedThroughput,
};
use crate::provisioned::{ProvisionedSettings, UnitChange};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// `[provisioned]`: how the accrual thread runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvisionedSection {
    /// `accrual_interval_secs`: how often cost is accrued up to now and the gauges are
    /// refreshed (accrual is exact whatever the interval). Default 60.
    pub accrual_interval_secs: u64,
    /// `idle_after_secs`: a provisioned model with no invocation for this long is flagged
    /// idle (`bedrock_provisioned_idle`). Default 3600.
    pub idle_after_secs: u64,
}

impl Default for ProvisionedSection {
    fn default() -> Self {
        ProvisionedSection {
            accrual_interval_secs: 60,
            idle_after_secs: 3600,
        }
    }
}

/// `[planner]`: inputs of `plan-pt` and of the utilization gauge.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerSection {
    /// `tokens_per_minute_per_model_unit`: base model id → tokens per minute one model
    /// unit serves. AWS does not publish it (ask your account team); without a value for a
    /// model, `plan-pt` cannot size it and no utilization series is exported. Default empty.
    pub tokens_per_minute_per_model_unit: BTreeMap<String, u64>,
}

/// `provisioned_models[].commitment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CommitmentSetting {
    /// No commitment (hourly).
    #[default]
    #[serde(rename = "none")]
    None,
    /// One month.
    #[serde(rename = "1_month")]
    OneMonth,
    /// Six months.
    #[serde(rename = "6_months")]
    SixMonths,
}

impl From<CommitmentSetting> for Commitment {
    fn from(c: CommitmentSetting) -> Commitment {
        match c {
            CommitmentSetting::None => Commitment::None,
            CommitmentSetting::OneMonth => Commitment::OneMonth,
            CommitmentSetting::SixMonths => Commitment::SixMonths,
        }
    }
}

/// `provisioned_models[].unit_changes[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitChangeConfig {
    /// `at`: RFC 3339 time the new count takes effect.
    pub at: String,
    /// `model_units`: the count from then on.
    pub model_units: u32,
}

/// `[[provisioned_models]]`: one provisioned throughput.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionedModelConfig {
    /// `arn`: the provisioned model ARN (what invocation logs carry as `modelId`).
    pub arn: String,
    /// `name`: its name (the `provisioned_model` label).
    pub name: String,
    /// `account`: the 12-digit AWS account id.
    pub account: String,
    /// `region`: its region.
    pub region: String,
    /// `model`: the base model id the price table prices it by.
    pub model: String,
    /// `model_units`: model units from creation (see `unit_changes`).
    pub model_units: u32,
    /// `commitment`: `none` (default), `1_month` or `6_months`.
    #[serde(default)]
    pub commitment: CommitmentSetting,
    /// `created_at`: RFC 3339 creation time (cost accrues from here).
    pub created_at: String,
    /// `deleted_at`: RFC 3339 deletion time; `""` (default) while it exists.
    #[serde(default)]
    pub deleted_at: String,
    /// `commitment_expires_at`: when the commitment ends (the no-commitment rate applies
    /// after it); `""` (default): not before deletion.
    #[serde(default)]
    pub commitment_expires_at: String,
    /// `unit_changes`: later changes of model units, in time order. Default none.
    #[serde(default)]
    pub unit_changes: Vec<UnitChangeConfig>,
}

/// `[[custom_models]]`: one custom model (storage accrues while it exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomModelConfig {
    /// `arn`: the custom model ARN.
    pub arn: String,
    /// `name`: its name.
    pub name: String,
    /// `account`: the AWS account id.
    pub account: String,
    /// `region`: its region.
    pub region: String,
    /// `base_model`: the base model it was tuned from (prices storage).
    pub base_model: String,
    /// `created_at`: RFC 3339 creation time.
    pub created_at: String,
    /// `deleted_at`: RFC 3339 deletion time; `""` (default) while it exists.
    #[serde(default)]
    pub deleted_at: String,
}

/// `[[customization_jobs]]`: one training job (booked once, when it completed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomizationJobConfig {
    /// `name`: the job name (unique per account and region).
    pub name: String,
    /// `account`: the AWS account id.
    pub account: String,
    /// `region`: its region.
    pub region: String,
    /// `base_model`: the base model it tunes (prices training).
    pub base_model: String,
    /// `training_tokens`: tokens in the training data.
    pub training_tokens: u64,
    /// `epochs`: training epochs.
    pub epochs: u32,
    /// `created_at`: RFC 3339 start time (the price in effect then applies).
    pub created_at: String,
    /// `completed_at`: RFC 3339 completion time; `""` (default): not completed, not billed.
    #[serde(default)]
    pub completed_at: String,
}

fn time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn opt_time(s: &str) -> Option<DateTime<Utc>> {
    if s.is_empty() { None } else { time(s) }
}

/// Checks an RFC 3339 key (`optional`: `""` allowed).
fn check_time(path: String, v: &str, optional: bool, out: &mut Vec<Problem>) {
    if (optional && v.is_empty()) || time(v).is_some() {
        return;
    }
    out.push(Problem::new(
        path,
        format!(
            "`{v}` is not an RFC 3339 time; write e.g. \"2026-01-15T09:00:00Z\"{}",
            if optional { " (or \"\" for none)" } else { "" }
        ),
    ));
}

fn check_place(at: &dyn Fn(&str) -> String, account: &str, region: &str, out: &mut Vec<Problem>) {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        out.push(Problem::new(
            at("account"),
            format!("`{account}` is not a 12-digit AWS account id"),
        ));
    }
    if !is_region(region) {
        out.push(Problem::new(
            at("region"),
            format!("`{region}` is not an AWS region; write e.g. \"us-east-1\""),
        ));
    }
}

/// Every problem in the provisioned and customization sections.
pub(super) fn problems(
    section: &ProvisionedSection,
    planner: &PlannerSection,
    models: &[ProvisionedModelConfig],
    custom: &[CustomModelConfig],
    jobs: &[CustomizationJobConfig],
    out: &mut Vec<Problem>,
) {
    if section.accrual_interval_secs == 0 {
        out.push(Problem::new(
            "provisioned.accrual_interval_secs",
            "must be at least 1 (seconds between accruals; 60 is the default)",
        ));
    }
    for (model, tpm) in &planner.tokens_per_minute_per_model_unit {
        if *tpm == 0 {
            out.push(Problem::new(
                format!("planner.tokens_per_minute_per_model_unit.{model}"),
                "must be above 0 (tokens per minute one model unit serves; remove the key if unknown)",
            ));
        }
    }
    let mut arns: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, m) in models.iter().enumerate() {
        let at = |k: &str| format!("provisioned_models[{i}].{k}");
        if !m.arn.starts_with("arn:") || !m.arn.contains(":provisioned-model/") {
            out.push(Problem::new(
                at("arn"),
                format!(
                    "`{}` is not a provisioned model ARN; write e.g. \
                     \"arn:aws:bedrock:us-east-1:111122223333:provisioned-model/abc123\"",
                    m.arn
                ),
            ));
        } else if let Some(first) = arns.insert(&m.arn, i) {
            out.push(Problem::new(
                at("arn"),
                format!("is already declared as provisioned_models[{first}]; remove one"),
            ));
        }
        if m.name.is_empty() || m.name.contains('/') {
            out.push(Problem::new(
                at("name"),
                "must be the throughput's name: not empty, without `/`",
            ));
        }
        if m.model.is_empty() {
            out.push(Problem::new(at("model"), "must name the base model id"));
        }
        check_place(&at, &m.account, &m.region, out);
        if m.model_units == 0 {
            out.push(Problem::new(at("model_units"), "must be at least 1"));
        }
        check_time(at("created_at"), &m.created_at, false, out);
        check_time(at("deleted_at"), &m.deleted_at, true, out);
        check_time(
            at("commitment_expires_at"),
            &m.commitment_expires_at,
            true,
            out,
        );
        let created = time(&m.created_at);
        if let (Some(c), Some(d)) = (created, opt_time(&m.deleted_at))
            && d < c
        {
            out.push(Problem::new(at("deleted_at"), "is before created_at"));
        }
        if m.commitment == CommitmentSetting::None && !m.commitment_expires_at.is_empty() {
            out.push(Problem::new(
                at("commitment_expires_at"),
                "is set but commitment = \"none\"; set the commitment or remove the expiry",
            ));
        }
        let mut prev = created;
        for (j, u) in m.unit_changes.iter().enumerate() {
            let path = format!("provisioned_models[{i}].unit_changes[{j}]");
            check_time(format!("{path}.at"), &u.at, false, out);
            if u.model_units == 0 {
                out.push(Problem::new(
                    format!("{path}.model_units"),
                    "must be at least 1",
                ));
            }
            if let (Some(p), Some(t)) = (prev, time(&u.at)) {
                if t <= p {
                    out.push(Problem::new(
                        format!("{path}.at"),
                        "must be after created_at and after the previous change",
                    ));
                }
                prev = Some(t);
            }
        }
    }
    for (i, m) in custom.iter().enumerate() {
        let at = |k: &str| format!("custom_models[{i}].{k}");
        if !m.arn.starts_with("arn:") {
            out.push(Problem::new(
                at("arn"),
                format!("`{}` is not an ARN", m.arn),
            ));
        }
        check_place(&at, &m.account, &m.region, out);
        check_time(at("created_at"), &m.created_at, false, out);
        check_time(at("deleted_at"), &m.deleted_at, true, out);
    }
    for (i, j) in jobs.iter().enumerate() {
        let at = |k: &str| format!("customization_jobs[{i}].{k}");
        if j.name.is_empty() {
            out.push(Problem::new(at("name"), "must not be empty"));
        }
        check_place(&at, &j.account, &j.region, out);
        if j.epochs == 0 {
            out.push(Problem::new(at("epochs"), "must be at least 1"));
        }
        check_time(at("created_at"), &j.created_at, false, out);
        check_time(at("completed_at"), &j.completed_at, true, out);
    }
}

impl ProvisionedModelConfig {
    /// The documented example (`deploy/bedrock-meter.example.toml`).
    pub fn examples() -> Vec<ProvisionedModelConfig> {
        vec![ProvisionedModelConfig {
            arn: "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/w8z4n2q7r5t1".into(),
            name: "support-chat-pt".into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            model: "amazon.titan-text-express-v1".into(),
            model_units: 1,
            commitment: CommitmentSetting::OneMonth,
            created_at: "2026-01-15T09:00:00Z".into(),
            deleted_at: String::new(),
            commitment_expires_at: "2026-02-15T09:00:00Z".into(),
            unit_changes: vec![UnitChangeConfig {
                at: "2026-01-20T00:00:00Z".into(),
                model_units: 2,
            }],
        }]
    }
}

impl CustomModelConfig {
    /// The documented example.
    pub fn examples() -> Vec<CustomModelConfig> {
        vec![CustomModelConfig {
            arn: "arn:aws:bedrock:us-east-1:111122223333:custom-model/cohere.command-text-v14/abcd1234".into(),
            name: "support-command-ft".into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            base_model: "cohere.command-text-v14".into(),
            created_at: "2026-01-10T12:00:00Z".into(),
            deleted_at: String::new(),
        }]
    }
}

impl CustomizationJobConfig {
    /// The documented example.
    pub fn examples() -> Vec<CustomizationJobConfig> {
        vec![CustomizationJobConfig {
            name: "support-command-ft-job".into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            base_model: "cohere.command-text-v14".into(),
            training_tokens: 2_500_000,
            epochs: 3,
            created_at: "2026-01-10T08:00:00Z".into(),
            completed_at: "2026-01-10T11:40:00Z".into(),
        }]
    }
}

impl PlannerSection {
    /// The documented example.
    pub fn example() -> PlannerSection {
        PlannerSection {
            tokens_per_minute_per_model_unit: [(
                "amazon.titan-text-express-v1".to_string(),
                20_000,
            )]
            .into_iter()
            .collect(),
        }
    }
}

impl super::Config {
    /// The accrual thread's settings (declared entries with `Origin::Config`). Call on a
    /// validated config: an unparseable time leaves the entry out.
    pub fn provisioned_settings(&self) -> ProvisionedSettings {
        let mut declared = Inventory::default();
        let mut schedules = BTreeMap::new();
        for m in &self.provisioned_models {
            let Some(created) = time(&m.created_at) else {
                continue;
            };
            let mut schedule = Vec::new();
            if !m.unit_changes.is_empty() {
                schedule.push(UnitChange {
                    at: created.timestamp(),
                    model_units: m.model_units,
                });
                for u in &m.unit_changes {
                    if let Some(t) = time(&u.at) {
                        schedule.push(UnitChange {
                            at: t.timestamp(),
                            model_units: u.model_units,
                        });
                    }
                }
                schedules.insert(m.arn.clone(), schedule.clone());
            }
            declared.provisioned.insert(
                m.arn.clone(),
                ProvisionedThroughput {
                    arn: m.arn.clone(),
                    name: m.name.clone(),
                    account: m.account.clone(),
                    region: m.region.clone(),
                    model: m.model.clone(),
                    custom_model_arn: None,
                    model_units: schedule.last().map_or(m.model_units, |u| u.model_units),
                    commitment: m.commitment.into(),
                    status: "InService".into(),
                    created_at: created,
                    deleted_at: opt_time(&m.deleted_at),
                    commitment_expires_at: opt_time(&m.commitment_expires_at),
                    last_modified_at: None,
                    origin: Origin::Config,
                },
            );
        }
        for m in &self.custom_models {
            let Some(created) = time(&m.created_at) else {
                continue;
            };
            declared.custom_models.insert(
                m.arn.clone(),
                CustomModel {
                    arn: m.arn.clone(),
                    name: m.name.clone(),
                    account: m.account.clone(),
                    region: m.region.clone(),
                    base_model: m.base_model.clone(),
                    created_at: created,
                    deleted_at: opt_time(&m.deleted_at),
                    origin: Origin::Config,
                },
            );
        }
        for j in &self.customization_jobs {
            let Some(created) = time(&j.created_at) else {
                continue;
            };
            let ended = opt_time(&j.completed_at);
            let arn = format!(
                "config:customization-job/{}/{}/{}",
                j.account, j.region, j.name
            );
            declared.jobs.insert(
                arn.clone(),
                CustomizationJob {
                    arn,
                    name: j.name.clone(),
                    account: j.account.clone(),
                    region: j.region.clone(),
                    base_model: j.base_model.clone(),
                    customization_type: "FINE_TUNING".into(),
                    training_tokens: Some(j.training_tokens),
                    epochs: Some(j.epochs),
                    status: if ended.is_some() {
                        "Completed"
                    } else {
                        "InProgress"
                    }
                    .into(),
                    created_at: created,
                    ended_at: ended,
                    output_model_arn: None,
                    origin: Origin::Config,
                },
            );
        }
        ProvisionedSettings {
            inventory: InventoryHandle::default(),
            declared,
            schedules,
            interval: Duration::from_secs(self.provisioned.accrual_interval_secs.max(1)),
            idle_after_secs: self.provisioned.idle_after_secs as i64,
            tokens_per_minute_per_model_unit: self.planner.tokens_per_minute_per_model_unit.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    #[test]
    fn the_example_becomes_config_inventory_with_a_unit_schedule() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/bedrock-meter.example.toml");
        let s = Config::load(&path).unwrap().provisioned_settings();
        let pt = &s.declared.provisioned["arn:aws:bedrock:us-east-1:111122223333:provisioned-model/w8z4n2q7r5t1"];
        assert_eq!(pt.origin, Origin::Config);
        assert_eq!(pt.commitment, Commitment::OneMonth);
        assert_eq!(pt.model_units, 2, "units now = the last scheduled change");
        let schedule = &s.schedules[&pt.arn];
        assert_eq!(
            schedule,
            &vec![
                UnitChange {
                    at: pt.created_at.timestamp(),
                    model_units: 1
                },
                UnitChange {
                    at: time("2026-01-20T00:00:00Z").unwrap().timestamp(),
                    model_units: 2
                },
            ]
        );
        let job = s.declared.jobs.values().next().unwrap();
        assert_eq!(job.status, "Completed");
        assert_eq!(
            (job.training_tokens, job.epochs),
            (Some(2_500_000), Some(3))
        );
        assert_eq!(s.declared.custom_models.len(), 1);
        assert_eq!(s.interval, Duration::from_secs(60));
        assert_eq!(s.idle_after_secs, 3600);

        // The control plane's entry for the same ARN wins; others are filled in.
        let mut inv = Inventory::default();
        let mut from_aws = pt.clone();
        from_aws.origin = Origin::ControlPlane;
        from_aws.model_units = 5;
        inv.provisioned.insert(pt.arn.clone(), from_aws);
        crate::provisioned::merge_declared(&mut inv, &s.declared);
        assert_eq!(inv.provisioned[&pt.arn].model_units, 5);
        assert_eq!(inv.provisioned[&pt.arn].origin, Origin::ControlPlane);
        assert_eq!(inv.jobs.len(), 1);
    }

    #[test]
    fn unit_changes_must_move_forward_in_time() {
        let text = r#"
[[provisioned_models]]
arn = "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/abc"
name = "pt"
account = "111122223333"
region = "us-east-1"
model = "amazon.titan-text-express-v1"
model_units = 1
created_at = "2026-01-15T09:00:00Z"
deleted_at = "2026-01-14T09:00:00Z"
unit_changes = [{ at = "2026-01-10T00:00:00Z", model_units = 2 }]
"#;
        let e = Config::from_toml_str(text, "t").unwrap_err().to_string();
        assert!(
            e.contains("provisioned_models[0].deleted_at: is before created_at"),
            "{e}"
        );
        assert!(
            e.contains("provisioned_models[0].unit_changes[0].at: must be after created_at"),
            "{e}"
        );
    }
}
