//! Pricing: the versioned, effective-dated price table and exact lookups.
//!
//! Owns: the TOML schema of `pricing/*.toml` (documented in `pricing/README.md`), loading the
//! embedded table or a directory, validation (`pricing check`), and lookups by (model, region,
//! scope, service tier, context band, time). Must not: do I/O after load, use floats, or
//! invent a price: a missing price is `None`, which callers count as unpriced.
#![deny(clippy::float_arithmetic)]

use crate::money::Usd;
use crate::normalize::{ImageQuality, Scope, ServiceTier};
use chrono::{DateTime, Utc};
use std::path::Path;

/// Context band of a request: `long` applies to the whole request once its total input
/// (input + cache read + cache write) exceeds the entry's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContextBand {
    /// The normal price.
    Standard,
    /// The long-context price.
    Long,
}

impl ContextBand {
    /// `standard` or `long`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContextBand::Standard => "standard",
            ContextBand::Long => "long",
        }
    }
}

/// A token meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenMeter {
    /// Uncached input tokens.
    Input,
    /// Output tokens.
    Output,
    /// Prompt-cache reads.
    CacheRead,
    /// Prompt-cache writes, 5-minute TTL.
    CacheWrite5m,
    /// Prompt-cache writes, 1-hour TTL.
    CacheWrite1h,
}

impl TokenMeter {
    /// All token meters.
    pub const ALL: [TokenMeter; 5] = [
        TokenMeter::Input,
        TokenMeter::Output,
        TokenMeter::CacheRead,
        TokenMeter::CacheWrite5m,
        TokenMeter::CacheWrite1h,
    ];

    /// The ledger's meter name (`input_tokens`, `output_tokens`, `cache_read_tokens`,
    /// `cache_write_5m_tokens`, `cache_write_1h_tokens`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenMeter::Input => "input_tokens",
            TokenMeter::Output => "output_tokens",
            TokenMeter::CacheRead => "cache_read_tokens",
            TokenMeter::CacheWrite5m => "cache_write_5m_tokens",
            TokenMeter::CacheWrite1h => "cache_write_1h_tokens",
        }
    }
}

/// Provisioned-throughput commitment term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommitmentTerm {
    /// No commitment (hourly).
    None,
    /// One month.
    OneMonth,
    /// Six months.
    SixMonths,
}

/// What to look up.
#[derive(Debug, Clone, Copy)]
pub struct PriceQuery<'a> {
    /// Base model id as the normalizer resolved it (`anthropic.claude-sonnet-4-20250514-v1:0`).
    pub model: &'a str,
    /// Source region (`region` of the record).
    pub region: &'a str,
    /// Scope.
    pub scope: Scope,
    /// Service tier.
    pub tier: ServiceTier,
    /// When the usage happened.
    pub at: DateTime<Utc>,
}

/// The price of one image, with the size band it fell in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePrice {
    /// Dollars per image.
    pub usd_per_image: Usd,
    /// The band label, e.g. `1024x1024/premium`.
    pub band: String,
}

/// The loaded table.
#[derive(Debug, Clone)]
pub struct PriceBook {}

/// One price entry.
#[derive(Debug, Clone)]
pub struct PriceEntry {}

/// Loading or validation failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PricingError(pub String);

impl PriceBook {
    /// The table embedded in the binary (the repository's `pricing/` directory).
    pub fn embedded() -> Result<PriceBook, PricingError> {
        unimplemented!()
    }
    /// Loads every `*.toml` in a directory.
    pub fn from_dir(_dir: &Path) -> Result<PriceBook, PricingError> {
        unimplemented!()
    }
    /// The table version string.
    pub fn version(&self) -> &str {
        unimplemented!()
    }
    /// The entry that prices a request whose whole prompt is `total_input_tokens`.
    pub fn entry_for(&self, _q: &PriceQuery<'_>, _total_input_tokens: u64) -> Option<&PriceEntry> {
        unimplemented!()
    }
}

impl PriceEntry {
    /// The entry's unique id.
    pub fn id(&self) -> &str {
        unimplemented!()
    }
    /// Price per 1M tokens for a meter, if the entry has one.
    pub fn token_usd_per_1m(&self, _m: TokenMeter) -> Option<Usd> {
        unimplemented!()
    }
    /// Price of one image of this quality and size.
    pub fn image_price(
        &self,
        _quality: ImageQuality,
        _width: Option<u32>,
        _height: Option<u32>,
    ) -> Option<ImagePrice> {
        unimplemented!()
    }
}
