//! The housekeeper: one task per server process that, at start and then every [`EVERY`],
//! records every pool's seats and use as today's snapshot (the dashboard's history) and
//! forgets the Management API's Idempotency-Keys past their 24 hours. Replicas do the
//! same work: the last snapshot of a day stands, and pruning twice prunes nothing more.

use std::time::Duration;

use scim_core::service::{AdminService, IdempotencyService};

/// How often the work is done.
pub(crate) const EVERY: Duration = Duration::from_secs(600);

/// Does the work until the task is aborted.
pub(crate) async fn run(admin: AdminService, idempotency: IdempotencyService) {
    loop {
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
