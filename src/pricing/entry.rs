//! One price entry of the table, with accessors for lookups and for `pricing show`.
use super::{CommitmentTerm, ContextBand, ImagePrice, TokenMeter};
use crate::money::Usd;
use crate::normalize::{ImageQuality, Scope, ServiceTier};
use chrono::{DateTime, NaiveDate, Utc};

/// Every per-unit meter an entry can price (provisioned throughput is separate, see
/// [`PriceEntry::provisioned_usd_per_mu_hour`]). Each TOML key carries its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Meter {
    /// Uncached input tokens, per 1M.
    InputTokens,
    /// Output tokens, per 1M.
    OutputTokens,
    /// Prompt-cache reads, per 1M tokens.
    CacheReadTokens,
    /// Prompt-cache writes with a 5-minute TTL, per 1M tokens.
    CacheWrite5mTokens,
    /// Prompt-cache writes with a 1-hour TTL, per 1M tokens.
    CacheWrite1hTokens,
    /// Input images of embedding models, per image.
    InputImages,
    /// Input audio of embedding models, per second.
    InputAudioSeconds,
    /// Input video of embedding models, per second.
    InputVideoSeconds,
    /// Rerank queries, per 1,000 queries.
    Queries,
    /// Generated video, per second.
    OutputVideoSeconds,
    /// Customization training, per 1M tokens processed (tokens × epochs).
    TrainingTokens,
    /// Customization training of image models, per image seen.
    TrainingImages,
    /// Customization training billed by time, per hour.
    TrainingHours,
    /// Storage of one custom model, per month.
    CustomModelStorageMonths,
}

impl Meter {
    /// All meters, in table order.
    pub const ALL: [Meter; 14] = [
        Meter::InputTokens,
        Meter::OutputTokens,
        Meter::CacheReadTokens,
        Meter::CacheWrite5mTokens,
        Meter::CacheWrite1hTokens,
        Meter::InputImages,
        Meter::InputAudioSeconds,
        Meter::InputVideoSeconds,
        Meter::Queries,
        Meter::OutputVideoSeconds,
        Meter::TrainingTokens,
        Meter::TrainingImages,
        Meter::TrainingHours,
        Meter::CustomModelStorageMonths,
    ];

    /// The TOML key of the meter, e.g. `input_usd_per_1m_tokens`.
    pub fn key(self) -> &'static str {
        match self {
            Meter::InputTokens => "input_usd_per_1m_tokens",
            Meter::OutputTokens => "output_usd_per_1m_tokens",
            Meter::CacheReadTokens => "cache_read_usd_per_1m_tokens",
            Meter::CacheWrite5mTokens => "cache_write_5m_usd_per_1m_tokens",
            Meter::CacheWrite1hTokens => "cache_write_1h_usd_per_1m_tokens",
            Meter::InputImages => "input_usd_per_image",
            Meter::InputAudioSeconds => "input_audio_usd_per_second",
            Meter::InputVideoSeconds => "input_video_usd_per_second",
            Meter::Queries => "usd_per_1k_queries",
            Meter::OutputVideoSeconds => "output_video_usd_per_second",
            Meter::TrainingTokens => "training_usd_per_1m_tokens",
            Meter::TrainingImages => "training_usd_per_image",
            Meter::TrainingHours => "training_usd_per_hour",
            Meter::CustomModelStorageMonths => "custom_model_storage_usd_per_month",
        }
    }

    /// The unit one price is for, for display (`1M tokens`, `image`, `1K queries`, …).
    pub fn unit(self) -> &'static str {
        match self {
            Meter::InputTokens
            | Meter::OutputTokens
            | Meter::CacheReadTokens
            | Meter::CacheWrite5mTokens
            | Meter::CacheWrite1hTokens
            | Meter::TrainingTokens => "1M tokens",
            Meter::InputImages | Meter::TrainingImages => "image",
            Meter::InputAudioSeconds | Meter::InputVideoSeconds | Meter::OutputVideoSeconds => {
                "second"
            }
            Meter::Queries => "1K queries",
            Meter::TrainingHours => "hour",
            Meter::CustomModelStorageMonths => "model-month",
        }
    }

    /// True for meters billed per invocation (found through [`super::PriceBook::entry_for`]);
    /// false for customization meters (training, storage).
    pub fn is_invocation(self) -> bool {
        !matches!(
            self,
            Meter::TrainingTokens
                | Meter::TrainingImages
                | Meter::TrainingHours
                | Meter::CustomModelStorageMonths
        )
    }

    /// Parses a TOML key written by [`Meter::key`].
    pub fn from_key(key: &str) -> Option<Meter> {
        Meter::ALL.into_iter().find(|m| m.key() == key)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl From<TokenMeter> for Meter {
    fn from(m: TokenMeter) -> Meter {
        match m {
            TokenMeter::Input => Meter::InputTokens,
            TokenMeter::Output => Meter::OutputTokens,
            TokenMeter::CacheRead => Meter::CacheReadTokens,
            TokenMeter::CacheWrite5m => Meter::CacheWrite5mTokens,
            TokenMeter::CacheWrite1h => Meter::CacheWrite1hTokens,
        }
    }
}

impl CommitmentTerm {
    /// All terms, shortest commitment first.
    pub const ALL: [CommitmentTerm; 3] = [
        CommitmentTerm::None,
        CommitmentTerm::OneMonth,
        CommitmentTerm::SixMonths,
    ];

    /// The TOML key of the term inside `provisioned_usd_per_model_unit_hour`
    /// (`no_commitment`, `one_month`, `six_months`).
    pub fn as_str(self) -> &'static str {
        match self {
            CommitmentTerm::None => "no_commitment",
            CommitmentTerm::OneMonth => "one_month",
            CommitmentTerm::SixMonths => "six_months",
        }
    }

    /// Parses a key written by [`CommitmentTerm::as_str`].
    pub fn parse(s: &str) -> Option<CommitmentTerm> {
        CommitmentTerm::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// How well a price is confirmed (the legend of the research notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Confidence {
    /// AWS's own pricing page or docs, transcribed by a dated crawl with a region label.
    A,
    /// AWS's own pricing page without a recorded region, or derived from AWS numbers.
    B,
    /// Third-party or peer data only, or a date boundary that is an assumption.
    C,
}

impl Confidence {
    /// `A`, `B` or `C`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::A => "A",
            Confidence::B => "B",
            Confidence::C => "C",
        }
    }

    /// Parses `A`, `B` or `C`.
    pub fn parse(s: &str) -> Option<Confidence> {
        match s {
            "A" => Some(Confidence::A),
            "B" => Some(Confidence::B),
            "C" => Some(Confidence::C),
            _ => None,
        }
    }
}

/// One per-image price band of an image-generation entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageBand {
    pub(crate) quality: Option<ImageQuality>,
    pub(crate) max_width: Option<u32>,
    pub(crate) max_height: Option<u32>,
    pub(crate) usd_per_image: Usd,
}

impl ImageBand {
    /// The quality this band prices; `None` prices every quality.
    pub fn quality(&self) -> Option<ImageQuality> {
        self.quality
    }
    /// Largest width of the band in pixels; `None` for a band without a size limit.
    pub fn max_width(&self) -> Option<u32> {
        self.max_width
    }
    /// Largest height of the band in pixels; `None` for a band without a size limit.
    pub fn max_height(&self) -> Option<u32> {
        self.max_height
    }
    /// Dollars per generated image.
    pub fn usd_per_image(&self) -> Usd {
        self.usd_per_image
    }
    /// Pixel area of the band (`None` = unbounded), which orders bands.
    pub fn max_pixels(&self) -> Option<u64> {
        match (self.max_width, self.max_height) {
            (Some(w), Some(h)) => Some(u64::from(w) * u64::from(h)),
            _ => None,
        }
    }
    /// The label the ledger records: `1024x1024/premium`, `any-size/standard`, `1024x1024/any`.
    pub fn label(&self) -> String {
        let size = match (self.max_width, self.max_height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            _ => "any-size".to_string(),
        };
        let quality = self.quality.map_or("any", |q| q.as_str());
        format!("{size}/{quality}")
    }

    fn fits(&self, pixels: Option<u64>) -> bool {
        match (self.max_pixels(), pixels) {
            (None, _) | (_, None) => true,
            (Some(max), Some(p)) => p <= max,
        }
    }
}

/// One price entry: a set of prices for some models in some regions, scopes and one service
/// tier and context band, effective over a half-open UTC date range.
#[derive(Debug, Clone)]
pub struct PriceEntry {
    /// Shared with every rollup key the entry prices (see [`crate::accounting::MeterKey`]).
    pub(crate) id: std::sync::Arc<str>,
    pub(crate) file: String,
    pub(crate) line: Option<usize>,
    pub(crate) models: Vec<String>,
    /// Regions as written (explicit list).
    pub(crate) explicit_regions: Vec<String>,
    /// Region groups as written.
    pub(crate) region_groups: Vec<String>,
    /// Explicit regions and group members, sorted, without duplicates.
    pub(crate) regions: Vec<String>,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) tier: ServiceTier,
    pub(crate) context: ContextBand,
    pub(crate) long_context_threshold: Option<u64>,
    pub(crate) effective_from: NaiveDate,
    pub(crate) effective_to: Option<NaiveDate>,
    pub(crate) meters: [Option<Usd>; Meter::ALL.len()],
    pub(crate) images: Vec<ImageBand>,
    pub(crate) provisioned: [Option<Usd>; CommitmentTerm::ALL.len()],
    pub(crate) source: String,
    pub(crate) retrieved: NaiveDate,
    pub(crate) confidence: Confidence,
    pub(crate) note: Option<String>,
}

/// Unix seconds of midnight UTC starting `d`.
pub(crate) fn day_start(d: NaiveDate) -> i64 {
    d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
}

impl PriceEntry {
    /// The entry's unique id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The id as the shared value rollup keys hold.
    pub fn id_shared(&self) -> &std::sync::Arc<str> {
        &self.id
    }
    /// The file the entry came from (`pricing/anthropic.toml`).
    pub fn file(&self) -> &str {
        &self.file
    }
    /// The 1-based line of the entry in its file, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }
    /// Base model ids the entry prices, as Bedrock names them.
    pub fn models(&self) -> &[String] {
        &self.models
    }
    /// Every region the entry prices: explicit regions plus members of its region groups,
    /// sorted.
    pub fn regions(&self) -> &[String] {
        &self.regions
    }
    /// The region groups named by the entry, as written.
    pub fn region_groups(&self) -> &[String] {
        &self.region_groups
    }
    /// The regions named explicitly by the entry, as written.
    pub fn explicit_regions(&self) -> &[String] {
        &self.explicit_regions
    }
    /// Scopes the entry prices.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }
    /// Service tier.
    pub fn tier(&self) -> ServiceTier {
        self.tier
    }
    /// Context band (`standard` or `long`).
    pub fn context_band(&self) -> ContextBand {
        self.context
    }
    /// For `long` entries: the entry applies when the request's total input tokens exceed
    /// this. `None` for standard entries.
    pub fn long_context_threshold(&self) -> Option<u64> {
        self.long_context_threshold
    }
    /// First UTC day the entry applies (inclusive).
    pub fn effective_from(&self) -> NaiveDate {
        self.effective_from
    }
    /// First UTC day the entry no longer applies (exclusive); `None` = still in effect.
    pub fn effective_to(&self) -> Option<NaiveDate> {
        self.effective_to
    }
    /// True when `at` falls in `[effective_from, effective_to)`.
    pub fn is_effective_at(&self, at: DateTime<Utc>) -> bool {
        let t = at.timestamp();
        t >= day_start(self.effective_from) && self.effective_to.is_none_or(|to| t < day_start(to))
    }
    /// Price per 1M tokens for a meter, if the entry has one.
    pub fn token_usd_per_1m(&self, m: TokenMeter) -> Option<Usd> {
        self.meter(Meter::from(m))
    }
    /// The price of any meter, if the entry has one.
    pub fn meter(&self, m: Meter) -> Option<Usd> {
        self.meters[m.index()]
    }
    /// Every meter the entry prices, in table order.
    pub fn meters(&self) -> impl Iterator<Item = (Meter, Usd)> + '_ {
        Meter::ALL
            .into_iter()
            .filter_map(|m| self.meter(m).map(|p| (m, p)))
    }
    /// Per-image price bands (image-generation models).
    pub fn image_bands(&self) -> &[ImageBand] {
        &self.images
    }
    /// Price of one image of this quality and size.
    ///
    /// Bands of the requested quality, or without a quality, are candidates. Of those, the
    /// band with the smallest `max_width × max_height` whose area holds `width × height`
    /// wins; a band without a size limit holds everything and ranks last. With an unknown
    /// width or height the smallest candidate band is used. `None` when no band fits.
    pub fn image_price(
        &self,
        quality: ImageQuality,
        width: Option<u32>,
        height: Option<u32>,
    ) -> Option<ImagePrice> {
        let pixels = match (width, height) {
            (Some(w), Some(h)) => Some(u64::from(w) * u64::from(h)),
            _ => None,
        };
        let exact = self.best_band(Some(quality), pixels);
        let band = exact.or_else(|| self.best_band(None, pixels))?;
        Some(ImagePrice {
            usd_per_image: band.usd_per_image,
            band: band.label(),
        })
    }

    fn best_band(&self, quality: Option<ImageQuality>, pixels: Option<u64>) -> Option<&ImageBand> {
        self.images
            .iter()
            .filter(|b| b.quality == quality && b.fits(pixels))
            .min_by_key(|b| b.max_pixels().unwrap_or(u64::MAX))
    }
    /// Hourly price of one model unit of provisioned throughput for a commitment term.
    pub fn provisioned_usd_per_mu_hour(&self, term: CommitmentTerm) -> Option<Usd> {
        self.provisioned[term as usize]
    }
    /// Every provisioned-throughput term the entry prices.
    pub fn provisioned_terms(&self) -> impl Iterator<Item = (CommitmentTerm, Usd)> + '_ {
        CommitmentTerm::ALL
            .into_iter()
            .filter_map(|t| self.provisioned_usd_per_mu_hour(t).map(|p| (t, p)))
    }
    /// Customization training price per 1M tokens (tokens × epochs).
    pub fn training_usd_per_1m_tokens(&self) -> Option<Usd> {
        self.meter(Meter::TrainingTokens)
    }
    /// Customization training price per image seen.
    pub fn training_usd_per_image(&self) -> Option<Usd> {
        self.meter(Meter::TrainingImages)
    }
    /// Customization training price per training hour.
    pub fn training_usd_per_hour(&self) -> Option<Usd> {
        self.meter(Meter::TrainingHours)
    }
    /// Monthly storage price of one custom model.
    pub fn custom_model_storage_usd_per_month(&self) -> Option<Usd> {
        self.meter(Meter::CustomModelStorageMonths)
    }
    /// Where the prices come from (URL or `repo:path@commit`).
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Date of the source's content.
    pub fn retrieved(&self) -> NaiveDate {
        self.retrieved
    }
    /// How well the prices are confirmed.
    pub fn confidence(&self) -> Confidence {
        self.confidence
    }
    /// Free-text note (assumptions, conflicts, date rationale).
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// True when the entry prices invocations (token, image, query, second meters).
    pub fn prices_invocations(&self) -> bool {
        !self.images.is_empty()
            || Meter::ALL
                .into_iter()
                .any(|m| m.is_invocation() && self.meter(m).is_some())
    }
    /// True when the entry prices provisioned throughput.
    pub fn prices_provisioned(&self) -> bool {
        self.provisioned.iter().any(Option::is_some)
    }
    /// True when the entry prices customization (training or storage).
    pub fn prices_customization(&self) -> bool {
        Meter::ALL
            .into_iter()
            .any(|m| !m.is_invocation() && self.meter(m).is_some())
    }
}
