//! The push dispatcher: one task per server process that runs delivery rounds, back to
//! back while the queue is full, and every [`IDLE_POLL`] otherwise. Processes share the
//! queue through the store's claims; no coordinator is needed.

use std::time::Duration;

use scim_core::service::DeliveryService;
use tokio::sync::watch;

/// How often an idle dispatcher looks for due deliveries.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// How long the dispatcher waits after the store failed.
const STORE_BACKOFF: Duration = Duration::from_secs(2);

/// Runs rounds until `stop` turns true: the round under way then ends (its pushes are
/// settled, so nothing in flight is left to a lease) and no other starts.
pub(crate) async fn run_deliveries(service: DeliveryService, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let pause = match service.deliver_due().await {
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
                IDLE_POLL
            }
            Err(error) => {
                tracing::warn!(%error, "event delivery paused: the store failed");
                STORE_BACKOFF
            }
        };
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}
