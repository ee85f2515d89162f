//! `admin login-link|sessions|revoke`: the dashboard's sessions.

use anyhow::Context;
use chrono::TimeDelta;
use scim_core::resource::format_time;
use serde_json::json;

use scim_core::admin::{Revocation, SessionScope};

use crate::cli::AdminCommand;
use crate::wiring::App;

use super::say;

pub(crate) async fn admin(app: &App, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::LoginLink {
            tenant,
            all_tenants: _,
            minutes,
            base_url,
            json,
        } => {
            let (scope, next) = match &tenant {
                Some(slug) => {
                    let tenant = app.services.tenants.tenant(slug).await?;
                    let next = format!("&next=/admin/tenants/{}", tenant.slug);
                    (SessionScope::Tenant(tenant.id), next)
                }
                None => (SessionScope::AllTenants, String::new()),
            };
            let code = app
                .services
                .admin
                .login_link(TimeDelta::minutes(i64::from(minutes)), scope)
                .await
                .context("storing the login link")?;
            let url = format!(
                "{}/admin/login?code={code}{next}",
                base_url.trim_end_matches('/')
            );
            if json {
                let expires = app.services.clock.now() + TimeDelta::minutes(i64::from(minutes));
                println!("{}", json!({"url": url, "expires": format_time(&expires)}));
            } else {
                println!("Open this link within {minutes} minutes; it works once:");
                println!("{url}");
            }
        }
        AdminCommand::Sessions { json } => {
            let sessions = app.services.admin.sessions().await?;
            let tenants = app.services.tenants.list_tenants().await?;
            let rows: Vec<serde_json::Value> = sessions
                .iter()
                .map(|session| {
                    let sees = match &session.scope {
                        SessionScope::AllTenants => json!("all tenants"),
                        SessionScope::Tenant(id) => json!(
                            tenants
                                .iter()
                                .find(|t| t.id == *id)
                                .map_or(id.0.as_str(), |t| t.slug.as_str())
                        ),
                    };
                    json!({
                        "id": session.id,
                        "tenant": sees,
                        "created": format_time(&session.created),
                        "expires": format_time(&session.expires),
                    })
                })
                .collect();
            if json {
                println!("{}", serde_json::Value::Array(rows));
            } else if rows.is_empty() {
                println!("no dashboard session is open");
            } else {
                for row in &rows {
                    println!(
                        "{}  {}  until {}",
                        row["id"].as_str().unwrap_or_default(),
                        row["tenant"].as_str().unwrap_or_default(),
                        row["expires"].as_str().unwrap_or_default()
                    );
                }
            }
        }
        AdminCommand::Revoke { id, all: _, json } => {
            let which = match &id {
                Some(id) => Revocation::Id(id.clone()),
                None => Revocation::All,
            };
            let revoked = app.services.admin.revoke(&which).await?;
            if id.is_some() && revoked == 0 {
                anyhow::bail!("no open dashboard session '{}'", id.unwrap_or_default());
            }
            say(json, &json!({"revoked": revoked}), || {
                format!("ended {revoked} dashboard session(s) and login link(s)")
            });
        }
    }
    Ok(())
}
