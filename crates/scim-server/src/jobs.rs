//! The bulk job runner: one task per server process that claims asynchronous bulk jobs and
//! runs them one slice at a time (the tenant served longest ago first, see
//! `scim_core::service::jobs`), woken when a job is submitted here and polling for the jobs
//! other processes submitted or left behind when they died.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scim_core::bulk::{BulkJob, JobStatus};
use scim_core::service::BulkJobService;
use tokio::sync::Notify;

/// How often an idle runner looks for jobs it was not woken for.
const POLL: Duration = Duration::from_secs(1);

/// How often a long job's progress is logged.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Runs jobs until the task is aborted. Failures (the store unreachable, a job taken over by
/// another process) are logged; the job stays in the store to be resumed.
pub(crate) async fn run_jobs(jobs: BulkJobService, wake: Arc<Notify>) {
    let owner = format!("process-{}", uuid::Uuid::new_v4());
    let last_log = Mutex::new(Instant::now());
    let progress = move |job: &BulkJob| {
        let Ok(mut last) = last_log.lock() else {
            return;
        };
        if last.elapsed() >= PROGRESS_EVERY {
            *last = Instant::now();
            tracing::info!(job = %job.id, done = job.done, total = job.total, "bulk job progress");
        }
    };
    loop {
        match jobs.run_next(&owner, &progress).await {
            Ok(Some(job)) if job.status == JobStatus::Running => {
                // Its slice is over; other tenants' jobs take their turn before it goes on.
                tracing::debug!(job = %job.id, done = job.done, total = job.total, "bulk job handed back");
                continue;
            }
            Ok(Some(job)) => {
                tracing::info!(
                    job = %job.id,
                    tenant = %job.tenant.0,
                    status = job.status.as_str(),
                    done = job.done,
                    total = job.total,
                    "bulk job ended"
                );
                continue;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "bulk job interrupted; it will be resumed"),
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
