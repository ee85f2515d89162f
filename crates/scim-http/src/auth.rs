//! The credential chooses the tenant: `Authorization: Bearer <token>` (a token the operator
//! issued, or an access token from `/oauth/token`), or `Authorization: Basic` with an OAuth
//! client's id and secret.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use scim_core::ScimError;
use scim_core::service::Credential;
use scim_core::tenant::Principal;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller; extracting it authenticates the request.
pub(crate) struct Authenticated(pub Principal);

/// The slug of the tenant a request authenticated as, put in the request's extensions once
/// its credential is accepted (for the server's metrics and logs).
#[derive(Debug, Clone)]
pub struct AuthenticatedTenant(pub String);

/// The client certificate the TLS connection presented, put in the connection's data by
/// the server when it accepts it.
#[derive(Debug, Clone)]
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

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let credentials = credentials(req);
        let peer = req.conn_data::<PeerCertificate>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or(ApiError(ScimError::Internal))?;
            let credentials = credentials?.ok_or_else(missing)?;
            let credential = match &credentials {
                Credentials::Bearer(token) => Credential::Bearer(token),
                Credentials::Basic(id, secret) => Credential::Client { id, secret },
            };
            let client = state.config.trusted_proxies.client_of(&req);
            let principal = state
                .tenants
                .authenticate(credential, &state.lookup_limit(client))
                .await?;
            tracing::Span::current()
                .record("tenant", principal.tenant_slug.as_str())
                .record("credential", principal.credential_id.as_str());
            // A connection without the certificate the tenant pinned gets exactly the
            // answer a wrong credential gets: it learns nothing about the credential.
            if !principal.client_certs.is_empty()
                && !peer.is_some_and(|peer| principal.client_certs.contains(&peer.sha256))
            {
                tracing::info!(
                    "refused: the connection lacks the tenant's pinned client certificate"
                );
                return Err(ApiError(credential.refusal()));
            }
            req.extensions_mut()
                .insert(AuthenticatedTenant(principal.tenant_slug.clone()));
            state
                .limiter
                .check(&principal.tenant)
                .map_err(|retry_after| ApiError(ScimError::RateLimited { retry_after }))?;
            Ok(Authenticated(principal))
        })
    }
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
pub(crate) fn credentials(req: &HttpRequest) -> Result<Option<Credentials>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
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
