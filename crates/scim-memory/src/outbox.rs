//! `EventLog`: the outbox every committed write recorded its events in, and the RFC 8936
//! poll feed over it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_core::StoreError;
use scim_core::events::{EventHorizon, SigningKey, StoredEvent};
use scim_core::ports::{EventLog, SigningKeys};
use scim_core::tenant::TenantId;

use crate::MemoryStore;

#[async_trait]
impl EventLog for MemoryStore {
    async fn events_after(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .read(tenant, |data| {
                let events = data.outbox.iter().filter(|stored| stored.seq > after);
                events.take(limit).cloned().collect()
            })
            .unwrap_or_default())
    }

    async fn unacknowledged(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .read(tenant, |data| {
                let events = data.outbox.iter();
                let waiting = events.filter(|stored| !data.acknowledged.contains(&stored.seq));
                waiting.take(limit).cloned().collect()
            })
            .unwrap_or_default())
    }

    /// The number of the tenant's events: it moves with every one recorded.
    async fn events_generation(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        Ok(self
            .read(tenant, |data| data.outbox.len() as u64)
            .unwrap_or_default())
    }

    /// Woken by every write that records events (in any tenant: it looks again).
    async fn events_recorded(&self, tenant: &TenantId, seen: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before looking, so that a write in between still wakes it.
            let woken = self.recorded.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.events_generation(tenant).await.unwrap_or(seen) != seen {
                return true;
            }
            if tokio::time::timeout_at(deadline, woken).await.is_err() {
                return false;
            }
        }
    }

    async fn acknowledge(
        &self,
        tenant: &TenantId,
        seqs: &[i64],
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(data) = state.tenants.get_mut(tenant) {
            // Another tenant's or an unknown seq changes nothing.
            let known = seqs
                .iter()
                .filter(|seq| data.outbox.binary_search_by_key(*seq, |e| e.seq).is_ok());
            let before = data.acknowledged.len();
            data.acknowledged.extend(known);
            // From now on, retention counts what this feed loses.
            data.horizon.polled |= data.acknowledged.len() > before;
        }
        Ok(())
    }

    async fn prune_events(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError> {
        let mut state = self.lock();
        // The oldest events of every tenant, by seq, those recorded before the cutoff.
        let mut oldest: Vec<(i64, DateTime<Utc>)> = (state.tenants.values())
            .flat_map(|data| data.outbox.iter().map(|stored| (stored.seq, stored.at)))
            .collect();
        oldest.sort_unstable();
        oldest.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let doomed: std::collections::BTreeSet<i64> = (oldest.into_iter())
            .filter(|(_, at)| *at < before)
            .map(|(seq, _)| seq)
            .collect();
        let mut removed = 0;
        for data in state.tenants.values_mut() {
            let (gone, kept): (Vec<StoredEvent>, Vec<StoredEvent>) =
                std::mem::take(&mut data.outbox)
                    .into_iter()
                    .partition(|stored| doomed.contains(&stored.seq));
            data.outbox = kept;
            let Some(newest) = gone.last() else {
                continue;
            };
            let unacked = (gone.iter())
                .filter(|stored| !data.acknowledged.remove(&stored.seq))
                .count() as u64;
            let horizon = &mut data.horizon;
            horizon.pruned_through = horizon.pruned_through.max(newest.seq);
            if horizon.polled {
                horizon.lost += unacked;
            }
            data.deliveries
                .retain(|delivery| !doomed.contains(&delivery.seq));
            removed += gone.len() as u64;
        }
        Ok(removed)
    }

    async fn horizon(&self, tenant: &TenantId) -> Result<EventHorizon, StoreError> {
        Ok(self
            .read(tenant, |data| EventHorizon {
                pruned_through: data.horizon.pruned_through,
                lost: data.horizon.lost - data.horizon.told,
            })
            .unwrap_or_default())
    }

    async fn take_lost(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let Some(data) = state.tenants.get_mut(tenant) else {
            return Ok(0);
        };
        let untold = data.horizon.lost - data.horizon.told;
        data.horizon.told = data.horizon.lost;
        Ok(untold)
    }
}

#[async_trait]
impl SigningKeys for MemoryStore {
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let mut keys = self.lock().signing_keys.clone();
        keys.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.kid.cmp(&b.kid)));
        Ok(keys)
    }

    async fn add_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.signing_keys.iter().any(|known| known.kid == key.kid) {
            return Err(StoreError::Conflict {
                attribute: "kid".into(),
            });
        }
        state.signing_keys.push(key.clone());
        Ok(())
    }

    async fn forget_signing_keys(&self, kids: &[String]) -> Result<(), StoreError> {
        self.lock()
            .signing_keys
            .retain(|key| !kids.contains(&key.kid));
        Ok(())
    }
}
