//! `TenantDirectory`, `CredentialStore` and `StoreHealth`: tenants, the credentials their
//! IdPs hold (hashes only), and whether the store answers (always).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_core::StoreError;
use scim_core::admin::SessionScope;
use scim_core::compat::Compatibility;
use scim_core::ports::{CredentialStore, StoreHealth, TenantDirectory};
use scim_core::schema::TenantAttribute;
use scim_core::tenant::{PurgeStep, StoredClient, StoredToken, Tenant, TenantId, TokenHash};

use crate::{MemoryStore, TenantData};

#[async_trait]
impl TenantDirectory for MemoryStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut state = self.lock();
        let taken = |attribute: &str| StoreError::Conflict {
            attribute: attribute.into(),
        };
        if state
            .tenants
            .values()
            .any(|data| data.tenant.slug == tenant.slug)
        {
            return Err(taken("slug"));
        }
        if state.tenants.contains_key(&tenant.id) {
            return Err(taken("id"));
        }
        let data = TenantData::new(tenant.clone());
        state.tenants.insert(tenant.id.clone(), data);
        Ok(())
    }

    async fn find_tenant(&self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        let state = self.lock();
        let mut tenants = state.tenants.values();
        Ok(tenants
            .find(|data| data.tenant.slug == slug && !data.deleting)
            .map(|data| data.tenant.clone()))
    }

    async fn tenant_by_id(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        Ok(self.read(tenant, |data| data.tenant.clone()))
    }

    async fn list_tenants<'a>(
        &self,
        after: Option<&'a str>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError> {
        let state = self.lock();
        let mut tenants: Vec<Tenant> = (state.tenants.values())
            .filter(|data| !data.deleting)
            .filter(|data| after.is_none_or(|after| data.tenant.slug.as_str() > after))
            .map(|data| data.tenant.clone())
            .collect();
        tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
        tenants.truncate(limit);
        Ok(tenants)
    }

    async fn set_client_certs(
        &self,
        tenant: &TenantId,
        fingerprints: &[String],
    ) -> Result<(), StoreError> {
        self.write(tenant, |data| {
            data.tenant.client_certs = fingerprints.to_vec();
            Ok(())
        })
    }

    async fn set_custom_attributes(
        &self,
        tenant: &TenantId,
        expected: &[TenantAttribute],
        attributes: &[TenantAttribute],
    ) -> Result<(), StoreError> {
        self.write(tenant, |data| {
            if data.tenant.custom_attributes != expected {
                return Err(StoreError::VersionMismatch);
            }
            data.tenant.custom_attributes = attributes.to_vec();
            Ok(())
        })
    }

    async fn update_tenant(
        &self,
        tenant: &TenantId,
        name: &str,
        compatibility: &Compatibility,
    ) -> Result<(), StoreError> {
        self.write(tenant, |data| {
            data.tenant.name = name.to_owned();
            data.tenant.compatibility = compatibility.clone();
            Ok(())
        })
    }

    async fn tenant_being_deleted(&self, slug: &str) -> Result<Option<TenantId>, StoreError> {
        let state = self.lock();
        Ok(state
            .tenants
            .iter()
            .find(|(_, data)| data.tenant.slug == slug && data.deleting)
            .map(|(id, _)| id.clone()))
    }

    /// In steps of at most `batch` rows, as a database store takes them, in the same
    /// order: credentials, then what refers to users and groups, then those, then the rest.
    async fn purge_tenant(&self, tenant: &TenantId, batch: usize) -> Result<PurgeStep, StoreError> {
        let mut state = self.lock();
        let batch = batch.max(1);
        let mut budget = batch;
        let gone = |budget: usize| batch - budget;
        let Some(data) = state.tenants.get_mut(tenant) else {
            return Ok(PurgeStep {
                removed: 0,
                finished: true,
            });
        };
        data.deleting = true;
        take(&mut data.tokens, &mut budget);
        take(&mut data.clients, &mut budget);
        let scope = SessionScope::Tenant(tenant.clone());
        take_where(&mut state.admin, &mut budget, |secret| {
            secret.session.scope == scope
        });
        take_where(&mut state.portal, &mut budget, |(_, grant)| {
            grant.tenant == *tenant
        });
        let hours: Vec<_> = (state.activity_hours.keys())
            .filter(|(owner, _)| owner == tenant)
            .take(budget)
            .cloned()
            .collect();
        budget -= hours.len();
        for hour in hours {
            state.activity_hours.remove(&hour);
        }
        take_where(&mut state.activity, &mut budget, |entry| {
            entry.tenant == *tenant
        });
        let Some(data) = state.tenants.get_mut(tenant) else {
            return Ok(PurgeStep::default());
        };
        take(&mut data.deliveries, &mut budget);
        take(&mut data.outbox, &mut budget);
        data.acknowledged.clear();
        take(&mut data.audit, &mut budget);
        while budget > 0 && !data.licenses.is_empty() {
            let user = data.licenses.keys().next().cloned().unwrap_or_default();
            data.licenses.remove(&user);
            budget -= 1;
        }
        take(&mut data.members, &mut budget);
        take(&mut data.resources, &mut budget);
        data.keys.truncate(data.resources.len());
        take(&mut data.jobs, &mut budget);
        while budget > 0 && !data.usage.is_empty() {
            data.usage.pop_first();
            budget -= 1;
        }
        if budget == 0 {
            return Ok(PurgeStep {
                removed: u64::try_from(gone(budget)).unwrap_or(u64::MAX),
                finished: false,
            });
        }
        state.tenants.remove(tenant);
        Ok(PurgeStep {
            removed: u64::try_from(gone(budget) + 1).unwrap_or(u64::MAX),
            finished: true,
        })
    }
}

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn insert_token(&self, token: &StoredToken) -> Result<(), StoreError> {
        self.unique_token(token)?;
        self.write(&token.tenant, |data| {
            data.tokens.push(token.clone());
            Ok(())
        })
    }

    async fn list_tokens(&self, tenant: &TenantId) -> Result<Vec<StoredToken>, StoreError> {
        let mut tokens = self
            .read(tenant, |data| data.tokens.clone())
            .unwrap_or_default();
        tokens.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(tokens)
    }

    async fn revoke_token(&self, tenant: &TenantId, token_id: &str) -> Result<(), StoreError> {
        self.write(tenant, |data| {
            let before = data.tokens.len();
            data.tokens.retain(|token| token.id != token_id);
            if data.tokens.len() == before {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }

    async fn insert_client(&self, client: &StoredClient) -> Result<(), StoreError> {
        let taken = self.lock().tenants.values().any(|data| {
            let mut clients = data.clients.iter();
            clients.any(|known| known.id == client.id)
        });
        if taken {
            return Err(StoreError::Conflict {
                attribute: "id".into(),
            });
        }
        self.write(&client.tenant, |data| {
            data.clients.push(client.clone());
            Ok(())
        })
    }

    async fn find_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(StoredClient, Tenant)>, StoreError> {
        let state = self.lock();
        Ok(state
            .tenants
            .values()
            .filter(|data| !data.deleting)
            .find_map(|data| {
                let client = data.clients.iter().find(|client| client.id == client_id)?;
                Some((client.clone(), data.tenant.clone()))
            }))
    }

    async fn list_clients(&self, tenant: &TenantId) -> Result<Vec<StoredClient>, StoreError> {
        let mut clients = self
            .read(tenant, |data| data.clients.clone())
            .unwrap_or_default();
        clients.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(clients)
    }

    async fn revoke_client(&self, tenant: &TenantId, client_id: &str) -> Result<(), StoreError> {
        self.write(tenant, |data| {
            let before = data.clients.len();
            data.clients.retain(|client| client.id != client_id);
            if data.clients.len() == before {
                return Err(StoreError::NotFound);
            }
            let issued = |token: &StoredToken| token.client.as_deref() == Some(client_id);
            data.tokens.retain(|token| !issued(token));
            Ok(())
        })
    }

    async fn insert_client_token(
        &self,
        token: &StoredToken,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.unique_token(token)?;
        self.write(&token.tenant, |data| {
            let expired = |known: &StoredToken| {
                known.client.is_some()
                    && known.client == token.client
                    && known.expires.is_some_and(|expires| expires < now)
            };
            data.tokens.retain(|known| !expired(known));
            data.tokens.push(token.clone());
            Ok(())
        })
    }

    async fn find_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(StoredToken, Tenant)>, StoreError> {
        let state = self.lock();
        Ok(state
            .tenants
            .values()
            .filter(|data| !data.deleting)
            .find_map(|data| {
                let token = data.tokens.iter().find(|token| token.hash == *hash)?;
                Some((token.clone(), data.tenant.clone()))
            }))
    }
}

impl MemoryStore {
    /// A token's id and hash are unique store-wide.
    fn unique_token(&self, token: &StoredToken) -> Result<(), StoreError> {
        let state = self.lock();
        let taken = state
            .tenants
            .values()
            .flat_map(|data| &data.tokens)
            .find_map(|known| {
                if known.id == token.id {
                    Some("id")
                } else {
                    (known.hash == token.hash).then_some("hash")
                }
            });
        match taken {
            Some(attribute) => Err(StoreError::Conflict {
                attribute: attribute.into(),
            }),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl StoreHealth for MemoryStore {
    /// Memory always answers.
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Removes up to `budget` items from the end of `list`, taking them from the budget.
fn take<T>(list: &mut Vec<T>, budget: &mut usize) {
    let removed = (*budget).min(list.len());
    list.truncate(list.len() - removed);
    *budget -= removed;
}

/// Removes up to `budget` of the items `owned` picks, taking them from the budget.
fn take_where<T>(list: &mut Vec<T>, budget: &mut usize, owned: impl Fn(&T) -> bool) {
    list.retain(|item| {
        if *budget > 0 && owned(item) {
            *budget -= 1;
            return false;
        }
        true
    });
}
