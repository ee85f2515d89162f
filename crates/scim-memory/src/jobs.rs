//! `BulkJobRepository`: asynchronous bulk jobs, kept with their tenant, claimed under
//! leases (the lock makes each claim atomic), checkpointed with their outcomes.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use scim_core::bulk::{BulkJob, BulkOutcome, ClaimedJob, JobStatus, Lease, NewBulkJob};
use scim_core::ports::BulkJobRepository;
use scim_core::tenant::TenantId;
use scim_core::{StoreError, WriteContext};
use serde_json::{Value, json};

use crate::{MemoryStore, TenantData};

/// A job, its request, and who holds it.
#[derive(Debug, Clone)]
pub(crate) struct StoredJob {
    job: BulkJob,
    request: Value,
    actor: String,
    cause: String,
    attempts: u32,
    lease_owner: Option<String>,
    lease_until: Option<DateTime<Utc>>,
    outcomes: Vec<BulkOutcome>,
}

impl StoredJob {
    /// Whether a claim at `now` can take it: pending, or running under a lease that ended.
    fn claimable(&self, now: DateTime<Utc>) -> bool {
        match self.job.status {
            JobStatus::Pending => true,
            JobStatus::Running => self.lease_until.is_some_and(|until| until < now),
            _ => false,
        }
    }

    /// Whether `lease.owner` holds it, running.
    fn held_by(&self, lease: &Lease) -> bool {
        self.job.status == JobStatus::Running
            && self.lease_owner.as_deref() == Some(lease.owner.as_str())
    }
}

impl TenantData {
    fn job_mut(&mut self, id: &str) -> Option<&mut StoredJob> {
        self.jobs.iter_mut().find(|stored| stored.job.id == id)
    }

    fn holds_job(&self, id: &str) -> bool {
        self.jobs.iter().any(|stored| stored.job.id == id)
    }

    /// When its jobs were last served: the latest update of a job still to run.
    fn last_served(&self) -> Option<DateTime<Utc>> {
        let open = self
            .jobs
            .iter()
            .filter(|stored| matches!(stored.job.status, JobStatus::Pending | JobStatus::Running));
        open.map(|stored| stored.job.updated).max()
    }
}

#[async_trait]
impl BulkJobRepository for MemoryStore {
    async fn create_job(&self, new: &NewBulkJob) -> Result<(), StoreError> {
        self.write(&new.job.tenant, |data| {
            if data.holds_job(&new.job.id) {
                return Err(StoreError::Conflict {
                    attribute: "id".into(),
                });
            }
            data.jobs.push(StoredJob {
                job: new.job.clone(),
                request: new.request.clone(),
                actor: new.actor.clone(),
                cause: new.cause.clone(),
                attempts: 0,
                lease_owner: None,
                lease_until: None,
                outcomes: Vec::new(),
            });
            Ok(())
        })
    }

    async fn get_job(&self, tenant: &TenantId, id: &str) -> Result<Option<BulkJob>, StoreError> {
        Ok(self
            .read(tenant, |data| {
                let mut jobs = data.jobs.iter();
                jobs.find(|stored| stored.job.id == id)
                    .map(|stored| stored.job.clone())
            })
            .flatten())
    }

    async fn job_outcomes(&self, id: &str) -> Result<Vec<BulkOutcome>, StoreError> {
        let state = self.lock();
        let mut jobs = state.tenants.values().flat_map(|data| &data.jobs);
        Ok(jobs
            .find(|stored| stored.job.id == id)
            .map(|stored| stored.outcomes.clone())
            .unwrap_or_default())
    }

    async fn claim_job(&self, lease: &Lease) -> Result<Option<ClaimedJob>, StoreError> {
        let mut state = self.lock();
        // Tenant by tenant, the one served longest ago first; its oldest claimable job.
        let mut line: Vec<(DateTime<Utc>, TenantId)> = (state.tenants.iter())
            .filter_map(|(id, data)| Some((data.last_served()?, id.clone())))
            .collect();
        line.sort();
        for (_, tenant) in line {
            let Some(data) = state.tenants.get_mut(&tenant) else {
                continue;
            };
            let mut open: Vec<&mut StoredJob> = (data.jobs.iter_mut())
                .filter(|stored| stored.claimable(lease.now))
                .collect();
            open.sort_by(|a, b| (a.job.created, &a.job.id).cmp(&(b.job.created, &b.job.id)));
            if let Some(stored) = open.into_iter().next() {
                stored.job.status = JobStatus::Running;
                stored.job.updated = lease.now;
                stored.lease_owner = Some(lease.owner.clone());
                stored.lease_until = Some(lease.until);
                stored.attempts += 1;
                return Ok(Some(ClaimedJob {
                    job: stored.job.clone(),
                    request: stored.request.clone(),
                    actor: stored.actor.clone(),
                    cause: stored.cause.clone(),
                    outcomes: stored.outcomes.clone(),
                    attempts: stored.attempts,
                }));
            }
        }
        Ok(None)
    }

    async fn checkpoint_job(
        &self,
        ctx: &WriteContext,
        id: &str,
        lease: &Lease,
        first: usize,
        outcomes: &[BulkOutcome],
    ) -> Result<(), StoreError> {
        self.write(&ctx.tenant, |data| {
            let stored = data.job_mut(id).filter(|stored| stored.held_by(lease));
            let stored = stored.ok_or(StoreError::NotFound)?;
            stored.outcomes.truncate(first);
            stored.outcomes.extend_from_slice(outcomes);
            stored.job.done = first + outcomes.len();
            stored.job.updated = lease.now;
            stored.lease_until = Some(lease.until);
            data.record(ctx.at, ctx.events.iter().cloned());
            Ok(())
        })
    }

    async fn finish_job(
        &self,
        id: &str,
        lease: &Lease,
        status: JobStatus,
    ) -> Result<(), StoreError> {
        self.write_where(
            |data| data.holds_job(id),
            |data| {
                let owner = Some(lease.owner.as_str());
                let stored = data
                    .job_mut(id)
                    .filter(|s| s.lease_owner.as_deref() == owner);
                let stored = stored.ok_or(StoreError::NotFound)?;
                stored.job.status = status;
                stored.job.updated = lease.now;
                // The request is not needed any more, and may hold passwords.
                stored.request = json!({});
                stored.lease_owner = None;
                stored.lease_until = None;
                Ok(())
            },
        )
    }

    async fn release_job(&self, id: &str, lease: &Lease) -> Result<(), StoreError> {
        self.write_where(
            |data| data.holds_job(id),
            |data| {
                let stored = data.job_mut(id).filter(|stored| stored.held_by(lease));
                let stored = stored.ok_or(StoreError::NotFound)?;
                stored.lease_owner = None;
                // Claimable at once: a claim takes jobs whose lease ended before it.
                stored.lease_until = Some(lease.now - Duration::microseconds(1));
                stored.attempts = stored.attempts.saturating_sub(1);
                stored.job.updated = lease.now;
                Ok(())
            },
        )
    }

    async fn prune_jobs(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let mut left = usize::try_from(limit).unwrap_or(usize::MAX);
        for data in state.tenants.values_mut() {
            data.jobs.retain(|stored| {
                let ended = matches!(stored.job.status, JobStatus::Completed | JobStatus::Failed);
                let doomed = ended && stored.job.updated < before && left > 0;
                left -= usize::from(doomed);
                !doomed
            });
        }
        Ok(limit - left as u64)
    }

    async fn others_waiting(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let state = self.lock();
        let mut others = state.tenants.iter().filter(|(id, _)| *id != tenant);
        Ok(others.any(|(_, data)| data.jobs.iter().any(|stored| stored.claimable(now))))
    }
}
