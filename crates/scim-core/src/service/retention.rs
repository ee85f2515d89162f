//! Retention: how long the history tables keep their rows, and pruning them in bounded
//! batches (one short transaction each) so that writers never wait long behind a prune.
//!
//! Events (the outbox, with their poll acknowledgements and pushes), license audit entries
//! and ended bulk jobs are pruned here; the provisioning activity by
//! [`super::ActivityService::prune`]. A poll acknowledgement lives exactly as long as its
//! event: removing it first would send the event again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Duration;

use crate::error::StoreError;
use crate::ports::{BulkJobRepository, Clock, EventLog, LicenseLedger};

/// Rows removed per transaction.
pub const PRUNE_BATCH: u64 = 1_000;

/// How many days each history is kept; `None` keeps it forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Events: the outbox, the poll feed and the pushes (30 days by default, as WorkOS keeps
    /// them).
    pub events_days: Option<u32>,
    /// License audit entries (400 days by default: a yearly true-up stays exact).
    pub audit_days: Option<u32>,
    /// Ended bulk jobs and their outcomes (7 days by default).
    pub jobs_days: Option<u32>,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            events_days: Some(30),
            audit_days: Some(400),
            jobs_days: Some(7),
        }
    }
}

impl Retention {
    /// Days as the operator gives them: 0 keeps forever.
    pub fn days(days: u32) -> Option<u32> {
        (days > 0).then_some(days)
    }
}

/// What one round of pruning removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Events.
    pub events: u64,
    /// Audit entries.
    pub audit: u64,
    /// Ended bulk jobs.
    pub jobs: u64,
}

impl Pruned {
    /// Whether a kind removed a full batch: there may be more.
    pub fn more(&self) -> bool {
        [self.events, self.audit, self.jobs].contains(&PRUNE_BATCH)
    }

    /// Whether nothing was removed.
    pub fn is_empty(&self) -> bool {
        self.events + self.audit + self.jobs == 0
    }
}

/// Prunes the history tables, and counts what this process removed.
#[derive(Clone)]
pub struct RetentionService {
    events: Arc<dyn EventLog>,
    audit: Arc<dyn LicenseLedger>,
    jobs: Arc<dyn BulkJobRepository>,
    clock: Arc<dyn Clock>,
    removed: Arc<[AtomicU64; 3]>,
}

impl RetentionService {
    /// On the stores' histories.
    pub fn new(
        events: Arc<dyn EventLog>,
        audit: Arc<dyn LicenseLedger>,
        jobs: Arc<dyn BulkJobRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            events,
            audit,
            jobs,
            clock,
            removed: Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]),
        }
    }

    /// One batch of each kind past its retention (at most [`PRUNE_BATCH`] rows, one
    /// transaction each). Call it again while [`Pruned::more`].
    pub async fn prune_batch(&self, retention: &Retention) -> Result<Pruned, StoreError> {
        let now = self.clock.now();
        let cutoff = |days: Option<u32>| days.map(|days| now - Duration::days(i64::from(days)));
        let mut pruned = Pruned::default();
        if let Some(before) = cutoff(retention.events_days) {
            pruned.events = self.events.prune_events(before, PRUNE_BATCH).await?;
        }
        if let Some(before) = cutoff(retention.audit_days) {
            pruned.audit = self.audit.prune_audit(before, PRUNE_BATCH).await?;
        }
        if let Some(before) = cutoff(retention.jobs_days) {
            pruned.jobs = self.jobs.prune_jobs(before, PRUNE_BATCH).await?;
        }
        for (counter, n) in self
            .removed
            .iter()
            .zip([pruned.events, pruned.audit, pruned.jobs])
        {
            counter.fetch_add(n, Ordering::Relaxed);
        }
        Ok(pruned)
    }

    /// Rows this process removed since it started: events, audit entries, jobs.
    pub fn removed(&self) -> Pruned {
        let [events, audit, jobs] = self
            .removed
            .as_ref()
            .each_ref()
            .map(|n| n.load(Ordering::Relaxed));
        Pruned {
            events,
            audit,
            jobs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockBulkJobRepository, MockEventLog, MockLicenseLedger};
    use chrono::{DateTime, Utc};

    struct At(DateTime<Utc>);
    impl Clock for At {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    #[tokio::test]
    async fn each_history_is_pruned_before_its_own_cutoff_and_counted() {
        let now = DateTime::UNIX_EPOCH + Duration::days(1_000);
        let mut events = MockEventLog::new();
        events
            .expect_prune_events()
            .withf(move |before, limit| {
                *before == now - Duration::days(30) && *limit == PRUNE_BATCH
            })
            .times(2)
            .returning(|_, limit| Ok(limit));
        let mut audit = MockLicenseLedger::new();
        audit
            .expect_prune_audit()
            .withf(move |before, _| *before == now - Duration::days(400))
            .times(2)
            .returning(|_, _| Ok(3));
        // Jobs kept forever: never asked.
        let jobs = MockBulkJobRepository::new();
        let service = RetentionService::new(
            Arc::new(events),
            Arc::new(audit),
            Arc::new(jobs),
            Arc::new(At(now)),
        );
        let retention = Retention {
            jobs_days: None,
            ..Retention::default()
        };
        let first = service.prune_batch(&retention).await.unwrap();
        assert_eq!(
            first,
            Pruned {
                events: PRUNE_BATCH,
                audit: 3,
                jobs: 0
            }
        );
        assert!(first.more());
        service.prune_batch(&retention).await.unwrap();
        assert_eq!(
            service.removed(),
            Pruned {
                events: 2 * PRUNE_BATCH,
                audit: 6,
                jobs: 0
            }
        );
        assert_eq!(Retention::days(0), None);
        assert_eq!(Retention::days(7), Some(7));
    }
}
