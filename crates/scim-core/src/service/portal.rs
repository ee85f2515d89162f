//! The customer's portal's access: setup links the vendor makes for a tenant (the
//! Management API, `tenant setup-link`), and the browser sessions they open.

use std::sync::Arc;

use crate::error::StoreError;
use crate::portal::{PortalGrant, PortalKind, link_lifetime, session_expiry};
use crate::ports::{Clock, IdGenerator, PortalAccess, SecretGenerator};
use crate::service::{TenantError, TenantService};
use crate::tenant::{Tenant, TokenHash, is_secret_shaped};

/// Setup links and portal sessions.
#[derive(Clone)]
pub struct PortalService {
    access: Arc<dyn PortalAccess>,
    tenants: TenantService,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    secrets: Arc<dyn SecretGenerator>,
}

/// A session just opened: its secret (for the cookie, shown nowhere else) and what it
/// opens.
#[derive(Clone)]
pub struct OpenedSession {
    /// The cookie's value.
    pub secret: String,
    /// The session.
    pub session: PortalGrant,
    /// Its tenant.
    pub tenant: Tenant,
}

impl std::fmt::Debug for OpenedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSession")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl PortalService {
    /// On the store's portal secrets and the tenants.
    pub fn new(
        access: Arc<dyn PortalAccess>,
        tenants: TenantService,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        secrets: Arc<dyn SecretGenerator>,
    ) -> Self {
        Self {
            access,
            tenants,
            clock,
            ids,
            secrets,
        }
    }

    /// A new setup link of the tenant, working `hours` (a week unless said, 30 days at
    /// most): the link and its code, which is shown once and stored as its hash.
    pub async fn create_link(
        &self,
        slug: &str,
        hours: Option<u32>,
    ) -> Result<(PortalGrant, String), TenantError> {
        let lifetime = link_lifetime(hours).map_err(TenantError::InvalidSetting)?;
        let tenant = self.tenants.tenant(slug).await?;
        let code = self.secrets.new_secret();
        let now = self.clock.now();
        let link = PortalGrant {
            id: self.ids.new_id(),
            kind: PortalKind::Link,
            tenant: tenant.id,
            link: None,
            created: now,
            expires: now + lifetime,
        };
        self.access
            .add_portal_grant(&TokenHash::of(&code), &link)
            .await?;
        Ok((link, code))
    }

    /// The tenant's links that work now, oldest first.
    pub async fn links(&self, slug: &str) -> Result<Vec<PortalGrant>, TenantError> {
        let tenant = self.tenants.tenant(slug).await?;
        Ok(self
            .access
            .portal_links(&tenant.id, self.clock.now())
            .await?)
    }

    /// Revokes a link of the tenant, and ends the sessions it opened.
    pub async fn revoke_link(&self, slug: &str, id: &str) -> Result<(), TenantError> {
        let tenant = self.tenants.tenant(slug).await?;
        match self.access.revoke_portal_link(&tenant.id, id).await {
            Err(StoreError::NotFound) => Err(TenantError::UnknownLink(id.to_owned())),
            other => Ok(other?),
        }
    }

    /// Opens a session with a link's `code`: `None` when the code is no link that works
    /// (unknown, expired, revoked, or its tenant gone).
    pub async fn open(&self, code: &str) -> Result<Option<OpenedSession>, StoreError> {
        if !is_secret_shaped(code) {
            return Ok(None);
        }
        let now = self.clock.now();
        let Some(link) = self
            .access
            .portal_grant(&TokenHash::of(code), PortalKind::Link, now)
            .await?
        else {
            return Ok(None);
        };
        let Some(tenant) = self.tenants.tenant_by_id(&link.tenant).await? else {
            return Ok(None);
        };
        let secret = self.secrets.new_secret();
        let session = PortalGrant {
            id: self.ids.new_id(),
            kind: PortalKind::Session,
            tenant: link.tenant.clone(),
            link: Some(link.id.clone()),
            created: now,
            expires: session_expiry(now, link.expires),
        };
        self.access
            .add_portal_grant(&TokenHash::of(&secret), &session)
            .await?;
        Ok(Some(OpenedSession {
            secret,
            session,
            tenant,
        }))
    }

    /// The session of a cookie's `secret` and its tenant, when it works.
    pub async fn session(&self, secret: &str) -> Result<Option<(PortalGrant, Tenant)>, StoreError> {
        if !is_secret_shaped(secret) {
            return Ok(None);
        }
        let now = self.clock.now();
        let Some(session) = self
            .access
            .portal_grant(&TokenHash::of(secret), PortalKind::Session, now)
            .await?
        else {
            return Ok(None);
        };
        let tenant = self.tenants.tenant_by_id(&session.tenant).await?;
        Ok(tenant.map(|tenant| (session, tenant)))
    }

    /// Ends the session of `secret` (a logout).
    pub async fn logout(&self, secret: &str) -> Result<(), StoreError> {
        self.access.end_portal_session(&TokenHash::of(secret)).await
    }

    /// Forgets expired links and sessions: how many.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        self.access.prune_portal(self.clock.now()).await
    }
}
