//! The push-delivery part of the storage contract: events are queued for the receivers a
//! tenant has when they are recorded; claims take each subject's deliveries one at a time
//! in order, lease them, and never hand one delivery to two claimers at once; settling
//! keeps the receivers' figures; dead letters wait for a re-drive.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use scim_core::events::{ClaimedDelivery, ResourceEvent, Settled, Settlement};
use scim_core::ports::{ResourceRepository, Webhooks};
use scim_core::tenant::TenantId;
use scim_core::{Resource, ResourceKind, StoreError};
use serde_json::json;

use crate::contract::with_tenant;
use crate::fixtures::{next_version, receiver, time, user, writer};
use crate::{ContractStore, StoreFactory, TestStore};

async fn insert<S: ContractStore>(store: &TestStore<S>, tenant: &TenantId, resource: &Resource) {
    let event = ResourceEvent::created(resource, json!({"id": resource.id}));
    store
        .insert(&writer(tenant).with_events(vec![event]), resource, &[])
        .await
        .unwrap();
}

/// `(subject, attempts)` of what a claim at `now` takes.
async fn claim<S: ContractStore>(
    store: &TestStore<S>,
    now: DateTime<Utc>,
    limit: usize,
) -> Vec<ClaimedDelivery> {
    store
        .claim_deliveries(now, now + chrono::Duration::seconds(30), limit)
        .await
        .unwrap()
}

fn taken(claimed: &[ClaimedDelivery]) -> Vec<(String, u32)> {
    claimed
        .iter()
        .map(|d| (d.event.event.subject.clone(), d.attempts))
        .collect()
}

fn settled(delivery: &ClaimedDelivery, settlement: Settlement) -> Settled {
    Settled {
        receiver_id: delivery.receiver.id.clone(),
        seq: delivery.event.seq,
        attempts: delivery.attempts,
        settlement,
    }
}

fn pair(subject: &str, attempts: u32) -> (String, u32) {
    (subject.to_owned(), attempts)
}

pub async fn push_deliveries_go_in_order_per_subject_until_settled<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    // Recorded before the receiver existed: never queued for it.
    insert(&store, &acme.id, &user("early", "early")).await;
    store.add_receiver(&receiver("r1", &acme)).await.unwrap();
    insert(&store, &globex.id, &user("g1", "g1")).await;

    let alice = user("alice", "alice");
    insert(&store, &acme.id, &alice).await;
    let patched = next_version(&alice, 1_500);
    let event = ResourceEvent::patched(&alice, &patched, &json!({"Operations": []}));
    store
        .update(&writer(&acme.id).with_events(vec![event]), &patched, 1, &[])
        .await
        .unwrap();
    insert(&store, &acme.id, &user("bob", "bob")).await;

    // Alice's patch waits behind her create; the lease keeps both taken from the next claim.
    let first = claim(&store, time(2_000), 10).await;
    assert_eq!(
        taken(&first),
        [pair("/Users/alice", 1), pair("/Users/bob", 1)]
    );
    assert_eq!(first[0].tenant_slug, "acme");
    assert_eq!(first[0].receiver, receiver("r1", &acme));
    assert!(
        first[0]
            .event
            .event
            .events
            .contains_key(scim_core::events::PROV_CREATE_FULL)
    );
    assert!(claim(&store, time(2_000), 10).await.is_empty());

    store
        .settle_deliveries(&[
            settled(
                &first[0],
                Settlement::Retry {
                    due: time(5_000),
                    error: "HTTP 503".into(),
                },
            ),
            settled(&first[1], Settlement::Delivered),
        ])
        .await
        .unwrap();
    // Alice's create is not due yet, and her patch still waits behind it.
    assert!(claim(&store, time(4_000), 10).await.is_empty());
    let retried = claim(&store, time(5_000), 10).await;
    assert_eq!(taken(&retried), [pair("/Users/alice", 2)]);
    assert_eq!(retried[0].event.seq, first[0].event.seq);
    store
        .settle_deliveries(&[settled(&retried[0], Settlement::Delivered)])
        .await
        .unwrap();
    let patch = claim(&store, time(5_000), 10).await;
    assert_eq!(taken(&patch), [pair("/Users/alice", 1)]);
    assert!(
        patch[0]
            .event
            .event
            .events
            .contains_key(scim_core::events::PROV_PATCH_FULL)
    );
    store
        .settle_deliveries(&[settled(
            &patch[0],
            Settlement::Dead {
                error: "HTTP 400 invalid_request".into(),
            },
        )])
        .await
        .unwrap();
    assert!(claim(&store, time(100_000), 10).await.is_empty());

    let status = store.receivers(&acme.id).await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(
        (
            status[0].delivered,
            status[0].retried,
            status[0].dead_lettered,
            status[0].pending
        ),
        (2, 1, 1, 0)
    );
    assert_eq!(status[0].oldest_pending, None);
    assert!(store.receivers(&globex.id).await.unwrap().is_empty());

    let dead = store.dead_letters(&acme.id, None, 100).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (
            dead[0].seq,
            dead[0].subject.as_str(),
            dead[0].attempts,
            dead[0].error.as_str()
        ),
        (
            patch[0].event.seq,
            "/Users/alice",
            1,
            "HTTP 400 invalid_request"
        )
    );
    assert!(
        store
            .dead_letters(&globex.id, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .dead_letters(&acme.id, Some("r9".into()), 100)
            .await
            .unwrap()
            .is_empty()
    );

    // Another tenant cannot re-drive it; its own can, and it is due at once, counted anew.
    assert_eq!(
        store.redrive(&globex.id, None, time(6_000)).await.unwrap(),
        0
    );
    assert_eq!(
        store
            .redrive(&acme.id, Some("r1".into()), time(6_000))
            .await
            .unwrap(),
        1
    );
    let status = store.receivers(&acme.id).await.unwrap();
    assert_eq!(status[0].pending, 1);
    assert_eq!(status[0].oldest_pending, Some(time(1_000)));
    let redriven = claim(&store, time(6_000), 10).await;
    assert_eq!(taken(&redriven), [pair("/Users/alice", 1)]);
    // Never settled (its process died, or outlived its lease): taken again once the
    // lease ends; the late settle of the first attempt then changes nothing.
    assert!(claim(&store, time(35_000), 10).await.is_empty());
    let retaken = claim(&store, time(36_001), 10).await;
    assert_eq!(taken(&retaken), [pair("/Users/alice", 2)]);
    store
        .settle_deliveries(&[
            settled(
                &redriven[0],
                Settlement::Retry {
                    due: time(36_002),
                    error: "late".into(),
                },
            ),
            settled(
                &redriven[0],
                Settlement::Dead {
                    error: "late".into(),
                },
            ),
        ])
        .await
        .unwrap();
    assert!(
        claim(&store, time(36_003), 10).await.is_empty(),
        "still leased"
    );
    assert!(
        store
            .dead_letters(&acme.id, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .settle_deliveries(&[settled(&retaken[0], Settlement::Delivered)])
        .await
        .unwrap();
    let status = store.receivers(&acme.id).await.unwrap();
    assert_eq!(
        (
            status[0].delivered,
            status[0].retried,
            status[0].dead_lettered,
            status[0].pending
        ),
        (3, 1, 1, 0)
    );

    // Removing the receiver drops its queue; later events are queued for nobody.
    assert!(matches!(
        store.remove_receiver(&globex.id, "r1").await,
        Err(StoreError::NotFound)
    ));
    store.remove_receiver(&acme.id, "r1").await.unwrap();
    assert!(store.receivers(&acme.id).await.unwrap().is_empty());
    insert(&store, &acme.id, &user("carol", "carol")).await;
    assert!(claim(&store, time(100_000), 10).await.is_empty());
}

pub async fn concurrent_delivery_claims_take_each_delivery_once<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    store.add_receiver(&receiver("r1", &acme)).await.unwrap();
    store.add_receiver(&receiver("r2", &acme)).await.unwrap();
    let ctx = writer(&acme.id);
    // 60 subjects (one transaction), so 120 deliveries, none waiting behind another.
    let users: Vec<Resource> = (0..60)
        .map(|i| user(&format!("u{i:02}"), &format!("user{i:02}")))
        .collect();
    let writes: Vec<_> = users
        .iter()
        .map(|resource| scim_core::ports::BatchWrite::Insert {
            resource: resource.clone(),
            members: Vec::new(),
            events: vec![ResourceEvent::deleted(
                ResourceKind::User,
                &resource.id,
                None,
            )],
        })
        .collect();
    for result in store.write_batch(&ctx, &writes).await.unwrap() {
        result.unwrap();
    }
    let second = Arc::new(store.reopen().await);
    let mut claimers = Vec::new();
    for claimer in 0..4 {
        let other = Arc::clone(&second);
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let now = time(2_000);
                let claimed = other
                    .claim_deliveries(now, now + chrono::Duration::seconds(30), 7 + claimer)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(
                    claimed
                        .into_iter()
                        .map(|d| (d.receiver.id, d.event.event.subject)),
                );
            }
        }));
    }
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 120, "each delivery taken exactly once");
    assert_eq!(distinct.len(), 120);
}
