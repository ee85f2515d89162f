//! The housekeeper: one task per server process that, at start and then every [`EVERY`],
//! records every pool's seats and use as today's snapshot (the dashboard's history),
//! forgets the Management API's Idempotency-Keys past their 24 hours, and removes the
//! provisioning activity older than `--activity-days` and the portal's expired setup
//! links and sessions. Replicas do the same work: the
//! last snapshot of a day stands, and pruning twice prunes nothing more. A second task
//! writes the activity buffered by the requests every [`ACTIVITY_FLUSH`].

use std::time::Duration;

use scim_core::service::{ActivityService, AdminService, IdempotencyService, PortalService};

/// How often the work is done.
pub(crate) const EVERY: Duration = Duration::from_secs(600);

/// How often the buffered activity is written.
pub(crate) const ACTIVITY_FLUSH: Duration = Duration::from_secs(1);

/// Does the work until the task is aborted; activity is kept `activity_days` days.
pub(crate) async fn run(
    admin: AdminService,
    idempotency: IdempotencyService,
    activity: ActivityService,
    activity_days: u32,
    portal: PortalService,
) {
    loop {
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
