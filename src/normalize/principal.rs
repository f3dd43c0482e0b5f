//! Principal normalization: `identity.arn` reduced to kind, name and session.
//!
//! Owns: the IAM/STS ARN shapes (`user/…`, `role/…`, `root`, `assumed-role/…`,
//! `federated-user/…`).
//! Must not: keep the account id, the IAM path or the raw ARN, or reject a record: anything
//! it cannot read (missing, redacted, malformed) becomes kind `unknown`.
use super::event::Principal;
use super::sanitize;

/// Longest name or session kept.
const MAX_NAME: usize = 128;

/// Parses `identity.arn`; `None` (missing, null, wrong type) gives an unknown principal.
pub(crate) fn parse(arn: Option<&str>) -> Principal {
    arn.and_then(parse_arn).unwrap_or_else(unknown)
}

fn unknown() -> Principal {
    Principal {
        kind: "unknown".to_owned(),
        name: String::new(),
        session: None,
    }
}

fn named(kind: &str, name: &str, session: Option<&str>) -> Option<Principal> {
    if name.is_empty() {
        return None;
    }
    Some(Principal {
        kind: kind.to_owned(),
        name: sanitize(name, MAX_NAME),
        session: session
            .filter(|s| !s.is_empty())
            .map(|s| sanitize(s, MAX_NAME)),
    })
}

/// `arn:<partition>:<iam|sts>::<account>:<resource>`.
fn parse_arn(arn: &str) -> Option<Principal> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, _account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    match service {
        "iam" => {
            if resource == "root" {
                return Some(Principal {
                    kind: "root".to_owned(),
                    name: String::new(),
                    session: None,
                });
            }
            let (kind, path_and_name) = resource.split_once('/')?;
            // The name is the last segment; anything before it is the IAM path.
            let name = path_and_name.rsplit('/').next()?;
            match kind {
                "user" => named("user", name, None),
                "role" => named("role", name, None),
                _ => None,
            }
        }
        "sts" => {
            let mut seg = resource.splitn(3, '/');
            match (seg.next()?, seg.next(), seg.next()) {
                ("assumed-role", Some(role), session) => named("role", role, session),
                ("federated-user", Some(user), None) => named("federated-user", user, None),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: &str, name: &str, session: Option<&str>) -> Principal {
        Principal {
            kind: kind.into(),
            name: name.into(),
            session: session.map(Into::into),
        }
    }

    #[test]
    fn every_identity_arn_shape_becomes_the_expected_principal() {
        let cases = [
            (
                "arn:aws:iam::123456789012:user/alice",
                p("user", "alice", None),
            ),
            (
                "arn:aws:iam::123456789012:user/path/to/alice",
                p("user", "alice", None),
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/Role/session-1",
                p("role", "Role", Some("session-1")),
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/Role",
                p("role", "Role", None),
            ),
            (
                "arn:aws:iam::123456789012:role/service-role/Role",
                p("role", "Role", None),
            ),
            ("arn:aws:iam::123456789012:root", p("root", "", None)),
            (
                "arn:aws:sts::123456789012:federated-user/bob",
                p("federated-user", "bob", None),
            ),
            (
                "arn:aws-us-gov:iam::123456789012:user/carol",
                p("user", "carol", None),
            ),
            ("xxxxxxxxxxxx", p("unknown", "", None)),
            ("arn:aws:iam::123:group/devs", p("unknown", "", None)),
            ("arn:aws:iam::123:user/", p("unknown", "", None)),
            ("arn:aws:s3:::bucket/key", p("unknown", "", None)),
            ("arn:aws:iam", p("unknown", "", None)),
            ("", p("unknown", "", None)),
        ];
        for (arn, want) in cases {
            assert_eq!(parse(Some(arn)), want, "{arn}");
        }
        assert_eq!(parse(None), p("unknown", "", None));
    }

    #[test]
    fn principal_names_are_sanitized_and_truncated() {
        let long = format!("arn:aws:iam::1:user/{}", "n".repeat(300));
        assert_eq!(parse(Some(&long)).name.len(), 128);
        let odd = "arn:aws:sts::1:assumed-role/Ro le/sess\u{7}ion";
        assert_eq!(parse(Some(odd)), p("role", "Ro_le", Some("sess_ion")));
    }
}
