//! The lookup index: built once at load, read per record without allocating.
//!
//! `model id → model slot` (exact ids, plus each id with its trailing `:0` added or removed
//! when that form is not itself in the table), then per model `region → slots`. A slot is one
//! entry expanded to one scope; the handful of slots per (model, region) is scanned linearly,
//! which is faster than hashing a composite key.
use super::ContextBand;
use super::entry::{PriceEntry, day_start};
use crate::normalize::{Scope, ServiceTier};

use rustc_hash::FxHashMap;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub scope: Scope,
    pub tier: ServiceTier,
    pub band: ContextBand,
    pub threshold: u64,
    pub from: i64,
    pub to: i64,
    pub entry: u32,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Dated {
    pub from: i64,
    pub to: i64,
    pub entry: u32,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ModelSlots {
    /// The model id as the table writes it.
    pub id: String,
    pub invocation: FxHashMap<Box<str>, Vec<Slot>>,
    pub provisioned: FxHashMap<Box<str>, Vec<Dated>>,
    pub customization: FxHashMap<Box<str>, Vec<Dated>>,
    /// Every entry naming the model, in table order.
    pub entries: Vec<u32>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    /// FxHash: looked up once per event on the ingest hot path (SipHash cost 1–2 %).
    ids: FxHashMap<Box<str>, u32>,
    pub models: Vec<ModelSlots>,
}

/// The other spelling of a model id: `x:0` ↔ `x`.
fn alias(id: &str) -> String {
    match id.strip_suffix(":0") {
        Some(base) => base.to_string(),
        None => format!("{id}:0"),
    }
}

impl Index {
    pub fn build(entries: &[PriceEntry]) -> Index {
        let mut index = Index::default();
        for (i, e) in entries.iter().enumerate() {
            let i = u32::try_from(i).expect("fewer than 4 billion entries");
            let from = day_start(e.effective_from);
            let to = e.effective_to.map_or(i64::MAX, day_start);
            for model in &e.models {
                let slot = match index.ids.get(model.as_str()) {
                    Some(&s) => s as usize,
                    None => {
                        index.models.push(ModelSlots {
                            id: model.clone(),
                            ..ModelSlots::default()
                        });
                        let s = index.models.len() - 1;
                        index.ids.insert(model.as_str().into(), s as u32);
                        s
                    }
                };
                let m = &mut index.models[slot];
                m.entries.push(i);
                for region in &e.regions {
                    if e.prices_invocations() {
                        let v = m.invocation.entry(region.as_str().into()).or_default();
                        for &scope in &e.scopes {
                            v.push(Slot {
                                scope,
                                tier: e.tier,
                                band: e.context,
                                threshold: e.long_context_threshold.unwrap_or(0),
                                from,
                                to,
                                entry: i,
                            });
                        }
                    }
                    let dated = Dated { from, to, entry: i };
                    if e.prices_provisioned() {
                        m.provisioned
                            .entry(region.as_str().into())
                            .or_default()
                            .push(dated);
                    }
                    if e.prices_customization() {
                        m.customization
                            .entry(region.as_str().into())
                            .or_default()
                            .push(dated);
                    }
                }
            }
        }
        // Tolerant spellings, only where the table does not name that spelling itself.
        let aliases: Vec<(String, u32)> = index
            .models
            .iter()
            .enumerate()
            .map(|(s, m)| (alias(&m.id), s as u32))
            .filter(|(a, _)| !index.ids.contains_key(a.as_str()))
            .collect();
        for (a, s) in aliases {
            index.ids.entry(a.into()).or_insert(s);
        }
        index
    }

    /// The model slot for an id: exact, else the `:0`-tolerant spelling.
    pub fn model(&self, id: &str) -> Option<&ModelSlots> {
        self.ids.get(id).map(|&s| &self.models[s as usize])
    }

    /// Index of the entry pricing (scope, tier) at `t`, honouring the long-context band.
    pub fn find(
        &self,
        model: &str,
        region: &str,
        scope: Scope,
        tier: ServiceTier,
        t: i64,
        total_input_tokens: u64,
    ) -> Option<u32> {
        let slots = self.model(model)?.invocation.get(region)?;
        let mut standard = None;
        let mut long = None;
        for s in slots {
            if s.scope != scope || s.tier != tier || t < s.from || t >= s.to {
                continue;
            }
            match s.band {
                ContextBand::Standard => standard = Some(s.entry),
                ContextBand::Long if total_input_tokens > s.threshold => long = Some(s.entry),
                ContextBand::Long => {}
            }
        }
        long.or(standard)
    }

    /// Index of the dated entry in `map` for `region` at `t`.
    pub fn find_dated(map: &FxHashMap<Box<str>, Vec<Dated>>, region: &str, t: i64) -> Option<u32> {
        map.get(region)?
            .iter()
            .find(|d| d.from <= t && t < d.to)
            .map(|d| d.entry)
    }
}
