//! `modelId` resolution: turns whatever the caller passed (base id, foundation-model ARN,
//! system inference-profile id or ARN, application-profile, provisioned, custom or imported
//! model ARN) into a [`ModelRef`], as far as the string alone allows.
//!
//! Owns: the geographic prefix list and the ARN resource types.
//! Must not: call AWS to resolve profiles or provisioned models (a later stage does that),
//! know prices, or put an account id into any label.
use super::event::{ModelIdForm, ModelRef, Scope};
use super::sanitize;

/// System inference-profile prefixes, longest first where one is a prefix of another.
const GEO_PREFIXES: [&str; 8] = ["us-gov", "global", "apac", "us", "eu", "jp", "au", "ca"];

/// Longest label kept for an unresolved model.
const MAX_LABEL: usize = 200;

/// The label of a `modelId` that starts with `arn:` but has too few fields to parse.
const INVALID_ARN: &str = "invalid-arn";

/// Resolves one `modelId`.
pub(crate) fn resolve(raw: &str) -> ModelRef {
    if let Some(rest) = raw.strip_prefix("arn:") {
        return resolve_arn(rest);
    }
    if let Some(r) = profile_id(raw, ModelIdForm::SystemProfileId) {
        return r;
    }
    if looks_like_model_id(raw) {
        return ModelRef {
            form: ModelIdForm::BaseId,
            base_model: Some(raw.to_owned()),
            scope: Scope::InRegion,
            geo: None,
            profile: None,
            provisioned: false,
            unresolved_label: None,
        };
    }
    unknown(raw)
}

/// `arn:<partition>:<service>:<region>:<account>:<type>/<id>`; `rest` is after `arn:`.
fn resolve_arn(rest: &str) -> ModelRef {
    let mut parts = rest.splitn(5, ':');
    let (Some(_partition), Some(_service), Some(_region), Some(_account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        // Too few fields to tell which one is the account: keep nothing of it.
        return unknown(INVALID_ARN);
    };
    let Some((kind, id)) = resource.split_once('/') else {
        return unknown_resource(resource);
    };
    if id.is_empty() {
        return unknown_resource(resource);
    }
    let unresolved = |form: ModelIdForm, provisioned: bool| ModelRef {
        form,
        base_model: None,
        scope: Scope::InRegion,
        geo: None,
        profile: None,
        provisioned,
        unresolved_label: Some(sanitize(resource, MAX_LABEL)),
    };
    match kind {
        "foundation-model" if looks_like_model_id(id) => ModelRef {
            form: ModelIdForm::FoundationModelArn,
            base_model: Some(id.to_owned()),
            scope: Scope::InRegion,
            geo: None,
            profile: None,
            provisioned: false,
            unresolved_label: None,
        },
        "inference-profile" => {
            profile_id(id, ModelIdForm::SystemProfileArn).unwrap_or_else(|| ModelRef {
                profile: Some(sanitize(id, MAX_LABEL)),
                ..unresolved(ModelIdForm::SystemProfileArn, false)
            })
        }
        "application-inference-profile" => ModelRef {
            profile: Some(sanitize(id, MAX_LABEL)),
            ..unresolved(ModelIdForm::ApplicationProfileArn, false)
        },
        "provisioned-model" => unresolved(ModelIdForm::ProvisionedModelArn, true),
        "custom-model" | "custom-model-deployment" => {
            unresolved(ModelIdForm::CustomModelArn, false)
        }
        "imported-model" => unresolved(ModelIdForm::ImportedModelArn, false),
        _ => unknown_resource(resource),
    }
}

/// `<geo>.<base id>` → a resolved system-profile reference.
fn profile_id(id: &str, form: ModelIdForm) -> Option<ModelRef> {
    let (geo, base) = id.split_once('.')?;
    if !GEO_PREFIXES.contains(&geo) || !looks_like_model_id(base) {
        return None;
    }
    Some(ModelRef {
        form,
        base_model: Some(base.to_owned()),
        scope: if geo == "global" {
            Scope::Global
        } else {
            Scope::Geo
        },
        geo: Some(geo.to_owned()),
        profile: Some(id.to_owned()),
        provisioned: false,
        unresolved_label: None,
    })
}

/// `provider.model…` in the characters Bedrock model ids use.
fn looks_like_model_id(s: &str) -> bool {
    let Some((provider, model)) = s.split_once('.') else {
        return false;
    };
    !provider.is_empty()
        && !model.is_empty()
        && s.len() <= MAX_LABEL
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
}

/// An ARN whose resource type this version does not know: keep only the resource part
/// (what follows the account field).
fn unknown_resource(resource: &str) -> ModelRef {
    unknown(resource)
}

/// Form [`ModelIdForm::Unknown`], labelled with the sanitized string.
fn unknown(label: &str) -> ModelRef {
    ModelRef {
        form: ModelIdForm::Unknown,
        base_model: None,
        scope: Scope::InRegion,
        geo: None,
        profile: None,
        provisioned: false,
        unresolved_label: Some(sanitize(label, MAX_LABEL)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ModelIdForm::*;
    use Scope::*;

    struct Case {
        raw: &'static str,
        form: ModelIdForm,
        base: Option<&'static str>,
        scope: Scope,
        geo: Option<&'static str>,
        profile: Option<&'static str>,
        provisioned: bool,
        label: Option<&'static str>,
    }

    const fn case(raw: &'static str, form: ModelIdForm) -> Case {
        Case {
            raw,
            form,
            base: None,
            scope: InRegion,
            geo: None,
            profile: None,
            provisioned: false,
            label: None,
        }
    }

    fn cases() -> Vec<Case> {
        vec![
            Case {
                base: Some("amazon.nova-lite-v1:0"),
                ..case("amazon.nova-lite-v1:0", BaseId)
            },
            Case {
                base: Some("cohere.embed-english-v3"),
                ..case("cohere.embed-english-v3", BaseId)
            },
            Case {
                base: Some("anthropic.claude-3-haiku-20240307-v1:0"),
                ..case(
                    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
                    FoundationModelArn,
                )
            },
            Case {
                base: Some("anthropic.claude-opus-4-6-v1"),
                ..case(
                    "arn:aws:bedrock:::foundation-model/anthropic.claude-opus-4-6-v1",
                    FoundationModelArn,
                )
            },
            Case {
                base: Some("anthropic.claude-sonnet-4-20250514-v1:0"),
                scope: Geo,
                geo: Some("us"),
                profile: Some("us.anthropic.claude-sonnet-4-20250514-v1:0"),
                ..case(
                    "us.anthropic.claude-sonnet-4-20250514-v1:0",
                    SystemProfileId,
                )
            },
            Case {
                base: Some("anthropic.claude-opus-4-6-v1"),
                scope: Global,
                geo: Some("global"),
                profile: Some("global.anthropic.claude-opus-4-6-v1"),
                ..case("global.anthropic.claude-opus-4-6-v1", SystemProfileId)
            },
            Case {
                base: Some("anthropic.claude-3-7-sonnet-20250219-v1:0"),
                scope: Geo,
                geo: Some("eu"),
                profile: Some("eu.anthropic.claude-3-7-sonnet-20250219-v1:0"),
                ..case(
                    "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
                    SystemProfileId,
                )
            },
            Case {
                base: Some("amazon.nova-pro-v1:0"),
                scope: Geo,
                geo: Some("apac"),
                profile: Some("apac.amazon.nova-pro-v1:0"),
                ..case("apac.amazon.nova-pro-v1:0", SystemProfileId)
            },
            Case {
                base: Some("anthropic.claude-sonnet-4-5-20250929-v1:0"),
                scope: Geo,
                geo: Some("jp"),
                profile: Some("jp.anthropic.claude-sonnet-4-5-20250929-v1:0"),
                ..case(
                    "jp.anthropic.claude-sonnet-4-5-20250929-v1:0",
                    SystemProfileId,
                )
            },
            Case {
                base: Some("anthropic.claude-haiku-4-5-20251001-v1:0"),
                scope: Geo,
                geo: Some("au"),
                profile: Some("au.anthropic.claude-haiku-4-5-20251001-v1:0"),
                ..case(
                    "au.anthropic.claude-haiku-4-5-20251001-v1:0",
                    SystemProfileId,
                )
            },
            Case {
                base: Some("anthropic.claude-sonnet-4-5-20250929-v1:0"),
                scope: Geo,
                geo: Some("ca"),
                profile: Some("ca.anthropic.claude-sonnet-4-5-20250929-v1:0"),
                ..case(
                    "ca.anthropic.claude-sonnet-4-5-20250929-v1:0",
                    SystemProfileId,
                )
            },
            Case {
                base: Some("anthropic.claude-3-5-sonnet-20240620-v1:0"),
                scope: Geo,
                geo: Some("us-gov"),
                profile: Some("us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0"),
                ..case(
                    "us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0",
                    SystemProfileId,
                )
            },
            Case {
                base: Some("anthropic.claude-sonnet-4-20250514-v1:0"),
                scope: Geo,
                geo: Some("us"),
                profile: Some("us.anthropic.claude-sonnet-4-20250514-v1:0"),
                ..case(
                    "arn:aws:bedrock:us-east-1:663981805246:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
                    SystemProfileArn,
                )
            },
            Case {
                base: Some("anthropic.claude-opus-4-7"),
                scope: Global,
                geo: Some("global"),
                profile: Some("global.anthropic.claude-opus-4-7"),
                ..case(
                    "arn:aws:bedrock:us-west-2:565521294060:inference-profile/global.anthropic.claude-opus-4-7",
                    SystemProfileArn,
                )
            },
            Case {
                profile: Some("abc123def456"),
                label: Some("application-inference-profile/abc123def456"),
                ..case(
                    "arn:aws:bedrock:us-east-2:123456789012:application-inference-profile/abc123def456",
                    ApplicationProfileArn,
                )
            },
            Case {
                provisioned: true,
                label: Some("provisioned-model/abcd1234"),
                ..case(
                    "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcd1234",
                    ProvisionedModelArn,
                )
            },
            Case {
                label: Some("custom-model/amazon.titan-text-express-v1:0:8k/abcd1234efgh"),
                ..case(
                    "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/abcd1234efgh",
                    CustomModelArn,
                )
            },
            Case {
                label: Some("custom-model-deployment/x1y2z3"),
                ..case(
                    "arn:aws:bedrock:us-west-2:123456789012:custom-model-deployment/x1y2z3",
                    CustomModelArn,
                )
            },
            Case {
                label: Some("imported-model/k9j8h7g6f5"),
                ..case(
                    "arn:aws:bedrock:us-east-1:123456789012:imported-model/k9j8h7g6f5",
                    ImportedModelArn,
                )
            },
            Case {
                label: Some("prompt-router/anthropic.claude:1"),
                ..case(
                    "arn:aws:bedrock:us-east-1:123456789012:prompt-router/anthropic.claude:1",
                    Unknown,
                )
            },
            Case {
                label: Some("inference-profile/my-profile"),
                profile: Some("my-profile"),
                ..case(
                    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/my-profile",
                    SystemProfileArn,
                )
            },
            Case {
                label: Some("secret"),
                ..case("arn:aws:bedrock:us-east-1:123456789012:secret", Unknown)
            },
            Case {
                label: Some("invalid-arn"),
                ..case("arn:aws:bedrock:123456789012", Unknown)
            },
            Case {
                label: Some("my-model"),
                ..case("my-model", Unknown)
            },
            Case {
                label: Some("xx.anthropic.claude_v2_"),
                ..case("xx.anthropic.claude v2\n", Unknown)
            },
        ]
    }

    #[test]
    fn every_model_id_form_resolves_as_the_table_says() {
        for c in cases() {
            let r = resolve(c.raw);
            let want = ModelRef {
                form: c.form,
                base_model: c.base.map(str::to_owned),
                scope: c.scope,
                geo: c.geo.map(str::to_owned),
                profile: c.profile.map(str::to_owned),
                provisioned: c.provisioned,
                unresolved_label: c.label.map(str::to_owned),
            };
            assert_eq!(r, want, "modelId {:?}", c.raw);
        }
    }

    #[test]
    fn no_label_ever_contains_an_account_id() {
        for c in cases() {
            let r = resolve(c.raw);
            for s in [&r.unresolved_label, &r.profile, &r.base_model]
                .into_iter()
                .flatten()
            {
                assert!(!s.contains("arn:"), "{s}");
                let account_ids = ["123456789012", "663981805246", "565521294060"];
                assert!(!account_ids.iter().any(|a| s.contains(a)), "{s}");
            }
        }
    }

    #[test]
    fn unknown_labels_are_truncated_to_two_hundred_characters() {
        let long = "z".repeat(500);
        let r = resolve(&long);
        assert_eq!(r.form, Unknown);
        assert_eq!(
            r.unresolved_label.as_deref().map(|l| l.chars().count()),
            Some(200)
        );
        assert_eq!(r.label().len(), 200);
    }
}
