//! The ledger rule: one usage event → rollup deltas in a [`Batch`].
//!
//! Cost of a token meter = tokens × (USD per 1M tokens) / 1,000,000, exactly; cost of images =
//! count × USD per image. Each cell names the price entry and table version that produced it.
//! A meter the entry has no price for, or a model with no entry, is booked with no cost and
//! no entry id: that is "unpriced", shown in reports and metrics, never a silent $0.
use super::batch::{
    Amount, Batch, Cells, DimsKey, DimsRef, MeterKey, MeterRef, add_to_cell, no_entry,
};
use crate::money::Usd;
use crate::normalize::{CountSource, UsageEvent};
use crate::pricing::{ContextBand, PriceBook, PriceEntry, PriceQuery, TokenMeter};
use chrono::{DateTime, Timelike, Utc};
use rust_decimal::Decimal;
use std::cell::Cell;

/// How much of the caller's identity the ledger keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrincipalDetail {
    /// Nothing (every row says `all`).
    Off,
    /// `role/Name`, `user/name`.
    Role,
    /// `role/Name/session` for assumed roles (the default; reports can still group by role).
    #[default]
    RoleSession,
}

/// Which `requestMetadata` keys become attribution tags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TagKeys {
    /// Every key the caller sent (the default for the ledger).
    #[default]
    All,
    /// Only these keys.
    Only(Vec<String>),
}

/// Ledger settings.
#[derive(Debug, Clone, Default)]
pub struct LedgerConfig {
    /// Principal granularity.
    pub principal: PrincipalDetail,
    /// Tag keys kept.
    pub tag_keys: TagKeys,
}

/// Applies a price table to usage events.
#[derive(Debug)]
pub struct Ledger<'a> {
    book: &'a PriceBook,
    config: LedgerConfig,
    inventory: Option<crate::inventory::InventoryHandle>,
}

/// Start of the UTC hour containing `t`, as unix seconds.
pub fn hour_of(t: DateTime<Utc>) -> i64 {
    let s = t.timestamp();
    s - s.rem_euclid(3600)
}

/// Cost of `quantity` units at `price` per `per` units, exactly.
pub fn cost_of(quantity: u64, price: Usd, per: u64) -> Usd {
    let product = Decimal::from(quantity) * price;
    // Dividing by 10^6 is moving the decimal point: exact, and far cheaper than a division
    // (the same value; only trailing zeros may differ, and every output normalizes).
    if per == 1_000_000 && product.scale() + 6 <= Decimal::MAX_SCALE {
        let mut cost = product;
        if cost.set_scale(product.scale() + 6).is_ok() {
            return cost;
        }
    }
    product / Decimal::from(per)
}

/// Rollup dimensions and meters for one event, before they are added to a batch. Re-pricing
/// uses the same rule on stored quantities.
pub struct Priced<'e> {
    /// The entry that applies, if any.
    pub entry: Option<&'e PriceEntry>,
    /// The context band that was chosen.
    pub band: ContextBand,
}

impl<'a> Ledger<'a> {
    /// A ledger over a price table.
    pub fn new(book: &'a PriceBook, config: LedgerConfig) -> Ledger<'a> {
        Ledger {
            book,
            config,
            inventory: None,
        }
    }

    /// Resolves application-inference-profile ARNs through `inventory` (see
    /// [`super::profiles`]).
    pub fn with_inventory(mut self, inventory: crate::inventory::InventoryHandle) -> Self {
        self.inventory = Some(inventory);
        self
    }

    /// The price table.
    pub fn book(&self) -> &'a PriceBook {
        self.book
    }

    /// Finds the entry for an event (None: provisioned, unresolved model, or no price).
    pub fn entry_for(&self, ev: &UsageEvent) -> Option<&'a PriceEntry> {
        if ev.model.provisioned {
            return None;
        }
        let model = ev.model.base_model.as_deref()?;
        let q = PriceQuery {
            model,
            region: &ev.region,
            scope: ev.model.scope,
            tier: ev.service_tier,
            at: ev.timestamp,
        };
        self.book.entry_for(&q, ev.tokens.total_input())
    }

    /// The event's dimensions, borrowed from the event and from `labels` (where the principal
    /// and tags labels are written), so looking up its cells allocates nothing.
    fn dims<'s>(
        &'s self,
        ev: &'s UsageEvent,
        band: ContextBand,
        labels: &'s mut Labels,
    ) -> DimsRef<'s> {
        let principal = &mut labels.principal;
        principal.clear();
        // `Principal::without_session` / `with_session`, written into a reused buffer.
        let p = &ev.principal;
        match self.config.principal {
            PrincipalDetail::Off => principal.push_str("all"),
            PrincipalDetail::Role | PrincipalDetail::RoleSession => {
                principal.push_str(&p.kind);
                if !p.name.is_empty() {
                    principal.push('/');
                    principal.push_str(&p.name);
                }
                if self.config.principal == PrincipalDetail::RoleSession
                    && let Some(s) = &p.session
                {
                    principal.push('/');
                    principal.push_str(s);
                }
            }
        }
        labels.tags.clear();
        self.write_tags(ev, &mut labels.tags);
        DimsRef {
            hour: hour_of(ev.timestamp.with_nanosecond(0).unwrap_or(ev.timestamp)),
            account: &ev.account,
            region: &ev.region,
            model: ev.model.label(),
            scope: ev.model.scope.as_str(),
            service_tier: ev.service_tier.as_str(),
            context_band: band.as_str(),
            operation: ev.operation.as_str(),
            principal: &labels.principal,
            tags: std::str::from_utf8(&labels.tags).unwrap_or_default(),
            pricing_mode: if ev.model.provisioned {
                "provisioned"
            } else {
                "on_demand"
            },
        }
    }

    /// The kept tags as a canonical JSON object (`{}` when none), appended to `out`.
    fn write_tags(&self, ev: &UsageEvent, out: &mut Vec<u8>) {
        // `ev.tags` is sorted by key without duplicates (normalize), so writing the kept
        // pairs in order gives the same canonical object as a BTreeMap-backed
        // serde_json::Map, without building one per event.
        let start = out.len();
        out.push(b'{');
        for (k, v) in &ev.tags {
            let keep = match &self.config.tag_keys {
                TagKeys::All => true,
                TagKeys::Only(keys) => keys.iter().any(|x| x == k),
            };
            if keep {
                if out.len() > start + 1 {
                    out.push(b',');
                }
                json_string(out, k);
                out.push(b':');
                json_string(out, v);
            }
        }
        out.push(b'}');
    }

    /// Books one event into a batch.
    pub fn record(&self, ev: &UsageEvent, batch: &mut Batch) {
        let via_profile = self
            .inventory
            .as_ref()
            .and_then(|i| super::profiles::resolve(i, ev));
        let ev = via_profile.as_ref().unwrap_or(ev);
        let entry = self.entry_for(ev);
        let band = entry
            .map(|e| e.context_band())
            .unwrap_or(ContextBand::Standard);
        // One hash of the dimensions per event, not one per meter; the key is borrowed, so
        // only a new cell allocates.
        let mut labels = LABELS.take();
        let dims = self.dims(ev, band, &mut labels);
        let cells = match batch.rollups.get_mut(&dims as &dyn DimsKey) {
            Some(c) => c,
            None => batch.rollups.entry(dims.to_owned()).or_default(),
        };
        LABELS.set(labels);
        let (entry_id, version) = match entry {
            Some(e) => (e.id_shared(), self.book.version_shared()),
            None => (no_entry(), no_entry()),
        };

        let tokens = [
            (TokenMeter::Input, ev.tokens.input),
            (TokenMeter::Output, ev.tokens.output),
            (TokenMeter::CacheRead, ev.tokens.cache_read),
            (TokenMeter::CacheWrite5m, ev.tokens.cache_write_5m),
            (TokenMeter::CacheWrite1h, ev.tokens.cache_write_1h),
        ];
        for (m, qty) in tokens {
            if qty == 0 {
                continue;
            }
            let price = entry.and_then(|e| e.token_usd_per_1m(m));
            let (key_entry, key_version, cost) = match price {
                Some(p) => (entry_id, version, Some(cost_of(qty, p, 1_000_000))),
                None => (no_entry(), no_entry(), None),
            };
            add(
                cells,
                MeterRef {
                    meter: m.as_str(),
                    detail: "",
                    price_entry: key_entry,
                    pricing_version: key_version,
                },
                Amount {
                    quantity: qty,
                    cost,
                },
            );
        }

        if let Some(img) = ev.images.filter(|i| i.count > 0) {
            let priced = entry.and_then(|e| e.image_price(img.quality, img.width, img.height));
            let (meter, amount) = match priced {
                Some(p) => (
                    MeterKey {
                        meter: "images",
                        detail: p.band,
                        price_entry: entry_id.clone(),
                        pricing_version: version.clone(),
                    },
                    Amount {
                        quantity: u64::from(img.count),
                        cost: Some(cost_of(u64::from(img.count), p.usd_per_image, 1)),
                    },
                ),
                None => (
                    MeterKey {
                        meter: "images",
                        detail: image_detail(img.width, img.height, img.quality.as_str()),
                        price_entry: no_entry().clone(),
                        pricing_version: no_entry().clone(),
                    },
                    Amount {
                        quantity: u64::from(img.count),
                        cost: None,
                    },
                ),
            };
            add(cells, meter.as_ref(), amount);
        }

        info(cells, "invocations", 1);
        if ev.count_source == CountSource::Estimated {
            info(cells, "estimated_tokens", ev.tokens.total());
        }
        if ev.cache_ttl_assumed {
            info(cells, "cache_ttl_assumed_tokens", ev.tokens.cache_write_5m);
        }
        if ev.count_source == CountSource::None && !ev.guardrail_intervened {
            info(cells, "usage_missing_invocations", 1);
        }
    }
}

fn add(cells: &mut Cells, meter: MeterRef<'_>, amount: Amount) {
    add_to_cell(cells, meter, amount);
}

fn info(cells: &mut Cells, meter: &'static str, qty: u64) {
    if qty == 0 {
        return;
    }
    add(
        cells,
        MeterRef {
            meter,
            detail: "",
            price_entry: no_entry(),
            pricing_version: no_entry(),
        },
        Amount {
            quantity: qty,
            cost: None,
        },
    );
}

/// Appends `s` as a JSON string, exactly as serde_json writes it: most tag keys and values
/// need no escaping and are copied as they are.
fn json_string(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Reused buffers for the two composed labels of an event's dimensions (principal, tags).
#[derive(Default)]
struct Labels {
    principal: String,
    tags: Vec<u8>,
}

thread_local! {
    /// The booking thread's label buffers (taken and put back around each lookup).
    static LABELS: Cell<Labels> = Cell::new(Labels::default());
}

/// The detail of an unpriced image cell: `WxH/quality` (`?` for an unknown side).
pub fn image_detail(width: Option<u32>, height: Option<u32>, quality: &str) -> String {
    let side = |v: Option<u32>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
    format!("{}x{}/{}", side(width), side(height), quality)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn tag_strings_are_written_as_serde_json_writes_them() {
        for s in [
            "",
            "team",
            "é ü 😀",
            "a\"b",
            "back\\slash",
            "tab\there",
            "\u{1}",
            "\u{7f}",
        ] {
            let mut out = Vec::new();
            json_string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn cost_per_million_equals_the_exact_quotient() {
        let prices = ["3", "15", "0.3", "0.0008", "1.25", "0.000001", "12.3456789"];
        let quantities = [0, 1, 7, 999, 1_000_000, 123_456_789, u64::from(u32::MAX)];
        for p in prices {
            let price = Usd::from_str(p).unwrap();
            for q in quantities {
                let quotient = Decimal::from(q) * price / Decimal::from(1_000_000u64);
                let cost = cost_of(q, price, 1_000_000);
                assert_eq!(cost, quotient, "{q} tokens at {p}");
                assert_eq!(
                    cost.normalize().to_string(),
                    quotient.normalize().to_string()
                );
            }
        }
        assert_eq!(
            cost_of(3, Usd::from_str("0.04").unwrap(), 1),
            Usd::from_str("0.12").unwrap()
        );
    }
}
