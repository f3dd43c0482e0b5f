//! Bounded, stable admission of label values (`model`, `principal`, each `tag_*`).
//!
//! Each capped label names at most `max_values_per_label` distinct values; any further
//! value is reported as [`OTHER`]. The rule is *first appearance*: values are admitted in
//! the order of the earliest rollup hour they occur in, ties broken by the value, while
//! there is room. Admission is monotonic: a named value is never moved to `other` (that
//! would look like a counter reset on both series).
//!
//! The rule alone is monotonic only while data arrives in hour order: a late record (a
//! backfill of older logs) can carry a value whose first hour is earlier than that of a
//! value admitted at runtime, and a plain recomputation after a restart would then admit
//! the late value instead. So the admitted lists are also kept in the ledger's `meta`
//! table (see [`super::AdmissionUpdate`]): at restore the recorded values are admitted
//! first, in their recorded order, and only the remaining room is filled by the rule.
use std::collections::{BTreeMap, HashMap, HashSet};

/// The value reported instead of a value that was not admitted.
pub const OTHER: &str = "other";

/// The admitted values of one capped label.
#[derive(Debug, Clone)]
pub(super) struct Admitted {
    /// Key of this label in the persisted record (`model`, `principal:role`, `tag:team`).
    pub(super) record_key: String,
    /// Recorded and admitted values, in admission order. Longer than `cap` only when the
    /// record was written under a larger cap.
    order: Vec<String>,
    /// The first `cap` values of `order`.
    named: HashSet<String>,
    cap: usize,
}

impl Admitted {
    /// A label seeded with the recorded values (admitted first, in order, up to `cap`).
    pub(super) fn new(record_key: String, cap: usize, recorded: &[String]) -> Admitted {
        let mut order: Vec<String> = Vec::with_capacity(recorded.len());
        let mut seen = HashSet::new();
        for v in recorded {
            if seen.insert(v.as_str()) && !always_named(v) {
                order.push(v.clone());
            }
        }
        let named = order.iter().take(cap).cloned().collect();
        Admitted {
            record_key,
            order,
            named,
            cap,
        }
    }

    /// True when `v` is reported under its own name.
    pub(super) fn is_named(&self, v: &str) -> bool {
        always_named(v) || self.named.contains(v)
    }

    /// The label value to report for `v`.
    pub(super) fn label(&self, v: String) -> String {
        if self.is_named(&v) {
            v
        } else {
            OTHER.to_string()
        }
    }

    /// True when no further value can be admitted.
    pub(super) fn is_full(&self) -> bool {
        self.named.len() >= self.cap
    }

    /// Admits a new value (the caller checked there is room and it is not named yet).
    fn admit(&mut self, v: &str) {
        self.order.push(v.to_string());
        self.named.insert(v.to_string());
    }

    /// The values in admission order, as recorded.
    pub(super) fn recorded(&self) -> &[String] {
        &self.order
    }
}

/// The empty value (tag absent) and a literal `other` never use up room.
fn always_named(v: &str) -> bool {
    v.is_empty() || v == OTHER
}

/// New values offered by one chunk of rollup cells, with the earliest hour each occurs in.
pub(super) struct Candidates<'v> {
    per_label: Vec<HashMap<&'v str, i64>>,
}

impl<'v> Candidates<'v> {
    pub(super) fn new(labels: usize) -> Candidates<'v> {
        Candidates {
            per_label: vec![HashMap::new(); labels],
        }
    }

    /// Offers the value of capped label `i` seen at `hour`.
    pub(super) fn offer(&mut self, admitted: &[Admitted], i: usize, value: &'v str, hour: i64) {
        let a = &admitted[i];
        if a.is_full() || a.is_named(value) {
            return;
        }
        let h = self.per_label[i].entry(value).or_insert(hour);
        *h = (*h).min(hour);
    }

    /// Admits the candidates by (earliest hour, value) while there is room. Returns true
    /// when some value was admitted.
    pub(super) fn admit(self, admitted: &mut [Admitted]) -> bool {
        let mut changed = false;
        for (a, cands) in admitted.iter_mut().zip(self.per_label) {
            if cands.is_empty() {
                continue;
            }
            let mut cands: Vec<(i64, &str)> = cands.into_iter().map(|(v, h)| (h, v)).collect();
            cands.sort_unstable();
            for (_, v) in cands {
                if a.is_full() {
                    break;
                }
                a.admit(v);
                changed = true;
            }
        }
        changed
    }
}

/// Parses the persisted record; a record that does not parse is ignored with a warning
/// (the rule alone then decides, which is what a ledger without a record gets too).
pub(super) fn parse_record(text: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let Some(text) = text else {
        return BTreeMap::new();
    };
    match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(
                error = %e,
                "Ignoring the unreadable record of admitted metric label values; \
                 re-admitting by first appearance."
            );
            BTreeMap::new()
        }
    }
}
