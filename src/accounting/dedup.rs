//! The dedup window: request ids seen recently, so a record read twice (overlapping
//! CloudWatch windows, the same invocation in S3 and CloudWatch, a re-synced copy of a file)
//! is counted once.
//!
//! Ids are kept as 128-bit XXH3 hashes with the event hour, in memory for lookups and in the
//! store (appended in the same transaction as the rollups they cover). The window is bounded
//! in event time: ids whose hour is older than the newest hour seen minus the window are
//! dropped. Beyond the window, source checkpoints are what prevent double counting.
use super::batch::{Batch, SeenId};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use xxhash_rust::xxh3::xxh3_128;

/// Hashes a key that already is a uniformly distributed hash (an XXH3-128 of a request id)
/// by folding its halves: a second, keyed hash per lookup would buy nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `u128` keys; any other input still hashes deterministically.
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u128(&mut self, i: u128) {
        self.0 ^= (i as u64) ^ ((i >> 64) as u64);
    }
}

/// Default window: 48 hours of event time.
pub const DEFAULT_WINDOW_HOURS: i64 = 48;

/// Recently seen request ids.
#[derive(Debug)]
pub struct Dedup {
    seen: HashMap<u128, i64, BuildHasherDefault<FoldHasher>>,
    window_secs: i64,
    newest_hour: i64,
    pruned_below: i64,
}

impl Dedup {
    /// An empty window of `window_hours`.
    pub fn new(window_hours: i64) -> Dedup {
        Dedup {
            seen: HashMap::default(),
            window_secs: window_hours.max(1) * 3600,
            newest_hour: i64::MIN,
            pruned_below: i64::MIN,
        }
    }

    /// Restores ids loaded from the store.
    pub fn restore(&mut self, ids: impl IntoIterator<Item = SeenId>) {
        for id in ids {
            self.newest_hour = self.newest_hour.max(id.hour);
            self.seen.insert(id.hash, id.hour);
        }
    }

    /// The hash used for a request id.
    pub fn hash(request_id: &str) -> u128 {
        xxh3_128(request_id.as_bytes())
    }

    /// True when `request_id` was already counted; otherwise remembers it (in memory and in
    /// the batch, so the store persists it with the rollups).
    pub fn check_and_insert(&mut self, request_id: &str, hour: i64, batch: &mut Batch) -> bool {
        let hash = Dedup::hash(request_id);
        match self.seen.entry(hash) {
            std::collections::hash_map::Entry::Occupied(_) => return true,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(hour);
            }
        }
        self.newest_hour = self.newest_hour.max(hour);
        batch.seen.push(SeenId { hash, hour });
        false
    }

    /// The hour below which ids may be forgotten, when that moved since the last call.
    pub fn prune(&mut self) -> Option<i64> {
        if self.newest_hour == i64::MIN {
            return None;
        }
        let cutoff = self.newest_hour - self.window_secs;
        if cutoff <= self.pruned_below {
            return None;
        }
        self.seen.retain(|_, h| *h >= cutoff);
        self.pruned_below = cutoff;
        Some(cutoff)
    }

    /// Number of ids held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_counted_once_and_recorded_for_the_store() {
        let mut d = Dedup::new(48);
        let mut b = Batch::default();
        assert!(!d.check_and_insert("r1", 0, &mut b));
        assert!(d.check_and_insert("r1", 0, &mut b));
        assert_eq!(b.seen.len(), 1);
    }

    #[test]
    fn ids_older_than_the_window_are_forgotten() {
        let mut d = Dedup::new(1);
        let mut b = Batch::default();
        d.check_and_insert("old", 0, &mut b);
        d.check_and_insert("new", 7200, &mut b);
        assert_eq!(d.prune(), Some(3600));
        assert_eq!(d.len(), 1);
        assert!(!d.check_and_insert("old", 0, &mut b));
    }
}
