//! Who sends a request: an [`Authenticator`] says, the server's by its credentials
//! ([`TenantCredentials`]), an embedding service's by its own rules.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header;
use http::request::Parts;
use scim_core::ScimError;
use scim_core::service::Credential;
use scim_core::tenant::Principal;

use crate::activity::Caller;
use crate::error::ApiError;
use crate::request::Request;
use crate::response::AuthenticatedTenant;
use crate::state::AppState;

/// Who sent a request. The server's is [`TenantCredentials`]; a service embedding the API
/// brings its own (its sessions, its API keys, mTLS by its own rules) and names the tenant
/// with a [`Principal`] (`Principal::of(tenant, credential_id)`).
#[async_trait]
pub trait Authenticator: Send + Sync {
    /// The tenant and credential of `request`; the error is answered as it is (401 for a
    /// missing or wrong credential: send `ScimError::Unauthorized`; 429 when limited).
    async fn authenticate(&self, request: &Parts, state: &AppState)
    -> Result<Principal, ScimError>;
}

/// The server's credentials, which choose the tenant: `Authorization: Bearer <token>` (a
/// token the operator issued, or an access token from `/oauth/token`), or
/// `Authorization: Basic` with an OAuth client's id and secret; held to the per-address
/// limit on lookups, and to the client certificate the tenant pinned.
#[derive(Debug, Clone, Copy, Default)]
pub struct TenantCredentials;

#[async_trait]
impl Authenticator for TenantCredentials {
    async fn authenticate(
        &self,
        request: &Parts,
        state: &AppState,
    ) -> Result<Principal, ScimError> {
        let credentials = credentials(&request.headers)
            .map_err(|error| error.0)?
            .ok_or_else(|| missing().0)?;
        let credential = match &credentials {
            Credentials::Bearer(token) => Credential::Bearer(token),
            Credentials::Basic(id, secret) => Credential::Client { id, secret },
        };
        let client = state.config.trusted_proxies.client_of(request);
        let principal = state
            .tenants
            .authenticate(credential, &state.lookup_limit(client))
            .await?;
        // A connection without the certificate the tenant pinned gets exactly the answer
        // a wrong credential gets: it learns nothing about the credential.
        let peer = request.extensions.get::<PeerCertificate>();
        if !principal.client_certs.is_empty()
            && !peer.is_some_and(|peer| principal.client_certs.contains(&peer.sha256))
        {
            tracing::info!("refused: the connection lacks the tenant's pinned client certificate");
            return Err(credential.refusal());
        }
        Ok(principal)
    }
}

/// The authenticated caller.
pub(crate) struct Authenticated(pub Principal);

/// The client certificate the TLS connection presented (set by the adapter from what the
/// server's TLS layer accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// [`scim_core::tenant::cert_fingerprint`] of its DER.
    pub sha256: String,
}

/// What the `Authorization` header carries.
pub(crate) enum Credentials {
    Bearer(String),
    /// `client_id` and secret, decoded.
    Basic(String, String),
}

/// Authenticates the request with the state's [`Authenticator`], then holds its tenant to
/// the per-tenant rate limit.
pub(crate) async fn authenticate(
    req: &Request,
    state: &AppState,
) -> Result<Authenticated, ApiError> {
    let principal = state.authenticator.authenticate(req.parts(), state).await?;
    tracing::Span::current()
        .record("tenant", principal.tenant_slug.as_str())
        .record("credential", principal.credential_id.as_str());
    req.authenticated_as(AuthenticatedTenant(principal.tenant_slug.clone()));
    req.called_by(Caller::of(&principal));
    state
        .limiter
        .check(&principal.tenant)
        .map_err(|retry_after| ApiError(ScimError::RateLimited { retry_after }))?;
    Ok(Authenticated(principal))
}

/// The caller when its credential works; `None` otherwise (discovery needs none).
pub(crate) async fn authenticate_if_any(req: &Request, state: &AppState) -> Option<Authenticated> {
    authenticate(req, state).await.ok()
}

fn missing() -> ApiError {
    ApiError(ScimError::Unauthorized(
        "authentication required: send 'Authorization: Bearer <token>' or HTTP Basic with an \
         OAuth client's id and secret"
            .into(),
    ))
}

/// The credentials of the `Authorization` header: `None` when there is none; an error when
/// it is malformed or of another scheme.
pub(crate) fn credentials(headers: &http::HeaderMap) -> Result<Option<Credentials>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| missing())?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or_else(missing)?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(missing());
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Some(Credentials::Bearer(rest.to_owned())));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let (id, secret) = basic_pair(rest).ok_or_else(missing)?;
        return Ok(Some(Credentials::Basic(id, secret)));
    }
    Err(missing())
}

/// `base64(id ":" secret)`. RFC 6749 §2.3.1 has OAuth clients form-urlencode both before
/// encoding; RFC 7617 clients do not. A part with a `%` is percent-decoded; our ids (UUIDs)
/// and secrets (base64url) never contain one, so both kinds of client work.
fn basic_pair(encoded: &str) -> Option<(String, String)> {
    let decoded = STANDARD.decode(encoded).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((percent_decoded(id)?, percent_decoded(secret)?))
}

fn percent_decoded(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode_plain_and_form_encoded() {
        let encode = |text: &str| STANDARD.encode(text);
        assert_eq!(
            basic_pair(&encode("c1:scim_a-b_c")),
            Some(("c1".to_owned(), "scim_a-b_c".to_owned()))
        );
        assert_eq!(
            basic_pair(&encode("my%20client:s%3Acret%2B")),
            Some(("my client".to_owned(), "s:cret+".to_owned()))
        );
        assert_eq!(basic_pair(&encode("no-colon")), None);
        assert_eq!(basic_pair(&encode("c1:bad%zz")), None);
        assert_eq!(basic_pair("***"), None);
    }
}
