//! Bodies that Bedrock moved to S3 (`input.inputBodyS3Path`, `output.outputBodyS3Path`):
//! which of them a record's counts need, and the record parsed again with the fetched
//! bodies in place of the paths, so that the same rules (usage blocks, image counts, the
//! tokenizer estimate) apply as to an inline body.
//!
//! A moved body is needed only when the record lacks what it would give: token counts
//! (no envelope counts, no guardrail block) or an image count read from the response
//! (image models). A record with its counts is never fetched for. Must not: fetch anything
//! (the source does, and counts it), or let body text out of this module.
use super::{CountSource, Rejection, UsageEvent, parse_record};

/// Which body of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySide {
    /// The request (`inputBodyJson`).
    Input,
    /// The response (`outputBodyJson`).
    Output,
}

impl BodySide {
    fn keys(self) -> (&'static str, &'static str, &'static str) {
        match self {
            BodySide::Input => ("input", "inputBodyJson", "inputBodyS3Path"),
            BodySide::Output => ("output", "outputBodyJson", "outputBodyS3Path"),
        }
    }
}

/// A moved body the record's counts need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedBody {
    /// Request or response.
    pub side: BodySide,
    /// The bucket of its `s3://` path.
    pub bucket: String,
    /// The key of its `s3://` path.
    pub key: String,
}

/// The moved bodies `ev` (parsed from `record`) needs for counting; empty when none. A
/// path that is not `s3://bucket/key` is left alone.
pub fn moved_bodies_needed(ev: &UsageEvent, record: &[u8]) -> Vec<MovedBody> {
    if !ev.body_in_s3 || ev.guardrail_intervened {
        return Vec::new();
    }
    let tokens_missing = ev.count_source == CountSource::None;
    let images_from_request = ev.images.is_some_and(|i| !i.counted_from_response);
    if !tokens_missing && !images_from_request {
        return Vec::new();
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(record) else {
        return Vec::new();
    };
    [BodySide::Input, BodySide::Output]
        .into_iter()
        .filter_map(|side| {
            let (section, _, path) = side.keys();
            let uri = v.get(section)?.get(path)?.as_str()?;
            let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
            (!bucket.is_empty() && !key.is_empty()).then(|| MovedBody {
                side,
                bucket: bucket.to_string(),
                key: key.to_string(),
            })
        })
        .collect()
}

/// `record` parsed again with each fetched body (its JSON text, decompressed) in place of
/// its S3 path. `Ok(None)` when a fetched body is not JSON (the caller keeps the first
/// parse). The event still says `body_in_s3`.
pub fn parse_with_bodies(
    record: &[u8],
    fetched: &[(BodySide, Vec<u8>)],
) -> Result<Option<UsageEvent>, Rejection> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(record) else {
        return Ok(None);
    };
    for (side, body) in fetched {
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Ok(None);
        };
        let (section, inline, path) = side.keys();
        let Some(obj) = v.get_mut(section).and_then(|s| s.as_object_mut()) else {
            return Ok(None);
        };
        obj.remove(path);
        obj.insert(inline.to_string(), body);
    }
    let Ok(bytes) = serde_json::to_vec(&v) else {
        return Ok(None);
    };
    let mut ev = parse_record(&bytes)?;
    ev.body_in_s3 = true;
    Ok(Some(ev))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(output_path: &str) -> String {
        format!(
            r#"{{"schemaType":"ModelInvocationLog","timestamp":"2025-08-21T14:22:10Z","accountId":"111122223333","region":"us-east-1","requestId":"r1","operation":"InvokeModel","modelId":"amazon.nova-canvas-v1:0","input":{{"inputBodyJson":{{"taskType":"TEXT_IMAGE","imageGenerationConfig":{{"numberOfImages":3,"quality":"standard","width":1024,"height":1024}}}}}},"output":{{"outputBodyS3Path":"{output_path}"}}}}"#
        )
    }

    #[test]
    fn only_bodies_the_counts_need_are_asked_for_and_they_count_like_inline_ones() {
        let rec = canvas("s3://logs/AWSLogs/1/data/r1_output.json.gz");
        let ev = parse_record(rec.as_bytes()).unwrap();
        assert_eq!(
            ev.images.map(|i| (i.count, i.counted_from_response)),
            Some((3, false))
        );
        let need = moved_bodies_needed(&ev, rec.as_bytes());
        assert_eq!(
            need,
            [MovedBody {
                side: BodySide::Output,
                bucket: "logs".into(),
                key: "AWSLogs/1/data/r1_output.json.gz".into()
            }]
        );
        let with = parse_with_bodies(
            rec.as_bytes(),
            &[(BodySide::Output, br#"{"images":["aGk=","aGk="]}"#.to_vec())],
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            with.images.map(|i| (i.count, i.counted_from_response)),
            Some((2, true))
        );
        assert!(with.body_in_s3);
        // Not JSON: the first parse stands.
        assert_eq!(
            parse_with_bodies(rec.as_bytes(), &[(BodySide::Output, b"\x1f\x8b".to_vec())]).unwrap(),
            None
        );
        // Not an s3:// path: nothing to fetch.
        let odd = canvas("https://example.com/x");
        let ev = parse_record(odd.as_bytes()).unwrap();
        assert!(moved_bodies_needed(&ev, odd.as_bytes()).is_empty());
    }

    #[test]
    fn a_record_with_its_counts_is_never_fetched_for() {
        let rec = r#"{"schemaType":"ModelInvocationLog","timestamp":"2025-08-21T14:22:10Z","accountId":"1","region":"us-east-1","requestId":"r2","operation":"Converse","modelId":"amazon.nova-lite-v1:0","input":{"inputBodyS3Path":"s3://logs/k_input.json.gz","inputTokenCount":10},"output":{"outputTokenCount":5}}"#;
        let ev = parse_record(rec.as_bytes()).unwrap();
        assert!(ev.body_in_s3);
        assert!(moved_bodies_needed(&ev, rec.as_bytes()).is_empty());
        // Without counts, the input body is needed for the estimate.
        let bare = rec
            .replace(r#","inputTokenCount":10"#, "")
            .replace(r#""outputTokenCount":5"#, "");
        let ev = parse_record(bare.as_bytes()).unwrap();
        assert_eq!(ev.count_source, CountSource::None);
        let need = moved_bodies_needed(&ev, bare.as_bytes());
        assert_eq!(need.len(), 1);
        assert_eq!(need[0].side, BodySide::Input);
        let with = parse_with_bodies(
            bare.as_bytes(),
            &[(
                BodySide::Input,
                br#"{"messages":[{"role":"user","content":[{"text":"hello there, how are you today?"}]}]}"#
                    .to_vec(),
            )],
        )
        .unwrap()
        .unwrap();
        assert_eq!(with.count_source, CountSource::Estimated);
        assert!(with.tokens.input > 0);
    }
}
