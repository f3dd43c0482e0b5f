//! The control-plane poller: reads what the account owns from the Bedrock control plane on
//! an interval and keeps it in the shared [`InventoryHandle`].
//!
//! Owns: which listings a refresh reads per region (inference profiles of both types with
//! the application profiles' tags, provisioned throughputs, foundation models, custom models
//! and customization jobs), turning them into [`crate::inventory`] types (base-model labels,
//! profile scopes, commitments), replacing one region's control-plane entries at a time,
//! marking throughputs and custom models that disappeared as deleted, and the refresh loop
//! with its health reports (source `control-plane`). A failed refresh keeps the last good
//! entries of that region and is reported; it never stops the daemon.
//!
//! Must not: use the SDK (that is [`super::aws::bedrock`]), touch entries declared in the
//! config ([`Origin::Config`]), write SQLite, or log resource tags.
use super::HealthSink;
use super::aws::bedrock::{
    CallHook, ControlPlaneApi, ControlPlaneClient, CustomModelSummary, JobSummary, ProfileSummary,
    ProvisionedSummary,
};
use super::aws::{AwsError, AwsSettings};
use crate::clock::Clock;
use crate::inventory::{
    Commitment, CustomModel, CustomizationJob, FoundationModel, InferenceProfile, Inventory,
    InventoryHandle, Origin, ProvisionedThroughput,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The `source` label of the poller's health metrics.
pub const SOURCE: &str = "control-plane";

/// The ledger `meta` key holding the last foundation-model list (JSON), for
/// `pricing check --db`.
pub const FOUNDATION_MODELS_META_KEY: &str = "control_plane.foundation_models";

/// What the poller reads, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPlaneSpec {
    /// The regions to read, each with how to reach it (one per region).
    pub targets: Vec<AwsSettings>,
    /// Time between refreshes.
    pub refresh_interval: Duration,
}

/// Everything one region's refresh read, in inventory types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionSnapshot {
    /// Inference profiles (system-defined and application).
    pub profiles: Vec<InferenceProfile>,
    /// Provisioned throughputs that exist now.
    pub provisioned: Vec<ProvisionedThroughput>,
    /// Foundation models with their lifecycle.
    pub foundation_models: Vec<FoundationModel>,
    /// Custom models that exist now.
    pub custom_models: Vec<CustomModel>,
    /// Customization jobs.
    pub jobs: Vec<CustomizationJob>,
}

/// The model id in a foundation-model ARN (`…:foundation-model/<id>`), or the resource id
/// of any other ARN (`…:custom-model/<id>`); a string that is no ARN is returned as is.
pub fn model_of_arn(arn: &str) -> &str {
    if !arn.starts_with("arn:") {
        return arn;
    }
    match arn.split_once(":foundation-model/") {
        Some((_, id)) => id,
        None => arn.rsplit_once('/').map_or(arn, |(_, id)| id),
    }
}

/// A provisioned throughput's base-model label as the price table names it: the
/// foundation-model id without the context-window variant that provisioned models add
/// (`amazon.titan-text-express-v1:0:8k` → `amazon.titan-text-express-v1:0`,
/// `anthropic.claude-v2:1:200k` → `anthropic.claude-v2:1`).
pub fn provisioned_model_label(foundation_model_arn: &str) -> String {
    let id = model_of_arn(foundation_model_arn);
    match id.rsplit_once(':') {
        Some((base, variant))
            if variant == "mm"
                || (variant.len() > 1
                    && variant.ends_with('k')
                    && variant[..variant.len() - 1]
                        .bytes()
                        .all(|b| b.is_ascii_digit())) =>
        {
            base.to_string()
        }
        _ => id.to_string(),
    }
}

/// The account field of an ARN (`arn:aws:bedrock:<region>:<account>:…`), or `""`.
fn account_of_arn(arn: &str) -> String {
    arn.split(':').nth(4).unwrap_or_default().to_string()
}

/// The pricing scope of a profile from its model ARNs: a region-less model ARN means a
/// `global` profile, models in more than one region a geographic (`geo`) one, otherwise
/// `in_region`. A system profile's id prefix decides when it has one (`global.` / other).
pub fn profile_scope(id: &str, kind: &str, model_arns: &[String]) -> &'static str {
    if kind == "SYSTEM_DEFINED"
        && let Some((prefix, _)) = id.split_once('.')
    {
        return if prefix == "global" { "global" } else { "geo" };
    }
    let regions: Vec<&str> = model_arns
        .iter()
        .map(|a| a.split(':').nth(3).unwrap_or_default())
        .collect();
    if regions.iter().any(|r| r.is_empty()) {
        "global"
    } else if regions.iter().any(|r| Some(r) != regions.first()) {
        "geo"
    } else {
        "in_region"
    }
}

fn profile(region: &str, p: ProfileSummary, tags: BTreeMap<String, String>) -> InferenceProfile {
    let model = match p.model_arns.first() {
        Some(a) => model_of_arn(a).to_string(),
        // A system profile without models: its id is `<geo>.<model id>`.
        None => {
            p.id.split_once('.')
                .map_or(String::new(), |(_, m)| m.to_string())
        }
    };
    InferenceProfile {
        scope: profile_scope(&p.id, &p.kind, &p.model_arns).to_string(),
        arn: p.arn,
        id: p.id,
        kind: p.kind,
        region: region.to_string(),
        model,
        tags,
    }
}

fn provisioned(region: &str, p: ProvisionedSummary) -> ProvisionedThroughput {
    let custom = p.model_arn.contains(":custom-model/");
    ProvisionedThroughput {
        account: account_of_arn(&p.arn),
        region: region.to_string(),
        model: provisioned_model_label(if p.foundation_model_arn.is_empty() {
            &p.model_arn
        } else {
            &p.foundation_model_arn
        }),
        custom_model_arn: custom.then(|| p.model_arn.clone()),
        model_units: u32::try_from(p.model_units).unwrap_or(0),
        // An unknown duration is kept as no commitment: the hourly rate, the higher one,
        // so spend is never under-stated.
        commitment: p
            .commitment
            .as_deref()
            .and_then(Commitment::parse)
            .unwrap_or(Commitment::None),
        status: p.status,
        created_at: p.created_at,
        deleted_at: None,
        commitment_expires_at: p.commitment_expires_at,
        last_modified_at: Some(p.last_modified_at),
        origin: Origin::ControlPlane,
        arn: p.arn,
        name: p.name,
    }
}

fn custom_model(region: &str, m: CustomModelSummary) -> CustomModel {
    CustomModel {
        account: account_of_arn(&m.arn),
        region: region.to_string(),
        base_model: model_of_arn(&m.base_model_arn).to_string(),
        created_at: m.created_at,
        deleted_at: None,
        origin: Origin::ControlPlane,
        arn: m.arn,
        name: m.name,
    }
}

fn job(region: &str, j: JobSummary) -> CustomizationJob {
    CustomizationJob {
        account: account_of_arn(&j.arn),
        region: region.to_string(),
        base_model: model_of_arn(&j.base_model_arn).to_string(),
        customization_type: j.customization_type,
        // The control plane does not report the tokens trained on; the config can.
        training_tokens: None,
        epochs: j.epochs,
        status: j.status,
        created_at: j.created_at,
        ended_at: j.ended_at,
        output_model_arn: j.output_model_arn,
        origin: Origin::ControlPlane,
        arn: j.arn,
        name: j.name,
    }
}

/// A job that will not change any more.
fn finished(status: &str) -> bool {
    matches!(status, "Completed" | "Failed" | "Stopped")
}

/// Reads one region. `known` is the inventory before this refresh: a finished job already
/// read in detail is not read again (one `GetModelCustomizationJob` per job, ever).
pub fn read_region(
    api: &dyn ControlPlaneApi,
    region: &str,
    known: &Inventory,
) -> Result<RegionSnapshot, AwsError> {
    let mut out = RegionSnapshot::default();
    for p in api.inference_profiles(false)? {
        out.profiles.push(profile(region, p, BTreeMap::new()));
    }
    for p in api.inference_profiles(true)? {
        let tags = api.tags(&p.arn)?;
        out.profiles.push(profile(region, p, tags));
    }
    out.provisioned = api
        .provisioned()?
        .into_iter()
        .map(|p| provisioned(region, p))
        .collect();
    out.foundation_models = api
        .foundation_models()?
        .into_iter()
        .map(|m| FoundationModel {
            model_id: m.model_id,
            region: region.to_string(),
            lifecycle: m.lifecycle,
            extended_access_at: m.extended_access_at,
            end_of_life_at: m.end_of_life_at,
        })
        .collect();
    out.custom_models = api
        .custom_models()?
        .into_iter()
        .map(|m| custom_model(region, m))
        .collect();
    for j in api.customization_jobs()? {
        let reuse = known
            .jobs
            .get(&j.arn)
            .filter(|k| k.origin == Origin::ControlPlane && k.status == j.status);
        match reuse {
            Some(k) if finished(&k.status) => out.jobs.push(k.clone()),
            _ => out.jobs.push(job(region, api.customization_job(&j.arn)?)),
        }
    }
    Ok(out)
}

/// Replaces `region`'s control-plane entries with `snap`, read at `now`. Throughputs and
/// custom models read before and missing now were deleted since the last refresh: they are
/// kept with `deleted_at = now` (cost stops at the latest time it may have, never earlier).
/// Entries declared in the config are never touched.
pub fn apply(inv: &mut Inventory, region: &str, snap: RegionSnapshot, now: DateTime<Utc>) {
    let ours = |origin: Origin, r: &str| origin == Origin::ControlPlane && r == region;

    let mut gone: Vec<ProvisionedThroughput> = inv
        .provisioned
        .values()
        .filter(|p| ours(p.origin, &p.region))
        .cloned()
        .collect();
    inv.provisioned.retain(|_, p| !ours(p.origin, &p.region));
    for p in snap.provisioned {
        gone.retain(|g| g.arn != p.arn);
        inv.provisioned.insert(p.arn.clone(), p);
    }
    for mut g in gone {
        g.deleted_at.get_or_insert(now);
        inv.provisioned.entry(g.arn.clone()).or_insert(g);
    }

    let mut gone: Vec<CustomModel> = inv
        .custom_models
        .values()
        .filter(|m| ours(m.origin, &m.region))
        .cloned()
        .collect();
    inv.custom_models.retain(|_, m| !ours(m.origin, &m.region));
    for m in snap.custom_models {
        gone.retain(|g| g.arn != m.arn);
        inv.custom_models.insert(m.arn.clone(), m);
    }
    for mut g in gone {
        g.deleted_at.get_or_insert(now);
        inv.custom_models.entry(g.arn.clone()).or_insert(g);
    }

    // Jobs stay listed after they end, so what is missing was deleted from the list only;
    // keep it (its training was billed all the same).
    for j in snap.jobs {
        inv.jobs.insert(j.arn.clone(), j);
    }

    inv.profiles.retain(|_, p| p.region != region);
    for p in snap.profiles {
        inv.profiles.insert(p.arn.clone(), p);
    }
    inv.foundation_models.retain(|(r, _), _| r != region);
    for m in snap.foundation_models {
        inv.foundation_models
            .insert((m.region.clone(), m.model_id.clone()), m);
    }
}

/// Connects to one region (the real client; tests pass a fake).
pub type Connect =
    dyn Fn(&AwsSettings, CallHook) -> Result<Box<dyn ControlPlaneApi>, AwsError> + Send;

/// The real connection: a [`ControlPlaneClient`].
pub fn connect_aws(
    s: &AwsSettings,
    on_call: CallHook,
) -> Result<Box<dyn ControlPlaneApi>, AwsError> {
    Ok(Box::new(ControlPlaneClient::new(s, on_call)?))
}

/// The poller's state: one client per region, created on first use.
pub struct Poller {
    spec: ControlPlaneSpec,
    inventory: InventoryHandle,
    health: Arc<dyn HealthSink>,
    clock: Arc<dyn Clock>,
    connect: Box<Connect>,
    clients: BTreeMap<String, Box<dyn ControlPlaneApi>>,
}

impl Poller {
    /// A poller filling `inventory`.
    pub fn new(
        spec: ControlPlaneSpec,
        inventory: InventoryHandle,
        health: Arc<dyn HealthSink>,
        clock: Arc<dyn Clock>,
        connect: Box<Connect>,
    ) -> Poller {
        Poller {
            spec,
            inventory,
            health,
            clock,
            connect,
            clients: BTreeMap::new(),
        }
    }

    /// One refresh of every region. A region that fails keeps its last good entries; the
    /// first error is returned after the other regions were read.
    pub fn refresh(&mut self) -> Result<(), AwsError> {
        let mut first_err = None;
        for target in self.spec.targets.clone() {
            let region = target.region.clone();
            match self.refresh_region(&target) {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(source = SOURCE, region = %region, error = %e, "Control-plane refresh failed; keeping the last good inventory.");
                    self.health.error(SOURCE, e.kind());
                    // A client whose credentials failed is built again next time.
                    self.clients.remove(&region);
                    first_err.get_or_insert(e);
                }
            }
        }
        let now = self.clock.now();
        match first_err {
            None => {
                self.inventory.update(|i| i.refreshed_at = Some(now));
                self.health.success(SOURCE, now, Some(0.0));
                Ok(())
            }
            Some(e) => {
                self.health.up(SOURCE, false);
                Err(e)
            }
        }
    }

    fn refresh_region(&mut self, target: &AwsSettings) -> Result<(), AwsError> {
        let region = target.region.as_str();
        if !self.clients.contains_key(region) {
            let health = self.health.clone();
            let hook: CallHook = Box::new(move |api| health.api_call(SOURCE, api));
            let c = (self.connect)(target, hook)?;
            self.clients.insert(region.to_string(), c);
        }
        let api = &self.clients[region];
        let known = self.inventory.snapshot();
        let snap = read_region(api.as_ref(), region, &known)?;
        let now = self.clock.now();
        self.inventory.update(|i| apply(i, region, snap, now));
        Ok(())
    }

    /// Refreshes until `stop`: every `refresh_interval`, and after a failure sooner (from
    /// 5 s doubling up to the interval). `first` is told when the first refresh ended,
    /// whatever its outcome.
    pub fn run(mut self, stop: &AtomicBool, first: Option<std::sync::mpsc::Sender<()>>) {
        let interval = self.spec.refresh_interval;
        let mut retry = Duration::from_secs(5);
        let mut first = first;
        while !stop.load(Ordering::Relaxed) {
            let result = self.refresh();
            if let Some(tx) = first.take() {
                let _ = tx.send(());
            }
            let wait = match result {
                Ok(()) => {
                    retry = Duration::from_secs(5);
                    interval
                }
                Err(_) => {
                    let w = retry.min(interval);
                    retry = (retry * 2).min(interval);
                    w
                }
            };
            sleep_unless(stop, wait);
        }
    }
}

fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let step = Duration::from_millis(50);
    let mut left = d;
    while !stop.load(Ordering::Relaxed) && !left.is_zero() {
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
}

/// Starts the poller on its own thread (the SDK runtime is built there). The receiver
/// hears once, when the first refresh ended (so the caller may wait for the inventory
/// before it starts pricing records).
pub fn spawn(
    spec: ControlPlaneSpec,
    inventory: InventoryHandle,
    health: Arc<dyn HealthSink>,
    clock: Arc<dyn Clock>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<(std::thread::JoinHandle<()>, std::sync::mpsc::Receiver<()>)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::Builder::new()
        .name("control-plane".into())
        .spawn(move || {
            health.up(SOURCE, true);
            let poller = Poller::new(spec, inventory, health, clock, Box::new(connect_aws));
            poller.run(&stop, Some(tx));
        })?;
    Ok((t, rx))
}

/// The foundation-model list as stored in the ledger's `meta` table: one JSON object per
/// model, sorted by region and id.
pub fn foundation_models_json(inv: &Inventory) -> String {
    let list: Vec<serde_json::Value> = inv
        .foundation_models
        .values()
        .map(|m| {
            serde_json::json!({
                "region": m.region,
                "model_id": m.model_id,
                "lifecycle": m.lifecycle,
                "extended_access_at": m.extended_access_at.map(|t| t.to_rfc3339()),
                "end_of_life_at": m.end_of_life_at.map(|t| t.to_rfc3339()),
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// Reads what [`foundation_models_json`] wrote; unreadable entries are skipped.
pub fn foundation_models_from_json(text: &str) -> Vec<FoundationModel> {
    let Ok(serde_json::Value::Array(list)) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let time = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    list.iter()
        .filter_map(|v| {
            Some(FoundationModel {
                model_id: v["model_id"].as_str()?.to_string(),
                region: v["region"].as_str()?.to_string(),
                lifecycle: v["lifecycle"].as_str().unwrap_or_default().to_string(),
                extended_access_at: time(&v["extended_access_at"]),
                end_of_life_at: time(&v["end_of_life_at"]),
            })
        })
        .collect()
}

/// Tells the writer when the foundation-model list changed since it last stored it.
#[derive(Debug, Default)]
pub struct FoundationModelsPersist {
    last: Option<u64>,
}

impl FoundationModelsPersist {
    /// The JSON to store under [`FOUNDATION_MODELS_META_KEY`] when the list differs from
    /// the one last returned (any region's refresh may change it); `None` otherwise. Cheap:
    /// one read lock and a hash of the list.
    pub fn due(&mut self, inventory: &InventoryHandle) -> Option<String> {
        use std::hash::{Hash, Hasher};
        let (fingerprint, json) = inventory.read(|i| {
            if i.foundation_models.is_empty() {
                return None;
            }
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for m in i.foundation_models.values() {
                (&m.region, &m.model_id, &m.lifecycle).hash(&mut h);
                (m.extended_access_at, m.end_of_life_at).hash(&mut h);
            }
            let fingerprint = h.finish();
            if self.last == Some(fingerprint) {
                return None;
            }
            Some((fingerprint, foundation_models_json(i)))
        })?;
        self.last = Some(fingerprint);
        Some(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::aws::bedrock::FoundationModelSummary;
    use chrono::TimeZone;
    use std::sync::Mutex;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, h, 0, 0).unwrap()
    }

    #[test]
    fn labels_scopes_and_accounts_come_from_the_arns() {
        assert_eq!(
            model_of_arn(
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
            ),
            "anthropic.claude-3-haiku-20240307-v1:0"
        );
        assert_eq!(
            model_of_arn("arn:aws:bedrock:us-east-1:1:custom-model/abc"),
            "abc"
        );
        assert_eq!(
            model_of_arn("amazon.nova-lite-v1:0"),
            "amazon.nova-lite-v1:0"
        );
        assert_eq!(
            provisioned_model_label(
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k"
            ),
            "amazon.titan-text-express-v1:0"
        );
        assert_eq!(
            provisioned_model_label(
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1"
            ),
            "anthropic.claude-v2:1"
        );
        assert_eq!(
            provisioned_model_label("anthropic.claude-3-haiku-20240307-v1:0:48k"),
            "anthropic.claude-3-haiku-20240307-v1:0"
        );
        let fm = |r: &str| format!("arn:aws:bedrock:{r}::foundation-model/m.x-v1:0");
        assert_eq!(
            profile_scope("abc", "APPLICATION", &[fm("us-east-1")]),
            "in_region"
        );
        assert_eq!(
            profile_scope("abc", "APPLICATION", &[fm("us-east-1"), fm("us-west-2")]),
            "geo"
        );
        assert_eq!(
            profile_scope("abc", "APPLICATION", &[fm("us-east-1"), fm("")]),
            "global"
        );
        assert_eq!(profile_scope("eu.m.x-v1:0", "SYSTEM_DEFINED", &[]), "geo");
        assert_eq!(
            profile_scope("global.m.x-v1:0", "SYSTEM_DEFINED", &[]),
            "global"
        );
        assert_eq!(
            account_of_arn("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/x"),
            "123456789012"
        );
    }

    /// A scripted control plane: its answers can be changed between refreshes, and it can
    /// be told to fail.
    #[derive(Default)]
    struct Fake {
        provisioned: Mutex<Vec<ProvisionedSummary>>,
        fail: Mutex<Option<AwsError>>,
        job_reads: Mutex<u32>,
    }

    impl ControlPlaneApi for Arc<Fake> {
        fn inference_profiles(&self, application: bool) -> Result<Vec<ProfileSummary>, AwsError> {
            if let Some(e) = self.fail.lock().unwrap().clone() {
                return Err(e);
            }
            Ok(vec![if application {
                ProfileSummary {
                    arn: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/k1c3lwu20lem".into(),
                    id: "k1c3lwu20lem".into(),
                    kind: "APPLICATION".into(),
                    model_arns: vec!["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0".into()],
                }
            } else {
                ProfileSummary {
                    arn: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0".into(),
                    id: "us.amazon.nova-lite-v1:0".into(),
                    kind: "SYSTEM_DEFINED".into(),
                    model_arns: vec![
                        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0".into(),
                        "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0".into(),
                    ],
                }
            }])
        }
        fn tags(&self, _: &str) -> Result<BTreeMap<String, String>, AwsError> {
            Ok([("team".to_string(), "search".to_string())].into())
        }
        fn provisioned(&self) -> Result<Vec<ProvisionedSummary>, AwsError> {
            Ok(self.provisioned.lock().unwrap().clone())
        }
        fn foundation_models(&self) -> Result<Vec<FoundationModelSummary>, AwsError> {
            Ok(vec![FoundationModelSummary {
                model_id: "anthropic.claude-v2:1".into(),
                lifecycle: "LEGACY".into(),
                extended_access_at: None,
                end_of_life_at: None,
            }])
        }
        fn custom_models(&self) -> Result<Vec<CustomModelSummary>, AwsError> {
            Ok(Vec::new())
        }
        fn customization_jobs(&self) -> Result<Vec<JobSummary>, AwsError> {
            Ok(vec![job_summary()])
        }
        fn customization_job(&self, _: &str) -> Result<JobSummary, AwsError> {
            *self.job_reads.lock().unwrap() += 1;
            Ok(JobSummary {
                epochs: Some(2),
                ..job_summary()
            })
        }
    }

    fn job_summary() -> JobSummary {
        JobSummary {
            arn: "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/j1".into(),
            name: "tune".into(),
            base_model_arn:
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1".into(),
            customization_type: "FINE_TUNING".into(),
            status: "Completed".into(),
            created_at: t(1),
            ended_at: Some(t(3)),
            output_model_arn: Some("arn:aws:bedrock:us-east-1:123456789012:custom-model/c1".into()),
            epochs: None,
        }
    }

    fn pt() -> ProvisionedSummary {
        ProvisionedSummary {
            arn: "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/pt1".into(),
            name: "support-bot".into(),
            model_arn:
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k"
                    .into(),
            foundation_model_arn:
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k"
                    .into(),
            model_units: 2,
            status: "InService".into(),
            commitment: Some("OneMonth".into()),
            commitment_expires_at: Some(t(5)),
            created_at: t(0),
            last_modified_at: t(0),
        }
    }

    struct Calls(Mutex<Vec<String>>);
    impl HealthSink for Calls {
        fn up(&self, s: &str, up: bool) {
            self.0.lock().unwrap().push(format!("{s} up={up}"));
        }
        fn success(&self, s: &str, _: DateTime<Utc>, _: Option<f64>) {
            self.0.lock().unwrap().push(format!("{s} success"));
        }
        fn error(&self, s: &str, kind: &'static str) {
            self.0.lock().unwrap().push(format!("{s} error {kind}"));
        }
    }

    struct At(Mutex<DateTime<Utc>>);
    impl Clock for At {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock().unwrap()
        }
    }

    #[test]
    fn a_refresh_fills_the_inventory_and_a_failure_keeps_it() {
        let fake = Arc::new(Fake::default());
        fake.provisioned.lock().unwrap().push(pt());
        let inv = InventoryHandle::default();
        // A config-declared throughput in the same region is never touched.
        let declared = ProvisionedThroughput {
            arn: "declared".into(),
            origin: Origin::Config,
            ..provisioned("us-east-1", pt())
        };
        inv.update(|i| i.provisioned.insert("declared".into(), declared.clone()));
        let health = Arc::new(Calls(Mutex::new(Vec::new())));
        let clock = Arc::new(At(Mutex::new(t(6))));
        let f2 = fake.clone();
        let spec = ControlPlaneSpec {
            targets: vec![AwsSettings {
                region: "us-east-1".into(),
                assume_role_arn: None,
                external_id: None,
                endpoint_url: None,
            }],
            refresh_interval: Duration::from_secs(3600),
        };
        let mut poller = Poller::new(
            spec,
            inv.clone(),
            health.clone(),
            clock.clone(),
            Box::new(move |_, _| Ok(Box::new(f2.clone()) as Box<dyn ControlPlaneApi>)),
        );
        poller.refresh().unwrap();
        let i = inv.snapshot();
        assert_eq!(i.refreshed_at, Some(t(6)));
        let app = &i.profiles["arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/k1c3lwu20lem"];
        assert_eq!(
            (app.model.as_str(), app.scope.as_str(), app.kind.as_str()),
            ("amazon.nova-lite-v1:0", "in_region", "APPLICATION")
        );
        assert_eq!(app.tags["team"], "search");
        let sys = &i.profiles["arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0"];
        assert_eq!((sys.scope.as_str(), sys.tags.len()), ("geo", 0));
        let p = &i.provisioned["arn:aws:bedrock:us-east-1:123456789012:provisioned-model/pt1"];
        assert_eq!(p.model, "amazon.titan-text-express-v1:0");
        assert_eq!(
            (
                p.model_units,
                p.commitment,
                p.account.as_str(),
                p.name.as_str()
            ),
            (2, Commitment::OneMonth, "123456789012", "support-bot")
        );
        assert_eq!(p.commitment_expires_at, Some(t(5)));
        assert_eq!(i.provisioned["declared"], declared);
        let j = &i.jobs["arn:aws:bedrock:us-east-1:123456789012:model-customization-job/j1"];
        assert_eq!(
            (j.epochs, j.base_model.as_str()),
            (Some(2), "amazon.titan-text-express-v1")
        );
        assert_eq!(
            i.foundation_models[&("us-east-1".to_string(), "anthropic.claude-v2:1".to_string())]
                .lifecycle,
            "LEGACY"
        );

        // The throughput is deleted; the next refresh keeps it with the time it was gone.
        fake.provisioned.lock().unwrap().clear();
        *clock.0.lock().unwrap() = t(7);
        poller.refresh().unwrap();
        let i = inv.snapshot();
        let p = &i.provisioned["arn:aws:bedrock:us-east-1:123456789012:provisioned-model/pt1"];
        assert_eq!(p.deleted_at, Some(t(7)));
        // A finished job is read in detail once.
        assert_eq!(*fake.job_reads.lock().unwrap(), 1);

        // A failure keeps everything and is reported.
        *fake.fail.lock().unwrap() = Some(AwsError::Throttled {
            api: "ListInferenceProfiles",
            detail: "slow down".into(),
        });
        *clock.0.lock().unwrap() = t(8);
        let before = inv.snapshot();
        assert!(poller.refresh().is_err());
        assert_eq!(inv.snapshot(), before);
        let calls = health.0.lock().unwrap().clone();
        assert_eq!(
            calls[calls.len() - 2..],
            [
                "control-plane error aws_throttled".to_string(),
                "control-plane up=false".to_string()
            ]
        );
    }

    #[test]
    fn the_foundation_model_list_round_trips_and_is_stored_once_per_change() {
        let inv = InventoryHandle::default();
        let mut p = FoundationModelsPersist::default();
        assert_eq!(p.due(&inv), None);
        inv.update(|i| {
            i.foundation_models.insert(
                ("us-east-1".into(), "anthropic.claude-v2:1".into()),
                FoundationModel {
                    model_id: "anthropic.claude-v2:1".into(),
                    region: "us-east-1".into(),
                    lifecycle: "LEGACY".into(),
                    extended_access_at: Some(t(1)),
                    end_of_life_at: None,
                },
            );
            i.refreshed_at = Some(t(2));
        });
        let json = p.due(&inv).unwrap();
        assert_eq!(p.due(&inv), None);
        // A refresh that changes nothing stores nothing; a changed lifecycle is stored.
        inv.update(|i| i.refreshed_at = Some(t(3)));
        assert_eq!(p.due(&inv), None);
        let back = foundation_models_from_json(&json);
        assert_eq!(
            back,
            inv.snapshot()
                .foundation_models
                .into_values()
                .collect::<Vec<_>>()
        );
        assert!(foundation_models_from_json("not json").is_empty());
        inv.update(|i| {
            for m in i.foundation_models.values_mut() {
                m.lifecycle = "ACTIVE".into();
            }
        });
        assert!(p.due(&inv).unwrap().contains("ACTIVE"));
        assert_eq!(p.due(&inv), None);
    }
}
