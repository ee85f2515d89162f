//! The ports: what the core needs from the outside world. Adapters implement them;
//! `mockall` mocks them (feature `mock`) for tests of code built on the core.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::query::{ListPage, ListQuery};
use crate::resource::{Resource, ResourceKind};
use crate::tenant::{StoredToken, Tenant, TenantId, TokenHash};

/// Stores Users and Groups of one tenant at a time.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ResourceRepository: Send + Sync {
    /// Inserts a new resource. `Conflict` when a unique attribute is taken.
    async fn insert(&self, tenant: &TenantId, resource: &Resource) -> Result<(), StoreError>;

    async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Resource>, StoreError>;

    /// Replaces the stored resource if its version is still `expected_version`
    /// (`VersionMismatch` otherwise, `NotFound` when it is gone).
    async fn update(
        &self,
        tenant: &TenantId,
        resource: &Resource,
        expected_version: i64,
    ) -> Result<(), StoreError>;

    /// Deletes a resource, if given only when its version is still `expected_version`.
    async fn delete(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError>;

    /// Answers a list query exactly as the core's filter evaluator would.
    async fn list(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &ListQuery,
    ) -> Result<ListPage, StoreError>;
}

/// Tenants and their bearer tokens.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TenantRepository: Send + Sync {
    /// `Conflict { attribute: "slug" }` when the slug is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;

    async fn find_tenant(&self, slug: &str) -> Result<Option<Tenant>, StoreError>;

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;

    async fn insert_token(&self, token: &StoredToken) -> Result<(), StoreError>;

    async fn list_tokens(&self, tenant: &TenantId) -> Result<Vec<StoredToken>, StoreError>;

    /// Revokes (deletes) a token of the tenant; `NotFound` when there is none with that id.
    async fn revoke_token(&self, tenant: &TenantId, token_id: &str) -> Result<(), StoreError>;

    /// The token with this hash and its tenant, if any.
    async fn find_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(StoredToken, Tenant)>, StoreError>;

    /// Whether the store answers (and its migrations are applied).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The time. The core never reads the system clock itself.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// New resource ids.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    fn new_id(&self) -> String;
}
