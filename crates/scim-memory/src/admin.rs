//! `AdminRepository`: the dashboard's login links and sessions (their secrets' hashes), and
//! the pools' daily usage snapshots.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use scim_core::StoreError;
use scim_core::admin::{AdminSession, Revocation, UsageDay};
use scim_core::fold::fold_key;
use scim_core::ports::AdminRepository;
use scim_core::tenant::{TenantId, TokenHash};

use crate::MemoryStore;

/// A login link or a session, by the hash of its secret.
#[derive(Debug, Clone)]
pub(crate) struct AdminSecret {
    pub(crate) hash: TokenHash,
    /// A link opens a session once; a session is what a browser holds.
    is_link: bool,
    pub(crate) session: AdminSession,
}

#[async_trait]
impl AdminRepository for MemoryStore {
    async fn add_login_link(
        &self,
        hash: &TokenHash,
        link: &AdminSession,
    ) -> Result<(), StoreError> {
        self.lock().admin.push(AdminSecret {
            hash: hash.clone(),
            is_link: true,
            session: link.clone(),
        });
        Ok(())
    }

    async fn redeem_login_link(
        &self,
        link: &TokenHash,
        session_secret: &TokenHash,
        session: &AdminSession,
        now: DateTime<Utc>,
    ) -> Result<Option<AdminSession>, StoreError> {
        let mut state = self.lock();
        // Removed whether it is still valid or not: a link is good for one try.
        let position =
            (state.admin.iter()).position(|secret| secret.is_link && secret.hash == *link);
        let Some(position) = position else {
            return Ok(None);
        };
        let link = state.admin.remove(position);
        if link.session.expires <= now {
            return Ok(None);
        }
        let opened = AdminSession {
            scope: link.session.scope,
            ..session.clone()
        };
        state.admin.push(AdminSecret {
            hash: session_secret.clone(),
            is_link: false,
            session: opened.clone(),
        });
        Ok(Some(opened))
    }

    async fn admin_session(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<AdminSession>, StoreError> {
        let state = self.lock();
        let mut sessions = state.admin.iter().filter(|secret| !secret.is_link);
        Ok(sessions
            .find(|secret| secret.hash == *hash && secret.session.expires > now)
            .map(|secret| secret.session.clone()))
    }

    async fn admin_sessions(&self, now: DateTime<Utc>) -> Result<Vec<AdminSession>, StoreError> {
        let state = self.lock();
        let mut sessions: Vec<AdminSession> = (state.admin.iter())
            .filter(|secret| !secret.is_link && secret.session.expires > now)
            .map(|secret| secret.session.clone())
            .collect();
        sessions.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(sessions)
    }

    async fn revoke_admin_sessions(&self, which: &Revocation) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let before = state.admin.len();
        state.admin.retain(|secret| match which {
            Revocation::Id(id) => secret.is_link || secret.session.id != *id,
            Revocation::Secret(hash) => secret.is_link || secret.hash != *hash,
            Revocation::All => false,
        });
        Ok((before - state.admin.len()) as u64)
    }

    async fn record_usage(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut state = self.lock();
        for data in state.tenants.values_mut() {
            for pool in &data.pools {
                let snapshot = UsageDay {
                    sku: pool.sku.clone(),
                    day,
                    seats: pool.seats,
                    used: pool.used,
                };
                data.usage.insert((fold_key(&pool.sku), day), snapshot);
            }
        }
        state.admin.retain(|secret| secret.session.expires > now);
        Ok(())
    }

    async fn usage_history(
        &self,
        tenant: &TenantId,
        since: NaiveDate,
    ) -> Result<Vec<UsageDay>, StoreError> {
        Ok(self
            .read(tenant, |data| {
                let days = data.usage.iter().filter(|((_, day), _)| *day >= since);
                days.map(|(_, snapshot)| snapshot.clone()).collect()
            })
            .unwrap_or_default())
    }
}
