//! The outbox part of the storage contract: every committed write records its events in the
//! same transaction, with the license events it caused; a write that fails records nothing.

use scim_core::events::{
    LICENSE_ASSIGNED, LICENSE_REVOKED, POOL_EXHAUSTED, PROV_CREATE_FULL, PROV_DEACTIVATE,
    PROV_DELETE, PROV_PATCH_FULL, ResourceEvent, SigningKey, StoredEvent,
};
use scim_core::license::{MappingRule, MappingSource, Pool};
use scim_core::ports::{BatchWrite, EventLog, ResourceRepository, SigningKeys};
use scim_core::tenant::Tenant;
use scim_core::{Resource, ResourceKind, StoreError};
use serde_json::{Value, json};

use crate::contract::with_tenant;
use crate::fixtures::{next_version, time, user, with, writer};
use crate::{ContractStore, StoreFactory, TestStore};

/// `(subject, event URIs)` of the tenant's events after `after`.
async fn recorded<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    after: i64,
) -> Vec<(String, Vec<String>)> {
    store
        .events_after(&tenant.id, after, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|stored| {
            (
                stored.event.subject.clone(),
                stored.event.events.keys().cloned().collect(),
            )
        })
        .collect()
}

async fn last_seq<S: ContractStore>(store: &TestStore<S>, tenant: &Tenant) -> i64 {
    store
        .events_after(&tenant.id, 0, 10_000)
        .await
        .unwrap()
        .last()
        .map_or(0, |stored: &StoredEvent| stored.seq)
}

fn licensed(id: &str, active: bool) -> Resource {
    let mut resource = with(user(id, id), "entitlements", json!([{"value": "pro"}]));
    resource = with(resource, "externalId", json!(format!("ext-{id}")));
    with(resource, "active", json!(active))
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|&item| item.to_owned()).collect()
}

pub async fn writes_record_their_events_in_the_same_transaction<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    let ctx = writer(&acme.id);
    crate::fixtures::set_pool(&*store, &ctx, &Pool::new("pro", 1))
        .await
        .unwrap();
    crate::fixtures::add_rule(
        &*store,
        &ctx,
        &MappingRule::new(MappingSource::Entitlement, "pro", "pro"),
    )
    .await
    .unwrap();
    let start = last_seq(&store, &acme).await;

    // A create takes the last seat: its event, then the license and the pool's.
    let alice = licensed("alice", true);
    let created = ResourceEvent::created(&alice, json!({"id": "alice"}));
    store
        .insert(&ctx.clone().with_events(vec![created]), &alice, &[])
        .await
        .unwrap();
    assert_eq!(
        recorded(&store, &acme, start).await,
        [
            ("/Users/alice".to_owned(), strs(&[PROV_CREATE_FULL])),
            ("/Users/alice".to_owned(), strs(&[LICENSE_ASSIGNED])),
            ("/Licenses/pro".to_owned(), strs(&[POOL_EXHAUSTED])),
        ]
    );
    let stored = store.events_after(&acme.id, start, 1).await.unwrap();
    assert_eq!(stored[0].event.external_id.as_deref(), Some("ext-alice"));
    assert_eq!(
        stored[0].event.events[PROV_CREATE_FULL]["version"],
        "W/\"1\""
    );
    let after_create = last_seq(&store, &acme).await;

    // A write that fails (no seat left) records nothing.
    let bob = licensed("bob", true);
    let refused = ResourceEvent::created(&bob, Value::Null);
    let failed = store
        .insert(&ctx.clone().with_events(vec![refused]), &bob, &[])
        .await;
    assert!(
        matches!(failed, Err(StoreError::SeatsExhausted { .. })),
        "{failed:?}"
    );
    assert!(recorded(&store, &acme, after_create).await.is_empty());

    // A deactivating PATCH: one change with two events, then the seat's revocation.
    let inactive = next_version(&licensed("alice", false), 2);
    let body = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
    let patched = ResourceEvent::patched(&alice, &inactive, &body);
    store
        .update(&ctx.clone().with_events(vec![patched]), &inactive, 1, &[])
        .await
        .unwrap();
    assert_eq!(
        recorded(&store, &acme, after_create).await,
        [
            (
                "/Users/alice".to_owned(),
                strs(&[PROV_PATCH_FULL, PROV_DEACTIVATE])
            ),
            ("/Users/alice".to_owned(), strs(&[LICENSE_REVOKED])),
        ]
    );
    let after_patch = last_seq(&store, &acme).await;

    // In a batch, the failing write's events go with it; the delete's event gets the
    // stored externalId.
    let carol = user("carol", "carol");
    let writes = vec![
        BatchWrite::Insert {
            resource: carol.clone(),
            members: vec![],
            events: vec![ResourceEvent::created(&carol, Value::Null)],
        },
        BatchWrite::Insert {
            resource: user("carol-twin", "CAROL"),
            members: vec![],
            events: vec![ResourceEvent::created(
                &user("carol-twin", "CAROL"),
                Value::Null,
            )],
        },
        BatchWrite::Delete {
            kind: ResourceKind::User,
            id: "alice".into(),
            expected_version: None,
            events: vec![ResourceEvent::deleted(ResourceKind::User, "alice", None)],
        },
    ];
    let results = store.write_batch(&ctx, &writes).await.unwrap();
    assert!(results[0].is_ok() && results[1].is_err() && results[2].is_ok());
    assert_eq!(
        recorded(&store, &acme, after_patch).await,
        [
            ("/Users/carol".to_owned(), strs(&[PROV_CREATE_FULL])),
            ("/Users/alice".to_owned(), strs(&[PROV_DELETE])),
        ]
    );
    let deleted = store.events_after(&acme.id, after_patch, 10).await.unwrap();
    assert_eq!(deleted[1].event.external_id.as_deref(), Some("ext-alice"));
    // Nothing of it is another tenant's.
    assert!(recorded(&store, &globex, 0).await.is_empty());
}

/// The poll feed holds the tenant's events until its poller acknowledges them; another
/// tenant's acknowledgements change nothing.
pub async fn the_poll_feed_keeps_events_until_acknowledged<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    for id in ["u1", "u2", "u3"] {
        let resource = user(id, id);
        let event = ResourceEvent::created(&resource, Value::Null);
        store
            .insert(&writer(&acme.id).with_events(vec![event]), &resource, &[])
            .await
            .unwrap();
    }
    let waiting = store.unacknowledged(&acme.id, 10).await.unwrap();
    let seqs: Vec<i64> = waiting.iter().map(|stored| stored.seq).collect();
    assert_eq!(seqs.len(), 3);
    assert_eq!(waiting[0].event.subject, "/Users/u1");
    assert!(
        store
            .unacknowledged(&globex.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Another tenant cannot acknowledge them.
    store
        .acknowledge(&globex.id, &seqs, time(5_000))
        .await
        .unwrap();
    assert_eq!(store.unacknowledged(&acme.id, 10).await.unwrap().len(), 3);
    // Acknowledging twice, or unknown seqs, is harmless.
    store
        .acknowledge(&acme.id, &[seqs[0], seqs[0], 999_999], time(5_000))
        .await
        .unwrap();
    store
        .acknowledge(&acme.id, &[seqs[0]], time(5_000))
        .await
        .unwrap();
    let rest: Vec<i64> = store
        .unacknowledged(&acme.id, 10)
        .await
        .unwrap()
        .iter()
        .map(|stored| stored.seq)
        .collect();
    assert_eq!(rest, seqs[1..]);
    assert_eq!(store.unacknowledged(&acme.id, 1).await.unwrap().len(), 1);
}

/// A tenant's event generation moves when events are recorded for it, by this store or
/// another one on the same database (another process), and only for it: what long polls
/// wait on instead of reading the feed again and again.
pub async fn event_generations_move_with_the_tenants_events<F: StoreFactory>(factory: &F) {
    use std::time::Duration;

    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    let seen = store.events_generation(&acme.id).await.unwrap();
    let globex_seen = store.events_generation(&globex.id).await.unwrap();
    // Nothing recorded: the wait times out.
    assert!(
        !store
            .events_recorded(&acme.id, seen, Duration::from_millis(300))
            .await
    );
    // Recorded through another store on the database (as another process would): seen.
    let other = store.reopen().await;
    let waiting = store.events_recorded(&acme.id, seen, Duration::from_secs(10));
    let (moved, ()) = tokio::join!(waiting, record(&other, &acme.id, "u1"));
    assert!(moved, "the wait ends when the event is recorded");
    let now = store.events_generation(&acme.id).await.unwrap();
    assert_ne!(now, seen);
    // Another tenant's generation did not move.
    assert_eq!(
        store.events_generation(&globex.id).await.unwrap(),
        globex_seen
    );
    assert!(
        !store
            .events_recorded(&globex.id, globex_seen, Duration::from_millis(300))
            .await
    );
    // An event recorded after the generation was read, before the wait: not missed.
    let seen = store.events_generation(&acme.id).await.unwrap();
    record(&*store, &acme.id, "u2").await;
    assert!(
        store
            .events_recorded(&acme.id, seen, Duration::from_secs(10))
            .await
    );
}

/// Signing keys are shared through the store, newest first; a `kid` is unique.
pub async fn signing_keys_are_kept_newest_first<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    assert!(store.signing_keys().await.unwrap().is_empty());
    let key = |kid: &str, millis: i64| SigningKey {
        kid: kid.to_owned(),
        algorithm: "ES256".into(),
        private_key: format!("private-{kid}"),
        public_jwk: json!({"kty": "EC", "kid": kid}),
        created: time(millis),
        activates: time(millis * 1000),
    };
    store.add_signing_key(&key("old", 1)).await.unwrap();
    store.add_signing_key(&key("new", 2)).await.unwrap();
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys, [key("new", 2), key("old", 1)]);
    assert!(matches!(
        store.add_signing_key(&key("old", 3)).await,
        Err(StoreError::Conflict { .. })
    ));
    // Retired keys are forgotten; the others stay.
    store
        .forget_signing_keys(&["old".to_owned()])
        .await
        .unwrap();
    assert_eq!(store.signing_keys().await.unwrap(), [key("new", 2)]);
}

/// Creates user `id` with its created event.
async fn record<S: ContractStore>(store: &S, tenant: &scim_core::tenant::TenantId, id: &str) {
    let resource = user(id, id);
    let event = ResourceEvent::created(&resource, Value::Null);
    store
        .insert(&writer(tenant).with_events(vec![event]), &resource, &[])
        .await
        .unwrap();
}

/// A user created `millis` after the fixtures' epoch, with its creation event.
async fn created_at<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    id: &str,
    millis: i64,
) {
    let resource = user(id, id);
    let ctx = scim_core::WriteContext {
        at: time(millis),
        ..writer(&tenant.id)
    }
    .with_events(vec![ResourceEvent::created(&resource, json!({"id": id}))]);
    store.insert(&ctx, &resource, &[]).await.unwrap();
}

/// Retention removes the oldest events of every tenant in bounded batches, with their
/// acknowledgements and pushes; each tenant's horizon says where its kept history starts,
/// and a poll feed that was read is told, once, how many events it lost unacknowledged (a
/// feed never read loses nothing it knew of). Audit entries keep their seqs; ended jobs go,
/// running ones stay.
pub async fn retention_prunes_history_in_batches_and_tells_who_fell_behind<F: StoreFactory>(
    factory: &F,
) {
    use chrono::Duration;
    use scim_core::ports::{BulkJobRepository, LicenseLedger, Webhooks};
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    store
        .add_receiver(&crate::fixtures::receiver("r1", &acme))
        .await
        .unwrap();
    for n in 0..5 {
        created_at(&store, &acme, &format!("old{n}"), 1_000 + n).await;
    }
    for n in 0..2 {
        created_at(&store, &globex, &format!("old{n}"), 1_500 + n).await;
    }
    for n in 0..3 {
        created_at(&store, &acme, &format!("new{n}"), 100_000 + n).await;
    }
    let acme_events = store.events_after(&acme.id, 0, 100).await.unwrap();
    // acme's feed is read: it acknowledges its first event.
    store
        .acknowledge(&acme.id, &[acme_events[0].seq], time(2_000))
        .await
        .unwrap();
    let cutoff = time(50_000);
    assert_eq!(
        store.prune_events(cutoff, 3).await.unwrap(),
        3,
        "a full batch"
    );
    assert_eq!(store.prune_events(cutoff, 3).await.unwrap(), 3);
    assert_eq!(
        store.prune_events(cutoff, 3).await.unwrap(),
        1,
        "the last old one"
    );
    assert_eq!(store.prune_events(cutoff, 3).await.unwrap(), 0);
    let kept: Vec<String> = (store.events_after(&acme.id, 0, 100).await.unwrap().iter())
        .map(|stored| stored.event.subject.clone())
        .collect();
    assert_eq!(kept, ["/Users/new0", "/Users/new1", "/Users/new2"]);
    assert!(
        store
            .events_after(&globex.id, 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let waiting = store.unacknowledged(&acme.id, 100).await.unwrap();
    assert_eq!(waiting.len(), 3, "the poll feed reads on from what is kept");
    let horizon = store.horizon(&acme.id).await.unwrap();
    assert_eq!(horizon.pruned_through, acme_events[4].seq);
    assert_eq!(horizon.lost, 4, "five old events, one acknowledged");
    assert_eq!(store.take_lost(&acme.id).await.unwrap(), 4);
    assert_eq!(store.take_lost(&acme.id).await.unwrap(), 0, "told once");
    let quiet = store.horizon(&globex.id).await.unwrap();
    assert!(quiet.pruned_through > 0);
    assert_eq!(quiet.lost, 0, "a feed never read loses nothing it knew of");
    // The pushes of pruned events went with them; those of kept ones wait.
    let status = store.receivers(&acme.id).await.unwrap();
    assert_eq!(status[0].pending, 3, "{status:?}");

    // Audit entries: the oldest go, the rest keep their seqs.
    let pool = Pool::new("pro", 10);
    crate::fixtures::set_pool(&*store, &writer(&acme.id), &pool)
        .await
        .unwrap();
    for (n, millis) in [(0, 1_000), (1, 1_100), (2, 100_000)] {
        let id = format!("licensed{n}");
        let resource = with(user(&id, &id), "entitlements", json!([{"value": "pro"}]));
        let ctx = scim_core::WriteContext {
            at: time(millis),
            ..writer(&acme.id)
        };
        store.insert(&ctx, &resource, &[]).await.unwrap();
    }
    let query = scim_core::license::AuditQuery::default();
    let before = store.audit(&acme.id, &query).await.unwrap();
    assert_eq!(before.len(), 3);
    assert_eq!(store.prune_audit(cutoff, 1_000).await.unwrap(), 2);
    let after = store.audit(&acme.id, &query).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(
        (after[0].user.as_str(), after[0].seq),
        ("licensed2", before[2].seq)
    );

    // Jobs: the ended one goes, the one still pending stays.
    let job = |id: &str| crate::jobs::new_job(id, &acme, time(1_000));
    store.create_job(&job("ended")).await.unwrap();
    let lease = scim_core::bulk::Lease {
        owner: "p".into(),
        now: time(1_000),
        until: time(1_000) + Duration::seconds(30),
    };
    let claimed = store.claim_job(&lease).await.unwrap().expect("the job");
    assert_eq!(claimed.job.id, "ended");
    store
        .finish_job("ended", &lease, scim_core::bulk::JobStatus::Completed)
        .await
        .unwrap();
    store.create_job(&job("waiting")).await.unwrap();
    assert_eq!(store.prune_jobs(cutoff, 1_000).await.unwrap(), 1);
    assert_eq!(store.get_job(&acme.id, "ended").await.unwrap(), None);
    assert!(store.get_job(&acme.id, "waiting").await.unwrap().is_some());
}
