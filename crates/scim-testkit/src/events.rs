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
