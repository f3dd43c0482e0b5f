//! Normalize: one raw `ModelInvocationLog` record (bytes of one JSON object) becomes one
//! [`UsageEvent`] or a [`Rejection`] with a bounded reason.
//!
//! Owns: the wire structs that mirror the record schema, model-id resolution, principal
//! normalization, image counting and the tokenizer estimate for records without counts.
//! Must not: price anything, touch SQLite, log per record above TRACE, or let any body text
//! (prompts, completions, images) out of this module.
mod event;

pub use event::*;

/// Why a record was rejected. The set is closed so it can label metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Not valid JSON (or not a JSON object).
    MalformedJson,
    /// Valid JSON with a `schemaType` other than `ModelInvocationLog`.
    NotInvocationLog,
    /// A required field (`requestId`, `timestamp`, `modelId`, `region`, `accountId`,
    /// `operation`) is missing or empty.
    MissingField,
    /// A field has the wrong JSON type (e.g. a string token count).
    WrongType,
    /// `timestamp` is not an ISO-8601 UTC time.
    BadTimestamp,
    /// A token or image count is negative.
    NegativeCount,
    /// A token or image count is beyond anything Bedrock can produce for one request.
    AbsurdCount,
}

impl RejectReason {
    /// All reasons, for zero-initialised counters.
    pub const ALL: [RejectReason; 7] = [
        RejectReason::MalformedJson,
        RejectReason::NotInvocationLog,
        RejectReason::MissingField,
        RejectReason::WrongType,
        RejectReason::BadTimestamp,
        RejectReason::NegativeCount,
        RejectReason::AbsurdCount,
    ];

    /// The snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::NotInvocationLog => "not_invocation_log",
            RejectReason::MissingField => "missing_field",
            RejectReason::WrongType => "wrong_type",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::NegativeCount => "negative_count",
            RejectReason::AbsurdCount => "absurd_count",
        }
    }
}

/// A rejected record: the reason, and a short detail safe to log (field names only, never
/// body content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The bounded reason.
    pub reason: RejectReason,
    /// A short human explanation, e.g. `field input.inputTokenCount: expected an integer`.
    pub detail: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.detail)
    }
}

impl std::error::Error for Rejection {}

/// Parses one record.
pub fn parse_record(bytes: &[u8]) -> Result<UsageEvent, Rejection> {
    let _ = bytes;
    unimplemented!("normalize::parse_record")
}
