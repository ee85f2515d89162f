//! `BulkJobRepository`: asynchronous bulk jobs, their leases and checkpointed outcomes.
//!
//! Claims are optimistic and portable: the oldest open job is read, then taken with an
//! `UPDATE … WHERE` that repeats the claim condition, so of two processes racing for a job
//! (PostgreSQL re-checks the condition after waiting on the row; SQLite serialises writers)
//! only one changes the row, and the other moves on to the next candidate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::max;
use diesel::prelude::*;
use scim_core::bulk::{BulkJob, BulkOutcome, ClaimedJob, JobStatus, Lease, NewBulkJob};
use scim_core::ports::BulkJobRepository;
use scim_core::tenant::TenantId;
use scim_core::{StoreError, WriteContext};

use crate::connection::{DbConnection, MultiBackend, execute_per_backend};
use crate::errors::from_diesel;
use crate::outbox;
use crate::rows::{CorruptRow, from_micros, to_micros};
use crate::schema::{bulk_job_outcomes, bulk_jobs};
use crate::store::DieselStore;

/// Candidates read per claim attempt (the ones other processes took are skipped).
const CLAIM_CANDIDATES: i64 = 8;

/// Outcome rows per INSERT statement.
const OUTCOME_CHUNK: usize = 500;

#[derive(Queryable, Selectable)]
#[diesel(table_name = bulk_jobs, check_for_backend(MultiBackend))]
struct JobRow {
    id: String,
    tenant_id: String,
    status: String,
    done: i64,
    total: i64,
    created: i64,
    updated: i64,
}

impl TryFrom<JobRow> for BulkJob {
    type Error = CorruptRow;

    fn try_from(row: JobRow) -> Result<Self, CorruptRow> {
        Ok(Self {
            status: JobStatus::parse(&row.status).ok_or(CorruptRow::JobStatus(row.status))?,
            id: row.id,
            tenant: TenantId(row.tenant_id),
            done: usize::try_from(row.done).unwrap_or_default(),
            total: usize::try_from(row.total).unwrap_or_default(),
            created: from_micros(row.created)?,
            updated: from_micros(row.updated)?,
        })
    }
}

#[async_trait]
impl BulkJobRepository for DieselStore {
    async fn create_job(&self, new: &NewBulkJob) -> Result<(), StoreError> {
        let job = &new.job;
        let values = (
            bulk_jobs::id.eq(job.id.clone()),
            bulk_jobs::tenant_id.eq(job.tenant.0.clone()),
            bulk_jobs::status.eq(job.status.as_str()),
            bulk_jobs::done.eq(count(job.done)),
            bulk_jobs::total.eq(count(job.total)),
            bulk_jobs::request.eq(new.request.to_string()),
            bulk_jobs::actor.eq(new.actor.clone()),
            bulk_jobs::cause.eq(new.cause.clone()),
            bulk_jobs::attempts.eq(0),
            bulk_jobs::created.eq(to_micros(&job.created)),
            bulk_jobs::updated.eq(to_micros(&job.updated)),
        );
        self.write(move |connection| {
            diesel::insert_into(bulk_jobs::table)
                .values(values)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn get_job(&self, tenant: &TenantId, id: &str) -> Result<Option<BulkJob>, StoreError> {
        let (tenant, id) = (tenant.0.clone(), id.to_owned());
        self.run(move |connection| {
            let row = bulk_jobs::table
                .filter(bulk_jobs::id.eq(id))
                .filter(bulk_jobs::tenant_id.eq(tenant))
                .select(JobRow::as_select())
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            Ok(row.map(BulkJob::try_from).transpose()?)
        })
        .await
    }

    async fn job_outcomes(&self, id: &str) -> Result<Vec<BulkOutcome>, StoreError> {
        let id = id.to_owned();
        self.run(move |connection| load_outcomes(connection, &id))
            .await
    }

    async fn claim_job(&self, lease: &Lease) -> Result<Option<ClaimedJob>, StoreError> {
        let lease = lease.clone();
        self.write(move |connection| {
            let now = to_micros(&lease.now);
            let open = bulk_jobs::status
                .eq(JobStatus::Pending.as_str())
                .or(bulk_jobs::status
                    .eq(JobStatus::Running.as_str())
                    .and(bulk_jobs::lease_until.lt(now)));
            // Tenant by tenant, the one served longest ago first: each tenant's oldest jobs
            // it can take.
            let mut candidates: Vec<String> = Vec::new();
            for tenant in tenants_in_line(connection)? {
                let jobs: Vec<String> = bulk_jobs::table
                    .filter(bulk_jobs::tenant_id.eq(&tenant))
                    .filter(open)
                    .order((bulk_jobs::created.asc(), bulk_jobs::id.asc()))
                    .select(bulk_jobs::id)
                    .limit(CLAIM_CANDIDATES)
                    .load(connection)
                    .map_err(from_diesel)?;
                candidates.extend(jobs);
                if candidates.len() as i64 >= CLAIM_CANDIDATES {
                    break;
                }
            }
            for id in candidates {
                let taken = diesel::update(bulk_jobs::table)
                    .filter(bulk_jobs::id.eq(&id))
                    .filter(open)
                    .set((
                        bulk_jobs::status.eq(JobStatus::Running.as_str()),
                        bulk_jobs::lease_owner.eq(&lease.owner),
                        bulk_jobs::lease_until.eq(to_micros(&lease.until)),
                        bulk_jobs::attempts.eq(bulk_jobs::attempts + 1),
                        bulk_jobs::updated.eq(now),
                    ))
                    .execute(connection)
                    .map_err(from_diesel)?;
                if taken == 1 {
                    return load_claimed(connection, &id).map(Some);
                }
            }
            Ok(None)
        })
        .await
    }

    async fn checkpoint_job(
        &self,
        ctx: &WriteContext,
        id: &str,
        lease: &Lease,
        first: usize,
        outcomes: &[BulkOutcome],
    ) -> Result<(), StoreError> {
        let rows = outcomes
            .iter()
            .enumerate()
            .map(|(offset, outcome)| {
                let text = serde_json::to_string(outcome).map_err(CorruptRow::Json)?;
                Ok((
                    bulk_job_outcomes::job_id.eq(id.to_owned()),
                    bulk_job_outcomes::position.eq(count(first + offset)),
                    bulk_job_outcomes::outcome.eq(text),
                    bulk_job_outcomes::tenant_id.eq(ctx.tenant.0.clone()),
                ))
            })
            .collect::<Result<Vec<_>, CorruptRow>>()?;
        let (id, lease, done) = (id.to_owned(), lease.clone(), count(first + outcomes.len()));
        let ctx = ctx.clone();
        self.write(move |connection| {
            let held = diesel::update(bulk_jobs::table)
                .filter(bulk_jobs::id.eq(&id))
                .filter(bulk_jobs::status.eq(JobStatus::Running.as_str()))
                .filter(bulk_jobs::lease_owner.eq(&lease.owner))
                .set((
                    bulk_jobs::done.eq(done),
                    bulk_jobs::lease_until.eq(to_micros(&lease.until)),
                    bulk_jobs::updated.eq(to_micros(&lease.now)),
                ))
                .execute(connection)
                .map_err(from_diesel)?;
            if held == 0 {
                return Err(StoreError::NotFound);
            }
            for chunk in rows.chunks(OUTCOME_CHUNK) {
                let insert = diesel::insert_into(bulk_job_outcomes::table).values(chunk);
                execute_per_backend!(connection, insert).map_err(from_diesel)?;
            }
            outbox::record(connection, &ctx, &ctx.events)?;
            Ok(())
        })
        .await
    }

    async fn finish_job(
        &self,
        id: &str,
        lease: &Lease,
        status: JobStatus,
    ) -> Result<(), StoreError> {
        let (id, lease) = (id.to_owned(), lease.clone());
        self.write(move |connection| {
            let held = diesel::update(bulk_jobs::table)
                .filter(bulk_jobs::id.eq(&id))
                .filter(bulk_jobs::lease_owner.eq(&lease.owner))
                .set((
                    bulk_jobs::status.eq(status.as_str()),
                    // The request is not needed any more, and may hold passwords.
                    bulk_jobs::request.eq("{}"),
                    bulk_jobs::lease_owner.eq(None::<String>),
                    bulk_jobs::lease_until.eq(None::<i64>),
                    bulk_jobs::updated.eq(to_micros(&lease.now)),
                ))
                .execute(connection)
                .map_err(from_diesel)?;
            if held == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn prune_jobs(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError> {
        let (before, limit) = (to_micros(&before), i64::try_from(limit).unwrap_or(i64::MAX));
        let ended = [JobStatus::Completed.as_str(), JobStatus::Failed.as_str()];
        self.write(move |connection| {
            let ids: Vec<String> = bulk_jobs::table
                .filter(bulk_jobs::status.eq_any(ended))
                .filter(bulk_jobs::updated.lt(before))
                .order(bulk_jobs::updated)
                .limit(limit)
                .select(bulk_jobs::id)
                .load(connection)
                .map_err(from_diesel)?;
            for chunk in ids.chunks(OUTCOME_CHUNK) {
                diesel::delete(
                    bulk_job_outcomes::table.filter(bulk_job_outcomes::job_id.eq_any(chunk)),
                )
                .execute(connection)
                .map_err(from_diesel)?;
                diesel::delete(bulk_jobs::table.filter(bulk_jobs::id.eq_any(chunk)))
                    .execute(connection)
                    .map_err(from_diesel)?;
            }
            Ok(ids.len() as u64)
        })
        .await
    }

    async fn others_waiting(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (tenant, now) = (tenant.0.clone(), to_micros(&now));
        self.run(move |connection| {
            let claimable = bulk_jobs::status
                .eq(JobStatus::Pending.as_str())
                .or(bulk_jobs::status
                    .eq(JobStatus::Running.as_str())
                    .and(bulk_jobs::lease_until.lt(now)));
            let waiting: Option<String> = bulk_jobs::table
                .filter(bulk_jobs::tenant_id.ne(tenant))
                .filter(claimable)
                .select(bulk_jobs::id)
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            Ok(waiting.is_some())
        })
        .await
    }

    async fn release_job(&self, id: &str, lease: &Lease) -> Result<(), StoreError> {
        let (id, lease) = (id.to_owned(), lease.clone());
        self.write(move |connection| {
            let now = to_micros(&lease.now);
            let held = diesel::update(bulk_jobs::table)
                .filter(bulk_jobs::id.eq(&id))
                .filter(bulk_jobs::lease_owner.eq(&lease.owner))
                .filter(bulk_jobs::status.eq(JobStatus::Running.as_str()))
                .set((
                    bulk_jobs::lease_owner.eq(None::<String>),
                    // Claimable at once: a claim takes jobs whose lease ended before it.
                    bulk_jobs::lease_until.eq(now - 1),
                    bulk_jobs::attempts.eq(bulk_jobs::attempts - 1),
                    bulk_jobs::updated.eq(now),
                ))
                .execute(connection)
                .map_err(from_diesel)?;
            if held == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }
}

/// The tenants with a job to run, the one whose jobs were served longest ago first (a
/// pending job was last served when it was submitted; a running one at its last
/// checkpoint).
fn tenants_in_line(connection: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let served: Vec<(String, Option<i64>)> = bulk_jobs::table
        .filter(
            bulk_jobs::status.eq_any([JobStatus::Pending.as_str(), JobStatus::Running.as_str()]),
        )
        .group_by(bulk_jobs::tenant_id)
        .select((bulk_jobs::tenant_id, max(bulk_jobs::updated)))
        .load(connection)
        .map_err(from_diesel)?;
    let mut served: Vec<(String, i64)> = served
        .into_iter()
        .map(|(tenant, last)| (tenant, last.unwrap_or(0)))
        .collect();
    served.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    Ok(served.into_iter().map(|(tenant, _)| tenant).collect())
}

fn load_claimed(connection: &mut DbConnection, id: &str) -> Result<ClaimedJob, StoreError> {
    let (row, request, actor, cause, attempts) = bulk_jobs::table
        .filter(bulk_jobs::id.eq(id))
        .select((
            JobRow::as_select(),
            bulk_jobs::request,
            bulk_jobs::actor,
            bulk_jobs::cause,
            bulk_jobs::attempts,
        ))
        .first::<(JobRow, String, String, String, i32)>(connection)
        .map_err(from_diesel)?;
    Ok(ClaimedJob {
        job: BulkJob::try_from(row)?,
        request: serde_json::from_str(&request).map_err(CorruptRow::Json)?,
        actor,
        cause,
        outcomes: load_outcomes(connection, id)?,
        attempts: u32::try_from(attempts).unwrap_or_default(),
    })
}

fn load_outcomes(connection: &mut DbConnection, id: &str) -> Result<Vec<BulkOutcome>, StoreError> {
    let texts: Vec<String> = bulk_job_outcomes::table
        .filter(bulk_job_outcomes::job_id.eq(id))
        .order(bulk_job_outcomes::position.asc())
        .select(bulk_job_outcomes::outcome)
        .load(connection)
        .map_err(from_diesel)?;
    texts
        .iter()
        .map(|text| Ok(serde_json::from_str(text).map_err(CorruptRow::Json)?))
        .collect()
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
