//! `tenant create|list|set|client-cert`.

use scim_core::portal::PortalGrant;
use scim_core::resource::format_time;
use serde_json::json;

use scim_core::service::TenantUpdate;
use scim_core::tenant::Tenant;

use crate::cli::TenantCommand;
use crate::wiring::App;

use super::say;

pub(crate) async fn tenant(app: &App, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create { slug, name, json } => {
            let tenant = app
                .services
                .tenants
                .create_tenant(&slug, name.as_deref())
                .await?;
            if json {
                println!("{}", tenant_json(&tenant));
            } else {
                println!("created tenant '{}' ({})", tenant.slug, tenant.name);
            }
        }
        TenantCommand::ClientCert {
            slug,
            certs,
            none,
            json,
        } => {
            let fingerprints = if none {
                Vec::new()
            } else {
                certs
                    .iter()
                    .map(|path| crate::tls::pem_fingerprint(path))
                    .collect::<anyhow::Result<Vec<_>>>()?
            };
            let tenant = app
                .services
                .tenants
                .set_client_certs(&slug, &fingerprints)
                .await?;
            if json {
                println!(
                    "{}",
                    json!({"slug": tenant.slug, "clientCertificates": tenant.client_certs})
                );
            } else if tenant.client_certs.is_empty() {
                println!("tenant '{}' requires no client certificate", tenant.slug);
            } else {
                println!(
                    "tenant '{}' requires a TLS client certificate with SHA-256 {}",
                    tenant.slug,
                    tenant.client_certs.join(" or ")
                );
            }
        }
        TenantCommand::Delete { slug, yes, json } => {
            if !yes {
                anyhow::bail!(
                    "deleting tenant '{slug}' removes everything it owns for good: run again \
                     with --yes"
                );
            }
            let removed = app.services.tenants.delete_tenant(&slug).await?;
            say(json, &json!({"deleted": slug, "rows": removed}), || {
                format!("deleted tenant '{slug}' ({removed} rows)")
            });
        }
        TenantCommand::SetupLink {
            slug,
            expires_in_hours,
            base_url,
            json,
        } => {
            let (link, code) = app
                .services
                .portal
                .create_link(&slug, expires_in_hours)
                .await?;
            let url = scim_core::portal::setup_url(&base_url, &code);
            if json {
                let mut shown = link.to_json();
                shown["url"] = serde_json::Value::String(url);
                println!("{shown}");
            } else {
                println!(
                    "setup link {} for tenant '{slug}', working until {}; give it to the \
                     tenant's IT admin (it is shown only once):",
                    link.id,
                    format_time(&link.expires)
                );
                println!("{url}");
            }
        }
        TenantCommand::SetupLinks { slug, json } => {
            let links = app.services.portal.links(&slug).await?;
            if json {
                let rows: Vec<_> = links.iter().map(PortalGrant::to_json).collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!("{:<38} {:<26} EXPIRES", "ID", "CREATED");
                for link in links {
                    let created = format_time(&link.created);
                    println!(
                        "{:<38} {created:<26} {}",
                        link.id,
                        format_time(&link.expires)
                    );
                }
            }
        }
        TenantCommand::RevokeSetupLink { slug, id, json } => {
            app.services.portal.revoke_link(&slug, &id).await?;
            say(json, &json!({"revoked": id}), || {
                format!("revoked setup link {id}; the portal sessions it opened have ended")
            });
        }
        TenantCommand::List { json } => {
            let tenants = app.services.tenants.list_tenants().await?;
            if json {
                let rows: Vec<_> = tenants.iter().map(tenant_json).collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!("{:<24} {:<32} {:<10} CREATED", "SLUG", "NAME", "PROFILE");
                for t in tenants {
                    println!(
                        "{:<24} {:<32} {:<10} {}",
                        t.slug,
                        t.name,
                        t.compatibility.name(),
                        format_time(&t.created)
                    );
                }
            }
        }
        TenantCommand::Set {
            slug,
            name,
            profile,
            patch_response,
            on_deactivate,
            json,
        } => {
            let update = TenantUpdate {
                name,
                profile,
                patch_response,
                on_deactivate,
            };
            let tenant = app.services.tenants.update_tenant(&slug, &update).await?;
            let settings = &tenant.compatibility;
            let value = json!({"slug": slug, "name": tenant.name, "compatibility": settings});
            say(json, &value, || {
                format!(
                    "tenant '{slug}' ({}): profile {}, PATCH answers {:?}, active=false {:?}, \
                     Entra string values {}, strict {}",
                    tenant.name,
                    settings.name(),
                    settings.patch_response,
                    settings.on_deactivate,
                    if settings.entra_values() {
                        "parsed"
                    } else {
                        "kept"
                    },
                    settings.strict()
                )
            });
        }
    }
    Ok(())
}

fn tenant_json(tenant: &Tenant) -> serde_json::Value {
    json!({"slug": tenant.slug, "name": tenant.name, "created": format_time(&tenant.created),
           "profile": tenant.compatibility.name()})
}
