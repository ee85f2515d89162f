//! Tenants: creating and configuring them; their tokens and OAuth clients (`tokens`),
//! federated clients (`federation`), and authenticating a request by one
//! (`authentication`).

mod authentication;
mod federation;
#[cfg(test)]
mod tests;
mod tokens;

pub use authentication::{Credential, LookupLimit, LookupPermit, Unlimited};
pub use federation::{AssertionGrantError, FederationRequest};
pub use tokens::{
    ACCESS_TOKEN_LIFETIME, ACCESS_TOKEN_LIFETIMES, AccessToken, DEFAULT_TOKEN_DAYS, TokenLifetime,
};

use crate::compat::{Compatibility, Deactivation, PatchResponse};
use crate::schema::{TenantAttribute, check_custom};
use std::sync::Arc;

use chrono::TimeDelta;

use crate::error::StoreError;
use crate::outbound::NetworkPolicy;
use crate::ports::{
    AssertionVerifier, Clock, CredentialStore, IdGenerator, NoAssertions, SecretGenerator,
    StoreHealth, TenantDirectory,
};
use crate::service::CredentialCache;
use crate::tenant::{Tenant, TenantId, is_valid_slug};

/// Rows a tenant's deletion removes per transaction.
pub const PURGE_BATCH: usize = 1_000;

/// Longest name of a tenant, in characters.
pub const MAX_TENANT_NAME: usize = 200;

/// What [`TenantService::update_tenant`] changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantUpdate {
    /// The display name.
    pub name: Option<String>,
    /// A compatibility profile (standard, entra, okta, strict), its choices replacing the
    /// overrides.
    pub profile: Option<String>,
    /// What PATCH answers.
    pub patch_response: Option<PatchResponse>,
    /// What `active=false` does.
    pub on_deactivate: Option<Deactivation>,
}

impl TenantUpdate {
    /// Checks every value it names, before anything is read or written.
    pub fn validate(&self) -> Result<(), TenantError> {
        if let Some(name) = &self.name {
            checked_name(name)?;
        }
        if let Some(profile) = &self.profile {
            Compatibility::profile(profile).map_err(TenantError::InvalidSetting)?;
        }
        Ok(())
    }
}

/// A tenant's name, trimmed: 1 to [`MAX_TENANT_NAME`] characters, none a control one.
fn checked_name(name: &str) -> Result<String, TenantError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_TENANT_NAME
        || name.chars().any(char::is_control)
    {
        return Err(TenantError::InvalidSetting(format!(
            "a tenant's name is 1 to {MAX_TENANT_NAME} printable characters"
        )));
    }
    Ok(name.to_owned())
}

/// Why a tenant operation failed (the CLI and the Management API tell it as it is).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TenantError {
    #[error(
        "'{0}' is not a valid tenant slug: use 1-63 of a-z, 0-9 and '-', not starting with '-'"
    )]
    /// The slug is not valid.
    InvalidSlug(String),
    #[error("tenant '{0}' already exists")]
    /// A tenant of this slug exists.
    Exists(String),
    #[error("no tenant '{0}'")]
    /// No such tenant.
    UnknownTenant(String),
    #[error("no token '{0}' in this tenant")]
    /// No such token in the tenant.
    UnknownToken(String),
    #[error("no client '{0}' in this tenant")]
    /// No such OAuth client in the tenant.
    UnknownClient(String),
    #[error("{0}")]
    /// A setting's value is refused.
    InvalidSetting(String),
    #[error("no attribute '{0}' in this tenant")]
    /// No such tenant attribute.
    UnknownAttribute(String),
    #[error("no setup link '{0}' in this tenant")]
    /// No such setup link in the tenant.
    UnknownLink(String),
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
}

/// Tenants and their credentials: create and configure tenants, issue and revoke tokens and OAuth clients, authenticate callers.
#[derive(Clone)]
pub struct TenantService {
    directory: Arc<dyn TenantDirectory>,
    credential_store: Arc<dyn CredentialStore>,
    health: Arc<dyn StoreHealth>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    secrets: Arc<dyn SecretGenerator>,
    credentials: Arc<CredentialCache>,
    /// How long an access token from `/oauth/token` lives.
    access_token_lifetime: TimeDelta,
    /// Checks federated clients' assertions.
    assertions: Arc<dyn AssertionVerifier>,
    /// Where federated clients' JWKS URLs may point.
    network: NetworkPolicy,
}

impl TenantService {
    /// On a store's three tenant ports (usually one store: see [`Self::on`]).
    pub fn new(
        (directory, credential_store, health): (
            Arc<dyn TenantDirectory>,
            Arc<dyn CredentialStore>,
            Arc<dyn StoreHealth>,
        ),
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        secrets: Arc<dyn SecretGenerator>,
    ) -> Self {
        Self {
            directory,
            credential_store,
            health,
            clock,
            ids,
            secrets,
            credentials: Arc::default(),
            access_token_lifetime: ACCESS_TOKEN_LIFETIME,
            assertions: Arc::new(NoAssertions),
            network: NetworkPolicy::default(),
        }
    }

    /// On one store that keeps tenants, their credentials and answers pings.
    pub fn on<S>(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        secrets: Arc<dyn SecretGenerator>,
    ) -> Self
    where
        S: TenantDirectory + CredentialStore + StoreHealth + 'static,
    {
        let ports = (
            Arc::clone(&store) as Arc<dyn TenantDirectory>,
            Arc::clone(&store) as Arc<dyn CredentialStore>,
            store as Arc<dyn StoreHealth>,
        );
        Self::new(ports, clock, ids, secrets)
    }

    /// Access tokens from `/oauth/token` live `lifetime`, clamped to
    /// [`ACCESS_TOKEN_LIFETIMES`] minutes (1 to 6 hours).
    #[must_use]
    pub fn with_access_token_lifetime(mut self, lifetime: TimeDelta) -> Self {
        let minutes = lifetime.num_minutes().clamp(
            *ACCESS_TOKEN_LIFETIMES.start(),
            *ACCESS_TOKEN_LIFETIMES.end(),
        );
        self.access_token_lifetime = TimeDelta::minutes(minutes);
        self
    }

    /// Federated clients' assertions are verified by `verifier` (by default none is, and
    /// every one is refused).
    #[must_use]
    pub fn with_assertion_verifier(mut self, verifier: Arc<dyn AssertionVerifier>) -> Self {
        self.assertions = verifier;
        self
    }

    /// Federated clients' JWKS URLs may point where `network` allows (public `https://`
    /// only, by default).
    #[must_use]
    pub fn with_network_policy(mut self, network: NetworkPolicy) -> Self {
        self.network = network;
        self
    }

    /// Remembers accepted bearer tokens for `ttl` ([`CredentialCache`]); zero (the
    /// default) looks every token up.
    #[must_use]
    pub fn with_credential_cache(mut self, ttl: TimeDelta) -> Self {
        self.credentials = Arc::new(CredentialCache::new(ttl));
        self
    }

    /// Creates a tenant; `name` defaults to the slug.
    pub async fn create_tenant(
        &self,
        slug: &str,
        name: Option<&str>,
    ) -> Result<Tenant, TenantError> {
        self.create_tenant_with(slug, name, None).await
    }

    /// Creates a tenant with a compatibility profile (`None`: the standard one); nothing is
    /// written unless slug, name and profile are all valid.
    pub async fn create_tenant_with(
        &self,
        slug: &str,
        name: Option<&str>,
        profile: Option<&str>,
    ) -> Result<Tenant, TenantError> {
        if !is_valid_slug(slug) {
            return Err(TenantError::InvalidSlug(slug.to_owned()));
        }
        let compatibility = match profile {
            Some(profile) => {
                Compatibility::profile(profile).map_err(TenantError::InvalidSetting)?
            }
            None => Compatibility::default(),
        };
        let tenant = Tenant {
            id: TenantId(self.ids.new_id()),
            slug: slug.to_owned(),
            name: checked_name(name.unwrap_or(slug))?,
            created: self.clock.now(),
            client_certs: Vec::new(),
            custom_attributes: Vec::new(),
            compatibility,
        };
        match self.directory.create_tenant(&tenant).await {
            Ok(()) => Ok(tenant),
            Err(StoreError::Conflict { .. }) => Err(TenantError::Exists(slug.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Every tenant, by slug.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, TenantError> {
        Ok(self.directory.list_tenants(None, usize::MAX).await?)
    }

    /// At most `limit` tenants by slug, those after the slug `after` when given.
    pub async fn tenants_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Tenant>, TenantError> {
        Ok(self.directory.list_tenants(after, limit).await?)
    }

    /// The tenant of this id, unless it is gone or being deleted (which its slug no longer
    /// finds).
    pub async fn tenant_by_id(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let Some(found) = self.directory.tenant_by_id(tenant).await? else {
            return Ok(None);
        };
        let live = self.directory.find_tenant(&found.slug).await?;
        Ok(live.filter(|live| live.id == *tenant))
    }

    /// The tenant of `slug`.
    pub async fn tenant(&self, slug: &str) -> Result<Tenant, TenantError> {
        self.directory
            .find_tenant(slug)
            .await?
            .ok_or_else(|| TenantError::UnknownTenant(slug.to_owned()))
    }

    /// Deletes the tenant and everything it owns (users, groups, credentials, pools,
    /// rules, events, audit, jobs, receivers), [`PURGE_BATCH`] rows per transaction so
    /// that a large tenant never blocks the others; its credentials stop working with the
    /// first step (at once in this process, within the credential cache's lifetime in the
    /// others). Safe to run again after a crash: it finishes what is left. The rows
    /// removed.
    pub async fn delete_tenant(&self, slug: &str) -> Result<u64, TenantError> {
        let tenant = match self.directory.find_tenant(slug).await? {
            Some(tenant) => tenant.id,
            None => self
                .directory
                .tenant_being_deleted(slug)
                .await?
                .ok_or_else(|| TenantError::UnknownTenant(slug.to_owned()))?,
        };
        self.credentials.forget_tenant(&tenant);
        let mut removed = 0;
        loop {
            let step = self.directory.purge_tenant(&tenant, PURGE_BATCH).await?;
            removed += step.removed;
            if step.finished {
                self.credentials.forget_tenant(&tenant);
                return Ok(removed);
            }
        }
    }

    /// Changes what `update` names of the tenant: its name, and its compatibility
    /// profile (`profile` resets the overrides to its choices) and overrides. Everything
    /// is checked before anything is written. The tenant as it now is. (Here and for the
    /// tenant's other settings, the change applies to this process's next request of the
    /// tenant at once, and to other processes' within their credential cache's lifetime.)
    pub async fn update_tenant(
        &self,
        slug: &str,
        update: &TenantUpdate,
    ) -> Result<Tenant, TenantError> {
        let mut tenant = self.tenant(slug).await?;
        let name = update.name.as_deref().map(checked_name).transpose()?;
        let mut settings = match &update.profile {
            Some(name) => Compatibility::profile(name).map_err(TenantError::InvalidSetting)?,
            None => tenant.compatibility.clone(),
        };
        if let Some(patch_response) = update.patch_response {
            settings.patch_response = patch_response;
        }
        if let Some(on_deactivate) = update.on_deactivate {
            settings.on_deactivate = on_deactivate;
        }
        let name = name.unwrap_or_else(|| tenant.name.clone());
        if name != tenant.name || settings != tenant.compatibility {
            self.directory
                .update_tenant(&tenant.id, &name, &settings)
                .await?;
            tenant.name = name;
            tenant.compatibility = settings;
            self.credentials.forget_tenant(&tenant.id);
        }
        Ok(tenant)
    }

    /// Adds an attribute of the tenant's own (see [`crate::schema::custom`]); the tenant's
    /// whole list as it now is.
    pub async fn add_custom_attribute(
        &self,
        slug: &str,
        attribute: TenantAttribute,
    ) -> Result<Vec<TenantAttribute>, TenantError> {
        self.change_custom_attributes(slug, |attributes| {
            attributes.push(attribute.clone());
            check_custom(attributes).map_err(TenantError::InvalidSetting)
        })
        .await
    }

    /// Removes the tenant's attribute `name` of the extension `schema` (names and URNs
    /// compare case-insensitively). Values already stored are no longer shown, and the
    /// next write of their resource drops them.
    pub async fn remove_custom_attribute(
        &self,
        slug: &str,
        schema: &str,
        name: &str,
    ) -> Result<Vec<TenantAttribute>, TenantError> {
        self.change_custom_attributes(slug, |attributes| {
            let before = attributes.len();
            attributes.retain(|a| {
                !(a.schema.eq_ignore_ascii_case(schema) && a.name.eq_ignore_ascii_case(name))
            });
            if attributes.len() == before {
                return Err(TenantError::UnknownAttribute(format!("{schema}:{name}")));
            }
            Ok(())
        })
        .await
    }

    /// Reads the tenant's attributes, changes them with `change` and stores the result
    /// unless another change got there first (then it starts over, a few times).
    async fn change_custom_attributes(
        &self,
        slug: &str,
        change: impl Fn(&mut Vec<TenantAttribute>) -> Result<(), TenantError>,
    ) -> Result<Vec<TenantAttribute>, TenantError> {
        let mut attempts = 0;
        loop {
            let tenant = self.tenant(slug).await?;
            let mut attributes = tenant.custom_attributes.clone();
            change(&mut attributes)?;
            match self
                .directory
                .set_custom_attributes(&tenant.id, &tenant.custom_attributes, &attributes)
                .await
            {
                Err(StoreError::VersionMismatch) if attempts < 5 => attempts += 1,
                Err(error) => return Err(error.into()),
                Ok(()) => {
                    self.credentials.forget_tenant(&tenant.id);
                    return Ok(attributes);
                }
            }
        }
    }

    /// Pins the client certificates the tenant's requests must present over TLS (their
    /// SHA-256 fingerprints); an empty list requires none.
    pub async fn set_client_certs(
        &self,
        slug: &str,
        fingerprints: &[String],
    ) -> Result<Tenant, TenantError> {
        let tenant = self.tenant(slug).await?;
        self.directory
            .set_client_certs(&tenant.id, fingerprints)
            .await?;
        self.credentials.forget_tenant(&tenant.id);
        Ok(Tenant {
            client_certs: fingerprints.to_vec(),
            ..tenant
        })
    }

    /// Whether the store answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.health.ping().await
    }
}
