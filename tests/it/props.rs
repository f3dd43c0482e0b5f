//! Property tests: arbitrary and mutated records, lines and gzip streams never panic the
//! readers or the parser, and every framed input is counted as ingested, duplicate or
//! rejected.
use bedrock_meter::accounting::{Ledger, LedgerConfig};
use bedrock_meter::ingest::{Ingest, IngestOptions};
use bedrock_meter::normalize::parse_record;
use bedrock_meter::pricing::PriceBook;
use bedrock_meter::sources::framing::{Frame, Framer};
use bedrock_meter::store::Store;
use proptest::prelude::*;
use std::io::Write;
use std::sync::OnceLock;

fn book() -> &'static PriceBook {
    static B: OnceLock<PriceBook> = OnceLock::new();
    B.get_or_init(|| PriceBook::embedded().unwrap())
}

fn real_records() -> Vec<String> {
    let dir = crate::util::fixtures_dir();
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    v.sort();
    v
}

/// Frames counted the way ingest counts positions.
fn frame_count(bytes: &[u8]) -> u64 {
    let mut f = Framer::new(bytes);
    let mut n = 0;
    let mut first = true;
    while let Ok(Some(fr)) = f.next_frame() {
        match fr {
            Frame::Value(v) if first => {
                n += bedrock_meter::sources::files::log_events_messages(v)
                    .map_or(1, |m| m.len() as u64);
            }
            _ => n += 1,
        }
        first = false;
    }
    n
}

fn ingest_bytes(bytes: &[u8]) -> bedrock_meter::ingest::IngestSummary {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("input.json");
    std::fs::write(&p, bytes).unwrap();
    let store = Store::open_in_memory().unwrap();
    let ledger = Ledger::new(book(), LedgerConfig::default());
    Ingest::new(store, ledger, IngestOptions::default())
        .unwrap()
        .run(&[p])
        .unwrap()
        .0
}

fn mutate(mut s: Vec<u8>, edits: &[(usize, u8)]) -> Vec<u8> {
    for &(at, b) in edits {
        if s.is_empty() {
            break;
        }
        let i = at % s.len();
        match b % 3 {
            0 => s[i] = b,
            1 => {
                s.remove(i);
            }
            _ => s.insert(i, b),
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_every_frame_is_counted(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_record(&bytes);
        let s = ingest_bytes(&bytes);
        let gz_or_plain_frames = if bytes.starts_with(&[0x1f, 0x8b]) { s.records_total() } else { frame_count(&bytes) };
        prop_assert_eq!(s.records_total(), gz_or_plain_frames);
    }

    #[test]
    fn mutated_real_records_never_panic_and_are_counted(
        pick in 0usize..64,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
    ) {
        let recs = real_records();
        let rec = recs[pick % recs.len()].clone().into_bytes();
        let bad = mutate(rec, &edits);
        let _ = parse_record(&bad);
        let mut lines = bad.clone();
        lines.push(b'\n');
        lines.extend_from_slice(crate::util::synth_record(7, "2026-03-02T10:00:00Z", "amazon.nova-lite-v1:0", 3, 4).as_bytes());
        let s = ingest_bytes(&lines);
        prop_assert_eq!(s.records_total(), frame_count(&lines));
        prop_assert!(s.records_ingested >= 1, "the good record after a bad one is still read");
    }

    #[test]
    fn truncated_and_corrupted_gzip_streams_never_panic(cut in 0usize..4000, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4)) {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in 0..30 {
            writeln!(enc, "{}", crate::util::synth_record(i, "2026-03-02T10:00:00Z", "amazon.nova-lite-v1:0", 3, 4)).unwrap();
        }
        let gz = enc.finish().unwrap();
        let mut bytes = gz[..cut.min(gz.len())].to_vec();
        for (at, b) in flips {
            if bytes.len() > 10 {
                let i = 10 + at % (bytes.len() - 10);
                bytes[i] ^= b;
            }
        }
        let s = ingest_bytes(&bytes);
        prop_assert!(s.records_ingested + s.records_duplicate <= 30);
    }

    #[test]
    fn records_with_fields_of_any_type_never_panic(
        field in prop::sample::select(vec!["timestamp", "requestId", "modelId", "region", "accountId", "operation", "identity", "input", "output", "requestMetadata", "inferenceRegion"]),
        value in prop::sample::select(vec!["null", "1", "-1", "1.5", "\"\"", "[]", "{}", "true", "\"x\"", "99999999999999999999999", "{\"inputTokenCount\":\"7\"}", "{\"outputTokenCount\":-3}"]),
    ) {
        let base: serde_json::Value = serde_json::from_str(&crate::util::synth_record(1, "2026-03-02T10:00:00Z", "amazon.nova-lite-v1:0", 3, 4)).unwrap();
        let mut obj = base.as_object().unwrap().clone();
        obj.insert(field.to_string(), serde_json::from_str(value).unwrap());
        let bytes = serde_json::to_vec(&obj).unwrap();
        let _ = parse_record(&bytes);
        let s = ingest_bytes(&bytes);
        prop_assert_eq!(s.records_total(), 1);
    }
}
