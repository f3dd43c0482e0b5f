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

/// `s` split around the first `b` (an ASCII byte, so both halves are valid `str`s). A byte
/// scan: ARNs are short, and a `char` pattern's searcher costs more than the scan.
fn split_at_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|x| x == b)?;
    Some((&s[..i], &s[i + 1..]))
}

/// `arn:<partition>:<iam|sts>::<account>:<resource>`.
fn parse_arn(arn: &str) -> Option<Principal> {
    let rest = arn.strip_prefix("arn:")?;
    let (_partition, rest) = split_at_byte(rest, b':')?;
    let (service, rest) = split_at_byte(rest, b':')?;
    let (_region, rest) = split_at_byte(rest, b':')?;
    let (_account, resource) = split_at_byte(rest, b':')?;
    match service {
        "iam" => {
            if resource == "root" {
                return Some(Principal {
                    kind: "root".to_owned(),
                    name: String::new(),
                    session: None,
                });
            }
            let (kind, path_and_name) = split_at_byte(resource, b'/')?;
            // The name is the last segment; anything before it is the IAM path.
            let name = match path_and_name.bytes().rposition(|x| x == b'/') {
                Some(i) => &path_and_name[i + 1..],
                None => path_and_name,
            };
            match kind {
                "user" => named("user", name, None),
                "role" => named("role", name, None),
                _ => None,
            }
        }
        "sts" => {
            // `<type>/<name>[/<session, which may itself hold '/'>]`.
            let seg = match split_at_byte(resource, b'/') {
                None => (resource, None, None),
                Some((kind, rest)) => match split_at_byte(rest, b'/') {
                    None => (kind, Some(rest), None),
                    Some((name, session)) => (kind, Some(name), Some(session)),
                },
            };
            match seg {
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
