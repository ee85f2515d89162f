//! `api-key create|list|revoke`: the Management API's credentials.

use scim_core::api_key::ApiKey;
use scim_core::resource::format_time;
use serde_json::{Value, json};

use crate::cli::ApiKeyCommand;
use crate::wiring::App;

use super::say;

pub(crate) async fn api_key(app: &App, command: ApiKeyCommand) -> anyhow::Result<()> {
    let keys = &app.services.api_keys;
    match command {
        ApiKeyCommand::Create {
            name,
            scopes,
            expires_in_days,
            json,
        } => {
            let (key, secret) = keys.create(&name, &scopes, expires_in_days).await?;
            if json {
                let mut shown = key_json(&key);
                shown["key"] = Value::String(secret);
                println!("{shown}");
                return Ok(());
            }
            let until = key.expires.map_or("never expires".to_owned(), |e| {
                format!("expires {}", format_time(&e))
            });
            println!(
                "made API key {} '{}' with scopes {} ({until}); it is shown only once:",
                key.id,
                key.name,
                scope_list(&key)
            );
            println!("{secret}");
        }
        ApiKeyCommand::List { json } => {
            let listed = keys.list().await?;
            if json {
                let rows: Vec<_> = listed.iter().map(key_json).collect();
                println!("{}", Value::Array(rows));
            } else {
                println!(
                    "{:<38} {:<20} {:<16} {:<26} {:<26} SCOPES",
                    "ID", "NAME", "HINT", "EXPIRES", "LAST USED"
                );
                for key in listed {
                    println!(
                        "{:<38} {:<20} {:<16} {:<26} {:<26} {}",
                        key.id,
                        key.name,
                        format!("{}…", key.hint),
                        key.expires.as_ref().map_or("never".to_owned(), format_time),
                        key.last_used
                            .as_ref()
                            .map_or("never".to_owned(), format_time),
                        scope_list(&key)
                    );
                }
            }
        }
        ApiKeyCommand::Revoke { id, json } => {
            keys.revoke(&id).await?;
            say(json, &json!({"revoked": id}), || {
                format!("revoked API key {id}")
            });
        }
    }
    Ok(())
}

fn scope_list(key: &ApiKey) -> String {
    key.scopes
        .iter()
        .map(|scope| scope.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn key_json(key: &ApiKey) -> Value {
    json!({
        "id": key.id,
        "name": key.name,
        "scopes": key.scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>(),
        "hint": format!("{}…", key.hint),
        "created": format_time(&key.created),
        "expires": key.expires.as_ref().map(format_time),
        "lastUsed": key.last_used.as_ref().map(format_time),
    })
}
