//! `IdempotencyStore`: the Management API's Idempotency-Keys, by owner and key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_core::StoreError;
use scim_core::idempotency::{IdempotencyRecord, StoredResponse};
use scim_core::ports::IdempotencyStore;

use crate::MemoryStore;

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn insert_idempotency(&self, record: &IdempotencyRecord) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let id = (record.owner.clone(), record.key.clone());
        if state.idempotency.contains_key(&id) {
            return Ok(false);
        }
        state.idempotency.insert(id, record.clone());
        Ok(true)
    }

    async fn idempotency(
        &self,
        owner: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let id = (owner.to_owned(), key.to_owned());
        Ok(self.lock().idempotency.get(&id).cloned())
    }

    async fn finish_idempotency(
        &self,
        owner: &str,
        key: &str,
        created: DateTime<Utc>,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let id = (owner.to_owned(), key.to_owned());
        let mut state = self.lock();
        if let Some(record) = state
            .idempotency
            .get_mut(&id)
            .filter(|record| record.created == created)
        {
            record.response = Some(response.clone());
        }
        Ok(())
    }

    async fn forget_idempotency(
        &self,
        owner: &str,
        key: &str,
        created: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let id = (owner.to_owned(), key.to_owned());
        let mut state = self.lock();
        if state
            .idempotency
            .get(&id)
            .is_some_and(|record| record.created == created)
        {
            state.idempotency.remove(&id);
        }
        Ok(())
    }

    async fn prune_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let count = state.idempotency.len();
        state
            .idempotency
            .retain(|_, record| record.created >= before);
        Ok(u64::try_from(count - state.idempotency.len()).unwrap_or_default())
    }
}
