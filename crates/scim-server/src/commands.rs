//! The operator commands: tenants and tokens.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use rand::RngCore;
use scim_core::resource::format_time;
use scim_core::tenant::TOKEN_PREFIX;
use serde_json::json;

use crate::cli::{TenantCommand, TokenCommand};
use crate::wiring::App;

pub(crate) async fn tenant(app: &App, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create { slug, name } => {
            let tenant = app.tenants.create_tenant(&slug, name.as_deref()).await?;
            println!("created tenant '{}' ({})", tenant.slug, tenant.name);
        }
        TenantCommand::List { json } => {
            let tenants = app.tenants.list_tenants().await?;
            if json {
                let rows: Vec<_> = tenants
                    .iter()
                    .map(|t| json!({"slug": t.slug, "name": t.name, "created": format_time(&t.created)}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!("{:<24} {:<32} CREATED", "SLUG", "NAME");
                for t in tenants {
                    println!("{:<24} {:<32} {}", t.slug, t.name, format_time(&t.created));
                }
            }
        }
    }
    Ok(())
}

/// A new token: our prefix and 256 random bits, base64url.
fn new_token_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub(crate) async fn token(app: &App, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Issue {
            tenant,
            expires_in_days,
        } => {
            let secret = new_token_secret();
            let expires = expires_in_days.map(|days| Utc::now() + TimeDelta::days(i64::from(days)));
            let token = app.tenants.issue_token(&tenant, &secret, expires).await?;
            let until = token.expires.map_or("never expires".to_owned(), |e| {
                format!("expires {}", format_time(&e))
            });
            println!(
                "issued token {} for tenant '{tenant}' ({until}); it is shown only once:",
                token.id
            );
            println!("{secret}");
        }
        TokenCommand::List { tenant, json } => {
            let tokens = app.tenants.list_tokens(&tenant).await?;
            if json {
                let rows: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        json!({
                            "id": t.id,
                            "hint": format!("{}…", t.hint),
                            "created": format_time(&t.created),
                            "expires": t.expires.as_ref().map(format_time),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!("{:<38} {:<14} {:<26} EXPIRES", "ID", "HINT", "CREATED");
                for t in tokens {
                    let expires = t.expires.as_ref().map_or("never".to_owned(), format_time);
                    println!(
                        "{:<38} {:<14} {:<26} {expires}",
                        t.id,
                        format!("{}…", t.hint),
                        format_time(&t.created)
                    );
                }
            }
        }
        TokenCommand::Revoke { tenant, id } => {
            app.tenants
                .revoke_token(&tenant, &id)
                .await
                .context("revoking the token")?;
            println!("revoked token {id}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_secrets_are_prefixed_and_carry_256_bits() {
        let a = new_token_secret();
        let b = new_token_secret();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
    }
}
