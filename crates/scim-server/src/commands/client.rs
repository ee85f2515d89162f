//! `client create|list|revoke`: OAuth clients of a tenant.

use anyhow::Context;
use scim_core::resource::format_time;
use serde_json::json;

use crate::cli::ClientCommand;
use crate::wiring::App;

use super::say;

pub(crate) async fn client(app: &App, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create { tenant, json } => {
            let (client, secret) = app.services.tenants.create_client(&tenant).await?;
            let created = json!({"client_id": client.id, "client_secret": secret});
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
                    .map(|c| json!({"client_id": c.id, "created": format_time(&c.created)}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!("{:<38} CREATED", "CLIENT ID");
                for c in clients {
                    println!("{:<38} {}", c.id, format_time(&c.created));
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
