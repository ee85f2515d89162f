//! `client create|list|revoke`: OAuth clients of a tenant.

use anyhow::Context;
use scim_core::resource::format_time;
use serde_json::json;

use scim_core::service::{FederationRequest, TokenLifetime};
use scim_core::tenant::StoredClient;

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
        ClientCommand::Federate {
            tenant,
            issuer,
            jwks_url,
            subject,
            audience,
            expires_in_days,
            json,
        } => {
            let lifetime = TokenLifetime::of(expires_in_days, expires_in_days.is_none());
            let request = FederationRequest {
                issuer: &issuer,
                jwks_url: &jwks_url,
                subject: &subject,
                audience: &audience,
            };
            let client = app
                .services
                .tenants
                .create_federated_client(&tenant, request, lifetime)
                .await?;
            let created = row(&client);
            if !json {
                println!(
                    "created federated OAuth client {} for tenant '{tenant}'. In the IdP give \
                     Client ID {} and Token URL <server>/oauth/token; it presents JWTs its \
                     issuer signs (RFC 7523), and holds no secret.",
                    client.id, client.id
                );
            }
            println!("{created}");
        }
        ClientCommand::List { tenant, json } => {
            let clients = app.services.tenants.list_clients(&tenant).await?;
            if json {
                let rows: Vec<_> = clients.iter().map(row).collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!(
                    "{:<38} {:<11} {:<26} EXPIRES",
                    "CLIENT ID", "AUTH", "CREATED"
                );
                for c in clients {
                    let expires = c.expires.as_ref().map_or("never".to_owned(), format_time);
                    let auth = c.auth.name();
                    let created = format_time(&c.created);
                    println!("{:<38} {auth:<11} {created:<26} {expires}", c.id);
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

/// A client as `client list --json` and `client federate` print it.
fn row(client: &StoredClient) -> serde_json::Value {
    json!({"client_id": client.id, "authentication": client.auth.name(),
           "federation": client.federation(), "created": format_time(&client.created),
           "expires": client.expires.as_ref().map(format_time)})
}
