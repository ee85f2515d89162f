//! Recording and reading the tenants' provisioning activity ([`crate::activity`]).
//!
//! Recording is off the request's path: an entry goes into a buffer in memory, and
//! [`ActivityService::flush`] (run by the server every second, and before each read)
//! writes what is buffered in batches. A crash loses the last second of activity,
//! never a request's own work; a store that cannot take the entries keeps them buffered,
//! up to [`ACTIVITY_BUFFER`], beyond which the oldest are dropped and counted.

use std::sync::{Arc, Mutex, PoisonError};

use crate::activity::{ActivityEntry, ActivityQuery, ActivitySummary, kept_since};
use crate::error::StoreError;
use crate::ports::{ActivityLog, Clock};
use crate::tenant::TenantId;

/// Entries held in memory at most, waiting to be written.
pub const ACTIVITY_BUFFER: usize = 10_000;

/// Entries written per statement.
const WRITE_BATCH: usize = 1_000;

/// Entries removed per pruning step.
const PRUNE_BATCH: u64 = 5_000;

#[derive(Default)]
struct Pending {
    entries: Vec<ActivityEntry>,
    dropped: u64,
}

/// The tenants' provisioning activity: recorded without waiting, read newest first.
#[derive(Clone)]
pub struct ActivityService {
    log: Arc<dyn ActivityLog>,
    clock: Arc<dyn Clock>,
    pending: Arc<Mutex<Pending>>,
}

impl ActivityService {
    /// On the store's log.
    pub fn new(log: Arc<dyn ActivityLog>, clock: Arc<dyn Clock>) -> Self {
        Self {
            log,
            clock,
            pending: Arc::default(),
        }
    }

    /// Keeps `entry` to be written by the next flush; never waits, never fails.
    pub fn record(&self, entry: ActivityEntry) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.entries.len() >= ACTIVITY_BUFFER {
            pending.entries.remove(0);
            pending.dropped += 1;
        }
        pending.entries.push(entry);
    }

    /// Entries dropped since the process started because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dropped
    }

    /// Writes what is buffered: how many entries. Entries the store refused go back to
    /// the buffer (ahead of newer ones) for the next flush.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let entries = std::mem::take(
            &mut self
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entries,
        );
        let mut written = 0;
        for chunk in entries.chunks(WRITE_BATCH) {
            if let Err(error) = self.log.record_activity(chunk).await {
                self.put_back(&entries[written..]);
                return Err(error);
            }
            written += chunk.len();
        }
        Ok(written)
    }

    fn put_back(&self, unwritten: &[ActivityEntry]) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = unwritten.to_vec();
        entries.append(&mut pending.entries);
        let excess = entries.len().saturating_sub(ACTIVITY_BUFFER);
        entries.drain(..excess);
        pending.dropped += excess as u64;
        pending.entries = entries;
    }

    /// The tenant's entries the query asks for, newest first; what this process buffered
    /// is written first, so a request is in the log of the process that answered it as
    /// soon as it is answered (in another process's within its next flush).
    pub async fn list(
        &self,
        tenant: &TenantId,
        query: &ActivityQuery,
    ) -> Result<Vec<ActivityEntry>, StoreError> {
        // A store that cannot take the buffer may still answer the read.
        self.flush().await.ok();
        self.log.activity(tenant, query).await
    }

    /// The tenant's requests over the last 24 hours (whole hours: from the start of the
    /// hour 24 hours ago), this process's buffer written first.
    pub async fn last_day(&self, tenant: &TenantId) -> Result<ActivitySummary, StoreError> {
        self.flush().await.ok();
        let since = self.clock.now() - chrono::TimeDelta::hours(24);
        self.log.activity_summary(tenant, since).await
    }

    /// Removes the entries older than `days` days, in bounded steps: how many. A step that
    /// removed fewer than it looked at is the last (the entries after it are newer).
    pub async fn prune(&self, days: u32) -> Result<u64, StoreError> {
        let before = kept_since(self.clock.now(), days);
        let mut removed = 0;
        loop {
            let step = self.log.prune_activity(before, PRUNE_BATCH).await?;
            removed += step;
            if step < PRUNE_BATCH {
                return Ok(removed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockActivityLog, MockClock};
    use chrono::DateTime;

    fn entry(n: i64) -> ActivityEntry {
        ActivityEntry {
            seq: 0,
            tenant: TenantId("t".into()),
            at: DateTime::from_timestamp(1_800_000_000 + n, 0).unwrap_or_default(),
            client: "Okta".into(),
            credential: "token:1".into(),
            method: "POST".into(),
            resource_type: "User".into(),
            resource_id: Some(format!("u{n}")),
            resource_name: None,
            status: 201,
            scim_type: None,
            detail: None,
        }
    }

    fn clock() -> Arc<dyn Clock> {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(|| DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default());
        Arc::new(clock)
    }

    #[tokio::test]
    async fn entries_are_written_in_batches_and_kept_when_the_store_fails() {
        let mut log = MockActivityLog::new();
        let mut calls = 0;
        log.expect_record_activity().returning(move |entries| {
            calls += 1;
            match calls {
                // The first flush: its second batch fails.
                1 => Ok(()),
                2 => Err(StoreError::Unavailable("down".into())),
                _ => {
                    assert!(entries.len() <= WRITE_BATCH);
                    Ok(())
                }
            }
        });
        let activity = ActivityService::new(Arc::new(log), clock());
        for n in 0..1_200 {
            activity.record(entry(n));
        }
        assert!(activity.flush().await.is_err());
        // The 200 unwritten come first, then one recorded since.
        activity.record(entry(1_200));
        let pending = activity.pending.lock().unwrap().entries.clone();
        assert_eq!(pending.len(), 201);
        assert_eq!(pending[0].resource_id.as_deref(), Some("u1000"));
        assert_eq!(pending[200].resource_id.as_deref(), Some("u1200"));
        assert_eq!(activity.flush().await.unwrap(), 201);
        assert_eq!(activity.flush().await.unwrap(), 0);
        assert_eq!(activity.dropped(), 0);
    }

    #[tokio::test]
    async fn a_full_buffer_drops_the_oldest_and_counts_them() {
        let activity = ActivityService::new(Arc::new(MockActivityLog::new()), clock());
        for n in 0..(ACTIVITY_BUFFER as i64 + 3) {
            activity.record(entry(n));
        }
        assert_eq!(activity.dropped(), 3);
        let pending = activity.pending.lock().unwrap().entries.clone();
        assert_eq!(pending[0].resource_id.as_deref(), Some("u3"));
    }

    #[tokio::test]
    async fn pruning_goes_in_steps_until_a_short_one() {
        let mut log = MockActivityLog::new();
        let mut steps = vec![PRUNE_BATCH, PRUNE_BATCH, 7].into_iter();
        log.expect_prune_activity()
            .withf(|before, limit| {
                *before == DateTime::from_timestamp(1_800_000_000 - 30 * 86_400, 0).unwrap()
                    && *limit == PRUNE_BATCH
            })
            .times(3)
            .returning(move |_, _| Ok(steps.next().unwrap_or(0)));
        let activity = ActivityService::new(Arc::new(log), clock());
        assert_eq!(activity.prune(30).await.unwrap(), 2 * PRUNE_BATCH + 7);
    }
}
