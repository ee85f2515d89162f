//! `EventLog`: the outbox every committed write recorded its events in, and the RFC 8936
//! poll feed over it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_core::StoreError;
use scim_core::events::{SigningKey, StoredEvent};
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
            data.acknowledged.extend(known);
        }
        Ok(())
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
