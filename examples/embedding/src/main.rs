//! `cargo run -p scim-embedding-example`: another Rust service embedding `scim-core`.
//!
//! (a) serves SCIM from its own storage: the core's services on an in-memory store, driven
//!     as an IdP would (create, read, filter, an Entra-style PATCH that deactivates);
//! (b) uses the license engine directly: plans a user's licenses from its entitlements,
//!     roles and groups and decides the seats, refused when a pool is full.

use std::error::Error;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use scim_core::license::{
    HeldLicense, LicensePlan, LicenseRules, LicenseSource, LicensedUser, Licensing, MappingRule,
    MappingSource, Pool, PoolSeats, SeatPolicy, UserFacts,
};
use scim_core::list_request::ListRequest;
use scim_core::ports::{Clock, EventLog, TenantDirectory};
use scim_core::schema::USER_SCHEMA;
use scim_core::service::{PoolChange, Precondition};
use scim_core::tenant::{Tenant, TenantId};
use scim_core::{Caller, Expand, Resource, ResourceKind, ScimError, StoreError, WriteContext};
use scim_embedding_example::wiring::{Scim, SystemClock, UuidIds};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    serve_scim_from_own_storage().await?;
    println!();
    plan_licenses_directly()?;
    Ok(())
}

/// (a): the core's use cases on the service's own store.
async fn serve_scim_from_own_storage() -> Result<(), Box<dyn Error>> {
    println!("== (a) SCIM served from the service's own storage ==");
    let scim = Scim::new(Arc::new(SystemClock), Arc::new(UuidIds));
    let tenant = TenantId("acme".into());
    let acme = Tenant::new(tenant.clone(), "acme", "Acme Corp", SystemClock.now());
    scim.store.create_tenant(&acme).await?;

    // The operator sells one `pro` seat, granted by the Entra app role "Developer".
    let operator = Caller::new(tenant.clone(), "cli", "license set");
    scim.licenses
        .set_pool(
            &operator,
            "pro",
            &PoolChange {
                name: Some("Pro plan"),
                ..PoolChange::seats(1)
            },
        )
        .await?;
    scim.licenses
        .map(&operator, MappingSource::Role, "Developer", "pro")
        .await?;
    println!("pool 'pro' with 1 seat; role 'Developer' grants it");

    // The IdP provisions two users; the first one's role takes the seat.
    let idp = Caller::new(tenant.clone(), "token:entra", "POST /Users");
    let barbara = scim
        .resources
        .create(
            &idp,
            ResourceKind::User,
            &new_user("bjensen@example.com", &["Developer"]),
        )
        .await?;
    show("created", &barbara);
    scim.resources
        .create(
            &idp,
            ResourceKind::User,
            &new_user("jsmith@example.com", &[]),
        )
        .await?;

    let read = scim
        .resources
        .get(&tenant, ResourceKind::User, &barbara.id, Expand::ALL)
        .await?;
    show("read", &read);

    // A filter as an IdP sends it (userName is caseExact=false).
    let filter = r#"userName eq "BJENSEN@example.com""#;
    let query = ListRequest::parse(Some(filter), None, None, None, None)?
        .to_query(&scim.registry, ResourceKind::User)?;
    let page = scim
        .resources
        .list(&tenant, ResourceKind::User, &query, Expand::default())
        .await?;
    let found: Vec<_> = page.resources.iter().map(|user| user.id.as_str()).collect();
    println!("filter {filter}: {} found: {found:?}", page.total);

    // A third user needs the seat Barbara holds: refused, nothing created.
    let refused = scim
        .resources
        .create(
            &idp,
            ResourceKind::User,
            &new_user("adev@example.com", &["Developer"]),
        )
        .await;
    let Err(error) = refused else {
        return Err("a second Developer got the only pro seat".into());
    };
    println!(
        "create adev@example.com refused: {} {} \"{}\"",
        error.status(),
        error.scim_type().unwrap_or_default(),
        error.detail()
    );

    // Entra ID deactivates with a PATCH, "False" as a string: the seat is freed.
    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    });
    let patcher = Caller::new(tenant.clone(), "token:entra", "PATCH /Users");
    let expand = Expand {
        licenses: true,
        ..Expand::default()
    };
    let patched = scim
        .resources
        .patch(
            &patcher,
            ResourceKind::User,
            &barbara.id,
            &deactivate,
            &Precondition::None,
            expand,
        )
        .await?;
    show("deactivated", &patched);
    let adev = scim
        .resources
        .create(
            &idp,
            ResourceKind::User,
            &new_user("adev@example.com", &["Developer"]),
        )
        .await?;
    show("created now", &adev);

    for pool in scim.licenses.pools(&tenant).await? {
        println!(
            "pool {}: {} of {} seats used",
            pool.sku, pool.used, pool.seats
        );
    }
    println!("events recorded with the writes:");
    for stored in scim.store.events_after(&tenant, 0, 100).await? {
        let uris: Vec<_> = stored
            .event
            .events
            .keys()
            .map(|uri| short_uri(uri))
            .collect();
        println!(
            "  #{} {} {}",
            stored.seq,
            stored.event.subject,
            uris.join(" + ")
        );
    }
    Ok(())
}

/// (b): the license rules alone, no store and no service.
fn plan_licenses_directly() -> Result<(), Box<dyn Error>> {
    println!("== (b) the license rules used directly ==");
    let rules = LicenseRules {
        pools: vec![
            Pool {
                used: 3,
                ..Pool::new("basic", 10)
            },
            Pool {
                used: 2,
                ..Pool::new("pro", 2).named("Pro plan")
            },
        ],
        rules: vec![
            MappingRule::new(MappingSource::Entitlement, "crm-reader", "basic"),
            MappingRule::new(MappingSource::Role, "Developer", "pro"),
            MappingRule::new(MappingSource::Group, "Engineering", "pro"),
        ],
    };
    let new_hire = UserFacts {
        active: true,
        entitlements: vec!["crm-reader".into(), "beta-tester".into()],
        roles: vec!["developer".into()],
        groups: vec!["Engineering".into()],
    };
    let grants = rules.grants_for(&new_hire);
    for (sku, source) in grants.skus.values() {
        println!("grants {sku} ({source})");
    }
    for (source, value) in &grants.unmapped {
        println!("unmapped {source} '{value}' (kept on the user, reported)");
    }
    // The engine decides the seats: `pro` is full (2 of 2), and a SCIM write is all or
    // nothing, so the new hire is refused as a whole.
    let mut pools = rules.pools.clone();
    let new_hire_plan = LicensePlan::new(
        &rules,
        vec![LicensedUser::new("u1", "u1", new_hire.clone())],
        SeatPolicy::Strict,
        DateTime::<Utc>::UNIX_EPOCH,
    );
    println!("plan: {:?}", new_hire_plan.demands());
    let ctx = WriteContext::new(
        &Caller::new(TenantId("acme".into()), "hr", "example"),
        DateTime::<Utc>::UNIX_EPOCH,
    );
    match new_hire_plan.decide(&mut PoolSeats::new(&mut pools), &ctx) {
        Err(StoreError::SeatsExhausted { sku, seats, used }) => {
            let refusal = ScimError::SeatsExhausted {
                pool: sku,
                seats,
                used,
            };
            println!(
                "refused: {} {} \"{}\"",
                refusal.status(),
                refusal.scim_type().unwrap_or_default(),
                refusal.detail()
            );
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    // A user holding `basic`, deactivated: everything held is revoked, its seat freed.
    let held = vec![HeldLicense::active(
        "basic",
        LicenseSource::Direct,
        DateTime::<Utc>::UNIX_EPOCH,
    )];
    let inactive = LicensedUser {
        key: "u2",
        id: "u2".into(),
        facts: Some(UserFacts {
            active: false,
            ..new_hire
        }),
        held,
    };
    let plan = LicensePlan::new(&rules, vec![inactive], SeatPolicy::Strict, ctx.at);
    let outcome = plan.decide(&mut PoolSeats::new(&mut pools), &ctx)?;
    let revoked: Vec<&str> = outcome.revoked.iter().map(|c| c.sku.as_str()).collect();
    println!(
        "deactivated: revoke {revoked:?}; basic now {} of 10 used",
        pools[0].used
    );

    // The full-pool question as a table: B gives up its `pro` seat as A comes to need it,
    // in one re-evaluation: the seat changes hands.
    let mut tenant = Licensing::new()
        .pool("pro", 1)
        .rule("group Sales -> pro")
        .user("A", "group:Sales")
        .user("B", "holds:pro(group)");
    println!("hand-over: {:?}", tenant.reevaluate());
    Ok(())
}

/// A user body as an IdP sends it, with its app roles.
fn new_user(user_name: &str, roles: &[&str]) -> Value {
    let roles: Vec<Value> = roles.iter().map(|role| json!({"value": role})).collect();
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "roles": roles,
        "active": true,
    })
}

fn show(what: &str, user: &Resource) {
    let document = Value::Object(user.to_document(USER_SCHEMA));
    println!("{what}: {document}");
}

/// An event URI without its namespace (`…:event:prov:create:full` → `prov:create:full`).
fn short_uri(uri: &str) -> &str {
    uri.split_once(":event:").map_or(uri, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn both_walkthroughs_run_to_the_end() {
        super::serve_scim_from_own_storage().await.unwrap();
        super::plan_licenses_directly().unwrap();
    }
}
