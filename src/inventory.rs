//! What the account owns that costs money without an invocation record: provisioned model
//! throughputs, custom models and customization jobs, and the inference profiles that
//! requests name.
//!
//! Owns: plain data types and a shared, cheaply cloned [`InventoryHandle`]. The control-plane
//! poller (AWS) and the config (declared provisioned models and jobs) fill it; the
//! provisioned-throughput accrual, the ledger's profile resolution and the reports read it.
//! Must not: call AWS, read the clock, or touch SQLite.
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// A provisioned-throughput commitment term, as the price table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Commitment {
    /// No commitment (hourly, cancel any time).
    None,
    /// One month.
    OneMonth,
    /// Six months.
    SixMonths,
}

impl Commitment {
    /// The label used in config, metrics and the price table (`none`, `1_month`, `6_months`).
    pub fn as_str(self) -> &'static str {
        match self {
            Commitment::None => "none",
            Commitment::OneMonth => "1_month",
            Commitment::SixMonths => "6_months",
        }
    }

    /// Parses a label written by [`Commitment::as_str`] or an AWS `CommitmentDuration`
    /// (`OneMonth`, `SixMonths`).
    pub fn parse(s: &str) -> Option<Commitment> {
        match s {
            "none" | "" => Some(Commitment::None),
            "1_month" | "OneMonth" => Some(Commitment::OneMonth),
            "6_months" | "SixMonths" => Some(Commitment::SixMonths),
            _ => None,
        }
    }
}

/// Where an inventory entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Declared in the config file.
    Config,
    /// Read from the Bedrock control plane.
    ControlPlane,
}

/// One provisioned model throughput.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedThroughput {
    /// The provisioned model ARN (the id invocation logs carry as `modelId`).
    pub arn: String,
    /// Its name.
    pub name: String,
    /// AWS account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Base model label (as the price table and metrics name it), e.g.
    /// `amazon.titan-text-express-v1`; for a custom model, the base model it was tuned from.
    pub model: String,
    /// The custom model's ARN when the throughput serves one.
    pub custom_model_arn: Option<String>,
    /// Model units now in effect.
    pub model_units: u32,
    /// Commitment term.
    pub commitment: Commitment,
    /// `Creating`, `InService`, `Updating`, `Failed` (AWS status strings, kept as is).
    pub status: String,
    /// When it was created (cost accrues from here).
    pub created_at: DateTime<Utc>,
    /// When it was deleted, if known (cost stops here).
    pub deleted_at: Option<DateTime<Utc>>,
    /// When the commitment ends (the hourly no-commitment rate applies after it).
    pub commitment_expires_at: Option<DateTime<Utc>>,
    /// Last modification (a unit change takes effect here).
    pub last_modified_at: Option<DateTime<Utc>>,
    /// Where this entry came from.
    pub origin: Origin,
}

/// One model-customization (training) job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomizationJob {
    /// Job ARN (or a config-given id).
    pub arn: String,
    /// Job name.
    pub name: String,
    /// AWS account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Base model label the job tunes.
    pub base_model: String,
    /// `FINE_TUNING`, `CONTINUED_PRE_TRAINING`, `DISTILLATION` (AWS strings, kept as is).
    pub customization_type: String,
    /// Tokens in the training data, when known.
    pub training_tokens: Option<u64>,
    /// Epochs, when known.
    pub epochs: Option<u32>,
    /// `InProgress`, `Completed`, `Failed`, `Stopped`.
    pub status: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// The custom model it produced, if any.
    pub output_model_arn: Option<String>,
    /// Where this entry came from.
    pub origin: Origin,
}

/// One custom model (storage is billed per model per month while it exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomModel {
    /// Custom model ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// AWS account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Base model label it was tuned from.
    pub base_model: String,
    /// When it was created (storage accrues from here).
    pub created_at: DateTime<Utc>,
    /// When it was deleted, if known.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Where this entry came from.
    pub origin: Origin,
}

/// One inference profile (system-defined or application).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferenceProfile {
    /// Profile ARN.
    pub arn: String,
    /// Profile id (`us.anthropic.claude-…` for system profiles, a random id for application
    /// profiles).
    pub id: String,
    /// `SYSTEM_DEFINED` or `APPLICATION`.
    pub kind: String,
    /// Region of the profile.
    pub region: String,
    /// Base model label the profile routes to.
    pub model: String,
    /// `in_region`, `geo` or `global`, as the ledger's scope label.
    pub scope: String,
    /// The profile's resource tags (attribution labels, subject to the tag allow-list).
    pub tags: BTreeMap<String, String>,
}

/// A foundation model's lifecycle as the control plane reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundationModel {
    /// Model id (`anthropic.claude-3-5-sonnet-20240620-v1:0`).
    pub model_id: String,
    /// Region it was listed in.
    pub region: String,
    /// `ACTIVE` or `LEGACY`.
    pub lifecycle: String,
    /// Start of extended access, when announced.
    pub extended_access_at: Option<DateTime<Utc>>,
    /// End of life, when announced.
    pub end_of_life_at: Option<DateTime<Utc>>,
}

/// Everything known about the account(s), replaced piecewise as it is refreshed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Provisioned throughputs by ARN.
    pub provisioned: BTreeMap<String, ProvisionedThroughput>,
    /// Customization jobs by ARN.
    pub jobs: BTreeMap<String, CustomizationJob>,
    /// Custom models by ARN.
    pub custom_models: BTreeMap<String, CustomModel>,
    /// Inference profiles by ARN.
    pub profiles: BTreeMap<String, InferenceProfile>,
    /// Foundation models by (region, model id).
    pub foundation_models: BTreeMap<(String, String), FoundationModel>,
    /// When the control plane was last read successfully (None: never, or config only).
    pub refreshed_at: Option<DateTime<Utc>>,
}

/// A shared, cheaply cloned handle on the [`Inventory`].
#[derive(Debug, Clone, Default)]
pub struct InventoryHandle(Arc<RwLock<Inventory>>);

impl InventoryHandle {
    /// A handle on `inv`.
    pub fn new(inv: Inventory) -> InventoryHandle {
        InventoryHandle(Arc::new(RwLock::new(inv)))
    }

    /// A copy of the current inventory.
    pub fn snapshot(&self) -> Inventory {
        self.read(Inventory::clone)
    }

    /// Reads under the lock (a poisoned lock is still readable: the data is plain).
    pub fn read<R>(&self, f: impl FnOnce(&Inventory) -> R) -> R {
        let g = self.0.read().unwrap_or_else(|e| e.into_inner());
        f(&g)
    }

    /// Updates under the lock.
    pub fn update<R>(&self, f: impl FnOnce(&mut Inventory) -> R) -> R {
        let mut g = self.0.write().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_labels_round_trip_and_accept_aws_names() {
        for c in [
            Commitment::None,
            Commitment::OneMonth,
            Commitment::SixMonths,
        ] {
            assert_eq!(Commitment::parse(c.as_str()), Some(c));
        }
        assert_eq!(Commitment::parse("OneMonth"), Some(Commitment::OneMonth));
        assert_eq!(Commitment::parse("SixMonths"), Some(Commitment::SixMonths));
        assert_eq!(Commitment::parse("12_months"), None);
    }

    #[test]
    fn the_handle_shares_one_inventory() {
        let h = InventoryHandle::default();
        let h2 = h.clone();
        h.update(|i| i.refreshed_at = Some(DateTime::<Utc>::UNIX_EPOCH));
        assert_eq!(
            h2.snapshot().refreshed_at,
            Some(DateTime::<Utc>::UNIX_EPOCH)
        );
    }
}
