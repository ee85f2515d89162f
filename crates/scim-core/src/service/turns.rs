//! One writer at a time per resource, within this process.
//!
//! Updates are optimistic: planned from the resource as read, committed only if its version
//! is still the one read. Identity providers write one resource from many requests at once
//! (Entra ID and Okta push a group's members in parallel, never with `If-Match`), and
//! without a queue N such writers re-plan O(N²) times between them. Here the writers of one
//! resource take turns, so within a process each plans once against the version its
//! predecessor left; a writer of another process (a replica, the CLI) can still get in
//! between, and the version check then makes the loser re-plan.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::lock::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::resource::ResourceKind;
use crate::tenant::TenantId;

type Key = (TenantId, ResourceKind, String);

/// Queues kept before the ones nobody holds any more are swept.
const SWEEP_AT: usize = 1024;

/// The queues of the resources being written; a queue is dropped with its last writer.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    queues: Mutex<HashMap<Key, Arc<AsyncMutex<()>>>>,
}

/// A writer's turn: the resource is its own until this is dropped.
pub(crate) struct Turn<'a> {
    guard: Option<OwnedMutexGuard<()>>,
    turns: &'a Turns,
    key: Key,
}

impl Turns {
    /// Waits for the turn to write `id`.
    pub(crate) async fn take(&self, tenant: &TenantId, kind: ResourceKind, id: &str) -> Turn<'_> {
        let key = (tenant.clone(), kind, id.to_owned());
        let queue = {
            let mut queues = self.lock();
            // A writer that gave up waiting (its request dropped) leaves its queue behind
            // when nobody else held it: swept here, so the map stays small.
            if queues.len() >= SWEEP_AT {
                queues.retain(|_, queue| Arc::strong_count(queue) > 1);
            }
            Arc::clone(queues.entry(key.clone()).or_default())
        };
        let guard = queue.lock_owned().await;
        Turn {
            guard: Some(guard),
            turns: self,
            key,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<AsyncMutex<()>>>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        // The turn ends first; then the queue goes if nobody else holds or waits for it
        // (whoever took it meanwhile holds a clone, so it stays).
        self.guard = None;
        let mut queues = self.turns.lock();
        if queues
            .get(&self.key)
            .is_some_and(|queue| Arc::strong_count(queue) == 1)
        {
            queues.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn writers_of_one_resource_take_turns_and_queues_go_with_the_last() {
        let turns = Arc::new(Turns::default());
        let tenant = TenantId("t".into());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (turns, tenant) = (Arc::clone(&turns), tenant.clone());
            let (inside, most) = (Arc::clone(&inside), Arc::clone(&most));
            tasks.push(tokio::spawn(async move {
                let _turn = turns.take(&tenant, ResourceKind::Group, "g1").await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "one writer at a time");
        assert_eq!(turns.len(), 0, "no queue is left behind");
        // Other resources do not wait.
        let first = turns.take(&tenant, ResourceKind::Group, "g1").await;
        let other = turns.take(&tenant, ResourceKind::User, "g1").await;
        assert_eq!(turns.len(), 2);
        drop((first, other));
        assert_eq!(turns.len(), 0);
    }

    #[tokio::test]
    async fn queues_left_by_writers_that_gave_up_are_swept() {
        let turns = Turns::default();
        let tenant = TenantId("t".into());
        let waker = futures_util::task::noop_waker();
        let mut context = std::task::Context::from_waker(&waker);
        for n in 0..SWEEP_AT * 2 {
            let id = format!("g{n}");
            let first = turns.take(&tenant, ResourceKind::Group, &id).await;
            // A second writer waits behind the first, which then ends; the second gives up
            // before its turn (its request dropped): nobody is left to remove the queue.
            let mut second = Box::pin(turns.take(&tenant, ResourceKind::Group, &id));
            assert!(second.as_mut().poll(&mut context).is_pending());
            drop(first);
            drop(second);
        }
        assert!(turns.len() <= SWEEP_AT, "{} queues kept", turns.len());
    }
}
