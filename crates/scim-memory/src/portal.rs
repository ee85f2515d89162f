//! `PortalAccess`: setup links and portal sessions, by the hash of their secret.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_core::StoreError;
use scim_core::portal::{PortalGrant, PortalKind};
use scim_core::ports::PortalAccess;
use scim_core::tenant::{TenantId, TokenHash};

use crate::MemoryStore;

#[async_trait]
impl PortalAccess for MemoryStore {
    async fn add_portal_grant(
        &self,
        hash: &TokenHash,
        grant: &PortalGrant,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.portal.iter().any(|(known, _)| known == hash) {
            return Err(StoreError::Conflict {
                attribute: "hash".into(),
            });
        }
        state.portal.push((hash.clone(), grant.clone()));
        Ok(())
    }

    async fn portal_grant(
        &self,
        hash: &TokenHash,
        kind: PortalKind,
        now: DateTime<Utc>,
    ) -> Result<Option<PortalGrant>, StoreError> {
        Ok(self
            .lock()
            .portal
            .iter()
            .find(|(known, grant)| known == hash && grant.kind == kind && grant.is_valid_at(now))
            .map(|(_, grant)| grant.clone()))
    }

    async fn portal_links(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Vec<PortalGrant>, StoreError> {
        let mut links: Vec<PortalGrant> = (self.lock().portal.iter())
            .map(|(_, grant)| grant)
            .filter(|grant| {
                grant.tenant == *tenant && grant.kind == PortalKind::Link && grant.is_valid_at(now)
            })
            .cloned()
            .collect();
        links.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(links)
    }

    async fn revoke_portal_link(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        let mut state = self.lock();
        let owned = |grant: &PortalGrant| grant.tenant == *tenant;
        let before = state.portal.len();
        state.portal.retain(|(_, grant)| {
            !(owned(grant) && grant.kind == PortalKind::Link && grant.id == id)
        });
        if state.portal.len() == before {
            return Err(StoreError::NotFound);
        }
        state
            .portal
            .retain(|(_, grant)| !(owned(grant) && grant.link.as_deref() == Some(id)));
        Ok(())
    }

    async fn end_portal_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.lock()
            .portal
            .retain(|(known, grant)| !(known == hash && grant.kind == PortalKind::Session));
        Ok(())
    }

    async fn prune_portal(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let before = state.portal.len();
        state.portal.retain(|(_, grant)| grant.is_valid_at(now));
        Ok(u64::try_from(before - state.portal.len()).unwrap_or_default())
    }
}
