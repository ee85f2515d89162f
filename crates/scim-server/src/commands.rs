//! The operator commands: tenants, tokens and licenses.

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use scim_core::ports::SecretGenerator;
use scim_core::resource::format_time;
use serde_json::json;

use scim_core::Caller;
use scim_core::admin::{Revocation, SessionScope};
use scim_core::events::OAuthClient;
use scim_core::license::{AuditQuery, MappingSource, Pool, Reevaluation};
use scim_core::schema::{CUSTOM_GROUP_SCHEMA, CUSTOM_USER_SCHEMA, TenantAttribute};
use scim_core::service::{NewReceiver, TokenLifetime};
use scim_core::tenant::Tenant;

use crate::cli::{
    AdminCommand, ClientCommand, LicenseCommand, MapSource, RuleArgs, SchemaCommand, TenantCommand,
    TokenCommand, WebhookCommand,
};
use crate::wiring::{App, RandomSecrets};

pub(crate) async fn tenant(app: &App, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create { slug, name, json } => {
            let tenant = app.tenants.create_tenant(&slug, name.as_deref()).await?;
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
            let tenant = app.tenants.set_client_certs(&slug, &fingerprints).await?;
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
        TenantCommand::List { json } => {
            let tenants = app.tenants.list_tenants().await?;
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
            profile,
            patch_response,
            on_deactivate,
            json,
        } => {
            let settings = app
                .tenants
                .set_compatibility(&slug, profile.as_deref(), patch_response, on_deactivate)
                .await?;
            let value = json!({"slug": slug, "compatibility": settings});
            say(json, &value, || {
                format!(
                    "tenant '{slug}': profile {}, PATCH answers {:?}, active=false {:?}, Entra \
                     string values {}, strict {}",
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

pub(crate) async fn token(app: &App, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Issue {
            tenant,
            expires_in_days,
            never_expires,
            json,
        } => {
            let secret = RandomSecrets.new_secret();
            let lifetime = match (expires_in_days, never_expires) {
                (_, true) => TokenLifetime::Never,
                (Some(days), false) => TokenLifetime::Days(days),
                (None, false) => TokenLifetime::Default,
            };
            let token = app.tenants.issue_token(&tenant, &secret, lifetime).await?;
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
        TokenCommand::Revoke { tenant, id, json } => {
            app.tenants
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

pub(crate) async fn license(app: &App, command: LicenseCommand) -> anyhow::Result<()> {
    match command {
        LicenseCommand::Set {
            tenant,
            sku,
            seats,
            name,
            json,
        } => {
            let tenant = app.tenants.tenant(&tenant).await?;
            let caller = operator(&tenant, "license set");
            let (pool, report) = app
                .licenses
                .set_pool(&caller, &sku, seats, name.as_deref())
                .await?;
            if json {
                println!(
                    "{}",
                    json!({"pool": pool_json(&pool), "reevaluation": reevaluation_json(&report)})
                );
                return Ok(());
            }
            println!(
                "pool '{}' ({}) of tenant '{}': {} seats, {} used, {} available",
                pool.sku,
                pool.display_name,
                tenant.slug,
                pool.seats,
                pool.used,
                pool.available()
            );
            print_reevaluation(&report);
            if pool.is_over_assigned() {
                println!(
                    "warning: {} seats are assigned, more than the {} bought; every holder keeps \
                     their seat, and no new seat is assigned until fewer than {} are in use",
                    pool.used, pool.seats, pool.seats
                );
            }
        }
        LicenseCommand::Map(RuleArgs {
            tenant,
            source,
            sku,
            json,
        }) => {
            let tenant = app.tenants.tenant(&tenant).await?;
            let caller = operator(&tenant, "license map");
            let (source, value) = map_source(source);
            let (rule, report) = app.licenses.map(&caller, source, &value, &sku).await?;
            if json {
                let rule =
                    json!({"source": rule.source.as_str(), "value": rule.value, "sku": rule.sku});
                println!(
                    "{}",
                    json!({"rule": rule, "reevaluation": reevaluation_json(&report)})
                );
                return Ok(());
            }
            println!(
                "{} '{}' now grants '{}' in tenant '{}'",
                rule.source, rule.value, rule.sku, tenant.slug
            );
            print_reevaluation(&report);
        }
        LicenseCommand::Unmap(RuleArgs {
            tenant,
            source,
            sku,
            json,
        }) => {
            let tenant = app.tenants.tenant(&tenant).await?;
            let caller = operator(&tenant, "license unmap");
            let (source, value) = map_source(source);
            let report = app.licenses.unmap(&caller, source, &value, &sku).await?;
            if json {
                let rule = json!({"source": source.as_str(), "value": value, "sku": sku});
                println!(
                    "{}",
                    json!({"removed": rule, "reevaluation": reevaluation_json(&report)})
                );
                return Ok(());
            }
            println!(
                "{source} '{value}' no longer grants '{sku}' in tenant '{}'",
                tenant.slug
            );
            print_reevaluation(&report);
        }
        LicenseCommand::Audit {
            tenant,
            user,
            since,
            json,
        } => {
            let tenant = app.tenants.tenant(&tenant).await?;
            let since = since
                .map(|text| {
                    chrono::DateTime::parse_from_rfc3339(&text)
                        .map(|time| time.with_timezone(&Utc))
                        .with_context(|| format!("--since '{text}' is not an RFC 3339 time"))
                })
                .transpose()?;
            let query = AuditQuery {
                user,
                since,
                ..AuditQuery::default()
            };
            let entries = app.licenses.audit(&tenant.id, &query).await?;
            if json {
                let rows: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        json!({
                            "at": format_time(&e.at),
                            "user": e.user,
                            "sku": e.sku,
                            "action": e.action.as_str(),
                            "source": e.source.map(|s| s.as_str()),
                            "cause": e.cause,
                            "actor": e.actor,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!(
                    "{:<26} {:<38} {:<16} {:<9} {:<7} {:<20} CAUSE",
                    "AT", "USER", "SKU", "ACTION", "SOURCE", "ACTOR"
                );
                for e in entries {
                    println!(
                        "{:<26} {:<38} {:<16} {:<9} {:<7} {:<20} {}",
                        format_time(&e.at),
                        e.user,
                        e.sku,
                        e.action.as_str(),
                        e.source.map_or("", |s| s.as_str()),
                        e.actor,
                        e.cause
                    );
                }
            }
        }
        LicenseCommand::Reconcile { tenant, json } => {
            let tenant = app.tenants.tenant(&tenant).await?;
            let count_only = scim_core::query::ListQuery {
                count: 0,
                ..Default::default()
            };
            let users = app
                .resources
                .list(
                    &tenant.id,
                    scim_core::ResourceKind::User,
                    &count_only,
                    scim_core::Expand::default(),
                )
                .await?
                .total;
            let bar = crate::progress::progress_bar(users, "re-evaluating users");
            let report = app
                .licenses
                .reconcile(&operator(&tenant, "license reconcile"), &|done| {
                    bar.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            if json {
                println!("{}", reevaluation_json(&report));
            } else {
                print_reevaluation(&report);
            }
        }
        LicenseCommand::Usage { tenant, json } => {
            let tenant = app.tenants.tenant(&tenant).await?;
            let usage = app.licenses.usage(&tenant.id).await?;
            if json {
                let pools: Vec<_> = usage.pools.iter().map(pool_json).collect();
                let unmapped: Vec<_> = usage
                    .unmapped
                    .iter()
                    .map(|u| json!({"value": u.value, "users": u.users}))
                    .collect();
                let report = json!({"tenant": tenant.slug, "pools": pools, "unmapped": unmapped});
                println!("{report}");
            } else {
                println!(
                    "{:<24} {:<32} {:>8} {:>8} {:>9}",
                    "SKU", "NAME", "SEATS", "USED", "AVAILABLE"
                );
                for pool in &usage.pools {
                    println!(
                        "{:<24} {:<32} {:>8} {:>8} {:>9}",
                        pool.sku,
                        pool.display_name,
                        pool.seats,
                        pool.used,
                        pool.available()
                    );
                }
                if !usage.rules.is_empty() {
                    println!();
                    println!("{:<12} {:<40} SKU", "MAPS", "VALUE");
                    for rule in &usage.rules {
                        println!("{:<12} {:<40} {}", rule.source, rule.value, rule.sku);
                    }
                }
                if !usage.unmapped.is_empty() {
                    println!();
                    println!("{:<40} {:>8}", "UNMAPPED VALUE", "USERS");
                    for value in &usage.unmapped {
                        println!("{:<40} {:>8}", value.value, value.users);
                    }
                }
            }
        }
    }
    Ok(())
}

pub(crate) async fn schema(app: &App, command: SchemaCommand) -> anyhow::Result<()> {
    let default_schema = |resource: &str| match resource {
        "Group" => CUSTOM_GROUP_SCHEMA.to_owned(),
        _ => CUSTOM_USER_SCHEMA.to_owned(),
    };
    let (tenant, attributes, json, said) = match command {
        SchemaCommand::Add {
            tenant,
            name,
            ty,
            resource,
            schema,
            multi_valued,
            case_exact,
            required,
            description,
            json,
        } => {
            let attribute = TenantAttribute {
                schema: schema.unwrap_or_else(|| default_schema(&resource)),
                resource_type: resource,
                name,
                ty,
                multi_valued,
                case_exact,
                required,
                description,
            };
            let said = format!(
                "added {}:{} ({}) to the {}s of tenant '{tenant}'",
                attribute.schema, attribute.name, attribute.ty, attribute.resource_type
            );
            let attributes = app.tenants.add_custom_attribute(&tenant, attribute).await?;
            (tenant, attributes, json, Some(said))
        }
        SchemaCommand::Remove {
            tenant,
            name,
            resource,
            schema,
            json,
        } => {
            let schema = schema.unwrap_or_else(|| default_schema(&resource));
            let attributes = app
                .tenants
                .remove_custom_attribute(&tenant, &schema, &name)
                .await?;
            let said = format!("removed {schema}:{name} from tenant '{tenant}'");
            (tenant, attributes, json, Some(said))
        }
        SchemaCommand::List { tenant, json } => {
            let attributes = app.tenants.tenant(&tenant).await?.custom_attributes;
            (tenant, attributes, json, None)
        }
    };
    let value = json!({"tenant": tenant, "attributes": attributes});
    say(json, &value, || {
        let mut text = said.map(|s| format!("{s}\n")).unwrap_or_default();
        text.push_str(&format!(
            "{:<6} {:<64} {:<9} {:<6} {:<10} DESCRIPTION",
            "ON", "ATTRIBUTE", "TYPE", "MULTI", "CASEEXACT"
        ));
        for a in &attributes {
            text.push_str(&format!(
                "\n{:<6} {:<64} {:<9} {:<6} {:<10} {}",
                a.resource_type,
                format!("{}:{}", a.schema, a.name),
                a.ty,
                a.multi_valued,
                a.case_exact,
                a.description
            ));
        }
        text
    });
    Ok(())
}

/// Prints `value` (with `--json`) or the sentence `human` makes.
fn say(json: bool, value: &serde_json::Value, human: impl FnOnce() -> String) {
    if json {
        println!("{value}");
    } else {
        println!("{}", human());
    }
}

fn tenant_json(tenant: &Tenant) -> serde_json::Value {
    json!({"slug": tenant.slug, "name": tenant.name, "created": format_time(&tenant.created),
           "profile": tenant.compatibility.name()})
}

/// A re-evaluation as `--json` prints it.
fn reevaluation_json(report: &Reevaluation) -> serde_json::Value {
    let waiting: Vec<_> = report
        .waiting
        .iter()
        .map(|(user, sku)| json!({"user": user, "sku": sku}))
        .collect();
    json!({
        "users": report.users,
        "assigned": report.assigned,
        "revoked": report.revoked,
        "waiting": waiting,
    })
}

/// The operator running a command, as the audit log records it.
fn operator(tenant: &Tenant, command: &str) -> Caller {
    Caller::new(tenant.id.clone(), "cli", command)
}

fn print_reevaluation(report: &Reevaluation) {
    println!(
        "re-evaluated {} users: {} licenses assigned, {} revoked",
        report.users, report.assigned, report.revoked
    );
    if !report.waiting.is_empty() {
        println!(
            "{} users are waiting for a seat (they get one when seats free up or are added):",
            report.waiting.len()
        );
        for (user, sku) in report.waiting.iter().take(20) {
            println!("  {user} waits for '{sku}'");
        }
        if report.waiting.len() > 20 {
            println!("  … and {} more", report.waiting.len() - 20);
        }
    }
}

fn map_source(source: MapSource) -> (MappingSource, String) {
    match source {
        MapSource {
            entitlement: Some(value),
            ..
        } => (MappingSource::Entitlement, value),
        MapSource {
            role: Some(value), ..
        } => (MappingSource::Role, value),
        MapSource { group, .. } => (MappingSource::Group, group.unwrap_or_default()),
    }
}

/// A pool as `license usage --json` and `/Licenses` show it.
pub(crate) fn pool_json(pool: &Pool) -> serde_json::Value {
    json!({
        "sku": pool.sku,
        "displayName": pool.display_name,
        "seats": pool.seats,
        "used": pool.used,
        "available": pool.available(),
    })
}

pub(crate) async fn client(app: &App, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create { tenant, json } => {
            let (client, secret) = app.tenants.create_client(&tenant).await?;
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
            let clients = app.tenants.list_clients(&tenant).await?;
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
            app.tenants
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

/// `events`: the tenant's recorded events as one JSON array.
pub(crate) async fn events(app: &App, slug: &str, after: i64, limit: usize) -> anyhow::Result<()> {
    let tenant = app.tenants.tenant(slug).await?;
    let events = app
        .events
        .events_after(&tenant.id, after, limit)
        .await
        .map_err(|error| anyhow::anyhow!("reading the events: {error}"))?;
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|stored| {
            let mut sub_id = json!({"format": "scim", "uri": stored.event.subject});
            if let Some(external_id) = &stored.event.external_id {
                sub_id["externalId"] = json!(external_id);
            }
            let mut row = json!({
                "seq": stored.seq,
                "at": format_time(&stored.at),
                "sub_id": sub_id,
                "events": stored.event.events,
            });
            if let Some(txn) = &stored.event.txn {
                row["txn"] = json!(txn);
            }
            row
        })
        .collect();
    println!("{}", serde_json::Value::Array(rows));
    Ok(())
}

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
            let now = app.clock.now();
            let rows: Vec<serde_json::Value> = app
                .receivers
                .list(&tenant)
                .await?
                .into_iter()
                .map(|status| {
                    let lag = status
                        .oldest_pending
                        .map_or(0, |oldest| (now - oldest).num_seconds().max(0));
                    json!({
                        "id": status.receiver.id,
                        "url": status.receiver.url,
                        "oauth": status.receiver.oauth.is_some(),
                        "created": format_time(&status.receiver.created),
                        "delivered": status.delivered,
                        "retried": status.retried,
                        "deadLettered": status.dead_lettered,
                        "pending": status.pending,
                        "lagSeconds": lag,
                    })
                })
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
            app.receivers.remove(&tenant, &id).await?;
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
                .receivers
                .dead_letters(&tenant, receiver.as_deref())
                .await?;
            if json {
                let rows: Vec<_> = dead
                    .iter()
                    .map(|d| {
                        json!({"receiver": d.receiver_id, "seq": d.seq, "subject": d.subject,
                               "attempts": d.attempts, "error": d.error, "at": format_time(&d.at)})
                    })
                    .collect();
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
                let queued = app.receivers.redrive(&tenant, receiver.as_deref()).await?;
                eprintln!("queued {queued} dead letter(s) again");
            }
        }
    }
    Ok(())
}

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
                    let tenant = app.tenants.tenant(slug).await?;
                    let next = format!("&next=/admin/tenants/{}", tenant.slug);
                    (SessionScope::Tenant(tenant.id), next)
                }
                None => (SessionScope::AllTenants, String::new()),
            };
            let code = app
                .admin
                .login_link(TimeDelta::minutes(i64::from(minutes)), scope)
                .await
                .context("storing the login link")?;
            let url = format!(
                "{}/admin/login?code={code}{next}",
                base_url.trim_end_matches('/')
            );
            if json {
                let expires = app.clock.now() + TimeDelta::minutes(i64::from(minutes));
                println!("{}", json!({"url": url, "expires": format_time(&expires)}));
            } else {
                println!("Open this link within {minutes} minutes; it works once:");
                println!("{url}");
            }
        }
        AdminCommand::Sessions { json } => {
            let sessions = app.admin.sessions().await?;
            let tenants = app.tenants.list_tenants().await?;
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
            let revoked = app.admin.revoke(&which).await?;
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

pub(crate) async fn import(
    app: &App,
    tenant: &str,
    path: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    let imported = crate::import::import(app, tenant, path).await?;
    if json {
        println!(
            "{}",
            json!({
                "created": imported.created,
                "replaced": imported.replaced,
                "failed": imported.failed,
            })
        );
    } else {
        println!(
            "created {} users, replaced {}, failed {}",
            imported.created,
            imported.replaced,
            imported.failed.len()
        );
        for failure in &imported.failed {
            println!(
                "  {} {}: {} {}",
                failure["origin"].as_str().unwrap_or_default(),
                failure["userName"].as_str().unwrap_or_default(),
                failure["status"],
                failure["detail"].as_str().unwrap_or_default()
            );
        }
    }
    anyhow::ensure!(
        imported.failed.is_empty(),
        "{} users were not imported",
        imported.failed.len()
    );
    Ok(())
}
