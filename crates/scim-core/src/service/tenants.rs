//! Tenants, their bearer tokens, and authenticating a request by one.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::{ScimError, ScimResult, StoreError};
use crate::ports::{Clock, IdGenerator, TenantRepository};
use crate::tenant::{
    Principal, StoredToken, TOKEN_PREFIX, Tenant, TenantId, TokenHash, is_valid_slug,
};

/// Why a tenant operation failed, for the operator's CLI.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error(
        "'{0}' is not a valid tenant slug: use 1-63 of a-z, 0-9 and '-', not starting with '-'"
    )]
    InvalidSlug(String),
    #[error("tenant '{0}' already exists")]
    Exists(String),
    #[error("no tenant '{0}'")]
    UnknownTenant(String),
    #[error("no token '{0}' in this tenant")]
    UnknownToken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct TenantService {
    repo: Arc<dyn TenantRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl TenantService {
    pub fn new(
        repo: Arc<dyn TenantRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self { repo, clock, ids }
    }

    pub async fn create_tenant(
        &self,
        slug: &str,
        name: Option<&str>,
    ) -> Result<Tenant, TenantError> {
        if !is_valid_slug(slug) {
            return Err(TenantError::InvalidSlug(slug.to_owned()));
        }
        let tenant = Tenant {
            id: TenantId(self.ids.new_id()),
            slug: slug.to_owned(),
            name: name.unwrap_or(slug).to_owned(),
            created: self.clock.now(),
        };
        match self.repo.create_tenant(&tenant).await {
            Ok(()) => Ok(tenant),
            Err(StoreError::Conflict { .. }) => Err(TenantError::Exists(slug.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, TenantError> {
        Ok(self.repo.list_tenants().await?)
    }

    pub async fn tenant(&self, slug: &str) -> Result<Tenant, TenantError> {
        self.repo
            .find_tenant(slug)
            .await?
            .ok_or_else(|| TenantError::UnknownTenant(slug.to_owned()))
    }

    /// Stores the hash of `secret` (which the caller generated with at least 128 random
    /// bits and shows to the operator once) as a token of the tenant.
    pub async fn issue_token(
        &self,
        slug: &str,
        secret: &str,
        expires: Option<DateTime<Utc>>,
    ) -> Result<StoredToken, TenantError> {
        let tenant = self.tenant(slug).await?;
        let token = StoredToken {
            id: self.ids.new_id(),
            tenant: tenant.id,
            hash: TokenHash::of(secret),
            hint: secret.chars().take(TOKEN_PREFIX.len() + 4).collect(),
            created: self.clock.now(),
            expires,
        };
        self.repo.insert_token(&token).await?;
        Ok(token)
    }

    pub async fn list_tokens(&self, slug: &str) -> Result<Vec<StoredToken>, TenantError> {
        let tenant = self.tenant(slug).await?;
        Ok(self.repo.list_tokens(&tenant.id).await?)
    }

    pub async fn revoke_token(&self, slug: &str, token_id: &str) -> Result<(), TenantError> {
        let tenant = self.tenant(slug).await?;
        match self.repo.revoke_token(&tenant.id, token_id).await {
            Err(StoreError::NotFound) => Err(TenantError::UnknownToken(token_id.to_owned())),
            other => Ok(other?),
        }
    }

    /// The principal a bearer token stands for. Every failure is the same 401, so a caller
    /// learns nothing about which tokens exist.
    pub async fn authenticate_bearer(&self, secret: &str) -> ScimResult<Principal> {
        let rejected = || ScimError::Unauthorized("the bearer token is not valid".into());
        let hash = TokenHash::of(secret);
        let found = self.repo.find_token(&hash).await.map_err(|e| match e {
            StoreError::Unavailable(_) => ScimError::Unavailable,
            _ => rejected(),
        })?;
        let Some((token, tenant)) = found else {
            return Err(rejected());
        };
        if !token.hash.matches(&hash) || !token.is_valid_at(self.clock.now()) {
            return Err(rejected());
        }
        Ok(Principal {
            tenant: tenant.id,
            tenant_slug: tenant.slug,
            credential_id: token.id,
        })
    }

    /// Whether the store answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.repo.ping().await
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::ports::{MockClock, MockIdGenerator, MockTenantRepository};

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap()
    }

    fn service(repo: MockTenantRepository) -> TenantService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().returning(|| "id".to_owned());
        TenantService::new(Arc::new(repo), Arc::new(clock), Arc::new(ids))
    }

    fn acme() -> Tenant {
        Tenant {
            id: TenantId("t1".into()),
            slug: "acme".into(),
            name: "Acme".into(),
            created: now(),
        }
    }

    fn token(secret: &str, expires: Option<DateTime<Utc>>) -> StoredToken {
        StoredToken {
            id: "tok1".into(),
            tenant: TenantId("t1".into()),
            hash: TokenHash::of(secret),
            hint: "scim_abcd".into(),
            created: now(),
            expires,
        }
    }

    #[tokio::test]
    async fn bearer_tokens_choose_their_tenant_until_they_expire() {
        let mut repo = MockTenantRepository::new();
        repo.expect_find_token().returning(|hash| {
            Ok(if *hash == TokenHash::of("scim_good") {
                Some((token("scim_good", None), acme()))
            } else if *hash == TokenHash::of("scim_old") {
                Some((
                    token("scim_old", Some(now() - TimeDelta::seconds(1))),
                    acme(),
                ))
            } else {
                None
            })
        });
        let svc = service(repo);
        let principal = svc.authenticate_bearer("scim_good").await.unwrap();
        assert_eq!(principal.tenant_slug, "acme");
        assert_eq!(principal.credential_id, "tok1");
        for bad in ["scim_old", "scim_unknown"] {
            let err = svc.authenticate_bearer(bad).await.unwrap_err();
            assert_eq!(err.status(), 401, "{bad}");
        }
    }

    #[tokio::test]
    async fn issue_token_stores_only_the_hash() {
        let mut repo = MockTenantRepository::new();
        repo.expect_find_tenant().returning(|_| Ok(Some(acme())));
        repo.expect_insert_token()
            .withf(|t| t.hash == TokenHash::of("scim_secret123") && t.hint == "scim_secr")
            .times(1)
            .returning(|_| Ok(()));
        let stored = service(repo)
            .issue_token("acme", "scim_secret123", None)
            .await
            .unwrap();
        assert_eq!(stored.tenant.0, "t1");
    }

    #[tokio::test]
    async fn tenant_slugs_are_validated_and_unique() {
        let svc = service(MockTenantRepository::new());
        assert!(matches!(
            svc.create_tenant("Bad Slug", None).await,
            Err(TenantError::InvalidSlug(_))
        ));
        let mut repo = MockTenantRepository::new();
        repo.expect_create_tenant().returning(|_| {
            Err(StoreError::Conflict {
                attribute: "slug".into(),
            })
        });
        assert!(matches!(
            service(repo).create_tenant("acme", None).await,
            Err(TenantError::Exists(_))
        ));
    }
}
