//! Knowing when a tenant's events were recorded, for long polls, without each poll reading
//! the store again and again.
//!
//! One watcher per process (started by the first long poll) reads the outbox's newest rows
//! every [`WATCH_EVERY`] — one indexed range scan for the whole process, whoever wrote them
//! (this process, a replica, the CLI) — and moves the generation of every tenant that got
//! events; polls wait on their tenant's generation. A poll reads the generation before it
//! looks for events, and the watcher starts from the outbox's end before the first
//! generation is handed out, so an event recorded after a poll looked is always seen by the
//! watcher: no poll waits past an event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

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

    /// The tenants that got events after `after`, and the newest `seq` among them.
    async fn events_since(&self, after: i64) -> Result<Vec<(String, i64)>, StoreError> {
        self.run(move |connection| {
            let rows: Vec<(String, Option<i64>)> = outbox::table
                .filter(outbox::seq.gt(after))
                .group_by(outbox::tenant_id)
                .select((outbox::tenant_id, max(outbox::seq)))
                .load(connection)
                .map_err(from_diesel)?;
            Ok(rows
                .into_iter()
                .filter_map(|(tenant, newest)| Some((tenant, newest?)))
                .collect())
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

/// The watcher: reads what the outbox got since `last`, every [`WATCH_EVERY`]; a failed
/// read (an outage) is tried again at the next tick.
async fn watch_outbox(store: DieselStore, mut last: i64) {
    let mut ticks = tokio::time::interval(WATCH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // Every other handle on the store is gone: nobody is left to wait.
        if Arc::strong_count(&store.event_watch) == 1 {
            return;
        }
        match store.events_since(last).await {
            Ok(recorded) => {
                if let Some(newest) = recorded.iter().map(|(_, seq)| *seq).max() {
                    last = last.max(newest);
                }
                store
                    .event_watch
                    .record(recorded.into_iter().map(|(tenant, _)| tenant));
            }
            Err(error) => tracing::debug!(%error, "the event watch could not read the outbox"),
        }
    }
}
