//! Federated OAuth clients (RFC 7523, see [`crate::federation`]): made with the trust the
//! tenant's admin copies from their IdP, and exchanging a signed assertion for an access
//! token at `/oauth/token`.

use crate::error::{ScimError, StoreError};
use crate::federation::{Federation, MAX_ASSERTION_BYTES};
use crate::ports::AssertionError;
use crate::service::KNOWN_GOOD_TTL;
use crate::tenant::{ClientAuth, StoredClient, TokenHash, is_client_id_shaped};

use super::authentication::LookupLimit;
use super::tokens::{AccessToken, TokenLifetime};
use super::{TenantError, TenantService};

/// What a federated client trusts, as given (checked by
/// [`TenantService::create_federated_client`]).
#[derive(Debug, Clone, Copy)]
pub struct FederationRequest<'a> {
    /// The assertions' `iss`.
    pub issuer: &'a str,
    /// Where the issuer's keys are.
    pub jwks_url: &'a str,
    /// The assertions' `sub`.
    pub subject: &'a str,
    /// A value of the assertions' `aud`.
    pub audience: &'a str,
}

/// Why `/oauth/token` refused an assertion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionGrantError {
    /// No federated client of that id works (unknown, revoked, expired, or a client with a
    /// secret): the same answer for each.
    #[error("client authentication failed")]
    Client,
    /// The assertion is refused: its form, signature or claims (said to the client).
    #[error("{0}")]
    Assertion(String),
    /// The issuer's keys could not be had: an attempt after `retry_after` seconds may
    /// pass.
    #[error("{reason}")]
    Unavailable {
        /// What failed.
        reason: String,
        /// When the keys are asked for again.
        retry_after: u64,
    },
    /// The address's lookup limit (a 429) or the store.
    #[error(transparent)]
    Scim(#[from] ScimError),
}

impl TenantService {
    /// Creates a federated OAuth client of the tenant: it has no secret, and obtains access
    /// tokens with assertions `federation` trusts. Nothing is written unless every value is
    /// valid (the JWKS URL held to the outbound policy, as webhook receivers are).
    pub async fn create_federated_client(
        &self,
        slug: &str,
        federation: FederationRequest<'_>,
        lifetime: TokenLifetime,
    ) -> Result<StoredClient, TenantError> {
        let federation = Federation::new(
            federation.issuer,
            federation.jwks_url,
            federation.subject,
            federation.audience,
            self.network,
        )
        .map_err(TenantError::InvalidSetting)?;
        let tenant = self.tenant(slug).await?;
        let now = self.clock.now();
        let client = StoredClient {
            id: self.ids.new_id(),
            tenant: tenant.id,
            auth: ClientAuth::Federated(federation),
            created: now,
            expires: lifetime.expires(now),
        };
        self.credential_store.insert_client(&client).await?;
        Ok(client)
    }

    /// RFC 7523: an access token for the federated client `client_id`, when `assertion` is
    /// signed by a key its issuer publishes and its claims satisfy the client's trust.
    /// Held to `limit` as every credential lookup is; a refused assertion counts as a
    /// refused credential.
    pub async fn issue_access_token_for_assertion(
        &self,
        client_id: &str,
        assertion: &str,
        limit: &dyn LookupLimit,
    ) -> Result<AccessToken, AssertionGrantError> {
        if !is_client_id_shaped(client_id) {
            return Err(AssertionGrantError::Client);
        }
        if !is_jws_shaped(assertion) {
            return Err(AssertionGrantError::Assertion(format!(
                "the assertion is not a signed JWT (three base64url parts, at most \
                 {MAX_ASSERTION_BYTES} bytes)"
            )));
        }
        // A client that obtained a token within the last day is never held back: an IdP's
        // egress address serves many tenants, and another's bad credentials must not lock
        // this one out.
        let key = known_key(client_id);
        let now = self.clock.now();
        let mut permit = self.permit(&key, now, limit)?;
        let found = match self.credential_store.find_client(client_id).await {
            Ok(found) => found,
            Err(StoreError::Unavailable(_)) => {
                permit.answered(false);
                return Err(ScimError::Unavailable.into());
            }
            Err(_) => None,
        };
        let Some((client, tenant)) = found.filter(|(client, _)| client.is_valid_at(now)) else {
            return Err(AssertionGrantError::Client);
        };
        let Some(federation) = client.federation() else {
            return Err(AssertionGrantError::Client);
        };
        let claims = match self
            .assertions
            .verify(&federation.jwks_url, assertion)
            .await
        {
            Ok(claims) => claims,
            Err(AssertionError::Refused(why)) => return Err(AssertionGrantError::Assertion(why)),
            // Counted as refused: an issuer that cannot be reached is no way around the
            // limit (a client that worked lately is not held back, above).
            Err(AssertionError::Unreachable {
                reason,
                retry_after,
            }) => {
                return Err(AssertionGrantError::Unavailable {
                    reason,
                    retry_after,
                });
            }
        };
        federation
            .check(&claims, now)
            .map_err(|refusal| AssertionGrantError::Assertion(refusal.to_string()))?;
        permit.answered(false);
        let tenant_id = tenant.id.clone();
        let token = self.grant_access_token(&client, tenant).await?;
        self.credentials
            .known_good_until(&key, &tenant_id, now + KNOWN_GOOD_TTL, now);
        Ok(token)
    }
}

/// What a federated client is remembered as known good under (no secret names it).
fn known_key(client_id: &str) -> TokenHash {
    TokenHash::of(&format!("federated\n{client_id}"))
}

/// Whether `text` could be a compact JWS: three base64url parts, within the size limit.
fn is_jws_shaped(text: &str) -> bool {
    text.len() <= MAX_ASSERTION_BYTES
        && text.split('.').count() == 3
        && text.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}
