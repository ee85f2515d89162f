//! A tenant's bearer tokens and OAuth clients, and the access tokens clients obtain.

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{ScimResult, StoreError};
use crate::tenant::{
    ClientAuth, Principal, StoredClient, StoredToken, TOKEN_PREFIX, Tenant, TokenHash,
};

use super::authentication::{Credential, LookupLimit};
use super::{TenantError, TenantService};

/// How long an access token from `/oauth/token` lives unless the operator says otherwise
/// (DESIGN.md: 60 minutes).
pub const ACCESS_TOKEN_LIFETIME: TimeDelta = TimeDelta::minutes(60);

/// The access-token lifetimes the operator may choose: Entra's gallery asks for 1 to 6
/// hours.
pub const ACCESS_TOKEN_LIFETIMES: std::ops::RangeInclusive<i64> = 60..=360;

/// How long an operator-issued token lives unless told otherwise: a year, as Entra ID's
/// client secrets do at the least. A forgotten token should not open a tenant forever.
pub const DEFAULT_TOKEN_DAYS: u32 = 365;

/// How long a token the operator issues lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
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
    /// The lifetime a command's `--expires-in-days` and `--never-expires` ask for.
    pub fn of(days: Option<u32>, never: bool) -> Self {
        match (days, never) {
            (_, true) => Self::Never,
            (Some(days), false) => Self::Days(days),
            (None, false) => Self::Default,
        }
    }

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

impl TenantService {
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

    /// Issues a token of a new secret; returns it and the secret, which is shown once and
    /// stored only as its hash.
    pub async fn issue_new_token(
        &self,
        slug: &str,
        lifetime: TokenLifetime,
    ) -> Result<(StoredToken, String), TenantError> {
        let secret = self.secrets.new_secret();
        let token = self.issue_token(slug, &secret, lifetime).await?;
        Ok((token, secret))
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
            other => {
                other?;
                // Its accepted hash is not known here: forget the tenant's, which are
                // looked up again on their next use.
                self.credentials.forget_tenant(&tenant.id);
                Ok(())
            }
        }
    }

    /// Creates an OAuth 2.0 client of the tenant; returns it and its secret, which is shown
    /// once and stored only as its hash.
    pub async fn create_client(
        &self,
        slug: &str,
        lifetime: TokenLifetime,
    ) -> Result<(StoredClient, String), TenantError> {
        let tenant = self.tenant(slug).await?;
        let secret = self.secrets.new_secret();
        let now = self.clock.now();
        let client = StoredClient {
            id: self.ids.new_id(),
            tenant: tenant.id,
            auth: ClientAuth::Secret(TokenHash::of(&secret)),
            created: now,
            expires: lifetime.expires(now),
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
            other => {
                other?;
                self.credentials.forget_tenant(&tenant.id);
                Ok(())
            }
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
        let token = self.grant_access_token(&client, tenant.clone()).await?;
        // The client is known good from now on, as an accepted credential is.
        let key = Credential::Client {
            id: client_id,
            secret,
        }
        .cache_key();
        let principal = Principal::of(tenant, format!("client:{client_id}"));
        self.credentials
            .put(&key, &principal, None, self.clock.now());
        Ok(token)
    }

    /// A new access token of `client` (which proved itself), stored as its hash.
    pub(super) async fn grant_access_token(
        &self,
        client: &StoredClient,
        tenant: Tenant,
    ) -> ScimResult<AccessToken> {
        let now = self.clock.now();
        let token_secret = self.secrets.new_secret();
        let token = StoredToken {
            id: self.ids.new_id(),
            tenant: tenant.id.clone(),
            hash: TokenHash::of(&token_secret),
            hint: token_secret.chars().take(TOKEN_PREFIX.len() + 4).collect(),
            created: now,
            expires: Some(now + self.access_token_lifetime),
            client: Some(client.id.clone()),
        };
        self.credential_store
            .insert_client_token(&token, now)
            .await
            .map_err(|e| e.as_outage())?;
        // The token just given is known good from now on, as an accepted credential is
        // (never held back by the limit on its address).
        self.credentials.known_good_until(
            &token.hash,
            &tenant.id,
            now + self.access_token_lifetime,
            now,
        );
        Ok(AccessToken {
            secret: token_secret,
            expires_in: self.access_token_lifetime,
        })
    }
}
