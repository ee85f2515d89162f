//! The bulk job part of the storage contract: leases, checkpoints and resumption.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use scim_core::WriteContext;
use scim_core::bulk::{BulkJob, BulkOutcome, JobStatus, Lease, NewBulkJob, OperationError};
use scim_core::events::{ASYNC_RESPONSE, ResourceEvent};
use scim_core::ports::{BulkJobRepository, EventLog};
use scim_core::tenant::Tenant;
use scim_core::{ResourceKind, ScimError, StoreError};
use serde_json::json;

use crate::StoreFactory;
use crate::contract::with_tenant;
use crate::fixtures::{time, writer};

pub(crate) fn new_job(id: &str, tenant: &Tenant, created: DateTime<Utc>) -> NewBulkJob {
    NewBulkJob {
        job: BulkJob {
            id: id.to_owned(),
            tenant: tenant.id.clone(),
            status: JobStatus::Pending,
            done: 0,
            total: 3,
            created,
            updated: created,
        },
        request: json!({"Operations": [{"method": "POST", "path": "/Users"}]}),
        actor: "token:k1".into(),
        cause: "POST /scim/v2/Bulk".into(),
    }
}

fn lease(owner: &str, now: DateTime<Utc>) -> Lease {
    Lease {
        owner: owner.to_owned(),
        now,
        until: now + Duration::seconds(30),
    }
}

fn outcome(index: usize, failed: bool) -> BulkOutcome {
    BulkOutcome {
        index,
        method: "POST".into(),
        bulk_id: Some(format!("b{index}")),
        resource: (!failed).then(|| (ResourceKind::User, format!("u{index}"))),
        version: (!failed).then(|| "W/\"1\"".to_owned()),
        status: if failed { 409 } else { 201 },
        error: failed.then(|| OperationError::from(&ScimError::Uniqueness("taken".into()))),
    }
}

/// The checkpoint's write: the outcomes' completion events, as the core records them.
fn completion(tenant: &Tenant, outcomes: &[BulkOutcome]) -> WriteContext {
    writer(&tenant.id).with_events(
        outcomes
            .iter()
            .map(|outcome| ResourceEvent::async_response("job-1", outcome))
            .collect(),
    )
}

/// A job is claimed by one process at a time; its checkpoints need the live lease; once the
/// lease expires another process resumes it with the outcomes checkpointed, and finishes it.
pub async fn bulk_jobs_are_leased_checkpointed_and_resumed<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    let t0 = time(1_000_000);
    store
        .create_job(&new_job("job-1", &acme, t0))
        .await
        .unwrap();
    assert_eq!(store.get_job(&globex.id, "job-1").await.unwrap(), None);
    let pending = store.get_job(&acme.id, "job-1").await.unwrap().unwrap();
    assert_eq!(
        (pending.status, pending.done, pending.total),
        (JobStatus::Pending, 0, 3)
    );

    let a = lease("process-a", t0);
    let claimed = store.claim_job(&a).await.unwrap().unwrap();
    assert_eq!((claimed.attempts, claimed.outcomes.len()), (1, 0));
    assert_eq!(claimed.request["Operations"][0]["path"], "/Users");
    assert_eq!(
        (claimed.actor.as_str(), claimed.job.id.as_str()),
        ("token:k1", "job-1")
    );
    // The lease is live: nobody else gets the job.
    let b_early = lease("process-b", t0 + Duration::seconds(10));
    assert!(store.claim_job(&b_early).await.unwrap().is_none());
    let first = [outcome(0, false), outcome(2, true)];
    store
        .checkpoint_job(&completion(&acme, &first), "job-1", &a, 0, &first)
        .await
        .unwrap();
    let second = [outcome(1, false)];
    assert!(matches!(
        store
            .checkpoint_job(&completion(&acme, &second), "job-1", &b_early, 2, &second)
            .await,
        Err(StoreError::NotFound)
    ));
    let running = store.get_job(&acme.id, "job-1").await.unwrap().unwrap();
    assert_eq!((running.status, running.done), (JobStatus::Running, 2));

    // Process A dies; once its lease has expired, B resumes where A's checkpoint left off.
    let b = lease("process-b", t0 + Duration::seconds(31));
    let resumed = store.claim_job(&b).await.unwrap().unwrap();
    assert_eq!(resumed.attempts, 2);
    assert_eq!(resumed.outcomes, first);
    assert!(matches!(
        store
            .checkpoint_job(&completion(&acme, &second), "job-1", &a, 2, &second)
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .checkpoint_job(&completion(&acme, &second), "job-1", &b, 2, &second)
        .await
        .unwrap();
    assert!(matches!(
        store.finish_job("job-1", &a, JobStatus::Completed).await,
        Err(StoreError::NotFound)
    ));
    store
        .finish_job("job-1", &b, JobStatus::Completed)
        .await
        .unwrap();
    let done = store.get_job(&acme.id, "job-1").await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.done, done.total),
        (JobStatus::Completed, 3, 3)
    );
    assert_eq!(
        store.job_outcomes("job-1").await.unwrap(),
        [outcome(0, false), outcome(2, true), outcome(1, false)]
    );
    // Each operation's completion event, once: none from the refused checkpoints.
    let recorded: Vec<(String, Option<String>, serde_json::Value)> = store
        .events_after(&acme.id, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|stored| {
            let payload = stored.event.events[ASYNC_RESPONSE].clone();
            (stored.event.subject, stored.event.txn, payload)
        })
        .collect();
    assert_eq!(
        recorded,
        [
            (
                "/Users/u0".to_owned(),
                Some("job-1:0".to_owned()),
                json!({"method": "POST", "bulkId": "b0", "version": "W/\"1\"", "status": "201"})
            ),
            (
                "/BulkJobs/job-1".to_owned(),
                Some("job-1:2".to_owned()),
                json!({"method": "POST", "bulkId": "b2", "status": "409", "response": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "409", "scimType": "uniqueness", "detail": "taken"}})
            ),
            (
                "/Users/u1".to_owned(),
                Some("job-1:1".to_owned()),
                json!({"method": "POST", "bulkId": "b1", "version": "W/\"1\"", "status": "201"})
            ),
        ]
    );
    // A finished job is never claimed again, even long after.
    let later = lease("process-c", t0 + Duration::days(1));
    assert!(store.claim_job(&later).await.unwrap().is_none());
}

/// Processes racing for jobs each get different ones, oldest first, until none is left.
pub async fn concurrent_claims_take_each_job_once<F: StoreFactory>(factory: &F) {
    let store = Arc::new(factory.open().await);
    let acme = with_tenant(&store, "acme").await;
    let t0 = time(5_000_000);
    for n in 0..12 {
        let created = t0 + Duration::milliseconds(n);
        store
            .create_job(&new_job(&format!("job-{n:02}"), &acme, created))
            .await
            .unwrap();
    }
    let mut claimers = Vec::new();
    for worker in 0..4 {
        let store = Arc::clone(&store);
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let lease = lease(&format!("process-{worker}"), t0 + Duration::seconds(1));
            while let Some(job) = store.claim_job(&lease).await.unwrap() {
                mine.push(job.job.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for claimer in claimers {
        let mine = claimer.await.unwrap();
        // Each claim takes the oldest job left, so what one process got comes in order.
        assert!(mine.is_sorted(), "claimed out of order: {mine:?}");
        all.extend(mine);
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!((all.len(), distinct.len()), (12, 12), "{all:?}");
}

/// Claims share the runners between tenants: the oldest job of the tenant whose jobs were
/// served longest ago goes first, so a tenant with a long queue (or a long job handed back
/// after its slice) waits behind another tenant's job; a job handed back is claimable at
/// once, and its claim is not counted as an attempt.
pub async fn job_claims_take_turns_between_tenants<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    let t0 = time(1_000_000);
    // acme queued three jobs before globex queued one.
    for (n, id) in ["acme-1", "acme-2", "acme-3"].iter().enumerate() {
        let at = t0 + Duration::seconds(n as i64);
        store.create_job(&new_job(id, &acme, at)).await.unwrap();
    }
    store
        .create_job(&new_job("globex-1", &globex, t0 + Duration::seconds(10)))
        .await
        .unwrap();
    let claim = |at: DateTime<Utc>| {
        let store = &store;
        async move {
            let claimed = store
                .claim_job(&lease("runner", at))
                .await
                .unwrap()
                .unwrap();
            (claimed.job.id, claimed.attempts)
        }
    };
    // acme's oldest first (acme was served longest ago: when it queued its first job)...
    let now = t0 + Duration::seconds(20);
    assert_eq!(claim(now).await, ("acme-1".to_owned(), 1));
    // ...handed back after a slice: acme was just served, so globex goes next,
    store
        .release_job("acme-1", &lease("runner", now + Duration::seconds(1)))
        .await
        .unwrap();
    let later = now + Duration::seconds(2);
    assert_eq!(claim(later).await, ("globex-1".to_owned(), 1));
    // then acme's job again, at once, its attempts as they were.
    assert_eq!(claim(later).await, ("acme-1".to_owned(), 1));
    // A job held by another runner cannot be handed back by this one.
    assert!(matches!(
        store
            .release_job("acme-1", &lease("someone-else", later))
            .await,
        Err(StoreError::NotFound)
    ));
}
