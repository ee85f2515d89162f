//! `token issue|list|revoke`: SCIM bearer tokens.

use anyhow::Context;
use scim_core::resource::format_time;
use serde_json::json;

use scim_core::service::TokenLifetime;

use crate::cli::TokenCommand;
use crate::wiring::App;

use super::say;

pub(crate) async fn token(app: &App, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Issue {
            tenant,
            expires_in_days,
            never_expires,
            json,
        } => {
            let lifetime = TokenLifetime::of(expires_in_days, never_expires);
            let (token, secret) = app
                .services
                .tenants
                .issue_new_token(&tenant, lifetime)
                .await?;
            if json {
                let expires = token.expires.as_ref().map(format_time);
                println!(
                    "{}",
                    json!({"id": token.id, "token": secret, "expires": expires})
                );
                return Ok(());
            }
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
            let tokens = app.services.tenants.list_tokens(&tenant).await?;
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
        TokenCommand::Revoke { tenant, id, json } => {
            app.services
                .tenants
                .revoke_token(&tenant, &id)
                .await
                .context("revoking the token")?;
            say(json, &json!({"revoked": id}), || {
                format!("revoked token {id}")
            });
        }
    }
    Ok(())
}
