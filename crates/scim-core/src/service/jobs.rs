//! Asynchronous bulk jobs (`Prefer: respond-async`): accepting a BulkRequest as a job, reading
//! a job, and running jobs through the bulk engine with a checkpoint after every step.
//!
//! A job is validated whole when it is submitted (a request-level problem is the submitter's
//! error, at once), stored, and run by whichever process claims it. A process that dies
//! leaves its lease to expire; the next claim resumes the job after its last checkpoint (see
//! [`super::bulk`] for how the step in flight is recognised). A job claimed
//! [`MAX_ATTEMPTS`] times without finishing is failed rather than retried forever.
//!
//! Jobs share the runners fairly between tenants: a run stops at the first checkpoint after
//! [`SLICE_OPERATIONS`] operations and hands the job back (its lease released, the
//! attempt not counted), and a claim takes the oldest job of the tenant whose jobs were
//! served longest ago. A tenant's 100,000-user import no longer holds another tenant's
//! ten-user job back until it ends: they take turns.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use serde_json::Value;

use super::bulk::{AfterCheckpoint, BulkService, Checkpoints, JobRun};
use super::feed::outage;
use crate::bulk::{
    BulkJob, BulkOutcome, ClaimedJob, JobStatus, Lease, MAX_ATTEMPTS, NewBulkJob, parse_bulk,
    without_passwords,
};
use crate::context::{Caller, WriteContext};
use crate::error::{ScimError, ScimResult, StoreError};
use crate::events::ResourceEvent;
use crate::ports::{BulkJobRepository, Clock, IdGenerator, TenantDirectory};
use crate::schema::{TenantSchema, TenantSchemas};
use crate::tenant::TenantId;

/// Called with a job's state after every checkpoint, for progress reports.
pub type Progress = dyn Fn(&BulkJob) + Send + Sync;

/// Operations a run processes before it hands its job back for other tenants' jobs.
pub const SLICE_OPERATIONS: usize = 500;

/// Asynchronous /Bulk (RFC 9967 `Prefer: respond-async`): submits jobs, runs them in slices
/// under a lease, and reports their progress and outcomes.
#[derive(Clone)]
pub struct BulkJobService {
    bulk: BulkService,
    jobs: Arc<dyn BulkJobRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    lease: Duration,
    /// Where a job's tenant's own attributes come from (none: the server's schema only).
    tenant_schemas: Option<(Arc<dyn TenantDirectory>, Arc<TenantSchemas>)>,
    /// Operations a run processes before it hands its job back.
    slice: usize,
}

impl BulkJobService {
    /// `lease`: how long a process holds a job between checkpoints before another may take
    /// it over.
    pub fn new(
        bulk: BulkService,
        jobs: Arc<dyn BulkJobRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        lease: Duration,
    ) -> Self {
        Self {
            bulk,
            jobs,
            clock,
            ids,
            lease,
            tenant_schemas: None,
            slice: SLICE_OPERATIONS,
        }
    }

    /// Runs jobs against their tenant's own attributes, read when a job is claimed.
    #[must_use]
    pub fn with_tenant_schemas(
        mut self,
        tenants: Arc<dyn TenantDirectory>,
        schemas: Arc<TenantSchemas>,
    ) -> Self {
        self.tenant_schemas = Some((tenants, schemas));
        self
    }

    /// The schema of `tenant` when it has attributes of its own.
    async fn schema_of(&self, tenant: &TenantId) -> ScimResult<Option<TenantSchema>> {
        let Some((tenants, schemas)) = &self.tenant_schemas else {
            return Ok(None);
        };
        let found = tenants
            .tenant_by_id(tenant)
            .await
            .map_err(|_| ScimError::Unavailable)?;
        Ok(found.and_then(|t| schemas.of(&t.custom_attributes)))
    }

    /// Accepts a BulkRequest body as a pending job, once it parses as a whole.
    pub async fn submit(&self, caller: &Caller, body: &Value) -> ScimResult<BulkJob> {
        let request = parse_bulk(body, &self.bulk.limits())?;
        let now = self.clock.now();
        let job = BulkJob {
            id: self.ids.new_id(),
            tenant: caller.tenant.clone(),
            status: JobStatus::Pending,
            done: 0,
            total: request.entries.len(),
            created: now,
            updated: now,
        };
        let new = NewBulkJob {
            job: job.clone(),
            // Passwords are dropped on every write: the stored request never holds one.
            request: without_passwords(body),
            actor: caller.actor.clone(),
            cause: caller.cause.clone(),
        };
        self.jobs
            .create_job(&new)
            .await
            .map_err(|e| job_error(&e))?;
        Ok(job)
    }

    /// The tenant's job, and its outcomes once it has completed. Another tenant's job is
    /// not found, as an unknown one.
    pub async fn get(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> ScimResult<(BulkJob, Option<Vec<BulkOutcome>>)> {
        let job = self
            .jobs
            .get_job(tenant, id)
            .await
            .map_err(|e| job_error(&e))?
            .ok_or_else(|| ScimError::NotFound(format!("bulk job {id} not found")))?;
        if job.status != JobStatus::Completed {
            return Ok((job, None));
        }
        let outcomes = self
            .jobs
            .job_outcomes(id)
            .await
            .map_err(|e| job_error(&e))?;
        Ok((job, Some(outcomes)))
    }

    /// Hands a job back after `operations` instead of [`SLICE_OPERATIONS`].
    #[must_use]
    pub fn with_slice(mut self, operations: usize) -> Self {
        self.slice = operations.max(1);
        self
    }

    /// Claims a job as `owner` (the tenant served longest ago first) and runs it for a
    /// slice: the job as it ended (`Completed`, `Failed`), or as it was handed back for
    /// other jobs (`Running`); `None` when no job is waiting. An error leaves the job to be
    /// resumed once the lease expires.
    pub async fn run_next(&self, owner: &str, progress: &Progress) -> ScimResult<Option<BulkJob>> {
        let Some(claimed) = self
            .jobs
            .claim_job(&self.lease_for(owner))
            .await
            .map_err(|e| job_error(&e))?
        else {
            return Ok(None);
        };
        let ClaimedJob {
            mut job,
            request,
            actor,
            cause,
            outcomes,
            attempts,
        } = claimed;
        let parsed = parse_bulk(&request, &self.bulk.limits());
        let request = match parsed {
            Ok(request) if attempts <= MAX_ATTEMPTS => request,
            // Accepted once, so only a change of limits or a job that kept killing its
            // processes gets here.
            _ => return self.finish(job, owner, JobStatus::Failed).await.map(Some),
        };
        let schema = self.schema_of(&job.tenant).await?;
        let caller = Caller::new(job.tenant.clone(), actor, cause).with_schema(schema);
        let mut checkpoints = JobCheckpoints {
            service: self,
            caller: caller.clone(),
            job: job.clone(),
            owner,
            stored: outcomes.len(),
            progress,
            slice_ends_at: outcomes.len().saturating_add(self.slice),
            paused: false,
        };
        let outcomes = self
            .bulk
            .run(
                &caller,
                &request,
                Some(JobRun {
                    job_id: &job.id,
                    outcomes,
                    resumed: attempts > 1,
                    checkpoints: &mut checkpoints,
                }),
            )
            .await?;
        if checkpoints.paused {
            let job = checkpoints.job.clone();
            self.jobs
                .release_job(&job.id, &self.lease_for(owner))
                .await
                .map_err(|e| job_error(&e))?;
            return Ok(Some(job));
        }
        // What ended the run without a step (failures before any write, failOnErrors).
        checkpoints.checkpoint(&outcomes).await?;
        job.done = outcomes.len();
        self.finish(job, owner, JobStatus::Completed)
            .await
            .map(Some)
    }

    async fn finish(
        &self,
        mut job: BulkJob,
        owner: &str,
        status: JobStatus,
    ) -> ScimResult<BulkJob> {
        let lease = self.lease_for(owner);
        self.jobs
            .finish_job(&job.id, &lease, status)
            .await
            .map_err(|e| job_error(&e))?;
        job.status = status;
        job.updated = lease.now;
        Ok(job)
    }

    fn lease_for(&self, owner: &str) -> Lease {
        let now = self.clock.now();
        Lease {
            owner: owner.to_owned(),
            now,
            until: now + self.lease,
        }
    }
}

/// A running job's checkpoints: stores the outcomes not stored yet, renewing the lease.
struct JobCheckpoints<'s> {
    service: &'s BulkJobService,
    caller: Caller,
    job: BulkJob,
    owner: &'s str,
    stored: usize,
    progress: &'s Progress,
    /// Where this run's slice ends (outcomes in all).
    slice_ends_at: usize,
    /// Whether the run stopped at a checkpoint for the slice's end.
    paused: bool,
}

#[async_trait]
impl Checkpoints for JobCheckpoints<'_> {
    async fn checkpoint(&mut self, outcomes: &[BulkOutcome]) -> ScimResult<AfterCheckpoint> {
        // The circular step may amend outcomes it already pushed, never stored ones.
        let fresh = &outcomes[self.stored.min(outcomes.len())..];
        let lease = self.service.lease_for(self.owner);
        // Each operation's completion (RFC 9967 asyncresp), once: with its outcome.
        let ctx = WriteContext::new(&self.caller, lease.now).with_events(
            fresh
                .iter()
                .map(|outcome| ResourceEvent::async_response(&self.job.id, outcome))
                .collect(),
        );
        self.service
            .jobs
            .checkpoint_job(&ctx, &self.job.id, &lease, self.stored, fresh)
            .await
            .map_err(|e| job_error(&e))?;
        self.stored = outcomes.len();
        self.job.done = outcomes.len();
        self.job.status = JobStatus::Running;
        self.job.updated = lease.now;
        (self.progress)(&self.job);
        // The slice is over; unless the job is done anyway, it goes back in line when
        // another tenant has a job waiting (else it runs another slice: handing it back
        // would only make it read its outcomes again). A store that cannot say lets the
        // run go on, its progress stored: the next checkpoint finds out whether it is down.
        if outcomes.len() >= self.slice_ends_at && outcomes.len() < self.job.total {
            let others = self
                .service
                .jobs
                .others_waiting(&self.job.tenant, lease.now)
                .await
                .unwrap_or(false);
            if others {
                self.paused = true;
                return Ok(AfterCheckpoint::Pause);
            }
            self.slice_ends_at = outcomes.len().saturating_add(self.service.slice);
        }
        Ok(AfterCheckpoint::Go)
    }
}

/// A job's store failure: a lost lease means another process runs the job now.
fn job_error(error: &StoreError) -> ScimError {
    match error {
        StoreError::NotFound => {
            ScimError::Conflict("the bulk job is held by another process".into())
        }
        other => outage(other),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::{TimeZone, Utc};
    use serde_json::{Map, json};

    use super::*;
    use crate::bulk::{BULK_REQUEST_SCHEMA, BulkLimits, derived_id};
    use crate::ports::{
        BatchWrite, MockBulkJobRepository, MockClock, MockIdGenerator, MockResourceRepository,
    };
    use crate::resource::{Meta, Resource, ResourceKind};
    use crate::schema::{SchemaRegistry, USER_SCHEMA};
    use crate::service::ResourceService;

    fn service(repo: MockResourceRepository, jobs: MockBulkJobRepository) -> BulkJobService {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(|| Utc.timestamp_opt(1_700_000_000, 0).unwrap());
        let clock: Arc<dyn Clock> = Arc::new(clock);
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().never();
        let ids: Arc<dyn IdGenerator> = Arc::new(ids);
        let resources = ResourceService::new(
            Arc::new(repo),
            Arc::new(SchemaRegistry::standard()),
            Arc::clone(&clock),
            Arc::clone(&ids),
        );
        let bulk = BulkService::new(resources, BulkLimits { max_operations: 10 });
        BulkJobService::new(bulk, Arc::new(jobs), clock, ids, Duration::seconds(30))
    }

    fn post(n: usize) -> Value {
        json!({"method": "POST", "path": "/Users", "bulkId": format!("u{n}"),
            "data": {"schemas": [USER_SCHEMA], "userName": format!("user{n}")}})
    }

    fn stored_user(id: &str) -> Resource {
        let at = Utc.timestamp_opt(1_600_000_000, 0).unwrap();
        Resource {
            kind: ResourceKind::User,
            id: id.to_owned(),
            meta: Meta {
                created: at,
                last_modified: at,
                version: 1,
            },
            attributes: Map::new(),
        }
    }

    /// A pending job of three POSTs, run one operation (and one checkpoint) at a time
    /// (failOnErrors), claimed once; `writes` of them are expected to be written.
    fn three_posts_one_at_a_time(writes: usize) -> (MockResourceRepository, MockBulkJobRepository) {
        let at = Utc.timestamp_opt(1_690_000_000, 0).unwrap();
        let job = BulkJob {
            id: "job-1".into(),
            tenant: TenantId("t1".into()),
            status: JobStatus::Pending,
            done: 0,
            total: 3,
            created: at,
            updated: at,
        };
        let claimed = ClaimedJob {
            job,
            request: json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 10,
                "Operations": [post(0), post(1), post(2)]}),
            actor: "token:k1".into(),
            cause: "POST /scim/v2/Bulk".into(),
            outcomes: Vec::new(),
            attempts: 1,
        };
        let mut repo = MockResourceRepository::new();
        repo.expect_get().returning(|_, _, _, _| Ok(None));
        repo.expect_write_batch()
            .times(writes)
            .returning(|_, writes| Ok(writes.iter().map(|_| Ok(())).collect()));
        let mut jobs = MockBulkJobRepository::new();
        let mut claim = Some(claimed);
        jobs.expect_claim_job().returning(move |_| Ok(claim.take()));
        (repo, jobs)
    }

    /// A run stops at the first checkpoint past its slice and hands the job back, still
    /// running, instead of finishing it; the next claim goes on from there.
    #[tokio::test]
    async fn a_run_hands_its_job_back_when_its_slice_is_over() {
        let (repo, mut jobs) = three_posts_one_at_a_time(2);
        jobs.expect_checkpoint_job()
            .times(2)
            .returning(|_, _, _, _, _| Ok(()));
        jobs.expect_others_waiting()
            .times(1)
            .returning(|_, _| Ok(true));
        jobs.expect_release_job()
            .withf(|id, lease| id == "job-1" && lease.owner == "process-a")
            .times(1)
            .returning(|_, _| Ok(()));
        jobs.expect_finish_job().never();
        let handed_back = service(repo, jobs)
            .with_slice(2)
            .run_next("process-a", &|_| {})
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (handed_back.status, handed_back.done),
            (JobStatus::Running, 2)
        );
    }

    /// With no other tenant's job waiting, a run goes on past its slice to the job's end.
    #[tokio::test]
    async fn a_run_alone_in_line_goes_on_past_its_slice() {
        let (repo, mut jobs) = three_posts_one_at_a_time(3);
        jobs.expect_checkpoint_job()
            .returning(|_, _, _, _, _| Ok(()));
        jobs.expect_others_waiting().returning(|_, _| Ok(false));
        jobs.expect_release_job().never();
        jobs.expect_finish_job()
            .times(1)
            .returning(|_, _, _| Ok(()));
        let ended = service(repo, jobs)
            .with_slice(1)
            .run_next("process-a", &|_| {})
            .await
            .unwrap()
            .unwrap();
        assert_eq!((ended.status, ended.done), (JobStatus::Completed, 3));
    }

    /// An attempt resuming after a crash skips what was checkpointed, recognises the POST
    /// the dead attempt committed past its checkpoint (by its derived id) without writing it
    /// again, creates the rest, and stores only the new outcomes.
    #[tokio::test]
    async fn a_resumed_job_recognises_what_the_dead_attempt_committed() {
        let job = BulkJob {
            id: "job-1".into(),
            tenant: TenantId("t1".into()),
            status: JobStatus::Running,
            done: 1,
            total: 3,
            created: Utc.timestamp_opt(1_690_000_000, 0).unwrap(),
            updated: Utc.timestamp_opt(1_690_000_000, 0).unwrap(),
        };
        let checkpointed = BulkOutcome {
            index: 0,
            method: "POST".into(),
            bulk_id: Some("u0".into()),
            resource: Some((ResourceKind::User, derived_id("job-1", 0))),
            version: Some("W/\"1\"".into()),
            status: 201,
            error: None,
        };
        let claimed = ClaimedJob {
            job: job.clone(),
            request: json!({"schemas": [BULK_REQUEST_SCHEMA],
                "Operations": [post(0), post(1), post(2)]}),
            actor: "token:k1".into(),
            cause: "POST /scim/v2/Bulk".into(),
            outcomes: vec![checkpointed],
            attempts: 2,
        };
        let committed = derived_id("job-1", 1);
        let mut repo = MockResourceRepository::new();
        repo.expect_get().returning(move |_, _, id, _| {
            Ok((id == derived_id("job-1", 1)).then(|| stored_user(id)))
        });
        repo.expect_write_batch()
            .withf(|_, writes| {
                matches!(writes, [BatchWrite::Insert { resource, .. }]
                    if resource.id == derived_id("job-1", 2))
            })
            .times(1)
            .returning(|_, writes| Ok(writes.iter().map(|_| Ok(())).collect()));
        let mut jobs = MockBulkJobRepository::new();
        let mut claim = Some(claimed);
        jobs.expect_claim_job().returning(move |_| Ok(claim.take()));
        let stored = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stored);
        jobs.expect_checkpoint_job()
            .returning(move |ctx, _, lease, first, outcomes| {
                assert_eq!(ctx.events.len(), outcomes.len(), "an asyncresp per outcome");
                assert_eq!(lease.owner, "process-b");
                sink.lock().unwrap().push((first, outcomes.to_vec()));
                Ok(())
            });
        jobs.expect_finish_job()
            .withf(|id, _, status| id == "job-1" && *status == JobStatus::Completed)
            .times(1)
            .returning(|_, _, _| Ok(()));
        let ended = service(repo, jobs)
            .run_next("process-b", &|_| {})
            .await
            .unwrap()
            .unwrap();
        assert_eq!((ended.status, ended.done), (JobStatus::Completed, 3));
        let stored = stored.lock().unwrap();
        let new: Vec<(usize, usize, Option<String>)> = stored
            .iter()
            .flat_map(|(first, outcomes)| {
                outcomes.iter().enumerate().map(move |(offset, o)| {
                    (
                        first + offset,
                        o.index,
                        o.resource.clone().map(|(_, id)| id),
                    )
                })
            })
            .collect();
        assert_eq!(
            new,
            [
                (1, 1, Some(committed)),
                (2, 2, Some(derived_id("job-1", 2)))
            ]
        );
    }
}
