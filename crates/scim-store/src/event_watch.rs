//! Knowing when a tenant's events were recorded, for long polls, without each poll reading
//! the store again and again.
//!
//! One watcher per process (started by the first long poll) reads the outbox's newest rows
//! every [`WATCH_EVERY`] — one indexed range scan for the whole process, whoever wrote them
//! (this process, a replica, the CLI), in pages of [`PAGE`] rows — and moves the generation
//! of every tenant that got events; polls wait on their tenant's generation. A poll reads
//! the generation before it looks for events, and the watcher starts from the outbox's end
//! before the first generation is handed out, so an event recorded after a poll looked is
//! seen by the watcher: no poll waits past an event.
//!
//! PostgreSQL hands a row its `seq` when it is inserted, not when it commits, so a row can
//! become visible after a row with a higher `seq` was seen. The `seq`s skipped below the
//! newest seen (at the start, those missing from the last [`MAX_GAPS`] below the end) are
//! kept as gaps and looked for again at every scan, for [`GAP_PATIENCE`] (longer than any
//! write transaction; a rolled-back insert leaves a gap for good). When more are skipped
//! than can be kept, the watcher cannot tell whose events may still commit, so for
//! [`GAP_PATIENCE`] it wakes every poll once a second (each then reads its tenant's
//! events). A poll the watcher missed all the same (a write transaction open longer than
//! that) still answers at its timeout: the feed reads what is unacknowledged, not a cursor,
//! so nothing is lost, only late.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
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

/// Skipped `seq`s kept at most.
const MAX_GAPS: usize = 1_000;

/// Outbox rows one read of the watcher takes at most.
const PAGE: usize = 10_000;

/// How far below the outbox's end the watcher looks for uncommitted rows as it starts.
const START_WINDOW: i64 = 1_000;

/// Pages read in one tick at most (the rest wait for the next).
const PAGES_PER_TICK: usize = 100;

/// How often every poll is woken while the watcher cannot tell whose events may commit.
const WAKE_ALL_EVERY: Duration = Duration::from_secs(1);

/// The tenants' generations, and the watcher that moves them.
#[derive(Debug, Default)]
pub(crate) struct EventWatch {
    /// Set once the watcher runs.
    started: OnceCell<()>,
    generations: Mutex<HashMap<String, u64>>,
    /// Moved for every tenant at once (see [`EventWatch::record_all`]).
    everyone: AtomicU64,
    moved: Notify,
}

impl EventWatch {
    /// A tenant's generation: its own moves and everyone's (both only grow).
    fn generation(&self, tenant: &str) -> u64 {
        let own = self.lock().get(tenant).copied().unwrap_or(0);
        own.wrapping_add(self.everyone.load(Ordering::SeqCst))
    }

    /// Moves every tenant's generation and wakes every waiting poll.
    fn record_all(&self) {
        self.everyone.fetch_add(1, Ordering::SeqCst);
        self.moved.notify_waiters();
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
                let newest = self.newest_event().await?;
                // What is missing just below the end may be uncommitted: gaps from the start.
                let window = newest.saturating_sub(START_WINDOW).max(0);
                let mut position = Position {
                    last: window,
                    ..Position::default()
                };
                let recent = self.events_since(window, Vec::new(), PAGE).await?;
                position.advance(recent, newest, Instant::now());
                position.last = newest;
                tokio::spawn(watch_outbox(self.clone(), position));
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

    /// The events (`seq`, tenant) recorded after `after`, or at one of the `gaps`: the
    /// first `limit` of them by `seq`.
    async fn events_since(
        &self,
        after: i64,
        gaps: Vec<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |connection| {
            outbox::table
                .filter(outbox::seq.gt(after).or(outbox::seq.eq_any(gaps)))
                .order(outbox::seq)
                .select((outbox::seq, outbox::tenant_id))
                .limit(limit)
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

/// Where the watcher is: the newest `seq` seen, the ones skipped below it, and until when
/// it cannot tell (more were skipped than it keeps).
#[derive(Debug, Default)]
struct Position {
    last: i64,
    gaps: BTreeMap<i64, Instant>,
    uncertain_until: Option<Instant>,
}

impl Position {
    /// Takes in what a scan found, up to `newest` (the highest `seq` the scan could see):
    /// the tenants that got events.
    fn advance(&mut self, found: Vec<(i64, String)>, newest: i64, now: Instant) -> Vec<String> {
        let seen: HashSet<i64> = found.iter().map(|(seq, _)| *seq).collect();
        for seq in &seen {
            self.gaps.remove(seq);
        }
        self.gaps
            .retain(|_, noticed| now.duration_since(*noticed) < GAP_PATIENCE);
        // What lies between the last seen and the newest, unseen, may still commit.
        if newest > self.last {
            for seq in (self.last + 1..newest).filter(|seq| !seen.contains(seq)) {
                if self.gaps.len() >= MAX_GAPS {
                    self.uncertain_until = Some(now + GAP_PATIENCE);
                    break;
                }
                self.gaps.insert(seq, now);
            }
            self.last = newest;
        }
        found.into_iter().map(|(_, tenant)| tenant).collect()
    }

    /// Whether every poll must be woken now and then (see the module's documentation).
    fn uncertain(&mut self, now: Instant) -> bool {
        if self.uncertain_until.is_some_and(|until| now >= until) {
            self.uncertain_until = None;
        }
        self.uncertain_until.is_some()
    }
}

/// The watcher: reads what the outbox got since it last looked (and at its gaps), every
/// [`WATCH_EVERY`]; a failed read (an outage) is tried again at the next tick.
async fn watch_outbox(store: DieselStore, mut position: Position) {
    let mut ticks = tokio::time::interval(WATCH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut woke_all = Instant::now();
    loop {
        ticks.tick().await;
        // Every other handle on the store is gone: nobody is left to wait.
        if Arc::strong_count(&store.event_watch) == 1 {
            return;
        }
        for _ in 0..PAGES_PER_TICK {
            let gaps = position.gaps.keys().copied().collect();
            match store.events_since(position.last, gaps, PAGE).await {
                Ok(found) => {
                    let full = found.len() >= PAGE;
                    let newest = found.last().map_or(position.last, |(seq, _)| *seq);
                    let tenants = position.advance(found, newest, Instant::now());
                    store.event_watch.record(tenants);
                    if !full {
                        break;
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "the event watch could not read the outbox");
                    break;
                }
            }
        }
        let now = Instant::now();
        if position.uncertain(now) && now.duration_since(woke_all) >= WAKE_ALL_EVERY {
            woke_all = now;
            store.event_watch.record_all();
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
            ..Position::default()
        };
        let advance = |position: &mut Position, rows: &[(i64, &str)], at: Instant| {
            let newest = rows
                .iter()
                .map(|(seq, _)| *seq)
                .max()
                .unwrap_or(position.last);
            position.advance(found(rows), newest, at)
        };
        // 11 has not committed yet when 12 is seen.
        assert_eq!(advance(&mut position, &[(12, "acme")], start), ["acme"]);
        assert_eq!(
            (
                position.last,
                position.gaps.keys().copied().collect::<Vec<_>>()
            ),
            (12, vec![11])
        );
        // 11 commits: found through its gap, and the gap closes.
        assert_eq!(advance(&mut position, &[(11, "globex")], start), ["globex"]);
        assert!(position.gaps.is_empty());
        // A seq that never shows (a rolled-back insert) is given up after a while.
        advance(&mut position, &[(14, "acme")], start);
        assert_eq!(position.gaps.keys().copied().collect::<Vec<_>>(), [13]);
        advance(&mut position, &[], start + GAP_PATIENCE);
        assert!(position.gaps.is_empty());
        assert!(!position.uncertain(start + GAP_PATIENCE));
    }

    /// More skipped than can be kept (a huge jump, or many open transactions): the
    /// watcher keeps what it can and is uncertain for a while, waking every poll.
    #[test]
    fn too_many_skipped_seqs_make_the_watcher_wake_everyone_for_a_while() {
        let start = Instant::now();
        let mut position = Position::default();
        let newest = 1_000_000_000;
        position.advance(found(&[(newest, "acme")]), newest, start);
        assert_eq!(position.last, newest);
        assert_eq!(position.gaps.len(), MAX_GAPS, "bounded");
        assert!(position.uncertain(start));
        assert!(position.uncertain(start + GAP_PATIENCE / 2));
        assert!(!position.uncertain(start + GAP_PATIENCE), "for a while");
        let watch = EventWatch::default();
        let before = watch.generation("acme");
        watch.record_all();
        assert_ne!(watch.generation("acme"), before, "every tenant moves");
        assert_ne!(watch.generation("globex"), 0);
    }
}
