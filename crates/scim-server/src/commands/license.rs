//! `license set|map|unmap|usage|audit|reconcile`: pools, rules and their re-evaluations.

use anyhow::Context;
use chrono::Utc;
use scim_core::resource::format_time;
use serde_json::json;

use scim_core::Caller;
use scim_core::license::{
    AuditEntry, AuditQuery, MappingRule, MappingSource, Pool, PoolPolicy, Reevaluation, RuleChange,
    RulePreview,
};
use scim_core::service::{PoolChange, parse_term_bound};
use scim_core::tenant::Tenant;

use crate::cli::{LicenseCommand, MapSource, RuleArgs};
use crate::wiring::App;

pub(crate) async fn license(app: &App, command: LicenseCommand) -> anyhow::Result<()> {
    match command {
        LicenseCommand::Set {
            tenant,
            sku,
            seats,
            name,
            policy,
            overage,
            starts,
            ends,
            json,
        } => {
            let bound = |text: Option<String>| text.as_deref().map(parse_term_bound).transpose();
            let change = PoolChange {
                seats,
                name: name.as_deref(),
                policy: PoolPolicy::named(policy.as_deref(), overage)?,
                starts: bound(starts)?,
                ends: bound(ends)?,
            };
            let tenant = app.services.tenants.tenant(&tenant).await?;
            let caller = operator(&tenant, "license set");
            let (pool, report) = app
                .services
                .licenses
                .set_pool(&caller, &sku, &change)
                .await?;
            if json {
                println!(
                    "{}",
                    json!({"pool": pool_json(&pool), "reevaluation": report.to_json()})
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
            match pool.policy {
                PoolPolicy::Overage { allowance } => println!(
                    "overage: up to {allowance} seats beyond the {} bought; {} granted beyond them now",
                    pool.seats,
                    pool.overage_used()
                ),
                PoolPolicy::Pending => println!(
                    "pending: a user the pool has no seat for is provisioned and waits; {} waiting now",
                    pool.pending
                ),
                _ => {}
            }
            if let Some(term) = term_text(&pool, Utc::now()) {
                println!("{term}");
            }
            print_reevaluation(&report);
            if pool.is_over_assigned() {
                println!(
                    "warning: {} seats are assigned, more than the {} the pool may grant; every \
                     holder keeps their seat, and no new seat is assigned until fewer than {} are \
                     in use",
                    pool.used,
                    pool.capacity(),
                    pool.capacity()
                );
            }
        }
        LicenseCommand::Map(RuleArgs {
            tenant,
            source,
            sku,
            dry_run,
            json,
        }) => {
            let tenant = app.services.tenants.tenant(&tenant).await?;
            let caller = operator(&tenant, "license map");
            let (source, value) = map_source(source);
            if dry_run {
                let licenses = &app.services.licenses;
                let rule = licenses.rule(&tenant.id, source, &value, &sku).await?;
                let preview = licenses.preview(&tenant.id, &RuleChange::Add(rule)).await?;
                print_preview(&preview, json);
                return Ok(());
            }
            let (rule, report) = app
                .services
                .licenses
                .map(&caller, source, &value, &sku)
                .await?;
            // A rule the tenant had already re-evaluates nobody.
            let report = report.unwrap_or_default();
            if json {
                println!(
                    "{}",
                    json!({"rule": rule_json(&rule), "reevaluation": report.to_json()})
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
            dry_run,
            json,
        }) => {
            let tenant = app.services.tenants.tenant(&tenant).await?;
            let caller = operator(&tenant, "license unmap");
            let (source, value) = map_source(source);
            if dry_run {
                let rule = MappingRule::new(source, value.trim(), sku.trim());
                let change = RuleChange::Remove(rule);
                let preview = app.services.licenses.preview(&tenant.id, &change).await?;
                print_preview(&preview, json);
                return Ok(());
            }
            let report = app
                .services
                .licenses
                .unmap(&caller, source, &value, &sku)
                .await?;
            if json {
                let rule = json!({"source": source.as_str(), "value": value, "sku": sku});
                println!(
                    "{}",
                    json!({"removed": rule, "reevaluation": report.to_json()})
                );
                return Ok(());
            }
            println!(
                "{source} '{value}' no longer grants '{sku}' in tenant '{}'",
                tenant.slug
            );
            print_reevaluation(&report);
        }
        LicenseCommand::TrueUp {
            tenant,
            sku,
            from,
            to,
            json,
        } => {
            let tenant = app.services.tenants.tenant(&tenant).await?;
            let (from, to) = (time("--from", &from)?, time("--to", &to)?);
            let report = app
                .services
                .licenses
                .true_up(&tenant.id, &sku, from, to)
                .await?;
            if json {
                println!("{}", report.to_json());
                return Ok(());
            }
            let shown = report.to_json();
            println!(
                "pool '{}' of tenant '{}', {} to {}: {} seats bought",
                report.sku,
                tenant.slug,
                shown["from"].as_str().unwrap_or_default(),
                shown["to"].as_str().unwrap_or_default(),
                report.seats
            );
            println!(
                "in use: {} at the start, {} at the end, {} at the peak ({})",
                report.start_used,
                report.end_used,
                report.peak_used,
                shown["peakAt"].as_str().unwrap_or_default()
            );
            println!(
                "beyond the seats bought: {} at the peak, {} seat-days",
                report.peak_over, shown["seatDaysOver"]
            );
        }
        LicenseCommand::Audit {
            tenant,
            user,
            since,
            json,
        } => {
            let tenant = app.services.tenants.tenant(&tenant).await?;
            let since = since.map(|text| time("--since", &text)).transpose()?;
            let query = AuditQuery {
                user,
                since,
                ..AuditQuery::default()
            };
            let entries = app.services.licenses.audit(&tenant.id, &query).await?;
            if json {
                let rows: Vec<_> = entries.iter().map(AuditEntry::to_json).collect();
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
            let tenant = app.services.tenants.tenant(&tenant).await?;
            let count_only = scim_core::query::ListQuery {
                count: 0,
                ..Default::default()
            };
            let users = app
                .services
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
                .services
                .licenses
                .reconcile(&operator(&tenant, "license reconcile"), &|done| {
                    bar.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            if json {
                println!("{}", report.to_json());
            } else {
                print_reevaluation(&report);
            }
        }
        LicenseCommand::Usage { tenant, json } => {
            let tenant = app.services.tenants.tenant(&tenant).await?;
            let usage = app.services.licenses.usage(&tenant.id).await?;
            if json {
                let pools: Vec<_> = usage.pools.iter().map(pool_json).collect();
                let unmapped: Vec<_> = usage
                    .unmapped
                    .iter()
                    .map(|u| json!({"value": u.value, "users": u.users}))
                    .collect();
                let rules: Vec<_> = usage.rules.iter().map(rule_json).collect();
                let report = json!({"tenant": tenant.slug, "pools": pools, "rules": rules,
                                    "unmapped": unmapped});
                println!("{report}");
            } else {
                println!(
                    "{:<24} {:<32} {:>8} {:>8} {:>9} {:>8}  POLICY",
                    "SKU", "NAME", "SEATS", "USED", "AVAILABLE", "WAITING"
                );
                for pool in &usage.pools {
                    let policy = match pool.policy {
                        PoolPolicy::Overage { allowance } => format!("overage +{allowance}"),
                        other => other.as_str().to_owned(),
                    };
                    println!(
                        "{:<24} {:<32} {:>8} {:>8} {:>9} {:>8}  {policy}",
                        pool.sku,
                        pool.display_name,
                        pool.seats,
                        pool.used,
                        pool.available(),
                        pool.pending,
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

/// The operator running a command, as the audit log records it.
fn operator(tenant: &Tenant, command: &str) -> Caller {
    Caller::new(tenant.id.clone(), "cli", command)
}

/// A rule as `--json` prints it: `source`, `value`, `sku`.
fn rule_json(rule: &MappingRule) -> serde_json::Value {
    json!({"source": rule.source.as_str(), "value": rule.value, "sku": rule.sku})
}

/// What a rule change would do (`--dry-run`), per pool it moves.
fn print_preview(preview: &RulePreview, json: bool) {
    if json {
        println!("{}", preview.to_json());
        return;
    }
    println!("dry run over {} users, nothing changed:", preview.users);
    if preview.changes_nothing() {
        println!("  no seat would change");
    }
    for pool in preview.pools.iter().filter(|pool| pool.changes()) {
        println!(
            "  {}: {} would gain a seat, {} would lose one, {} would get none; {} of {} seats used after",
            pool.sku, pool.gaining, pool.losing, pool.waiting, pool.used_after, pool.seats
        );
    }
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
        "policy": pool.policy.as_str(),
        "overage": pool.policy.allowance(),
        "overageUsed": pool.overage_used(),
        "pending": pool.pending,
        "starts": pool.term.starts.as_ref().map(format_time),
        "ends": pool.term.ends.as_ref().map(format_time),
    })
}

/// An RFC 3339 time given to `flag`.
fn time(flag: &str, text: &str) -> anyhow::Result<chrono::DateTime<Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .with_context(|| format!("{flag} '{text}' is not an RFC 3339 time"))
}

/// The pool's term in words, when it has one: its bounds, and whether it grants seats `now`.
fn term_text(pool: &Pool, now: chrono::DateTime<Utc>) -> Option<String> {
    let term = pool.term;
    let state = match (term.starts, term.ends) {
        (None, None) => return None,
        (Some(starts), _) if now < starts => "it grants no seat before it starts",
        (_, Some(ends)) if now >= ends => "it has ended: it grants no seat until renewed",
        _ => "it grants seats now",
    };
    Some(format!("term: {term}; {state}"))
}
