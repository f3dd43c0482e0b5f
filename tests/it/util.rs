use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bedrock-meter"));
    c.env_remove("BEDROCK_METER_DB")
        .env_remove("BEDROCK_METER_PRICING")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run bedrock-meter")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invocation-logs")
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(name)).expect("fixture")
}

/// A compact one-line copy of a fixture record with a new request id, timestamp and
/// token counts, for generated corpora.
pub fn synth_record(i: u64, ts: &str, model: &str, input: u64, output: u64) -> String {
    format!(
        concat!(
            r#"{{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"{ts}","#,
            r#""accountId":"123456789012","identity":{{"arn":"arn:aws:sts::123456789012:assumed-role/App/s{s}"}},"#,
            r#""region":"us-east-1","requestId":"req-{i:012}","operation":"Converse","modelId":"{model}","#,
            r#""input":{{"inputContentType":"application/json","inputBodyJson":{{"messages":[{{"role":"user","content":[{{"text":"hello"}}]}}]}},"inputTokenCount":{input}}},"#,
            r#""output":{{"outputContentType":"application/json","outputBodyJson":{{"output":{{"message":{{"role":"assistant","content":[{{"text":"hi"}}]}}}},"stopReason":"end_turn"}},"outputTokenCount":{output}}},"#,
            r#""requestMetadata":{{"team":"t{t}"}}}}"#
        ),
        ts = ts,
        s = i % 3,
        i = i,
        model = model,
        input = input,
        output = output,
        t = i % 4
    )
}

/// Writes `files` gzip files of `per_file` records each in the S3 layout under `root`;
/// returns (record count, expected input tokens, expected output tokens).
pub fn write_corpus(root: &Path, files: u64, per_file: u64) -> (u64, u64, u64) {
    use std::io::Write;
    let mut n = 0;
    let (mut tin, mut tout) = (0, 0);
    for f in 0..files {
        let hour = f % 24;
        let dir = root.join(format!(
            "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/2026/03/02/{hour:02}"
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for _ in 0..per_file {
            let input = 100 + n % 7;
            let output = 20 + n % 5;
            tin += input;
            tout += output;
            let ts = format!("2026-03-02T{hour:02}:{:02}:{:02}Z", (n / 60) % 60, n % 60);
            let model = if n % 2 == 0 {
                "amazon.nova-lite-v1:0"
            } else {
                "us.anthropic.claude-sonnet-4-20250514-v1:0"
            };
            writeln!(enc, "{}", synth_record(n, &ts, model, input, output)).unwrap();
            n += 1;
        }
        std::fs::write(
            dir.join(format!("20260302T{hour:02}0000Z_{f:04}.json.gz")),
            enc.finish().unwrap(),
        )
        .unwrap();
    }
    (n, tin, tout)
}

/// Sends `sig` (e.g. `-TERM`, `-KILL`) to a child and waits up to a minute for its exit code.
pub fn signal_and_wait(child: &mut std::process::Child, sig: &str) -> i32 {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let start = std::time::Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code().unwrap_or(-1);
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the daemon did not stop"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Polls `f` every 100 ms until it is true; fails the test after `limit_secs`.
pub fn wait_until(what: &str, limit_secs: u64, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(limit_secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Keeps the first 8 KiB of a child process's stream (for failure messages) on a thread that
/// drains the rest, so the child never blocks on a full pipe.
pub fn keep_head(
    mut stream: impl std::io::Read + Send + 'static,
) -> std::sync::Arc<std::sync::Mutex<String>> {
    let head = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let kept = head.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut h = kept.lock().unwrap_or_else(|e| e.into_inner());
            if h.len() < 8192 {
                h.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
    head
}
