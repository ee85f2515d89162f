//! The usage snapshotter: one task per server process that records every pool's seats and
//! use as today's snapshot (the dashboard's history), at start and then every
//! [`EVERY`]. Replicas write the same day's rows; the last write of a day stands.

use std::time::Duration;

use scim_core::service::AdminService;

/// How often today's snapshot is refreshed.
pub(crate) const EVERY: Duration = Duration::from_secs(600);

/// Records snapshots until the task is aborted.
pub(crate) async fn record_usage(admin: AdminService) {
    loop {
        if let Err(error) = admin.record_usage().await {
            tracing::warn!(%error, "could not record today's license usage");
        }
        tokio::time::sleep(EVERY).await;
    }
}
