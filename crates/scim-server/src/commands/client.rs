//! `client create|list|revoke`: OAuth clients of a tenant.

use anyhow::Context;
use scim_core::resource::format_time;
use serde_json::json;

use scim_core::service::TokenLifetime;

use crate::cli::ClientCommand;
use crate::wiring::App;

use super::say;

pub(crate) async fn client(app: &App, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create {
            tenant,
            expires_in_days,
            never_expires,
            json,
        } => {
            let lifetime = TokenLifetime::of(expires_in_days, never_expires);
            let (client, secret) = app
                .services
                .tenants
                .create_client(&tenant, lifetime)
                .await?;
            let created = json!({"client_id": client.id, "client_secret": secret,
                                 "expires": client.expires.as_ref().map(format_time)});
            if json {
                println!("{created}");
                return Ok(());
            }
            println!(
                "created OAuth client {} for tenant '{tenant}'; its secret is shown only once. \
                 Token endpoint: POST <server>/oauth/token (client credentials grant); \
                 HTTP Basic with the same id and secret also works.",
                client.id
            );
            println!("{created}");
        }
        ClientCommand::List { tenant, json } => {
            let clients = app.services.tenants.list_clients(&tenant).await?;
            if json {
                let rows: Vec<_> = clients
                    .iter()
                    .map(|c| {
                        json!({"client_id": c.id, "created": format_time(&c.created),
                               "expires": c.expires.as_ref().map(format_time)})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!("{:<38} {:<26} EXPIRES", "CLIENT ID", "CREATED");
                for c in clients {
                    let expires = c.expires.as_ref().map_or("never".to_owned(), format_time);
                    println!("{:<38} {:<26} {expires}", c.id, format_time(&c.created));
                }
            }
        }
        ClientCommand::Revoke { tenant, id, json } => {
            app.services
                .tenants
                .revoke_client(&tenant, &id)
                .await
                .context("revoking the client")?;
            say(json, &json!({"revoked": id}), || {
                format!("revoked client {id} and its access tokens")
            });
        }
    }
    Ok(())
}
