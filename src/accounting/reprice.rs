//! Re-pricing: recompute the cost of stored rollup cells under the current price table.
//!
//! Quantities never change; only the price entry, table version and cost of each cell are
//! recomputed with the same rule as ingest ([`super::Ledger`]). The long-context band is kept
//! as it was decided at ingest (it depended on the request's size, which rollups no longer
//! hold) unless the new table has no long-context entry for the key.
use super::batch::{Amount, Batch, Dims, INFO_METERS, MeterKey, no_entry};
use super::ledger::{cost_of, image_detail};
use crate::money::Usd;
use crate::normalize::{ImageQuality, Scope, ServiceTier};
use crate::pricing::{PriceBook, PriceQuery, TokenMeter};
use chrono::DateTime;

/// One stored cell, as read from the store.
#[derive(Debug, Clone)]
pub struct StoredCell<'r> {
    /// Its dimensions.
    pub dims: &'r Dims,
    /// Meter name.
    pub meter: &'r str,
    /// Meter detail.
    pub detail: &'r str,
    /// Price entry id (empty when unpriced or informational).
    pub price_entry: &'r str,
    /// Table version.
    pub pricing_version: &'r str,
    /// Quantity.
    pub quantity: u64,
    /// Cost.
    pub cost: Option<Usd>,
}

/// What re-pricing did to one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepriceOutcome {
    /// Cost or entry changed.
    Changed,
    /// Priced the same as before.
    Unchanged,
    /// Not priceable by rule (informational meter, provisioned usage, unknown meter): copied.
    Kept,
}

/// Maps a stored meter name back to the static name the batch uses.
pub fn static_meter(name: &str) -> Option<&'static str> {
    TokenMeter::ALL
        .iter()
        .map(|m| m.as_str())
        .chain(["images"])
        .chain(INFO_METERS)
        .find(|m| *m == name)
}

fn token_meter(name: &str) -> Option<TokenMeter> {
    TokenMeter::ALL.into_iter().find(|m| m.as_str() == name)
}

/// Parses `WxH/quality` (the detail of image cells).
fn parse_image_detail(detail: &str) -> (Option<u32>, Option<u32>, ImageQuality) {
    let (size, quality) = detail.split_once('/').unwrap_or((detail, "standard"));
    let (w, h) = size.split_once('x').unwrap_or(("?", "?"));
    let q = if quality == "premium" {
        ImageQuality::Premium
    } else {
        ImageQuality::Standard
    };
    (w.parse().ok(), h.parse().ok(), q)
}

/// Re-prices one cell into `out`.
pub fn reprice_cell(book: &PriceBook, cell: &StoredCell<'_>, out: &mut Batch) -> RepriceOutcome {
    let keep = |out: &mut Batch| {
        let meter = static_meter(cell.meter);
        if let Some(meter) = meter {
            out.add(
                cell.dims,
                MeterKey {
                    meter,
                    detail: cell.detail.to_string(),
                    price_entry: cell.price_entry.into(),
                    pricing_version: cell.pricing_version.into(),
                },
                Amount {
                    quantity: cell.quantity,
                    cost: cell.cost,
                },
            );
        }
        RepriceOutcome::Kept
    };
    // Provisioned-throughput and customization cells (their own rule, same quantities).
    if let Some((key, amount, changed)) = crate::provisioned::reprice_stream(
        book,
        cell.dims,
        cell.meter,
        cell.detail,
        cell.price_entry,
        cell.quantity,
        cell.cost,
    ) {
        out.add(cell.dims, key, amount);
        return if changed {
            RepriceOutcome::Changed
        } else {
            RepriceOutcome::Unchanged
        };
    }
    let Some(meter) = static_meter(cell.meter) else {
        return keep(out);
    };
    if INFO_METERS.contains(&meter) || cell.dims.pricing_mode == "provisioned" {
        return keep(out);
    }
    let (Some(scope), Some(tier)) = (
        Scope::parse(&cell.dims.scope),
        ServiceTier::parse(&cell.dims.service_tier),
    ) else {
        return keep(out);
    };
    let Some(at) = DateTime::from_timestamp(cell.dims.hour, 0) else {
        return keep(out);
    };
    let q = PriceQuery {
        model: &cell.dims.model,
        region: &cell.dims.region,
        scope,
        tier,
        at,
    };
    let size_hint = if cell.dims.context_band == "long" {
        u64::MAX
    } else {
        0
    };
    let entry = book.entry_for(&q, size_hint);
    let band = entry
        .map(|e| e.context_band())
        .unwrap_or(crate::pricing::ContextBand::Standard);
    let mut dims = cell.dims.clone();
    dims.context_band = band.as_str().to_string();

    let (detail, price) = if meter == "images" {
        let (w, h, quality) = parse_image_detail(cell.detail);
        match entry.and_then(|e| e.image_price(quality, w, h)) {
            Some(p) => (p.band, Some(cost_of(cell.quantity, p.usd_per_image, 1))),
            None => (image_detail(w, h, quality.as_str()), None),
        }
    } else {
        let price = token_meter(meter)
            .and_then(|m| entry.and_then(|e| e.token_usd_per_1m(m)))
            .map(|p| cost_of(cell.quantity, p, 1_000_000));
        (String::new(), price)
    };
    let (price_entry, version) = match (price, entry) {
        (Some(_), Some(e)) => (e.id_shared().clone(), book.version_shared().clone()),
        _ => (no_entry().clone(), no_entry().clone()),
    };
    let changed = price != cell.cost || *price_entry != *cell.price_entry || dims != *cell.dims;
    out.add(
        &dims,
        MeterKey {
            meter,
            detail,
            price_entry,
            pricing_version: version,
        },
        Amount {
            quantity: cell.quantity,
            cost: price,
        },
    );
    if changed {
        RepriceOutcome::Changed
    } else {
        RepriceOutcome::Unchanged
    }
}
