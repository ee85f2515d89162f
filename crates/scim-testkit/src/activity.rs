//! The provisioning activity's contract: entries of a batch are numbered in order, read
//! per tenant newest first with the query's filters and page, pruned oldest first in
//! bounded steps, and gone with their tenant.

use scim_core::activity::{ActivityEntry, ActivityQuery, ActivitySummary, Outcome};
use scim_core::ports::{ActivityLog, TenantDirectory};
use scim_core::tenant::{PurgeStep, TenantId};

use crate::StoreFactory;
use crate::contract::with_tenant;
use crate::fixtures::time;

fn entry(tenant: &TenantId, at: i64, status: u16, kind: &str, name: &str) -> ActivityEntry {
    ActivityEntry {
        seq: 0,
        tenant: tenant.clone(),
        at: time(at),
        client: "Okta".into(),
        credential: "token:t1".into(),
        method: "POST".into(),
        resource_type: kind.into(),
        resource_id: Some(format!("id-{name}")),
        resource_name: Some(name.into()),
        status,
        scim_type: (status >= 400).then(|| "invalidValue".to_owned()),
        detail: (status >= 400).then(|| format!("{name} refused")),
    }
}

fn names(entries: &[ActivityEntry]) -> Vec<&str> {
    entries
        .iter()
        .map(|entry| entry.resource_name.as_deref().unwrap_or_default())
        .collect()
}

/// Entries are kept and read as the query says, per tenant, newest first.
pub async fn activity_is_kept_read_and_pruned<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await.id;
    let globex = with_tenant(&store, "globex").await.id;
    store
        .record_activity(&[
            entry(&acme, 10, 201, "User", "ada"),
            entry(&acme, 20, 400, "User", "bob"),
            entry(&globex, 25, 201, "User", "zed"),
            entry(&acme, 30, 200, "Group", "eng"),
        ])
        .await
        .unwrap();
    store
        .record_activity(&[entry(&acme, 40, 409, "User", "cy")])
        .await
        .unwrap();
    let all = store
        .activity(&acme, &ActivityQuery::latest(10))
        .await
        .unwrap();
    assert_eq!(names(&all), ["cy", "eng", "bob", "ada"]);
    assert!(all.windows(2).all(|pair| pair[0].seq > pair[1].seq));
    let bob = &all[2];
    assert_eq!(
        (bob.status, bob.scim_type.as_deref(), bob.detail.as_deref()),
        (400, Some("invalidValue"), Some("bob refused"))
    );
    assert_eq!(bob.at, time(20));
    assert_eq!(bob.credential, "token:t1");
    // Counted per hour: every request of the tenant since then, the refusals, the last.
    let summary = store.activity_summary(&acme, time(0)).await.unwrap();
    assert_eq!(
        (summary.requests, summary.failures, summary.last),
        (4, 2, Some(time(40)))
    );
    let theirs = store.activity_summary(&globex, time(0)).await.unwrap();
    assert_eq!((theirs.requests, theirs.failures), (1, 0));
    let later = store
        .activity_summary(&acme, time(0) + chrono::TimeDelta::hours(2))
        .await
        .unwrap();
    assert_eq!(
        later,
        ActivitySummary::default(),
        "no request in a later hour"
    );

    let query = |change: fn(&mut ActivityQuery)| {
        let mut query = ActivityQuery::latest(10);
        change(&mut query);
        query
    };
    let failures = store
        .activity(&acme, &query(|q| q.outcome = Some(Outcome::Failure)))
        .await
        .unwrap();
    assert_eq!(names(&failures), ["cy", "bob"]);
    let groups = store
        .activity(&acme, &query(|q| q.resource_type = Some("Group".into())))
        .await
        .unwrap();
    assert_eq!(names(&groups), ["eng"]);
    let window = store
        .activity(
            &acme,
            &query(|q| {
                q.since = Some(time(20));
                q.until = Some(time(30));
            }),
        )
        .await
        .unwrap();
    assert_eq!(names(&window), ["eng", "bob"]);
    let first = store
        .activity(&acme, &ActivityQuery::latest(2))
        .await
        .unwrap();
    let next = store
        .activity(
            &acme,
            &ActivityQuery {
                before: Some(first[1].seq),
                ..ActivityQuery::latest(2)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (names(&first), names(&next)),
        (vec!["cy", "eng"], vec!["bob", "ada"])
    );

    // Pruning: the oldest first, at most the limit, of every tenant.
    assert_eq!(store.prune_activity(time(30), 2).await.unwrap(), 2);
    assert_eq!(store.prune_activity(time(30), 2).await.unwrap(), 1);
    assert_eq!(store.prune_activity(time(30), 2).await.unwrap(), 0);
    let left = store
        .activity(&acme, &ActivityQuery::latest(10))
        .await
        .unwrap();
    assert_eq!(names(&left), ["cy", "eng"]);
    assert!(
        store
            .activity(&globex, &ActivityQuery::latest(10))
            .await
            .unwrap()
            .is_empty()
    );

    // A deleted tenant's activity goes with it, in bounded steps.
    let mut step = PurgeStep::default();
    while !step.finished {
        step = store.purge_tenant(&acme, 1).await.unwrap();
    }
    assert!(
        store
            .activity(&acme, &ActivityQuery::latest(10))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.activity_summary(&acme, time(0)).await.unwrap(),
        ActivitySummary::default()
    );
}
