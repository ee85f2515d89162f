//! `POST /oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4). The client
//! authenticates with HTTP Basic or with `client_id` and `client_secret` form fields
//! (§2.3.1), or — a federated client — with a JWT its issuer signed (RFC 7523): as
//! `client_assertion` of the client credentials grant (§2.2, what Entra ID's workload
//! identity federation sends) or as the `assertion` of the jwt-bearer grant (§2.1), with
//! its `client_id` either way. It gets a bearer access token for the SCIM endpoints that
//! lives `expires_in` seconds. Errors are RFC 6749 §5.2 bodies, not SCIM ones: this
//! endpoint speaks OAuth.

use std::collections::HashMap;

use http::StatusCode;
use http::header;
use scim_core::ScimError;
use scim_core::federation::{CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT};
use scim_core::service::{AccessToken, AssertionGrantError};
use serde_json::json;

use crate::auth::{Credentials, credentials};
use crate::rate::{RateLimit, RateLimiter};
use crate::request::Request;
use crate::response::{Reply, Response};
use crate::state::AppState;

/// Access tokens one client may be issued: [`ISSUED_PER_SECOND`] after a burst of
/// [`ISSUED_BURST`], per process. An IdP needs one an hour (Entra ID and Okta keep a token
/// until it expires); the limit keeps a client's credentials from filling the token table.
pub(crate) const ISSUED_PER_SECOND: u32 = 1;
pub(crate) const ISSUED_BURST: u32 = 20;

/// The buckets of the clients access tokens were issued to. Only an issuance takes a
/// token (a wrong secret for a client's id never does), and a client whose issuance found
/// its bucket empty is refused until it refills.
#[derive(Debug)]
pub struct TokenIssuance(RateLimiter<String>);

impl Default for TokenIssuance {
    fn default() -> Self {
        Self(RateLimiter::new(RateLimit::of(
            ISSUED_PER_SECOND,
            ISSUED_BURST,
        )))
    }
}

/// An RFC 6749 §5.2 error.
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    /// Seconds to wait, for a 429.
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the client to retry after `seconds`.
    fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn response(&self) -> Response {
        let mut response = no_store(Reply::new(self.status));
        if let Some(seconds) = self.retry_after {
            response = response.header(header::RETRY_AFTER, &seconds.to_string());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response = response.header(header::WWW_AUTHENTICATE, "Basic realm=\"scim\"");
        }
        response.json(&json!({"error": self.code, "error_description": self.description}))
    }
}

/// RFC 6749 §5.1: token responses are never cached.
fn no_store(response: Reply) -> Reply {
    response
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::PRAGMA, "no-cache")
}

pub(crate) async fn token(req: &Request, state: &AppState) -> Response {
    match issue(req, state).await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

async fn issue(req: &Request, state: &AppState) -> Result<Response, OAuthError> {
    let form_type = req
        .header(header::CONTENT_TYPE)
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::invalid_request(
            "the request must be application/x-www-form-urlencoded",
        ));
    }
    let limit = state.config.max_body_bytes;
    let body = req
        .body()
        .filter(|body| body.len() <= limit)
        .ok_or_else(|| {
            OAuthError::invalid_request(format!(
                "the request body exceeds the limit of {limit} bytes"
            ))
        })?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::invalid_request("the form body cannot be parsed"))?;
    let mut form: HashMap<String, String> = HashMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        // RFC 6749 §3.2: parameters must not be included more than once.
        if form.insert(name.clone(), value).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "'{name}' is given more than once"
            )));
        }
    }
    let header = credentials(req.headers()).map_err(|_| invalid_client())?;
    let assertion_given =
        form.contains_key("client_assertion") || form.contains_key("client_assertion_type");
    let grant = form.get("grant_type").map(String::as_str);
    let flow = match grant {
        Some("client_credentials") if assertion_given => Flow::ClientAssertion,
        Some("client_credentials") => Flow::Secret,
        Some(JWT_BEARER_GRANT) if assertion_given => {
            return Err(OAuthError::invalid_request(
                "the jwt-bearer grant takes its JWT as assertion, not as client_assertion",
            ));
        }
        Some(JWT_BEARER_GRANT) if assertion_given => {
            return Err(OAuthError::invalid_request(
                "the jwt-bearer grant takes its JWT as assertion, not as client_assertion",
            ));
        }
        Some(JWT_BEARER_GRANT) => Flow::Grant,
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "grant_type '{other}' is not supported; use client_credentials (with a \
                     secret or a client assertion) or {JWT_BEARER_GRANT}"
                ),
            ));
        }
        None => return Err(OAuthError::invalid_request("grant_type is required")),
    };
    if flow == Flow::Secret {
        let (client_id, secret) = client_secret(header, &form)?;
        not_too_many(state, &client_id)?;
        // Held to the per-address limit on credential lookups, as every way in is.
        let limit = state.lookup_limit(state.config.trusted_proxies.client_of(req.parts()));
        return match state
            .tenants
            .issue_access_token(&client_id, &secret, &limit)
            .await
        {
            Ok(token) => Ok(issued(state, &client_id, &token)),
            Err(ScimError::Unauthorized(_)) => Err(invalid_client()),
            Err(error) => Err(refusal(&error)),
        };
    }
    if header.is_some() || form.contains_key("client_secret") {
        return Err(OAuthError::invalid_request(
            "a client assertion is the client's only authentication: send no client_secret \
             and no Authorization header with it",
        ));
    }
    let assertion = if flow == Flow::Grant {
        form.get("assertion")
            .ok_or_else(|| OAuthError::invalid_request("assertion is required with this grant"))?
    } else {
        if form.get("client_assertion_type").map(String::as_str) != Some(CLIENT_ASSERTION_TYPE) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {CLIENT_ASSERTION_TYPE}"
            )));
        }
        form.get("client_assertion")
            .ok_or_else(|| OAuthError::invalid_request("client_assertion is required"))?
    };
    let client_id = form.get("client_id").ok_or_else(|| {
        OAuthError::invalid_request(
            "client_id is required: it names the federated client whose trust the assertion \
             is held to",
        )
    })?;
    not_too_many(state, client_id)?;
    let limit = state.lookup_limit(state.config.trusted_proxies.client_of(req.parts()));
    match state
        .tenants
        .issue_access_token_for_assertion(client_id, assertion, &limit)
        .await
    {
        Ok(token) => Ok(issued(state, client_id, &token)),
        Err(AssertionGrantError::Client) => Err(invalid_client()),
        Err(AssertionGrantError::Assertion(why)) => {
            tracing::info!(client_id, reason = %why, "client assertion refused");
            Err(if flow == Flow::Grant {
                OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", why)
            } else {
                OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", why)
            })
        }
        Err(AssertionGrantError::Unavailable {
            reason,
            retry_after,
        }) => {
            tracing::warn!(client_id, %reason, "a federated issuer's keys are unavailable");
            Err(OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                reason,
            )
            .retry_after(retry_after))
        }
        Err(AssertionGrantError::Scim(error)) => Err(refusal(&error)),
        Err(_) => Err(server_error()),
    }
}

/// How the client proves itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Its secret (RFC 6749 §2.3.1), in the Authorization header or the form.
    Secret,
    /// A JWT, as client authentication of the client credentials grant (RFC 7523 §2.2):
    /// what Entra ID's workload identity federation sends.
    ClientAssertion,
    /// A JWT as the grant itself (RFC 7523 §2.1).
    Grant,
}

/// The client's id and secret, from the Authorization header or the form (one of them).
fn client_secret(
    header: Option<Credentials>,
    form: &HashMap<String, String>,
) -> Result<(String, String), OAuthError> {
    match (header, (form.get("client_id"), form.get("client_secret"))) {
        (Some(Credentials::Basic(id, secret)), (None, None)) => Ok((id, secret)),
        (None, (Some(id), Some(secret))) => Ok((id.clone(), secret.clone())),
        (Some(_), (Some(_), _) | (_, Some(_))) => Err(OAuthError::invalid_request(
            "use one client authentication method: the Authorization header or the form",
        )),
        _ => Err(invalid_client()),
    }
}

/// Refuses a client that was issued too many access tokens lately.
fn not_too_many(state: &AppState, client_id: &str) -> Result<(), OAuthError> {
    match state.token_issuance.0.blocked(&client_id.to_owned()) {
        Ok(()) => Ok(()),
        Err(retry_after) => Err(OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            format!(
                "this client was issued too many access tokens; keep each until it \
                     expires, or retry after {retry_after} s"
            ),
        )
        .retry_after(retry_after)),
    }
}

/// The token response (RFC 6749 §5.1), the issuance charged to the client.
fn issued(state: &AppState, client_id: &str, token: &AccessToken) -> Response {
    state
        .token_issuance
        .0
        .charge_and_block(&client_id.to_owned());
    no_store(Reply::new(StatusCode::OK)).json(&json!({
        "access_token": token.secret,
        "token_type": "Bearer",
        "expires_in": token.expires_in.num_seconds(),
    }))
}

/// A refusal of the limit on lookups, or of the store.
fn refusal(error: &ScimError) -> OAuthError {
    match error {
        ScimError::Unauthorized(_) => invalid_client(),
        &ScimError::RateLimited { retry_after } => OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            format!(
                "too many failed client authentications from this address; retry after \
                     {retry_after} s"
            ),
        )
        .retry_after(retry_after),
        ScimError::Unavailable => OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the store is unavailable; retry later",
        ),
        _ => server_error(),
    }
}

fn server_error() -> OAuthError {
    OAuthError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "internal server error",
    )
}

/// The same answer whether the client is unknown or its secret wrong.
fn invalid_client() -> OAuthError {
    OAuthError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    )
}
