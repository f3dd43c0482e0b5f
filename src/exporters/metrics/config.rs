//! The `[metrics]` configuration: which attribution labels the exposition carries and how
//! many distinct values each capped label may take.
use serde::Deserialize;

/// How much of the caller the `principal` label shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalLabel {
    /// No `principal` label at all.
    Off,
    /// `role/Name`, `user/name`: the session of an assumed role is dropped (the default).
    #[default]
    Role,
    /// As the ledger stores it: `role/Name/session` for assumed roles.
    RoleSession,
}

impl PrincipalLabel {
    /// `off`, `role` or `role_session`, as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalLabel::Off => "off",
            PrincipalLabel::Role => "role",
            PrincipalLabel::RoleSession => "role_session",
        }
    }
}

/// Metrics settings, embedded by the configuration file as `[metrics]`:
///
/// ```toml
/// [metrics]
/// principal = "role"             # "off" | "role" | "role_session"
/// tag_labels = ["team"]          # requestMetadata keys that become `tag_<key>` labels
/// max_values_per_label = 50      # distinct values of model, principal, each tag_*
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// The `principal` label (default [`PrincipalLabel::Role`]).
    pub principal: PrincipalLabel,
    /// Allow-list of `requestMetadata` keys; each becomes a label `tag_<key>` (the key in
    /// snake_case, see [`tag_label_name`]). Empty by default.
    pub tag_labels: Vec<String>,
    /// At most this many distinct values per capped label (`model`, `principal`, each
    /// `tag_*`); later values are reported as `other`. Default 50.
    pub max_values_per_label: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            principal: PrincipalLabel::Role,
            tag_labels: Vec::new(),
            max_values_per_label: 50,
        }
    }
}

impl MetricsConfig {
    /// Checks what serde cannot: tag keys must be non-empty and distinct after
    /// sanitizing (`team-a`, `team_a` and `teamA` would all be `tag_team_a`). The message names the
    /// keys and how to fix them.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen: Vec<(String, &str)> = Vec::new();
        for key in &self.tag_labels {
            if key.is_empty() {
                return Err("metrics.tag_labels: a tag key is empty; remove it".to_string());
            }
            let label = tag_label_name(key);
            if let Some((_, first)) = seen.iter().find(|(l, _)| *l == label) {
                return Err(format!(
                    "metrics.tag_labels: the keys {first:?} and {key:?} both become the label \
                     {label}; keep one of them"
                ));
            }
            seen.push((label, key));
        }
        Ok(())
    }
}

/// The label name of an allow-listed tag key: `tag_` + the key in snake_case, with every
/// character outside `[a-z0-9_]` replaced by `_` (`costCenter` → `tag_cost_center`,
/// `cost-center` → `tag_cost_center`, `Team` → `tag_team`). Prometheus' naming rules (and
/// `promtool check metrics`) want snake_case label names.
pub fn tag_label_name(key: &str) -> String {
    let mut s = String::with_capacity(4 + key.len() + 4);
    s.push_str("tag_");
    let mut prev: Option<char> = None;
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()) {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() || c == '_' {
            s.push(c);
        } else {
            s.push('_');
        }
        prev = Some(c);
    }
    s
}
