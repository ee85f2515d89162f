//! The housekeeper: one task per server process that, at start and then every [`EVERY`],
//! records every pool's seats and use as today's snapshot (the dashboard's history),
//! forgets the Management API's Idempotency-Keys past their 24 hours, removes the
//! provisioning activity older than `--activity-days` and the portal's expired setup
//! links and sessions, and prunes the events, audit entries and ended jobs past their
//! retention, a batch per transaction with a pause between ([`PRUNE_PAUSE`]). Replicas do
//! the same work: the last snapshot of a day stands, and pruning twice prunes nothing more.
//! A second task writes the activity buffered by the requests every [`ACTIVITY_FLUSH`];
//! a third settles pools' terms ([`run_terms`]).

use std::time::Duration;

use scim_core::service::{ActivityService, LicenseService, Retention, RetentionService, Services};

/// How often the work is done.
pub(crate) const EVERY: Duration = Duration::from_secs(600);

/// How often the buffered activity is written.
pub(crate) const ACTIVITY_FLUSH: Duration = Duration::from_secs(1);

/// The shortest pause between two pruning transactions: writers waiting on the rows a
/// batch holds go first. The pause is at least as long as the batch took, so pruning takes
/// at most half of the database's time however slow it runs.
pub(crate) const PRUNE_PAUSE: Duration = Duration::from_millis(20);

/// Does the work until the task is aborted; activity is kept `activity_days` days, the
/// rest as `retention` says.
pub(crate) async fn run(services: Services, activity_days: u32, retention: Retention) {
    let Services {
        admin,
        idempotency,
        activity,
        portal,
        retention: pruner,
        ..
    } = services;
    loop {
        prune(&pruner, &retention).await;
        if let Err(error) = portal.prune().await {
            tracing::warn!(%error, "could not forget expired setup links and portal sessions");
        }
        match activity.prune(activity_days).await {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "removed old provisioning activity"),
            Err(error) => tracing::warn!(%error, "could not prune the provisioning activity"),
        }
        if let Err(error) = admin.record_usage().await {
            tracing::warn!(%error, "could not record today's license usage");
        }
        match idempotency.prune().await {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "forgot expired Idempotency-Keys"),
            Err(error) => tracing::warn!(%error, "could not prune Idempotency-Keys"),
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// Prunes every history past its retention, a batch per transaction, until none is left.
async fn prune(pruner: &RetentionService, retention: &Retention) {
    loop {
        let started = std::time::Instant::now();
        match pruner.prune_batch(retention).await {
            Ok(pruned) if pruned.more() => {
                tokio::time::sleep(PRUNE_PAUSE.max(started.elapsed())).await;
            }
            Ok(_) => break,
            Err(error) => {
                tracing::warn!(%error, "could not prune the history past its retention");
                break;
            }
        }
    }
    let removed = pruner.removed();
    if !removed.is_empty() {
        tracing::debug!(
            events = removed.events,
            audit = removed.audit,
            jobs = removed.jobs,
            "pruned past retention (since start)"
        );
    }
}

/// How often each process looks for pools whose term started or ended: the bound on how
/// long after its end a seat is still held.
pub(crate) const TERMS_EVERY: Duration = Duration::from_secs(1);

/// How long a process holds the claim on a pool whose term started or ended while it
/// re-evaluates the tenant; another process takes it over after, if this one died.
pub(crate) const TERM_LEASE: Duration = Duration::from_secs(300);

/// Re-evaluates, every [`TERMS_EVERY`], the tenants whose pools' terms started or ended,
/// once across the replicas (each pool is claimed by one), until the task is aborted.
pub(crate) async fn run_terms(licenses: LicenseService) {
    let mut failing = false;
    loop {
        match licenses.run_due_terms(TERM_LEASE).await {
            Ok(settled) => {
                if failing {
                    tracing::info!("pools' terms are settled again");
                }
                failing = false;
                if settled > 0 {
                    tracing::info!(
                        settled,
                        "re-evaluated tenants whose pools' terms started or ended"
                    );
                }
            }
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "could not settle the pools' terms; trying again");
            }
            Err(_) => {}
        }
        tokio::time::sleep(TERMS_EVERY).await;
    }
}

/// Writes the buffered activity until the task is aborted (the server flushes once more
/// when it stops).
pub(crate) async fn flush_activity(activity: ActivityService) {
    let mut failing = false;
    loop {
        tokio::time::sleep(ACTIVITY_FLUSH).await;
        match activity.flush().await {
            Ok(_) if failing => {
                failing = false;
                tracing::info!("the provisioning activity is written again");
            }
            Ok(_) => {}
            // Said once per outage, not every second.
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "could not write the provisioning activity; kept in memory");
            }
            Err(_) => {}
        }
    }
}
