//! Authenticating a request by its credential: which tenant it stands for, held to the
//! adapter's lookup limit and answered from the credential cache when it can be.

use chrono::{DateTime, Utc};

use crate::error::{ScimError, ScimResult, StoreError};
use crate::service::Remembered;
use crate::tenant::{
    Principal, StoredClient, Tenant, TokenHash, is_client_id_shaped, is_secret_shaped,
};

use super::TenantService;

impl TenantService {
    /// The client with this id, when `secret` is its secret. Every failure is the same
    /// 401, whether the client is unknown or the secret wrong; a pair refused a moment ago
    /// (or not shaped like ours) is refused without asking the store, and `limit` is asked
    /// before the store is (see [`authenticate`](Self::authenticate)).
    pub(super) async fn authenticate_client(
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
            Some((client, tenant))
                if client
                    .secret_hash()
                    .is_some_and(|hash| hash.matches(&TokenHash::of(secret)))
                    && client.is_valid_at(now) =>
            {
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
    pub(super) fn permit<'l>(
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
            None => format!("token:{}", token.id),
        };
        Ok((Some(Principal::of(tenant, credential_id)), token.expires))
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
    pub(super) fn cache_key(&self) -> TokenHash {
        match self {
            Self::Bearer(secret) => TokenHash::of(secret),
            Self::Client { id, secret } => TokenHash::of(&format!("{id}\n{secret}")),
        }
    }
}
