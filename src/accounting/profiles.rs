//! Application inference profiles in the ledger: a record whose `modelId` is an
//! application-profile ARN names no model the record alone can price. With the
//! control-plane inventory at hand, the profile resolves to its base model and scope (so
//! the record is priced as that model), and the profile's resource tags become attribution
//! tags beside the record's `requestMetadata` (which wins when both name a key; the ledger's
//! tag allow-list then applies to both alike).
//!
//! Owns: that resolution. Must not: call AWS (the inventory is filled by
//! [`crate::sources::control_plane`]), read the clock, or price anything. A profile the
//! inventory does not know leaves the event as it was: unresolved, visible as unpriced.
use crate::inventory::InventoryHandle;
use crate::normalize::{ModelIdForm, Scope, UsageEvent};

/// The event as priced through its application profile, or `None` when `ev` is not an
/// application-profile record or the profile is unknown (the caller keeps `ev`).
pub fn resolve(inventory: &InventoryHandle, ev: &UsageEvent) -> Option<UsageEvent> {
    if ev.model.form != ModelIdForm::ApplicationProfileArn {
        return None;
    }
    let id = ev.model.profile.as_deref()?;
    let (model, scope, tags) = inventory.read(|inv| {
        // Profile ids are unique; prefer the record's own region and account when the
        // inventory spans several.
        let p = inv
            .profiles
            .values()
            .filter(|p| p.kind == "APPLICATION" && p.id == id)
            .max_by_key(|p| {
                (
                    p.region == ev.region,
                    p.arn.split(':').nth(4) == Some(ev.account.as_str()),
                )
            })?;
        if p.model.is_empty() {
            return None;
        }
        Some((p.model.clone(), p.scope.clone(), p.tags.clone()))
    })?;
    let mut out = ev.clone();
    out.model.base_model = Some(model);
    out.model.scope = Scope::parse(&scope).unwrap_or(Scope::InRegion);
    out.model.unresolved_label = None;
    for (k, v) in tags {
        if let Err(at) = out.tags.binary_search_by(|(key, _)| key.as_str().cmp(&k)) {
            out.tags.insert(at, (k, v));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::{Batch, Ledger, LedgerConfig, TagKeys};
    use crate::inventory::InferenceProfile;
    use crate::normalize::parse_record;
    use crate::pricing::PriceBook;

    const APP: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/k1c3lwu20lem";

    fn record(model_id: &str) -> UsageEvent {
        parse_record(
            format!(
                r#"{{"schemaType":"ModelInvocationLog","timestamp":"2026-11-02T10:00:00Z","accountId":"123456789012","region":"us-east-1","requestId":"r1","operation":"Converse","modelId":"{model_id}","input":{{"inputTokenCount":1000000}},"output":{{"outputTokenCount":1000000}},"requestMetadata":{{"team":"from-request"}}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    fn inventory() -> InventoryHandle {
        let inv = InventoryHandle::default();
        inv.update(|i| {
            i.profiles.insert(
                APP.into(),
                InferenceProfile {
                    arn: APP.into(),
                    id: "k1c3lwu20lem".into(),
                    kind: "APPLICATION".into(),
                    region: "us-east-1".into(),
                    model: "amazon.nova-lite-v1:0".into(),
                    scope: "in_region".into(),
                    tags: [
                        ("team".to_string(), "from-profile".to_string()),
                        ("app".to_string(), "search".to_string()),
                        ("secret".to_string(), "x".to_string()),
                    ]
                    .into(),
                },
            )
        });
        inv
    }

    /// (model, tags, pricing_mode, priced input cells) of what the ledger booked.
    fn booked(ledger: &Ledger<'_>, ev: &UsageEvent) -> Vec<(String, String, String, bool)> {
        let mut b = Batch::default();
        ledger.record(ev, &mut b);
        let mut out: Vec<_> = b
            .rollups
            .iter()
            .map(|(d, cells)| {
                let priced = cells.iter().any(|(k, a)| {
                    k.meter == "input_tokens" && a.cost.is_some() && !k.price_entry.is_empty()
                });
                (
                    d.model.clone(),
                    d.tags.clone(),
                    d.pricing_mode.clone(),
                    priced,
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn an_application_profile_is_priced_as_its_model_with_its_tags() {
        let book = PriceBook::embedded().unwrap();
        let config = LedgerConfig {
            tag_keys: TagKeys::Only(vec!["team".into(), "app".into()]),
            ..LedgerConfig::default()
        };
        let ev = record(APP);
        // Without the inventory: unresolved and unpriced, as before.
        let plain = Ledger::new(&book, config.clone());
        assert_eq!(
            booked(&plain, &ev),
            [(
                "application-inference-profile/k1c3lwu20lem".to_string(),
                r#"{"team":"from-request"}"#.to_string(),
                "on_demand".to_string(),
                false
            )]
        );
        // With it: the base model, priced; profile tags added (the request's own `team`
        // wins; `secret` is not on the allow-list).
        let ledger = Ledger::new(&book, config.clone()).with_inventory(inventory());
        assert_eq!(
            booked(&ledger, &ev),
            [(
                "amazon.nova-lite-v1:0".to_string(),
                r#"{"app":"search","team":"from-request"}"#.to_string(),
                "on_demand".to_string(),
                true
            )]
        );
        // An unknown profile stays visible as unpriced.
        let other = record(&APP.replace("k1c3lwu20lem", "zzzzzzzzzzzz"));
        assert!(!booked(&ledger, &other)[0].3);
        assert_eq!(
            booked(&ledger, &other)[0].0,
            "application-inference-profile/zzzzzzzzzzzz"
        );
    }

    #[test]
    fn usage_sent_to_a_provisioned_model_is_counted_but_not_priced_per_token() {
        let book = PriceBook::embedded().unwrap();
        let ledger = Ledger::new(&book, LedgerConfig::default()).with_inventory(inventory());
        let ev = record("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/pt1");
        let mut b = Batch::default();
        ledger.record(&ev, &mut b);
        assert_eq!(b.rollups.len(), 1);
        let (dims, cells) = b.rollups.iter().next().unwrap();
        assert_eq!(dims.pricing_mode, "provisioned");
        let input = cells
            .iter()
            .find(|(k, _)| k.meter == "input_tokens")
            .unwrap();
        assert_eq!(input.1.quantity, 1_000_000);
        assert!(input.1.cost.is_none() && input.0.price_entry.is_empty());
        assert!(cells.values().all(|a| a.cost.is_none()));
    }
}
