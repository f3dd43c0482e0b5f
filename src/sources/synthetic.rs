//! The demo's traffic: realistic invocation-log records from [`crate::synth::Synth`] at a
//! steady rate with bursts (5× for 10 s of every minute), fed through the same parser and
//! writer as real logs, plus the per-minute CloudWatch metrics of the same traffic
//! ([`super::cloudwatch_metrics::DemoMetrics`]).
use super::framing::{Frame, Framer};
use super::{SourceContext, SourceError};
use crate::pipeline::{Item, SourceChunk};
use std::time::{Duration, Instant};

/// Settings of the synthetic source.
#[derive(Debug, Clone)]
pub struct SyntheticSpec {
    /// Source name.
    pub name: String,
    /// Records per second outside bursts.
    pub rate_per_sec: u32,
    /// PRNG seed (same seed, same records).
    pub seed: u64,
}

/// Records that should have been emitted `elapsed` into the run: `rate` per second, five
/// times that during the first 10 s of every minute.
pub fn records_due(elapsed: Duration, rate: u32) -> u64 {
    let ms = elapsed.as_millis() as u64;
    let full_minutes = ms / 60_000;
    let in_minute = ms % 60_000;
    let per_minute = u64::from(rate) * (10 * 5 + 50);
    let burst_ms = in_minute.min(10_000);
    let calm_ms = in_minute.saturating_sub(10_000);
    full_minutes * per_minute + (u64::from(rate) * (burst_ms * 5 + calm_ms)) / 1000
}

/// Generates records until stopped.
pub fn run(spec: &SyntheticSpec, cx: &SourceContext) -> Result<(), SourceError> {
    let mut synth = crate::synth::Synth::new(spec.seed, crate::synth::SynthConfig::default());
    let start = Instant::now();
    let mut sent: u64 = 0;
    let mut buf = Vec::with_capacity(64 * 1024);
    // The CloudWatch metrics the same traffic would show (cross-check only).
    let mut metrics = super::cloudwatch_metrics::DemoMetrics::default();
    while !cx.stopped() {
        let due = records_due(start.elapsed(), spec.rate_per_sec.max(1));
        if due <= sent {
            cx.sleep(Duration::from_millis(20));
            continue;
        }
        let n = (due - sent).min(1000);
        let now = cx.now();
        buf.clear();
        for _ in 0..n {
            synth.record(now, &mut buf);
        }
        let mut items = Vec::with_capacity(n as usize);
        let mut framer = Framer::new(&buf[..]);
        while let Some(frame) = framer.next_frame()? {
            items.push(match frame {
                Frame::Value(b) => Item::parse(b),
                Frame::Garbage(_) => Item::Rejected(crate::normalize::RejectReason::MalformedJson),
            });
        }
        metrics.observe(&items);
        cx.send(SourceChunk {
            items,
            ..SourceChunk::default()
        })?;
        for chunk in metrics.flush(now) {
            cx.send(chunk)?;
        }
        sent += n;
        cx.success(Some(now.timestamp()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_emit_five_times_the_base_rate_for_ten_seconds_a_minute() {
        assert_eq!(records_due(Duration::from_secs(10), 2), 100);
        assert_eq!(records_due(Duration::from_secs(60), 2), 200);
        assert_eq!(records_due(Duration::from_secs(70), 2), 300);
    }
}
