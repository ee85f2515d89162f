//! The server's secret keys: where a command finds them, and the `secret-key` and
//! `signing-key` commands.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::TimeDelta;
use scim_core::events::{MIN_ACTIVATION_NOTICE, key_schedule};
use scim_core::resource::format_time;
use scim_core::secrets::SecretKeys;
use scim_http::SetSigner;
use scim_store::Database;
use serde_json::json;

use crate::cli::{SecretKeyCommand, SigningKeyCommand};
use crate::wiring::App;

/// The keys a command runs with: `--secret-keys`, else `--secret-key-file`, else (SQLite
/// only) the file beside the database, made with a new key the first time.
pub(crate) fn load(
    keys: Option<&str>,
    file: Option<&Path>,
    database_url: &str,
) -> anyhow::Result<SecretKeys> {
    if let Some(keys) = keys {
        return SecretKeys::parse(keys).context("in --secret-keys (SCIM_SECRET_KEYS)");
    }
    if let Some(file) = file {
        return read_key_file(file);
    }
    match Database::from_url(database_url) {
        Ok(Database::Sqlite { path }) => {
            let file = default_key_file(&path);
            if file.exists() {
                read_key_file(&file)
            } else {
                create_key_file(&file)
            }
        }
        Ok(Database::Postgres { .. }) => bail!(
            "PostgreSQL needs the server's secret keys, the same for every process on the \
             database: give --secret-key-file FILE or SCIM_SECRET_KEYS (make a key with \
             `scim-server secret-key generate`; see docs/security.md)"
        ),
        // The store reports a bad URL better than we can.
        Err(_) => Ok(SecretKeys::generate()),
    }
}

/// The key file an SQLite database keeps beside it: `scim.db` → `scim.db.key`.
pub(crate) fn default_key_file(database: &str) -> PathBuf {
    PathBuf::from(format!("{database}.key"))
}

fn read_key_file(file: &Path) -> anyhow::Result<SecretKeys> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the secret key file {}", file.display()))?;
    warn_if_readable_by_others(file);
    SecretKeys::parse(&text).with_context(|| format!("in the secret key file {}", file.display()))
}

/// A new key file, readable by its owner only.
fn create_key_file(file: &Path) -> anyhow::Result<SecretKeys> {
    let keys = SecretKeys::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let text = format!(
        "# The secret keys of the SCIM license server's database beside this file: they seal\n\
         # the secrets it keeps. Keep this file out of the database's backups, and never lose\n\
         # it. The first key seals; put a new key first to rotate (docs/security.md).\n{}\n",
        keys.primary_text()
    );
    match options.open(file) {
        Ok(mut created) => {
            std::io::Write::write_all(&mut created, text.as_bytes())
                .with_context(|| format!("writing the secret key file {}", file.display()))?;
            tracing::info!(file = %file.display(), key = keys.primary_id(), "created the secret key file");
            Ok(keys)
        }
        // Another process made it a moment ago: use its key.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(file),
        Err(error) => {
            Err(error).with_context(|| format!("creating the secret key file {}", file.display()))
        }
    }
}

fn warn_if_readable_by_others(file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(file)
            && metadata.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                file = %file.display(),
                "the secret key file is readable by other users: chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// `secret-key generate`: needs no store.
pub(crate) fn generate(json: bool) {
    let keys = SecretKeys::generate();
    if json {
        println!(
            "{}",
            json!({"key": keys.primary_text(), "id": keys.primary_id()})
        );
    } else {
        println!("{}", keys.primary_text());
    }
}

/// `secret-key status|reseal`.
pub(crate) async fn secret_key(
    app: &App,
    keys: &SecretKeys,
    command: SecretKeyCommand,
) -> anyhow::Result<()> {
    match command {
        SecretKeyCommand::Generate { json } => generate(json),
        SecretKeyCommand::Status { json } => {
            let counts = app.store.sealed_secret_counts().await?;
            let sealing = keys.primary_id();
            let rows: Vec<serde_json::Value> = keys
                .ids()
                .map(|id| {
                    let sealed = counts
                        .iter()
                        .find(|(known, _)| known.as_deref() == Some(id))
                        .map_or(0, |(_, count)| *count);
                    json!({"id": id, "seals": id == sealing, "secrets": sealed})
                })
                .collect();
            if json {
                println!("{}", json!({"keys": rows}));
            } else {
                for row in &rows {
                    println!(
                        "{}{}  {} stored secrets",
                        row["id"].as_str().unwrap_or_default(),
                        if row["seals"] == true { " (seals)" } else { "" },
                        row["secrets"]
                    );
                }
            }
        }
        SecretKeyCommand::Reseal { json } => {
            let resealed = app.store.reseal_secrets().await?;
            if json {
                println!(
                    "{}",
                    json!({"resealed": resealed, "key": keys.primary_id()})
                );
            } else {
                println!(
                    "re-sealed {resealed} stored secrets under key {}; the other keys can go",
                    keys.primary_id()
                );
            }
        }
    }
    Ok(())
}

/// `signing-key list|rotate`.
pub(crate) async fn signing_key(app: &App, command: SigningKeyCommand) -> anyhow::Result<()> {
    let now = app.services.clock.now();
    match command {
        SigningKeyCommand::List { json } => {
            let keys = app.services.signing_keys.signing_keys().await?;
            let schedule = key_schedule(&keys, now);
            let rows: Vec<serde_json::Value> = keys
                .iter()
                .map(|key| {
                    let state = if schedule.signing.is_some_and(|k| k.kid == key.kid) {
                        "signing"
                    } else if key.activates > now {
                        "next"
                    } else if schedule.published.iter().any(|k| k.kid == key.kid) {
                        "retired"
                    } else {
                        "expired"
                    };
                    json!({
                        "kid": key.kid,
                        "algorithm": key.algorithm,
                        "created": format_time(&key.created),
                        "activates": format_time(&key.activates),
                        "state": state,
                    })
                })
                .collect();
            if json {
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for row in &rows {
                    println!(
                        "{}  {}  created {}  signs from {}",
                        row["kid"].as_str().unwrap_or_default(),
                        row["state"].as_str().unwrap_or_default(),
                        row["created"].as_str().unwrap_or_default(),
                        row["activates"].as_str().unwrap_or_default(),
                    );
                }
            }
        }
        SigningKeyCommand::Rotate {
            activate_in_minutes,
            json,
        } => {
            let notice =
                TimeDelta::minutes(i64::from(activate_in_minutes)).max(MIN_ACTIVATION_NOTICE);
            let key =
                SetSigner::generate_key(now, now + notice).context("generating a signing key")?;
            app.services
                .signing_keys
                .add_signing_key(&key)
                .await
                .context("storing the signing key")?;
            if json {
                println!(
                    "{}",
                    json!({"kid": key.kid, "activates": format_time(&key.activates)})
                );
            } else {
                println!(
                    "stored signing key {}: published now, signs from {} (the current key stays \
                     published a day after that)",
                    key.kid,
                    format_time(&key.activates)
                );
            }
        }
    }
    Ok(())
}
