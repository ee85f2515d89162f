//! The push dispatcher: one task per server process that runs delivery rounds, back to
//! back while the queue is full, and every [`IDLE_POLL`] otherwise. Processes share the
//! queue through the store's claims; no coordinator is needed.

use std::time::Duration;

use scim_core::service::DeliveryService;

/// How often an idle dispatcher looks for due deliveries.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// How long the dispatcher waits after the store failed.
const STORE_BACKOFF: Duration = Duration::from_secs(2);

/// Runs rounds until the task is aborted.
pub(crate) async fn run_deliveries(service: DeliveryService) {
    loop {
        match service.deliver_due().await {
            Ok(round) => {
                if round.retried > 0 || round.dead > 0 {
                    tracing::warn!(
                        delivered = round.delivered,
                        retried = round.retried,
                        dead_lettered = round.dead,
                        "some receivers did not accept their SETs"
                    );
                } else if round.claimed > 0 {
                    tracing::debug!(delivered = round.delivered, "SETs pushed");
                }
                // A round that found work may have left more (a full round), or freed the
                // next change of a resource (a delivered SET): look again at once.
                if round.claimed > 0 {
                    continue;
                }
                tokio::time::sleep(IDLE_POLL).await;
            }
            Err(error) => {
                tracing::warn!(%error, "event delivery paused: the store failed");
                tokio::time::sleep(STORE_BACKOFF).await;
            }
        }
    }
}
