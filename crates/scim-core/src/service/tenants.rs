//! Tenants, their bearer tokens, and authenticating a request by one.

use crate::compat::{Compatibility, Deactivation, PatchResponse};
use crate::schema::{TenantAttribute, check_custom};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{ScimError, ScimResult, StoreError};
use crate::ports::{
    Clock, CredentialStore, IdGenerator, SecretGenerator, StoreHealth, TenantDirectory,
};
use crate::service::{CredentialCache, Remembered};
use crate::tenant::{
    Principal, StoredClient, StoredToken, TOKEN_PREFIX, Tenant, TenantId, TokenHash,
    is_client_id_shaped, is_secret_shaped, is_valid_slug,
};

/// How long an access token from `/oauth/token` lives (DESIGN.md: 60 minutes).
pub const ACCESS_TOKEN_LIFETIME: TimeDelta = TimeDelta::minutes(60);

/// How long an operator-issued token lives unless told otherwise: a year, as Entra ID's
/// client secrets do at the least. A forgotten token should not open a tenant forever.
pub const DEFAULT_TOKEN_DAYS: u32 = 365;

/// How long a token the operator issues lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenLifetime {
    /// [`DEFAULT_TOKEN_DAYS`].
    #[default]
    Default,
    /// This many days.
    Days(u32),
    /// Only when asked for explicitly.
    Never,
}

impl TokenLifetime {
    /// When a token issued at `now` expires.
    pub fn expires(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let days = match self {
            Self::Default => DEFAULT_TOKEN_DAYS,
            Self::Days(days) => days,
            Self::Never => return None,
        };
        Some(now + TimeDelta::days(i64::from(days)))
    }
}

/// An access token just issued to a client: shown once, never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token.
    pub secret: String,
    /// How long it works.
    pub expires_in: TimeDelta,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Why a tenant operation failed, for the operator's CLI.
#[derive(Debug, thiserror::Error)]
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
        if !is_valid_slug(slug) {
            return Err(TenantError::InvalidSlug(slug.to_owned()));
        }
        let tenant = Tenant {
            id: TenantId(self.ids.new_id()),
            slug: slug.to_owned(),
            name: name.unwrap_or(slug).to_owned(),
            created: self.clock.now(),
            client_certs: Vec::new(),
            custom_attributes: Vec::new(),
            compatibility: crate::compat::Compatibility::default(),
        };
        match self.directory.create_tenant(&tenant).await {
            Ok(()) => Ok(tenant),
            Err(StoreError::Conflict { .. }) => Err(TenantError::Exists(slug.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Every tenant, by slug.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, TenantError> {
        Ok(self.directory.list_tenants().await?)
    }

    /// The tenant of `slug`.
    pub async fn tenant(&self, slug: &str) -> Result<Tenant, TenantError> {
        self.directory
            .find_tenant(slug)
            .await?
            .ok_or_else(|| TenantError::UnknownTenant(slug.to_owned()))
    }

    /// Sets the tenant's compatibility profile (`profile` resets the overrides to its
    /// choices) and overrides; the settings as they now are.
    pub async fn set_compatibility(
        &self,
        slug: &str,
        profile: Option<&str>,
        patch_response: Option<PatchResponse>,
        on_deactivate: Option<Deactivation>,
    ) -> Result<Compatibility, TenantError> {
        let tenant = self.tenant(slug).await?;
        let mut settings = match profile {
            Some(name) => Compatibility::profile(name).map_err(TenantError::InvalidSetting)?,
            None => tenant.compatibility,
        };
        if let Some(patch_response) = patch_response {
            settings.patch_response = patch_response;
        }
        if let Some(on_deactivate) = on_deactivate {
            settings.on_deactivate = on_deactivate;
        }
        self.directory
            .set_compatibility(&tenant.id, &settings)
            .await?;
        Ok(settings)
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
                Ok(()) => return Ok(attributes),
            }
        }
    }

    /// Stores the hash of `secret` (which the caller generated with at least 128 random
    /// bits and shows to the operator once) as a token of the tenant, expiring as
    /// `lifetime` says (a year unless told otherwise).
    pub async fn issue_token(
        &self,
        slug: &str,
        secret: &str,
        lifetime: TokenLifetime,
    ) -> Result<StoredToken, TenantError> {
        let tenant = self.tenant(slug).await?;
        let expires = lifetime.expires(self.clock.now());
        let token = StoredToken {
            id: self.ids.new_id(),
            tenant: tenant.id,
            hash: TokenHash::of(secret),
            hint: secret.chars().take(TOKEN_PREFIX.len() + 4).collect(),
            created: self.clock.now(),
            expires,
            client: None,
        };
        self.credential_store.insert_token(&token).await?;
        Ok(token)
    }

    /// The tenant's tokens (hashes and hints, never secrets).
    pub async fn list_tokens(&self, slug: &str) -> Result<Vec<StoredToken>, TenantError> {
        let tenant = self.tenant(slug).await?;
        Ok(self.credential_store.list_tokens(&tenant.id).await?)
    }

    /// Revokes a token: it stops working at once in this process.
    pub async fn revoke_token(&self, slug: &str, token_id: &str) -> Result<(), TenantError> {
        let tenant = self.tenant(slug).await?;
        match self
            .credential_store
            .revoke_token(&tenant.id, token_id)
            .await
        {
            Err(StoreError::NotFound) => Err(TenantError::UnknownToken(token_id.to_owned())),
            other => Ok(other?),
        }
    }

    /// Creates an OAuth 2.0 client of the tenant; returns it and its secret, which is shown
    /// once and stored only as its hash.
    pub async fn create_client(&self, slug: &str) -> Result<(StoredClient, String), TenantError> {
        let tenant = self.tenant(slug).await?;
        let secret = self.secrets.new_secret();
        let client = StoredClient {
            id: self.ids.new_id(),
            tenant: tenant.id,
            secret_hash: TokenHash::of(&secret),
            created: self.clock.now(),
        };
        self.credential_store.insert_client(&client).await?;
        Ok((client, secret))
    }

    /// The tenant's OAuth clients.
    pub async fn list_clients(&self, slug: &str) -> Result<Vec<StoredClient>, TenantError> {
        let tenant = self.tenant(slug).await?;
        Ok(self.credential_store.list_clients(&tenant.id).await?)
    }

    /// Revokes a client and every access token it obtained.
    pub async fn revoke_client(&self, slug: &str, client_id: &str) -> Result<(), TenantError> {
        let tenant = self.tenant(slug).await?;
        match self
            .credential_store
            .revoke_client(&tenant.id, client_id)
            .await
        {
            Err(StoreError::NotFound) => Err(TenantError::UnknownClient(client_id.to_owned())),
            other => Ok(other?),
        }
    }

    /// The client with this id, when `secret` is its secret. Every failure is the same
    /// 401, whether the client is unknown or the secret wrong; a pair refused a moment ago
    /// (or not shaped like ours) is refused without asking the store, and `limit` is asked
    /// before the store is (see [`authenticate`](Self::authenticate)).
    async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
        limit: &dyn LookupLimit,
    ) -> ScimResult<(StoredClient, Tenant)> {
        let credential = Credential::Client {
            id: client_id,
            secret,
        };
        let key = credential.cache_key();
        let now = self.clock.now();
        if !credential.is_well_formed()
            || self.credentials.get(&key, now) == Some(Remembered::Refused)
        {
            return Err(credential.refusal());
        }
        let mut permit = self.permit(&key, now, limit)?;
        let found = match self.credential_store.find_client(client_id).await {
            Ok(found) => found,
            Err(StoreError::Unavailable(_)) => {
                permit.answered(false);
                return Err(ScimError::Unavailable);
            }
            Err(_) => None,
        };
        match found {
            Some((client, tenant)) if client.secret_hash.matches(&TokenHash::of(secret)) => {
                permit.answered(false);
                Ok((client, tenant))
            }
            _ => {
                self.credentials.refuse(&key, now);
                permit.answered(true);
                Err(credential.refusal())
            }
        }
    }

    /// What `limit` says of a lookup of the credential of `key`: a credential known good
    /// is never held back.
    fn permit<'l>(
        &self,
        key: &TokenHash,
        now: DateTime<Utc>,
        limit: &'l dyn LookupLimit,
    ) -> ScimResult<LookupPermit<'l>> {
        if self.credentials.known_good(key, now) {
            Ok(LookupPermit::free())
        } else {
            limit.begin_lookup()
        }
    }

    /// RFC 6749 §4.4: a short-lived access token for a client that authenticated with its
    /// id and secret.
    pub async fn issue_access_token(
        &self,
        client_id: &str,
        secret: &str,
        limit: &dyn LookupLimit,
    ) -> ScimResult<AccessToken> {
        let (client, tenant) = self.authenticate_client(client_id, secret, limit).await?;
        let key = Credential::Client {
            id: client_id,
            secret,
        }
        .cache_key();
        let now = self.clock.now();
        let token_secret = self.secrets.new_secret();
        let token = StoredToken {
            id: self.ids.new_id(),
            tenant: tenant.id.clone(),
            hash: TokenHash::of(&token_secret),
            hint: token_secret.chars().take(TOKEN_PREFIX.len() + 4).collect(),
            created: now,
            expires: Some(now + ACCESS_TOKEN_LIFETIME),
            client: Some(client.id),
        };
        self.credential_store
            .insert_client_token(&token, now)
            .await
            .map_err(|e| e.as_outage())?;
        // The client, and the token it was just given, are known good from now on, as an
        // accepted credential is (never held back by the limit on their address).
        self.credentials.known_good_until(
            &token.hash,
            &tenant.id,
            now + ACCESS_TOKEN_LIFETIME,
            now,
        );
        let principal = Principal::of(tenant, format!("client:{client_id}"));
        self.credentials.put(&key, &principal, None, now);
        Ok(AccessToken {
            secret: token_secret,
            expires_in: ACCESS_TOKEN_LIFETIME,
        })
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
        Ok(Tenant {
            client_certs: fingerprints.to_vec(),
            ..tenant
        })
    }

    /// The principal a credential stands for. Every failure is the same 401 for its
    /// scheme ([`Credential::refusal`]), so a caller learns nothing about which tokens or
    /// clients exist.
    ///
    /// A credential not shaped like the secrets we issue is refused without the store; one
    /// judged a moment ago is answered from memory ([`CredentialCache`]); only then is
    /// `limit` asked whether the store may be (its refusal is returned as it is, a 429) and
    /// told how the lookup ended, unless the credential is known good (accepted within a
    /// day): a working credential is never held back.
    pub async fn authenticate(
        &self,
        credential: Credential<'_>,
        limit: &dyn LookupLimit,
    ) -> ScimResult<Principal> {
        if !credential.is_well_formed() {
            return Err(credential.refusal());
        }
        let now = self.clock.now();
        let key = credential.cache_key();
        match self.credentials.get(&key, now) {
            Some(Remembered::Accepted(principal)) => return Ok(principal),
            Some(Remembered::Refused) => return Err(credential.refusal()),
            None => {}
        }
        let (principal, expires) = match credential {
            Credential::Bearer(secret) => {
                let mut permit = self.permit(&key, now, limit)?;
                let found = self.look_up_bearer(secret, now).await;
                permit.answered(matches!(found, Ok((None, _))));
                found?
            }
            Credential::Client { id, secret } => {
                let (client, tenant) = self.authenticate_client(id, secret, limit).await?;
                (
                    Some(Principal::of(tenant, format!("client:{}", client.id))),
                    None,
                )
            }
        };
        match principal {
            Some(principal) => {
                self.credentials.put(&key, &principal, expires, now);
                Ok(principal)
            }
            None => {
                self.credentials.refuse(&key, now);
                Err(credential.refusal())
            }
        }
    }

    /// The principal of a bearer token (`None`: refused) and when the token expires.
    async fn look_up_bearer(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> ScimResult<(Option<Principal>, Option<DateTime<Utc>>)> {
        let hash = TokenHash::of(secret);
        let found = match self.credential_store.find_token(&hash).await {
            Ok(found) => found,
            Err(StoreError::Unavailable(_)) => return Err(ScimError::Unavailable),
            Err(_) => None,
        };
        let Some((token, tenant)) = found else {
            return Ok((None, None));
        };
        if !token.hash.matches(&hash) || !token.is_valid_at(now) {
            return Ok((None, None));
        }
        let credential_id = match token.client {
            Some(client) => format!("client:{client}"),
            None => token.id,
        };
        Ok((Some(Principal::of(tenant, credential_id)), token.expires))
    }

    /// Whether the store answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.health.ping().await
    }
}

/// The adapter's limit on credential lookups (per client address, say): asked before the
/// store is, and told how each lookup ended, so that it can hold back whoever keeps
/// presenting bad credentials, or too many at once, without slowing anyone whose
/// credentials work.
pub trait LookupLimit: Send + Sync {
    /// A permit to ask the store, or the caller's answer (a 429).
    fn begin_lookup(&self) -> ScimResult<LookupPermit<'_>>;
}

/// A lookup a [`LookupLimit`] let through: it ends when the permit is dropped, telling the
/// limit whether the store refused the credential. A lookup that ends without an answer
/// (its request cancelled before the store answered) counts as refused: cancelling is no
/// way around the limit.
pub struct LookupPermit<'a> {
    on_end: Option<Box<dyn FnOnce(bool) + Send + 'a>>,
    refused: bool,
}

impl<'a> LookupPermit<'a> {
    /// A permit whose end calls `on_end` with whether the store refused the credential.
    pub fn new(on_end: impl FnOnce(bool) + Send + 'a) -> Self {
        Self {
            on_end: Some(Box::new(on_end)),
            refused: true,
        }
    }

    /// A permit nobody counts.
    pub fn free() -> Self {
        Self {
            on_end: None,
            refused: false,
        }
    }

    /// The store answered: `refused`, whether it refused the credential (an unavailable
    /// store refused nothing).
    pub fn answered(&mut self, refused: bool) {
        self.refused = refused;
    }
}

impl Drop for LookupPermit<'_> {
    fn drop(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end(self.refused);
        }
    }
}

/// No limit: every lookup may happen (the CLI's, tests').
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl LookupLimit for Unlimited {
    fn begin_lookup(&self) -> ScimResult<LookupPermit<'_>> {
        Ok(LookupPermit::free())
    }
}

/// What an `Authorization` header presents.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// A token the operator issued, or an access token from `/oauth/token`.
    Bearer(&'a str),
    /// An OAuth client's id and secret (HTTP Basic, or the token endpoint's form).
    Client {
        /// The client's id.
        id: &'a str,
        /// Its secret.
        secret: &'a str,
    },
}

impl std::fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(..)"),
            Self::Client { .. } => f.write_str("Client(..)"),
        }
    }
}

impl Credential<'_> {
    /// The one 401 of the scheme, whatever was wrong: an unknown, expired, revoked or
    /// malformed credential, or a connection without the client certificate the tenant
    /// pinned.
    pub fn refusal(&self) -> ScimError {
        ScimError::Unauthorized(
            match self {
                Self::Bearer(_) => "the bearer token is not valid",
                Self::Client { .. } => "the client credentials are not valid",
            }
            .into(),
        )
    }

    /// Whether it could be one we issued (see [`is_secret_shaped`]).
    fn is_well_formed(&self) -> bool {
        match self {
            Self::Bearer(secret) => is_secret_shaped(secret),
            Self::Client { id, secret } => is_client_id_shaped(id) && is_secret_shaped(secret),
        }
    }

    /// The key it is remembered under: the SHA-256 of the token, or of the client's id and
    /// secret (a client id holds no newline).
    fn cache_key(&self) -> TokenHash {
        match self {
            Self::Bearer(secret) => TokenHash::of(secret),
            Self::Client { id, secret } => TokenHash::of(&format!("{id}\n{secret}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::ports::{
        MockClock, MockCredentialStore, MockIdGenerator, MockSecretGenerator, MockStoreHealth,
        MockTenantDirectory,
    };

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap()
    }

    /// The service on credentials `repo` (and no tenant directory expectations).
    fn service(repo: MockCredentialStore) -> TenantService {
        service_with(MockTenantDirectory::new(), repo)
    }

    fn service_with(directory: MockTenantDirectory, repo: MockCredentialStore) -> TenantService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().returning(|| "id".to_owned());
        let mut secrets = MockSecretGenerator::new();
        secrets
            .expect_new_secret()
            .returning(|| "scim_new-secret".to_owned());
        let ports = (
            Arc::new(directory) as Arc<dyn TenantDirectory>,
            Arc::new(repo) as Arc<dyn CredentialStore>,
            Arc::new(MockStoreHealth::new()) as Arc<dyn StoreHealth>,
        );
        TenantService::new(ports, Arc::new(clock), Arc::new(ids), Arc::new(secrets))
    }

    /// A secret of the shape we issue, telling itself apart by `name`.
    fn secret(name: &str) -> String {
        format!("scim_{name:_<43}")
    }

    fn client(secret: &str) -> StoredClient {
        StoredClient {
            id: "c1".into(),
            tenant: TenantId("t1".into()),
            secret_hash: TokenHash::of(secret),
            created: now(),
        }
    }

    const NO_LIMIT: &Unlimited = &Unlimited;

    fn basic<'a>(id: &'a str, secret: &'a str) -> Credential<'a> {
        Credential::Client { id, secret }
    }

    #[tokio::test]
    async fn clients_get_short_lived_tokens_and_basic_access() {
        let mut repo = MockCredentialStore::new();
        let good = secret("client");
        let stored = good.clone();
        repo.expect_find_client()
            .returning(move |id| Ok((id == "c1").then(|| (client(&stored), acme()))));
        repo.expect_insert_client_token()
            .withf(|token, at| {
                token.client.as_deref() == Some("c1")
                    && token.hash == TokenHash::of("scim_new-secret")
                    && token.expires == Some(now() + ACCESS_TOKEN_LIFETIME)
                    && *at == now()
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let svc = service(repo);
        let issued = svc.issue_access_token("c1", &good, NO_LIMIT).await.unwrap();
        assert_eq!(issued.secret, "scim_new-secret");
        assert_eq!(issued.expires_in, TimeDelta::minutes(60));
        assert!(
            svc.credentials
                .known_good(&TokenHash::of(&issued.secret), now()),
            "the token issued is known good before its first use"
        );
        assert!(
            !format!("{issued:?}").contains("scim_new-secret"),
            "no secret in Debug"
        );
        let principal = svc
            .authenticate(basic("c1", &good), NO_LIMIT)
            .await
            .unwrap();
        assert_eq!(principal.credential_id, "client:c1");
        // Unknown client, wrong secret, and a malformed pair are the same 401.
        let wrong = secret("wrong");
        for (id, secret) in [
            ("c1", wrong.as_str()),
            ("c9", &good),
            ("c 1", &good),
            ("c1", "x"),
        ] {
            let token = svc
                .issue_access_token(id, secret, NO_LIMIT)
                .await
                .unwrap_err();
            let via_basic = svc
                .authenticate(basic(id, secret), NO_LIMIT)
                .await
                .unwrap_err();
            assert_eq!(token.to_string(), "the client credentials are not valid");
            assert_eq!(via_basic, token);
        }
    }

    fn acme() -> Tenant {
        Tenant {
            id: TenantId("t1".into()),
            slug: "acme".into(),
            name: "Acme".into(),
            created: now(),
            client_certs: Vec::new(),
            custom_attributes: Vec::new(),
            compatibility: crate::compat::Compatibility::default(),
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
            client: None,
        }
    }

    #[tokio::test]
    async fn bearer_tokens_choose_their_tenant_until_they_expire() {
        let mut repo = MockCredentialStore::new();
        let (good, old) = (secret("good"), secret("old"));
        let (g, o) = (good.clone(), old.clone());
        repo.expect_find_token().returning(move |hash| {
            Ok(if *hash == TokenHash::of(&g) {
                Some((token(&g, None), acme()))
            } else if *hash == TokenHash::of(&o) {
                Some((token(&o, Some(now() - TimeDelta::seconds(1))), acme()))
            } else {
                None
            })
        });
        let svc = service(repo);
        let principal = svc
            .authenticate(Credential::Bearer(&good), NO_LIMIT)
            .await
            .unwrap();
        assert_eq!(principal.tenant_slug, "acme");
        assert_eq!(principal.credential_id, "tok1");
        for bad in [old.as_str(), &secret("unknown")] {
            let err = svc
                .authenticate(Credential::Bearer(bad), NO_LIMIT)
                .await
                .unwrap_err();
            assert_eq!(err.status(), 401, "{bad}");
        }
    }

    /// Credentials that are not shaped like ours, and credentials refused a moment ago,
    /// never reach the store nor the caller's limit; the limit runs only before a lookup,
    /// and its refusal is what the caller gets.
    #[tokio::test]
    async fn malformed_and_recently_refused_credentials_cost_the_store_nothing() {
        let mut repo = MockCredentialStore::new();
        // One lookup each: the unknown token, and the unknown client.
        repo.expect_find_token().times(1).returning(|_| Ok(None));
        repo.expect_find_client().times(1).returning(|_| Ok(None));
        let svc = service(repo);
        /// Counts what it is asked and told.
        #[derive(Default)]
        struct Counting {
            asked: std::sync::atomic::AtomicUsize,
            refused: std::sync::atomic::AtomicUsize,
        }
        impl LookupLimit for Counting {
            fn begin_lookup(&self) -> ScimResult<LookupPermit<'_>> {
                self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(LookupPermit::new(|refused| {
                    if refused {
                        self.refused
                            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }))
            }
        }
        let counting = Counting::default();
        let count = &counting;
        let long = "a".repeat(10_000);
        for malformed in [
            "scim_short",
            "Bearer",
            long.as_str(),
            "scim_with space_______________________________",
        ] {
            let err = svc.authenticate(Credential::Bearer(malformed), count).await;
            assert_eq!(err.unwrap_err().status(), 401);
        }
        let unknown = secret("unknown");
        for _ in 0..5 {
            let err = svc.authenticate(Credential::Bearer(&unknown), count).await;
            assert_eq!(err.unwrap_err().status(), 401);
            let err = svc.authenticate(basic("c9", &unknown), count).await;
            assert_eq!(err.unwrap_err().status(), 401);
            let err = svc.issue_access_token("c9", &unknown, count).await;
            assert_eq!(err.unwrap_err().status(), 401);
        }
        let seen = |n: &std::sync::atomic::AtomicUsize| n.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(seen(&counting.asked), 2, "asked once per lookup");
        assert_eq!(seen(&counting.refused), 2, "told of each refusal");
        // The limit's own refusal comes back as it is, and nothing is looked up.
        struct Closed;
        impl LookupLimit for Closed {
            fn begin_lookup(&self) -> ScimResult<LookupPermit<'_>> {
                Err(ScimError::RateLimited { retry_after: 7 })
            }
        }
        let other = secret("other");
        let refused = svc
            .authenticate(Credential::Bearer(&other), &Closed)
            .await
            .unwrap_err();
        assert_eq!(refused, ScimError::RateLimited { retry_after: 7 });
    }

    /// A credential accepted once is never held back by the limit afterwards, even when
    /// its acceptance is no longer cached: a working IdP is not locked out by another
    /// tenant's bad credentials from the same address.
    #[tokio::test]
    async fn known_good_credentials_pass_a_closed_limit() {
        struct Closed;
        impl LookupLimit for Closed {
            fn begin_lookup(&self) -> ScimResult<LookupPermit<'_>> {
                Err(ScimError::RateLimited { retry_after: 7 })
            }
        }
        let good = secret("good");
        let stored = good.clone();
        let mut repo = MockCredentialStore::new();
        repo.expect_find_token().times(2).returning(move |hash| {
            Ok((*hash == TokenHash::of(&stored)).then(|| (token(&stored, None), acme())))
        });
        // No acceptance cache: every request looks its token up.
        let svc = service(repo);
        let bearer = Credential::Bearer(&good);
        assert!(svc.authenticate(bearer, NO_LIMIT).await.is_ok());
        assert!(
            svc.authenticate(bearer, &Closed).await.is_ok(),
            "known good"
        );
        let other = secret("other");
        assert_eq!(
            svc.authenticate(Credential::Bearer(&other), &Closed)
                .await
                .unwrap_err()
                .status(),
            429
        );
    }

    /// With a credential cache, a token accepted once is not looked up again until the
    /// cache's time to live is over (then it is, and a revocation shows); store failures
    /// are never remembered.
    #[tokio::test]
    async fn accepted_tokens_are_looked_up_once_per_time_to_live() {
        use std::sync::atomic::{AtomicI64, Ordering};

        let good = secret("good");
        let mut repo = MockCredentialStore::new();
        let revoked = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let gone = Arc::clone(&revoked);
        let stored = good.clone();
        let outage = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let down = Arc::clone(&outage);
        repo.expect_find_token().times(3).returning(move |hash| {
            if down.load(Ordering::SeqCst) {
                return Err(StoreError::unavailable("down"));
            }
            let found = *hash == TokenHash::of(&stored) && !gone.load(Ordering::SeqCst);
            Ok(found.then(|| (token(&stored, None), acme())))
        });
        let seconds = Arc::new(AtomicI64::new(0));
        let elapsed = Arc::clone(&seconds);
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(move || now() + TimeDelta::seconds(elapsed.load(Ordering::SeqCst)));
        let ports = (
            Arc::new(MockTenantDirectory::new()) as Arc<dyn TenantDirectory>,
            Arc::new(repo) as Arc<dyn CredentialStore>,
            Arc::new(MockStoreHealth::new()) as Arc<dyn StoreHealth>,
        );
        let svc = TenantService::new(
            ports,
            Arc::new(clock),
            Arc::new(MockIdGenerator::new()),
            Arc::new(MockSecretGenerator::new()),
        )
        .with_credential_cache(TimeDelta::seconds(5));
        let bearer = Credential::Bearer(&good);
        // Looked up once, then served from the cache.
        for _ in 0..3 {
            let principal = svc.authenticate(bearer, NO_LIMIT).await.unwrap();
            assert_eq!(principal.credential_id, "tok1");
        }
        // Revoked meanwhile: still accepted within the time to live, refused after it.
        revoked.store(true, Ordering::SeqCst);
        seconds.store(4, Ordering::SeqCst);
        assert!(svc.authenticate(bearer, NO_LIMIT).await.is_ok());
        // An outage is not a refusal: not remembered, so the next lookup happens.
        outage.store(true, Ordering::SeqCst);
        seconds.store(5, Ordering::SeqCst);
        let err = svc.authenticate(bearer, NO_LIMIT).await.unwrap_err();
        assert_eq!(err.status(), 503);
        outage.store(false, Ordering::SeqCst);
        assert_eq!(
            svc.authenticate(bearer, NO_LIMIT)
                .await
                .unwrap_err()
                .status(),
            401
        );
        // Now refused, and remembered so: no fourth lookup.
        assert_eq!(
            svc.authenticate(bearer, NO_LIMIT)
                .await
                .unwrap_err()
                .status(),
            401
        );
    }

    #[tokio::test]
    async fn issue_token_stores_only_the_hash() {
        let mut directory = MockTenantDirectory::new();
        directory
            .expect_find_tenant()
            .returning(|_| Ok(Some(acme())));
        let mut repo = MockCredentialStore::new();
        repo.expect_insert_token()
            .withf(|t| t.hash == TokenHash::of("scim_secret123") && t.hint == "scim_secr")
            .times(1)
            .returning(|_| Ok(()));
        let stored = service_with(directory, repo)
            .issue_token("acme", "scim_secret123", TokenLifetime::Default)
            .await
            .unwrap();
        assert_eq!(stored.tenant.0, "t1");
        assert_eq!(
            stored.expires,
            Some(now() + TimeDelta::days(365)),
            "a year by default"
        );
        assert_eq!(
            TokenLifetime::Days(7).expires(now()),
            Some(now() + TimeDelta::days(7))
        );
        assert_eq!(TokenLifetime::Never.expires(now()), None);
    }

    #[tokio::test]
    async fn tenant_slugs_are_validated_and_unique() {
        let svc = service(MockCredentialStore::new());
        assert!(matches!(
            svc.create_tenant("Bad Slug", None).await,
            Err(TenantError::InvalidSlug(_))
        ));
        let mut directory = MockTenantDirectory::new();
        directory.expect_create_tenant().returning(|_| {
            Err(StoreError::Conflict {
                attribute: "slug".into(),
            })
        });
        assert!(matches!(
            service_with(directory, MockCredentialStore::new())
                .create_tenant("acme", None)
                .await,
            Err(TenantError::Exists(_))
        ));
    }
}
