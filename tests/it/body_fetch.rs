//! Bodies moved to S3 (`*BodyS3Path`), fetched by the S3 source only when a record's counts
//! need them, against moto: a Nova Canvas record whose response went to S3 is counted by
//! the images in that response (2), not by the request's `numberOfImages` (3); a text
//! record with its token counts is never fetched for (its body path does not even exist).
use crate::aws::{aws, counter, gz, moto, s3_put, signal, start, unique, write_config};
use crate::util::wait_until;
use bedrock_meter::exporters::metrics::{MetricsConfig, Telemetry};
use bedrock_meter::pricing::PriceBook;
use bedrock_meter::store::Store;
use chrono::{DurationRound, TimeDelta, Utc};

#[test]
fn a_moved_image_response_is_fetched_and_counted_and_nothing_else_is() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto();
    let bucket = unique("bodies");
    aws("s3", "PUT", &format!("/{bucket}"), &[], b"");
    let hour = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap() - TimeDelta::hours(1);
    let hour_dir = format!(
        "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/{}",
        hour.format("%Y/%m/%d/%H")
    );
    let ts = hour.format("%Y-%m-%dT%H:05:00Z").to_string();
    let image_out = format!("{hour_dir}/data/canvas-1_output.json.gz");
    let canvas = format!(
        concat!(
            r#"{{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"{ts}","#,
            r#""accountId":"123456789012","identity":{{"arn":"arn:aws:sts::123456789012:assumed-role/Studio/s"}},"#,
            r#""region":"us-east-1","requestId":"canvas-1","operation":"InvokeModel","modelId":"amazon.nova-canvas-v1:0","#,
            r#""input":{{"inputContentType":"application/json","inputBodyJson":{{"taskType":"TEXT_IMAGE","#,
            r#""textToImageParams":{{"text":"a banner"}},"imageGenerationConfig":{{"numberOfImages":3,"quality":"standard","width":1024,"height":1024}}}}}},"#,
            r#""output":{{"outputContentType":"application/json","outputBodyS3Path":"s3://{bucket}/{out}"}}}}"#
        ),
        ts = ts,
        bucket = bucket,
        out = image_out
    );
    let text = format!(
        concat!(
            r#"{{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"{ts}","#,
            r#""accountId":"123456789012","region":"us-east-1","requestId":"text-1","operation":"Converse","#,
            r#""modelId":"amazon.nova-lite-v1:0","input":{{"inputContentType":"application/json","#,
            r#""inputBodyS3Path":"s3://{bucket}/{dir}/data/text-1_input.json.gz","inputTokenCount":1200}},"#,
            r#""output":{{"outputContentType":"application/json","outputTokenCount":80}}}}"#
        ),
        ts = ts,
        bucket = bucket,
        dir = hour_dir
    );
    // Two images came back (a third was filtered): the response body, gzipped, in data/.
    s3_put(
        &bucket,
        &image_out,
        &gz(&[r#"{"images":["aGVsbG8=","d29ybGQ="],"error":null}"#.to_string()]),
    );
    s3_put(
        &bucket,
        &format!("{hour_dir}/{}Z_0001.json.gz", hour.format("%Y%m%dT%H%M%S")),
        &gz(&[canvas, text]),
    );

    let sources = format!(
        "[[sources]]\ntype = \"s3\"\nname = \"bucket\"\nregion = \"us-east-1\"\n\
         bucket = \"{bucket}\"\npoll_interval_secs = 1\nstart_from = \"{}\"\n\
         endpoint_url = \"{endpoint}\"\n",
        (hour - TimeDelta::hours(2)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let config = write_config(dir.path(), &sources);
    let db = dir.path().join("ledger.db");
    let mut d = start(&config, true);
    wait_until("both records", 90, || counter(&db, "records_ingested") == 2);
    assert_eq!(signal(&mut d, "-TERM"), 0);

    let store = Store::open_read_only(&db).unwrap();
    let rows = store.rollup_rows(i64::MIN, i64::MAX).unwrap();
    let images: Vec<_> = rows.iter().filter(|r| r.meter == "images").collect();
    assert_eq!(images.len(), 1, "{rows:#?}");
    assert_eq!(images[0].amount.quantity, 2);
    assert!(
        !images[0].price_entry.is_empty() && images[0].amount.cost.is_some(),
        "{:#?}",
        images[0]
    );
    let counters = store.counters().unwrap();
    let fetches: Vec<_> = counters
        .iter()
        .filter(|(k, _)| k.starts_with("body_fetches:"))
        .collect();
    assert_eq!(
        fetches,
        [(&"body_fetches:fetched".to_string(), &1)],
        "{counters:?}"
    );
    let text = Telemetry::restore(&store, MetricsConfig::default())
        .unwrap()
        .render(&PriceBook::embedded().unwrap(), Utc::now());
    assert!(
        text.contains("bedrock_meter_body_fetches_total{outcome=\"fetched\"} 1"),
        "{text}"
    );
}
