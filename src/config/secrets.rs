//! Stage 2: reading the secrets a config names. The file only ever holds where a secret is
//! (`…_env`, `…_file`); this is the one place that looks there, so stage 1 stays a pure
//! function of the text and `check-config` works on a machine without the secrets.
use std::fmt;
use std::path::Path;

use super::error::ConfigError;
use super::{AuthMode, Config};

/// A secret value. Its `Debug` prints `[redacted]`; it has no `Display` and no
/// `Serialize`, so it cannot reach a log line or a file by accident. Read it with
/// [`Secret::expose`] at the point of use.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself. Compare it in constant time when checking a credential.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The secrets of a config, read from where it says they are.
#[derive(Debug, Clone)]
pub struct ResolvedSecrets {
    /// What `/metrics` and `/api` require (`[server.auth]`).
    pub auth: AuthCredentials,
    /// The secrets of each `[[notifications.receivers]]`, by receiver name.
    pub receivers: std::collections::BTreeMap<String, ReceiverSecrets>,
}

/// The secrets of one notification receiver.
#[derive(Debug, Clone, Default)]
pub struct ReceiverSecrets {
    /// The key that signs webhook bodies (`hmac_key_env` / `hmac_key_file`).
    pub hmac_key: Option<Secret>,
    /// The bearer token sent as `Authorization` (`bearer_token_env` / `bearer_token_file`).
    pub bearer_token: Option<Secret>,
}

/// The credentials the server checks, by `server.auth.mode`.
#[derive(Debug, Clone)]
pub enum AuthCredentials {
    /// `mode = "none"`: no check.
    None,
    /// `mode = "bearer"`: `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: Secret,
    },
    /// `mode = "basic"`: `Authorization: Basic base64(username:password)`.
    Basic {
        /// The user name (not a secret).
        username: String,
        /// The password.
        password: Secret,
    },
}

impl Config {
    /// Stage 2: reads each secret the config names. `env` looks up an environment variable
    /// (pass `&|name| std::env::var(name).ok()`; tests pass a map). `…_file` secrets are
    /// read from disk with trailing newlines (`\n`, `\r\n`) removed.
    ///
    /// Fails with [`ConfigError::Secret`] naming the key when a variable is unset or empty,
    /// or a file is unreadable, not UTF-8 or empty. Expects a validated config; on one
    /// that is not, the first of `_env`/`_file` that is set is used.
    pub fn resolve_secrets(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ResolvedSecrets, ConfigError> {
        let auth = &self.server.auth;
        let auth = match auth.mode {
            AuthMode::None => AuthCredentials::None,
            AuthMode::Bearer => AuthCredentials::Bearer {
                token: read_secret(
                    "bearer_token",
                    auth.bearer_token_env.as_deref(),
                    auth.bearer_token_file.as_deref(),
                    env,
                )?,
            },
            AuthMode::Basic => AuthCredentials::Basic {
                username: auth
                    .basic_username
                    .clone()
                    .ok_or_else(|| ConfigError::Secret {
                        path: "server.auth.basic_username".to_string(),
                        message: "mode = \"basic\" needs a user name; set basic_username"
                            .to_string(),
                        source: None,
                    })?,
                password: read_secret(
                    "basic_password",
                    auth.basic_password_env.as_deref(),
                    auth.basic_password_file.as_deref(),
                    env,
                )?,
            },
        };
        let mut receivers = std::collections::BTreeMap::new();
        for (i, r) in self.notifications.receivers.iter().enumerate() {
            let section = format!("notifications.receivers[{i}]");
            let read = |base: &str, var: Option<&str>, file: Option<&Path>| {
                if var.is_none() && file.is_none() {
                    return Ok(None);
                }
                read_secret_in(&section, base, var, file, env).map(Some)
            };
            let secrets = ReceiverSecrets {
                hmac_key: read(
                    "hmac_key",
                    r.hmac_key_env.as_deref(),
                    r.hmac_key_file.as_deref(),
                )?,
                bearer_token: read(
                    "bearer_token",
                    r.bearer_token_env.as_deref(),
                    r.bearer_token_file.as_deref(),
                )?,
            };
            receivers.insert(r.name.clone(), secrets);
        }
        Ok(ResolvedSecrets { auth, receivers })
    }
}

/// Reads `server.auth.<base>_env` or `server.auth.<base>_file`.
fn read_secret(
    base: &str,
    var: Option<&str>,
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, ConfigError> {
    read_secret_in("server.auth", base, var, file, env)
}

/// Reads `<section>.<base>_env` or `<section>.<base>_file`.
fn read_secret_in(
    section: &str,
    base: &str,
    var: Option<&str>,
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, ConfigError> {
    let env_key = format!("{section}.{base}_env");
    let file_key = format!("{section}.{base}_file");
    let fail = |path: &str, message: String, source: Option<std::io::Error>| ConfigError::Secret {
        path: path.to_string(),
        message,
        source,
    };
    if let Some(var) = var {
        return match env(var) {
            Some(value) if !value.is_empty() => Ok(Secret(value)),
            Some(_) => Err(fail(
                &env_key,
                format!("the environment variable `{var}` is empty; put the secret in it"),
                None,
            )),
            None => Err(fail(
                &env_key,
                format!(
                    "the environment variable `{var}` is not set; set it in the daemon's \
                     environment (e.g. a systemd EnvironmentFile) or use {base}_file"
                ),
                None,
            )),
        };
    }
    let Some(file) = file else {
        return Err(fail(
            &env_key,
            format!("no secret is configured; set {base}_env or {base}_file"),
            None,
        ));
    };
    let text = std::fs::read_to_string(file).map_err(|e| {
        let message = format!("cannot read the secret file {}", file.display());
        fail(&file_key, message, Some(e))
    })?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(fail(
            &file_key,
            format!(
                "the secret file {} is empty; put the secret in it",
                file.display()
            ),
            None,
        ));
    }
    Ok(Secret(value.to_string()))
}
