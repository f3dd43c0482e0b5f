//! The control-plane inventory's gauges: when the inventory was last refreshed and how many
//! inference profiles and foundation models it holds. Rendered from the shared
//! [`InventoryHandle`] at scrape time, only once the daemon has one (so an exposition
//! without a control plane is unchanged). Must not: call AWS or change the inventory.
use super::text::{self, Kind, Value};
use crate::inventory::Inventory;
use std::collections::BTreeMap;

/// Appends the inventory families to `out`.
pub(super) fn render(out: &mut String, inv: &Inventory) {
    let name = "bedrock_control_plane_refresh_timestamp_seconds";
    text::header(
        out,
        name,
        Kind::Gauge,
        "Unix time of the last complete refresh of the Bedrock control-plane inventory (absent until the first).",
    );
    if let Some(at) = inv.refreshed_at {
        text::sample(out, name, "", &[], Value::Int(at.timestamp().max(0) as u64));
    }
    let name = "bedrock_inference_profiles";
    text::header(
        out,
        name,
        Kind::Gauge,
        "Inference profiles known from the control plane, by kind (SYSTEM_DEFINED, APPLICATION).",
    );
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for p in inv.profiles.values() {
        *kinds.entry(p.kind.as_str()).or_default() += 1;
    }
    for (kind, n) in kinds {
        text::sample(out, name, "", &[("kind", kind)], Value::Int(n));
    }
    let name = "bedrock_foundation_models";
    text::header(
        out,
        name,
        Kind::Gauge,
        "Foundation models listed by the control plane, by region and lifecycle (ACTIVE, LEGACY).",
    );
    let mut lifecycles: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for m in inv.foundation_models.values() {
        *lifecycles
            .entry((m.region.as_str(), m.lifecycle.as_str()))
            .or_default() += 1;
    }
    for ((region, lifecycle), n) in lifecycles {
        text::sample(
            out,
            name,
            "",
            &[("region", region), ("lifecycle", lifecycle)],
            Value::Int(n),
        );
    }
}
