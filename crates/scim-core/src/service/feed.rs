//! The tenant's event feed as RFC 8936 polls it: acknowledging, then reading what is
//! waiting. Waiting for events (a long poll) and signing SETs are the adapter's.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{ScimError, ScimResult, StoreError};
use crate::events::{PollRequest, SetError, StoredEvent, poll_seq};
use crate::ports::{Clock, EventLog};
use crate::tenant::TenantId;

/// The RFC 8936 poll feed of each tenant: its unacknowledged events, acknowledgements, and
/// the waits of long polls.
#[derive(Clone)]
pub struct EventFeedService {
    log: Arc<dyn EventLog>,
    clock: Arc<dyn Clock>,
}

/// Why a tenant's events after a cursor cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// Retention removed events after the cursor, up to `through`.
    #[error(
        "the events up to seq {through} are past the retention period and were removed: read \
         again from seq {through} (what is kept), and re-read the users and groups to catch up"
    )]
    Pruned {
        /// The newest `seq` removed.
        through: i64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    /// The events to send, oldest first.
    pub events: Vec<StoredEvent>,
    /// Whether more are waiting beyond them.
    pub more_available: bool,
}

impl EventFeedService {
    /// On the outbox.
    pub fn new(log: Arc<dyn EventLog>, clock: Arc<dyn Clock>) -> Self {
        Self { log, clock }
    }

    /// The tenant's recorded events after `seq`, oldest first, at most `limit`, whether
    /// acknowledged or not (the history `scim-server events` and the Management API list).
    /// `Pruned` when retention removed events after `seq` (a reader that fell behind the
    /// retention window is told, not handed a history with a hole); `0` reads what is kept.
    pub async fn events_after(
        &self,
        tenant: &TenantId,
        seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, FeedError> {
        if seq > 0 {
            let horizon = self.log.horizon(tenant).await?;
            if seq < horizon.pruned_through {
                return Err(FeedError::Pruned {
                    through: horizon.pruned_through,
                });
            }
        }
        Ok(self.log.events_after(tenant, seq, limit).await?)
    }

    /// How many events the tenant's poll feed lost to retention (removed before they were
    /// acknowledged) since a poll was last told; told now, so a poll says it once.
    pub async fn take_lost(&self, tenant: &TenantId) -> ScimResult<u64> {
        // A read first: every poll asks, and almost none has anything to be told (telling
        // is a write).
        let horizon = self.log.horizon(tenant).await.map_err(|e| outage(&e))?;
        if horizon.lost == 0 {
            return Ok(0);
        }
        self.log.take_lost(tenant).await.map_err(|e| outage(&e))
    }

    /// Acknowledges what the request acknowledges (SETs reported in `setErrs` too: sending
    /// them again would fail again; the caller logs the errors), then reads what waits.
    pub async fn acknowledge(&self, tenant: &TenantId, request: &PollRequest) -> ScimResult<()> {
        let seqs: Vec<i64> = request
            .ack
            .iter()
            .map(String::as_str)
            .chain(
                request
                    .set_errs
                    .iter()
                    .map(|SetError { jti, .. }| jti.as_str()),
            )
            .filter_map(poll_seq)
            .collect();
        if seqs.is_empty() {
            return Ok(());
        }
        self.log
            .acknowledge(tenant, &seqs, self.clock.now())
            .await
            .map_err(|e| outage(&e))
    }

    /// Where the tenant's event count stands: read it before [`waiting`](Self::waiting),
    /// then wait on it with [`recorded`](Self::recorded) (see
    /// [`EventLog::events_generation`]).
    pub async fn generation(&self, tenant: &TenantId) -> ScimResult<u64> {
        self.log
            .events_generation(tenant)
            .await
            .map_err(|e| outage(&e))
    }

    /// Waits until events were recorded for the tenant since `seen`, or `timeout`.
    pub async fn recorded(&self, tenant: &TenantId, seen: u64, timeout: Duration) -> bool {
        self.log.events_recorded(tenant, seen, timeout).await
    }

    /// The events waiting for the tenant's poller, at most `max_events` (none for 0).
    pub async fn waiting(&self, tenant: &TenantId, max_events: usize) -> ScimResult<Polled> {
        if max_events == 0 {
            return Ok(Polled {
                events: Vec::new(),
                more_available: false,
            });
        }
        let mut events = self
            .log
            .unacknowledged(tenant, max_events + 1)
            .await
            .map_err(|e| outage(&e))?;
        let more_available = events.len() > max_events;
        events.truncate(max_events);
        Ok(Polled {
            events,
            more_available,
        })
    }
}

/// A store failure where no domain error applies: the client may retry an outage.
pub(super) fn outage(error: &StoreError) -> ScimError {
    error.as_outage()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::events::{ResourceEvent, parse_poll};
    use crate::ports::{MockClock, MockEventLog};
    use crate::resource::ResourceKind;

    fn now() -> chrono::DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap()
    }

    fn clock() -> Arc<dyn Clock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        Arc::new(clock)
    }

    fn stored(seq: i64) -> StoredEvent {
        StoredEvent {
            seq,
            at: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
            event: ResourceEvent::deleted(ResourceKind::User, &format!("u{seq}"), None),
        }
    }

    #[tokio::test]
    async fn acks_and_errors_are_acknowledged_by_seq_and_foreign_jtis_ignored() {
        let mut log = MockEventLog::new();
        log.expect_acknowledge()
            .withf(|tenant, seqs, at| tenant.0 == "t1" && seqs == [3, 4, 9] && *at == now())
            .times(1)
            .returning(|_, _, _| Ok(()));
        let request = parse_poll(&serde_json::json!({
            "ack": ["evt-3", "evt-4", "someone-else"],
            "setErrs": {"evt-9": {"err": "invalid_request"}}
        }))
        .unwrap();
        EventFeedService::new(Arc::new(log), clock())
            .acknowledge(&TenantId("t1".into()), &request)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn one_more_is_read_to_tell_whether_more_are_available() {
        let mut log = MockEventLog::new();
        log.expect_unacknowledged()
            .withf(|_, limit| *limit == 3)
            .returning(|_, _| Ok(vec![stored(1), stored(2), stored(5)]));
        let feed = EventFeedService::new(Arc::new(log), clock());
        let polled = feed.waiting(&TenantId("t1".into()), 2).await.unwrap();
        assert!(polled.more_available);
        assert_eq!(
            polled.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2]
        );
        let none = feed.waiting(&TenantId("t1".into()), 0).await.unwrap();
        assert!(none.events.is_empty() && !none.more_available);
    }
}
