//! `deploy/iam-policy.json` against the code: every AWS operation `src/sources/aws/`
//! calls (the only module that uses the AWS SDK, which this test also checks) must be
//! allowed by the policy, and the policy must allow nothing the code does not call.
//!
//! Owns: the table from SDK operations (and credential providers that call STS) to IAM
//! actions. An operation the scanner finds but the table does not know fails the test, so
//! a new call cannot slip past it. Must not: contact AWS or start moto (it reads files).
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// SDK operation (the fluent method on a client) → IAM actions it needs, and actions it
/// may need depending on the account's setup (allowed in the policy, not required).
const OPERATIONS: &[(&str, &[&str], &[&str])] = &[
    ("filter_log_events", &["logs:FilterLogEvents"], &[]),
    ("list_objects_v2", &["s3:ListBucket"], &[]),
    // An object encrypted with SSE-KMS also needs kms:Decrypt on its key.
    ("get_object", &["s3:GetObject"], &["kms:Decrypt"]),
    // `[discovery]`: reads each region's logging configuration at start.
    (
        "get_model_invocation_logging_configuration",
        &["bedrock:GetModelInvocationLoggingConfiguration"],
        &[],
    ),
    // `[control_plane]`: the inventory refresh (src/sources/aws/bedrock.rs).
    (
        "list_inference_profiles",
        &["bedrock:ListInferenceProfiles"],
        &[],
    ),
    (
        "list_tags_for_resource",
        &["bedrock:ListTagsForResource"],
        &[],
    ),
    (
        "list_provisioned_model_throughputs",
        &["bedrock:ListProvisionedModelThroughputs"],
        &[],
    ),
    (
        "list_foundation_models",
        &["bedrock:ListFoundationModels"],
        &[],
    ),
    ("list_custom_models", &["bedrock:ListCustomModels"], &[]),
    (
        "list_model_customization_jobs",
        &["bedrock:ListModelCustomizationJobs"],
        &[],
    ),
    (
        "get_model_customization_job",
        &["bedrock:GetModelCustomizationJob"],
        &[],
    ),
    // `cloudwatch_metrics`: which AWS/Bedrock metrics exist, and their per-minute sums.
    ("list_metrics", &["cloudwatch:ListMetrics"], &[]),
    ("get_metric_data", &["cloudwatch:GetMetricData"], &[]),
];

/// Actions that IAM does not scope to a resource: their statement may (must) use `"*"`.
const NO_RESOURCE_TYPES: &[&str] = &[
    "bedrock:GetModelInvocationLoggingConfiguration",
    "bedrock:ListInferenceProfiles",
    "bedrock:ListProvisionedModelThroughputs",
    "bedrock:ListFoundationModels",
    "bedrock:ListCustomModels",
    "bedrock:ListModelCustomizationJobs",
    "cloudwatch:ListMetrics",
    "cloudwatch:GetMetricData",
];

/// Credential providers from `aws_config::sts` → the IAM actions the daemon's identity needs.
const STS_PROVIDERS: &[(&str, &[&str])] = &[("AssumeRoleProvider", &["sts:AssumeRole"])];

/// The SDK service crates the table covers.
const SERVICES: &[&str] = &["bedrock", "cloudwatch", "cloudwatchlogs", "s3"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The non-test code of a Rust file, comment lines dropped.
fn source(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// [`source`] with all whitespace removed, so that calls split over lines are found.
fn code(path: &Path) -> String {
    source(path)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The AWS module: `src/sources/aws/` (the only code allowed to use the SDK).
fn aws_dir() -> PathBuf {
    root().join("src/sources/aws")
}

/// The files of the AWS module, sorted.
fn aws_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&aws_dir(), &mut files);
    files.sort();
    assert!(!files.is_empty(), "src/sources/aws/ has no Rust files");
    files
}

/// [`code`] of every file of the AWS module, concatenated.
fn aws_code() -> String {
    aws_files().iter().map(|f| code(f)).collect()
}

/// [`source`] of every file of the AWS module, concatenated.
fn aws_source() -> String {
    aws_files()
        .iter()
        .map(|f| source(f))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers right after each occurrence of `marker`.
fn idents_after(code: &str, marker: &str) -> Vec<String> {
    code.match_indices(marker)
        .map(|(i, _)| {
            code[i + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// IAM actions named in the text (`logs:…`, `s3:…`, `sts:…`, `kms:…`, `bedrock:…`).
fn actions_named(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for svc in [
        "logs:",
        "s3:",
        "sts:",
        "kms:",
        "iam:",
        "bedrock:",
        "cloudwatch:",
    ] {
        for name in idents_after(code, svc) {
            if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                out.insert(format!("{svc}{name}"));
            }
        }
    }
    out
}

/// (required, optional) IAM actions of what `src/sources/aws/` calls.
fn actions_of_the_code() -> (BTreeSet<String>, BTreeSet<String>) {
    let code = aws_code();
    let (mut required, mut optional) = (BTreeSet::new(), BTreeSet::new());

    let ops = idents_after(&code, ".client.");
    assert!(!ops.is_empty(), "no SDK call found: the scanner is broken");
    for op in &ops {
        let Some((_, req, opt)) = OPERATIONS.iter().find(|(o, _, _)| o == op) else {
            panic!(
                "src/sources/aws/ calls the SDK operation `{op}`, which this test's table does \
                 not know: add it to OPERATIONS with its IAM actions, and to \
                 deploy/iam-policy.json"
            );
        };
        required.extend(req.iter().map(|a| a.to_string()));
        optional.extend(opt.iter().map(|a| a.to_string()));
    }
    // Every request sent must have been built from a call the scanner saw (one built some
    // other way, e.g. through a renamed client, would otherwise go unchecked).
    let sends = code.matches(".send()").count();
    assert_eq!(
        sends,
        ops.len(),
        "src/sources/aws/ sends {sends} requests but the scanner found {} `.client.<op>(` \
         calls ({ops:?}): build requests as `self.client.<op>()` so this test sees them",
        ops.len()
    );

    for name in idents_after(&code, "::sts::") {
        let Some((_, acts)) = STS_PROVIDERS.iter().find(|(p, _)| *p == name) else {
            panic!(
                "src/sources/aws/ uses `sts::{name}`, which this test's table does not know: \
                 add it to STS_PROVIDERS with its IAM actions"
            );
        };
        required.extend(acts.iter().map(|a| a.to_string()));
    }
    for svc in idents_after(&code, "aws_sdk_") {
        assert!(
            SERVICES.contains(&svc.as_str()),
            "src/sources/aws/ uses the SDK crate aws_sdk_{svc}, which this test does not \
             cover: add its operations to OPERATIONS"
        );
    }
    (required, optional)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The actions of every statement of the policy; checks its shape on the way.
fn policy_actions() -> BTreeSet<String> {
    let path = root().join("deploy/iam-policy.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let policy: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
    let mut out = BTreeSet::new();
    for st in policy["Statement"].as_array().unwrap() {
        assert_eq!(st["Effect"], "Allow", "{st}");
        let list = |v: &serde_json::Value| -> Vec<String> {
            match v {
                serde_json::Value::String(s) => vec![s.clone()],
                serde_json::Value::Array(a) => {
                    a.iter().map(|x| x.as_str().unwrap().to_string()).collect()
                }
                other => panic!("not a string or a list: {other}"),
            }
        };
        let actions = list(&st["Action"]);
        let unscoped = actions
            .iter()
            .all(|a| NO_RESOURCE_TYPES.contains(&a.as_str()));
        for r in list(&st["Resource"]) {
            if unscoped {
                assert_eq!(r, "*", "{st}: IAM scopes these actions to no resource");
            } else {
                assert!(
                    r.starts_with("arn:aws:") && r != "*",
                    "{r}: name the resource"
                );
            }
        }
        for a in actions {
            assert!(
                !a.contains('*'),
                "{a}: no wildcards in a least-privilege policy"
            );
            out.insert(a);
        }
    }
    out
}

#[test]
fn only_the_aws_module_uses_the_sdk() {
    let aws = aws_dir();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for f in files.iter().filter(|f| !f.starts_with(&aws)) {
        let c = code(f);
        assert!(
            !c.contains("aws_sdk_") && !c.contains("aws_config::") && !c.contains("aws_smithy"),
            "{} uses the AWS SDK; only src/sources/aws/ may (this test and \
             deploy/iam-policy.json rely on it)",
            f.display()
        );
    }
}

#[test]
fn the_iam_policy_allows_exactly_what_the_code_calls() {
    let (required, optional) = actions_of_the_code();
    let policy = policy_actions();
    for a in &required {
        assert!(
            policy.contains(a),
            "the code needs {a}, which deploy/iam-policy.json does not allow"
        );
    }
    for a in &policy {
        assert!(
            required.contains(a) || optional.contains(a),
            "deploy/iam-policy.json allows {a}, which the code never needs"
        );
    }
    // The actions the error messages tell users to grant are the policy's too.
    let named = actions_named(&aws_source());
    assert!(!named.is_empty());
    for a in &named {
        assert!(
            policy.contains(a),
            "src/sources/aws/ tells users to grant {a}, which deploy/iam-policy.json lacks"
        );
    }
}

#[test]
fn the_scanner_finds_calls_and_rejects_unknown_ones() {
    let c: String = "let r = self\n .client\n .put_object()\n .send();"
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert_eq!(idents_after(&c, ".client."), vec!["put_object"]);
    assert!(!OPERATIONS.iter().any(|(o, _, _)| *o == "put_object"));
    assert_eq!(
        actions_named("grant s3:GetObject (and kms:Decrypt if) s3://b"),
        ["kms:Decrypt", "s3:GetObject"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}
