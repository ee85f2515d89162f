//! Knowing when a tenant's events were recorded, for long polls, without each poll reading
//! the store again and again.
//!
//! One watcher per process (started by the first long poll) reads the outbox's newest rows
//! every [`WATCH_EVERY`] — one indexed range scan for the whole process, whoever wrote them
//! (this process, a replica, the CLI) — and moves the generation of every tenant that got
//! events; polls wait on their tenant's generation. A poll reads the generation before it
//! looks for events, and the watcher starts from the outbox's end before the first
//! generation is handed out, so an event recorded after a poll looked is seen by the
//! watcher: no poll waits past an event.
//!
//! PostgreSQL hands a row its `seq` when it is inserted, not when it commits, so a row can
//! become visible after a row with a higher `seq` was seen. The `seq`s skipped below the
//! newest seen are kept as gaps and looked for again at every scan, for [`GAP_PATIENCE`]
//! (longer than any write transaction; a rolled-back insert leaves a gap for good).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::dsl::max;
use diesel::prelude::*;
use scim_core::StoreError;
use scim_core::tenant::TenantId;
use tokio::sync::{Notify, OnceCell};

use crate::errors::from_diesel;
use crate::schema::outbox;
use crate::store::DieselStore;

/// How often the watcher looks for new events.
pub(crate) const WATCH_EVERY: Duration = Duration::from_millis(250);

/// How long a skipped `seq` is looked for.
pub(crate) const GAP_PATIENCE: Duration = Duration::from_secs(30);

/// Skipped `seq`s kept at most (the oldest go first).
const MAX_GAPS: usize = 1_000;

/// The tenants' generations, and the watcher that moves them.
#[derive(Debug, Default)]
pub(crate) struct EventWatch {
    /// Set once the watcher runs.
    started: OnceCell<()>,
    generations: Mutex<HashMap<String, u64>>,
    moved: Notify,
}

impl EventWatch {
    fn generation(&self, tenant: &str) -> u64 {
        self.lock().get(tenant).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the generations of `tenants` and wakes the waiting polls.
    fn record(&self, tenants: impl IntoIterator<Item = String>) {
        let mut generations = self.lock();
        let mut moved = false;
        for tenant in tenants {
            *generations.entry(tenant).or_default() += 1;
            moved = true;
        }
        drop(generations);
        if moved {
            self.moved.notify_waiters();
        }
    }
}

impl DieselStore {
    /// Starts the watcher if it does not run yet: from the outbox's end as it is now.
    async fn watch_events(&self) -> Result<(), StoreError> {
        let watch = Arc::clone(&self.event_watch);
        watch
            .started
            .get_or_try_init(|| async {
                let last = self.newest_event().await?;
                tokio::spawn(watch_outbox(self.clone(), last));
                Ok::<(), StoreError>(())
            })
            .await?;
        Ok(())
    }

    async fn newest_event(&self) -> Result<i64, StoreError> {
        self.run(|connection| {
            let newest: Option<i64> = outbox::table
                .select(max(outbox::seq))
                .first(connection)
                .map_err(from_diesel)?;
            Ok(newest.unwrap_or(0))
        })
        .await
    }

    /// The events (`seq`, tenant) recorded after `after`, or at one of the `gaps`.
    async fn events_since(
        &self,
        after: i64,
        gaps: Vec<i64>,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        self.run(move |connection| {
            outbox::table
                .filter(outbox::seq.gt(after).or(outbox::seq.eq_any(gaps)))
                .select((outbox::seq, outbox::tenant_id))
                .load(connection)
                .map_err(from_diesel)
        })
        .await
    }

    pub(crate) async fn generation_of(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        self.watch_events().await?;
        Ok(self.event_watch.generation(&tenant.0))
    }

    pub(crate) async fn wait_for_generation(
        &self,
        tenant: &TenantId,
        seen: u64,
        timeout: Duration,
    ) -> bool {
        let watch = &self.event_watch;
        let waited = tokio::time::timeout(timeout, async {
            loop {
                // Registered before the check, so no move between the two is missed.
                let moved = watch.moved.notified();
                if watch.generation(&tenant.0) != seen {
                    return;
                }
                moved.await;
            }
        })
        .await;
        waited.is_ok()
    }
}

/// Where the watcher is: the newest `seq` seen, and the ones skipped below it.
#[derive(Debug, Default)]
struct Position {
    last: i64,
    gaps: BTreeMap<i64, Instant>,
}

impl Position {
    /// Takes in what a scan found: the tenants that got events.
    fn advance(&mut self, found: Vec<(i64, String)>, now: Instant) -> Vec<String> {
        let newest = found.iter().map(|(seq, _)| *seq).max().unwrap_or(self.last);
        let seen: HashSet<i64> = found.iter().map(|(seq, _)| *seq).collect();
        for seq in &seen {
            self.gaps.remove(seq);
        }
        // What lies between the last seen and the newest, unseen, may still commit.
        if newest > self.last {
            let skipped = (self.last + 1..newest).filter(|seq| !seen.contains(seq));
            for seq in skipped.take(MAX_GAPS) {
                self.gaps.insert(seq, now);
            }
            self.last = newest;
        }
        self.gaps
            .retain(|_, noticed| now.duration_since(*noticed) < GAP_PATIENCE);
        while self.gaps.len() > MAX_GAPS {
            self.gaps.pop_first();
        }
        found.into_iter().map(|(_, tenant)| tenant).collect()
    }
}

/// The watcher: reads what the outbox got since `last` (and at its gaps), every
/// [`WATCH_EVERY`]; a failed read (an outage) is tried again at the next tick.
async fn watch_outbox(store: DieselStore, last: i64) {
    let mut position = Position {
        last,
        gaps: BTreeMap::new(),
    };
    let mut ticks = tokio::time::interval(WATCH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // Every other handle on the store is gone: nobody is left to wait.
        if Arc::strong_count(&store.event_watch) == 1 {
            return;
        }
        let gaps = position.gaps.keys().copied().collect();
        match store.events_since(position.last, gaps).await {
            Ok(found) => {
                let tenants = position.advance(found, Instant::now());
                store.event_watch.record(tenants);
            }
            Err(error) => tracing::debug!(%error, "the event watch could not read the outbox"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(rows: &[(i64, &str)]) -> Vec<(i64, String)> {
        rows.iter()
            .map(|(seq, t)| (*seq, (*t).to_owned()))
            .collect()
    }

    #[test]
    fn seqs_skipped_by_a_scan_are_looked_for_until_they_show_or_time_out() {
        let start = Instant::now();
        let mut position = Position {
            last: 10,
            gaps: BTreeMap::new(),
        };
        // 11 has not committed yet when 12 is seen.
        assert_eq!(position.advance(found(&[(12, "acme")]), start), ["acme"]);
        assert_eq!(
            (
                position.last,
                position.gaps.keys().copied().collect::<Vec<_>>()
            ),
            (12, vec![11])
        );
        // 11 commits: found through its gap, and the gap closes.
        assert_eq!(
            position.advance(found(&[(11, "globex")]), start),
            ["globex"]
        );
        assert!(position.gaps.is_empty());
        // A seq that never shows (a rolled-back insert) is given up after a while.
        position.advance(found(&[(14, "acme")]), start);
        assert_eq!(position.gaps.keys().copied().collect::<Vec<_>>(), [13]);
        position.advance(Vec::new(), start + GAP_PATIENCE);
        assert!(position.gaps.is_empty());
    }
}
