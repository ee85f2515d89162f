//! `webhook add|list|remove|deadletters`: push receivers.

use serde_json::json;

use scim_core::events::OAuthClient;
use scim_core::service::NewReceiver;

use crate::cli::WebhookCommand;
use crate::wiring::App;

use super::say;

pub(crate) async fn webhook(app: &App, command: WebhookCommand) -> anyhow::Result<()> {
    match command {
        WebhookCommand::Add {
            tenant,
            url,
            secret,
            oauth_token_url,
            oauth_client_id,
            oauth_client_secret,
            oauth_scope,
            json,
        } => {
            let oauth = match (oauth_token_url, oauth_client_id, oauth_client_secret) {
                (Some(token_url), Some(client_id), Some(client_secret)) => Some(OAuthClient {
                    token_url,
                    client_id,
                    client_secret,
                    scope: oauth_scope,
                }),
                _ => None,
            };
            let receiver = app
                .services
                .receivers
                .add(&tenant, NewReceiver { url, secret, oauth })
                .await?;
            let added = json!({"id": receiver.id, "secret": receiver.secret});
            if json {
                println!("{added}");
                return Ok(());
            }
            println!(
                "added receiver {} for tenant '{tenant}': it gets the tenant's events from now on \
                 as SETs signed HS256 with the secret below (shown only once)",
                receiver.id
            );
            println!("{added}");
        }
        WebhookCommand::List { tenant, json } => {
            let now = app.services.clock.now();
            let rows: Vec<serde_json::Value> = app
                .services
                .receivers
                .list(&tenant)
                .await?
                .into_iter()
                .map(|status| status.to_json(now))
                .collect();
            if json {
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!(
                    "{:<38} {:>10} {:>8} {:>6} {:>8} {:>6}  URL",
                    "ID", "DELIVERED", "RETRIED", "DEAD", "PENDING", "LAG_S"
                );
                for row in rows {
                    println!(
                        "{:<38} {:>10} {:>8} {:>6} {:>8} {:>6}  {}",
                        row["id"].as_str().unwrap_or_default(),
                        row["delivered"],
                        row["retried"],
                        row["deadLettered"],
                        row["pending"],
                        row["lagSeconds"],
                        row["url"].as_str().unwrap_or_default(),
                    );
                }
            }
        }
        WebhookCommand::Remove { tenant, id, json } => {
            app.services.receivers.remove(&tenant, &id).await?;
            say(json, &json!({"removed": id}), || {
                format!("removed receiver {id} and its queue")
            });
        }
        WebhookCommand::Deadletters {
            tenant,
            receiver,
            redrive,
            json,
        } => {
            let dead = app
                .services
                .receivers
                .dead_letters(&tenant, receiver.as_deref())
                .await?;
            if json {
                let rows: Vec<_> = dead.iter().map(|d| d.to_json()).collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!(
                    "{:<38} {:>10} {:>8}  {:<48} ERROR",
                    "RECEIVER", "SEQ", "ATTEMPTS", "SUBJECT"
                );
                for d in &dead {
                    println!(
                        "{:<38} {:>10} {:>8}  {:<48} {}",
                        d.receiver_id, d.seq, d.attempts, d.subject, d.error
                    );
                }
            }
            if redrive {
                let queued = app
                    .services
                    .receivers
                    .redrive(&tenant, receiver.as_deref())
                    .await?;
                eprintln!("queued {queued} dead letter(s) again");
            }
        }
    }
    Ok(())
}
