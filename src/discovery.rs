//! `[discovery]`: turns each configured region's model invocation logging configuration
//! into the `cloudwatch_logs` / `s3` sources that read it, and into warnings when some
//! spend would go uncounted (logging off, or a priced modality not logged).
//!
//! Owns: the choice of sources for a discovered configuration ([`plan`], pure), their
//! generated names (`discovered-s3-<region>`, `discovered-cloudwatch-<region>`), and the
//! loop over regions ([`discover`]), which takes the lookup as a function so that it is
//! tested without AWS. Must not: call the AWS SDK (the lookup is
//! [`crate::sources::aws::BedrockClient`]), start sources, or log (the caller logs the
//! warnings it returns).
use crate::config::{
    CloudWatchLogsSourceConfig, DiscoveryConfig, DiscoveryPrefer, S3SourceConfig, SourceConfig,
};
use crate::sources::aws::{AwsError, AwsSettings, InvocationLogging};

/// The sources to start and the warnings to log, for one region or all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Sources with the defaults of their type, named after their region.
    pub sources: Vec<SourceConfig>,
    /// What will not be counted, and how to fix it; one sentence each.
    pub warnings: Vec<String>,
}

/// The sources and warnings for `region`, given what Bedrock reported there.
pub fn plan(region: &str, found: &InvocationLogging, d: &DiscoveryConfig) -> Plan {
    let mut out = Plan::default();
    let (want_cw, want_s3) = match (&found.log_group, &found.s3, d.prefer) {
        (Some(_), Some(_), DiscoveryPrefer::S3) => (false, true),
        (Some(_), Some(_), DiscoveryPrefer::CloudwatchLogs) => (true, false),
        (cw, s3, _) => (cw.is_some(), s3.is_some()),
    };
    if let (true, Some(group)) = (want_cw, &found.log_group) {
        let mut c = CloudWatchLogsSourceConfig::with_defaults(
            &format!("discovered-cloudwatch-{region}"),
            region,
            group,
        );
        c.assume_role_arn = d.assume_role_arn.clone();
        c.external_id = d.external_id.clone();
        c.endpoint_url = d.endpoint_url.clone();
        out.sources.push(SourceConfig::CloudwatchLogs(c));
    }
    if let (true, Some((bucket, prefix))) = (want_s3, &found.s3) {
        // Bedrock writes `<prefix>/AWSLogs/…`; the source's prefix has no trailing slash.
        let mut c = S3SourceConfig::with_defaults(
            &format!("discovered-s3-{region}"),
            region,
            bucket,
            prefix.trim_end_matches('/'),
        );
        c.assume_role_arn = d.assume_role_arn.clone();
        c.external_id = d.external_id.clone();
        c.endpoint_url = d.endpoint_url.clone();
        out.sources.push(SourceConfig::S3(c));
    }
    if found.log_group.is_none() && found.s3.is_none() {
        out.warnings.push(format!(
            "Model invocation logging is off in {region}: Bedrock records no invocations there, \
             so spend in {region} is not counted. Turn it on in the Bedrock console (Settings, \
             Model invocation logging) with a CloudWatch Logs or S3 destination, or remove \
             {region} from discovery.regions."
        ));
        return out;
    }
    let missing: Vec<&str> = [
        ("text", found.text),
        ("image", found.image),
        ("embedding", found.embedding),
    ]
    .into_iter()
    .filter(|(_, on)| !on)
    .map(|(m, _)| m)
    .collect();
    if !missing.is_empty() {
        out.warnings.push(format!(
            "Model invocation logging in {region} does not deliver {} data: those requests are \
             not logged, so their spend is not counted. Select {} in the Bedrock console \
             (Settings, Model invocation logging).",
            missing.join(", "),
            missing.join(", "),
        ));
    }
    out
}

/// Looks up every region of `d` with `lookup` and plans its sources. The first failed
/// lookup fails the whole discovery, naming its region: a region skipped silently would be
/// spend silently not counted.
pub fn discover(
    d: &DiscoveryConfig,
    lookup: &dyn Fn(&AwsSettings) -> Result<InvocationLogging, AwsError>,
) -> Result<Plan, String> {
    let mut all = Plan::default();
    for region in &d.regions {
        let settings = AwsSettings {
            region: region.clone(),
            assume_role_arn: d.assume_role_arn.clone(),
            external_id: d.external_id.clone(),
            endpoint_url: d.endpoint_url.clone(),
        };
        let found = lookup(&settings)
            .map_err(|e| format!("discovering the invocation logs of {region}: {e}"))?;
        let p = plan(region, &found, d);
        all.sources.extend(p.sources);
        all.warnings.extend(p.warnings);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both() -> InvocationLogging {
        InvocationLogging {
            log_group: Some("/aws/bedrock/modelinvocations".into()),
            s3: Some(("my-logs".into(), "bedrock/".into())),
            text: true,
            image: true,
            embedding: true,
        }
    }

    fn names(p: &Plan) -> Vec<&str> {
        p.sources.iter().map(SourceConfig::name).collect()
    }

    #[test]
    fn prefer_picks_among_two_destinations_and_one_is_always_read() {
        let mut d = DiscoveryConfig::default();
        assert_eq!(d.prefer, DiscoveryPrefer::S3);
        let p = plan("us-east-1", &both(), &d);
        assert_eq!(names(&p), ["discovered-s3-us-east-1"]);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let SourceConfig::S3(s) = &p.sources[0] else {
            panic!()
        };
        assert_eq!(
            (s.bucket.as_str(), s.prefix.as_str(), s.region.as_str()),
            ("my-logs", "bedrock", "us-east-1")
        );
        assert_eq!(s.poll_interval_secs, 300, "the s3 source's defaults");

        d.prefer = DiscoveryPrefer::CloudwatchLogs;
        let p = plan("eu-west-1", &both(), &d);
        assert_eq!(names(&p), ["discovered-cloudwatch-eu-west-1"]);
        d.prefer = DiscoveryPrefer::Both;
        d.endpoint_url = Some("http://127.0.0.1:1".into());
        let p = plan("eu-west-1", &both(), &d);
        assert_eq!(
            names(&p),
            ["discovered-cloudwatch-eu-west-1", "discovered-s3-eu-west-1"]
        );
        let SourceConfig::CloudwatchLogs(c) = &p.sources[0] else {
            panic!()
        };
        assert_eq!(c.log_group_name, "/aws/bedrock/modelinvocations");
        assert_eq!(c.endpoint_url.as_deref(), Some("http://127.0.0.1:1"));

        // prefer only chooses between two; a single destination is read whatever it says.
        d.prefer = DiscoveryPrefer::S3;
        let only_cw = InvocationLogging { s3: None, ..both() };
        assert_eq!(
            names(&plan("us-west-2", &only_cw, &d)),
            ["discovered-cloudwatch-us-west-2"]
        );
    }

    #[test]
    fn logging_off_or_a_priced_modality_not_logged_is_a_warning() {
        let d = DiscoveryConfig::default();
        let p = plan("ap-south-1", &InvocationLogging::default(), &d);
        assert!(p.sources.is_empty());
        assert_eq!(p.warnings.len(), 1);
        assert!(
            p.warnings[0].starts_with("Model invocation logging is off in ap-south-1"),
            "{}",
            p.warnings[0]
        );

        let p = plan(
            "us-east-1",
            &InvocationLogging {
                image: false,
                embedding: false,
                ..both()
            },
            &d,
        );
        assert_eq!(p.sources.len(), 1);
        assert_eq!(p.warnings.len(), 1);
        assert!(
            p.warnings[0].contains("in us-east-1 does not deliver image, embedding data"),
            "{}",
            p.warnings[0]
        );
    }

    #[test]
    fn discovery_covers_every_region_and_a_failure_names_its_region() {
        let d = DiscoveryConfig {
            regions: vec!["us-east-1".into(), "eu-west-3".into()],
            assume_role_arn: Some("arn:aws:iam::123456789012:role/Read".into()),
            ..DiscoveryConfig::default()
        };
        let p = discover(&d, &|s| {
            assert_eq!(
                s.assume_role_arn.as_deref(),
                Some("arn:aws:iam::123456789012:role/Read")
            );
            Ok(if s.region == "us-east-1" {
                both()
            } else {
                InvocationLogging::default()
            })
        })
        .unwrap();
        assert_eq!(names(&p), ["discovered-s3-us-east-1"]);
        assert_eq!(p.warnings.len(), 1);
        assert!(p.warnings[0].contains("off in eu-west-3"));

        let e = discover(&d, &|s| {
            if s.region == "eu-west-3" {
                Err(AwsError::AccessDenied {
                    action: "bedrock:GetModelInvocationLoggingConfiguration",
                    resource: "x".into(),
                    detail: "no".into(),
                })
            } else {
                Ok(both())
            }
        })
        .unwrap_err();
        assert!(
            e.starts_with("discovering the invocation logs of eu-west-3: access denied"),
            "{e}"
        );
        assert!(e.contains("bedrock:GetModelInvocationLoggingConfiguration"));
    }
}
