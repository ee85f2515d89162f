//! Deleting a tenant: every row it owns goes, in steps that each remove at most a batch,
//! credentials with the first; other tenants keep everything; a deletion cut short is
//! finished by running it again.

use chrono::{NaiveDate, TimeDelta};
use scim_core::admin::{AdminSession, SessionScope};
use scim_core::bulk::{BulkJob, JobStatus, NewBulkJob};
use scim_core::events::{Receiver, ResourceEvent};
use scim_core::license::{AuditQuery, MappingRule, MappingSource, Pool};
use scim_core::ports::{AdminRepository, BulkJobRepository, CredentialStore, TenantDirectory};
use scim_core::tenant::{ClientAuth, StoredClient, Tenant, TokenHash};
use scim_core::{Expand, MembershipChange, NewMember, Resource, ResourceKind};
use serde_json::json;

use crate::contract::with_tenant;
use crate::fixtures::{add_rule, group, set_pool, time, token, user, with, writer};
use crate::{ContractStore, StoreFactory, TestStore};

/// Gives `tenant` one of everything a tenant can own: users holding licenses, a group with
/// members, events (one acknowledged, one queued for a receiver), audit, a bulk job, a
/// usage snapshot, a token, an OAuth client and a dashboard login link.
async fn populate<S: ContractStore>(store: &TestStore<S>, tenant: &Tenant, prefix: &str) {
    let ctx = writer(&tenant.id);
    set_pool(&**store, &ctx, &Pool::new("pro", 10))
        .await
        .unwrap();
    add_rule(
        &**store,
        &ctx,
        &MappingRule::new(MappingSource::Group, "Sales", "pro"),
    )
    .await
    .unwrap();
    store
        .add_receiver(&Receiver {
            id: format!("{prefix}-hook"),
            tenant: tenant.id.clone(),
            url: "https://hooks.example.com/scim".into(),
            secret: "a-secret-of-at-least-thirty-two-bytes!".into(),
            oauth: None,
            created: time(0),
        })
        .await
        .unwrap();
    let mut members = Vec::new();
    for n in 0..4 {
        let id = format!("{prefix}-u{n}");
        let licensed = with(
            user(&id, &format!("{id}@example.com")),
            "entitlements",
            json!([{"value": "pro"}]),
        );
        let event = ResourceEvent::created(&licensed, json!({"id": id}));
        store
            .insert(&ctx.clone().with_events(vec![event]), &licensed, &[])
            .await
            .unwrap();
        members.push(NewMember::id(&id));
    }
    let sales: Resource = group(&format!("{prefix}-g1"), "Sales");
    store
        .insert(&ctx, &sales, &[MembershipChange::Add(members)])
        .await
        .unwrap();
    let events = store.events_after(&tenant.id, 0, 10).await.unwrap();
    store
        .acknowledge(&tenant.id, &[events[0].seq], time(10))
        .await
        .unwrap();
    store
        .create_job(&NewBulkJob {
            job: BulkJob {
                id: format!("{prefix}-job"),
                tenant: tenant.id.clone(),
                status: JobStatus::Pending,
                done: 0,
                total: 1,
                created: time(0),
                updated: time(0),
            },
            request: json!({"Operations": []}),
            actor: "token:k1".into(),
            cause: "POST /scim/v2/Bulk".into(),
        })
        .await
        .unwrap();
    store
        .insert_token(&token(
            &format!("{prefix}-t1"),
            tenant,
            &format!("scim_{prefix}"),
        ))
        .await
        .unwrap();
    store
        .insert_client(&StoredClient {
            id: format!("{prefix}-client"),
            tenant: tenant.id.clone(),
            auth: ClientAuth::Secret(TokenHash::of(&format!("{prefix}-client-secret"))),
            created: time(0),
            expires: None,
        })
        .await
        .unwrap();
    store
        .add_login_link(
            &TokenHash::of(&format!("{prefix}-link")),
            &AdminSession {
                id: format!("{prefix}-link"),
                scope: SessionScope::Tenant(tenant.id.clone()),
                created: time(0),
                expires: time(0) + TimeDelta::days(365 * 100),
            },
        )
        .await
        .unwrap();
}

/// What is left of a tenant, as counts a reader can compare: users and groups, events,
/// audit entries, pools, receivers, tokens, clients.
async fn holdings<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    prefix: &str,
) -> [usize; 7] {
    let mut resources = 0;
    for id in (0..4)
        .map(|n| format!("{prefix}-u{n}"))
        .chain([format!("{prefix}-g1")])
    {
        let kind = if id.ends_with("g1") {
            ResourceKind::Group
        } else {
            ResourceKind::User
        };
        if store
            .get(&tenant.id, kind, &id, Expand::MEMBERS)
            .await
            .unwrap()
            .is_some()
        {
            resources += 1;
        }
    }
    [
        resources,
        store.events_after(&tenant.id, 0, 100).await.unwrap().len(),
        store
            .audit(&tenant.id, &AuditQuery::default())
            .await
            .unwrap()
            .len(),
        store.pools(&tenant.id).await.unwrap().len(),
        store.receivers(&tenant.id).await.unwrap().len(),
        store.list_tokens(&tenant.id).await.unwrap().len(),
        store.list_clients(&tenant.id).await.unwrap().len(),
    ]
}

/// A tenant's deletion removes everything it owns in bounded steps, its credentials with
/// the first; the other tenant keeps all of its own; running it again finishes nothing
/// more and fails nothing.
pub async fn a_deleted_tenant_leaves_nothing_behind<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    populate(&store, &acme, "a").await;
    populate(&store, &globex, "g").await;
    store
        .record_usage(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), time(20))
        .await
        .unwrap();
    let before = holdings(&store, &globex, "g").await;
    assert_eq!(before[0], 5, "the fixture holds 4 users and a group");
    assert!(before.iter().all(|count| *count > 0), "{before:?}");
    assert_eq!(holdings(&store, &acme, "a").await, before);

    let first = store.purge_tenant(&acme.id, 3).await.unwrap();
    assert!(!first.finished);
    assert_eq!(first.removed, 3, "{first:?}");
    // The credentials went first: the tenant no longer authenticates. From the first step
    // it is not found nor listed either, only found to finish its deletion.
    assert_eq!(
        store.find_token(&TokenHash::of("scim_a")).await.unwrap(),
        None
    );
    assert_eq!(store.find_tenant("acme").await.unwrap(), None);
    assert_eq!(
        store.list_tenants(None, usize::MAX).await.unwrap(),
        [store.find_tenant("globex").await.unwrap().unwrap()]
    );
    assert_eq!(
        store.tenant_being_deleted("acme").await.unwrap(),
        Some(acme.id.clone())
    );
    assert_eq!(store.tenant_being_deleted("globex").await.unwrap(), None);
    // A client of the tenant being deleted opens nothing either, even before its row goes.
    assert_eq!(store.find_client("a-client").await.unwrap(), None);
    let mut steps = 1;
    loop {
        let step = store.purge_tenant(&acme.id, 3).await.unwrap();
        assert!(step.removed <= 3, "{step:?}");
        steps += 1;
        if step.finished {
            break;
        }
        assert!(
            step.removed > 0,
            "a step that does not finish removes something"
        );
        assert!(steps < 1_000, "the purge does not end");
    }
    // About forty rows, three at a time.
    assert!(steps > 10, "{steps}");

    assert_eq!(store.find_tenant("acme").await.unwrap(), None);
    assert_eq!(store.tenant_being_deleted("acme").await.unwrap(), None);
    assert_eq!(holdings(&store, &acme, "a").await, [0; 7]);
    assert_eq!(store.find_client("a-client").await.unwrap(), None);
    assert_eq!(
        store
            .admin_session(&TokenHash::of("a-link"), time(0))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.get_job(&acme.id, "a-job").await.unwrap(), None);
    assert_eq!(
        store
            .usage_history(&acme.id, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
            .await
            .unwrap()
            .len(),
        0
    );

    // The other tenant kept everything.
    assert_eq!(holdings(&store, &globex, "g").await, before);
    assert!(
        store
            .find_token(&TokenHash::of("scim_g"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.get_job(&globex.id, "g-job").await.unwrap().is_some());
    assert_eq!(
        store.list_tenants(None, usize::MAX).await.unwrap(),
        [store.find_tenant("globex").await.unwrap().unwrap()]
    );

    // Again: nothing left, nothing fails.
    let again = store.purge_tenant(&acme.id, 3).await.unwrap();
    assert!(again.finished);
    assert_eq!(again.removed, 0);
}
