//! `ApiKeys`: the vendor's API keys (their hashes), shared by all tenants.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_core::StoreError;
use scim_core::api_key::ApiKey;
use scim_core::ports::ApiKeys;
use scim_core::tenant::TokenHash;

use crate::MemoryStore;

#[async_trait]
impl ApiKeys for MemoryStore {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state
            .api_keys
            .iter()
            .any(|k| k.id == key.id || k.hash == key.hash)
        {
            return Err(StoreError::Conflict {
                attribute: "id".into(),
            });
        }
        state.api_keys.push(key.clone());
        Ok(())
    }

    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let mut keys = self.lock().api_keys.clone();
        keys.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(keys)
    }

    async fn revoke_api_key(&self, id: &str) -> Result<(), StoreError> {
        let mut state = self.lock();
        let before = state.api_keys.len();
        state.api_keys.retain(|key| key.id != id);
        if state.api_keys.len() == before {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn find_api_key(&self, hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        Ok(self
            .lock()
            .api_keys
            .iter()
            .find(|key| key.hash == *hash)
            .cloned())
    }

    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(key) = self.lock().api_keys.iter_mut().find(|key| key.id == id) {
            key.last_used = Some(at);
        }
        Ok(())
    }
}
