//! `POST /oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4). The client
//! authenticates with HTTP Basic or with `client_id` and `client_secret` form fields
//! (§2.3.1), and gets a bearer access token for the SCIM endpoints that lives
//! `expires_in` seconds. Errors are RFC 6749 §5.2 bodies, not SCIM ones: this endpoint
//! speaks OAuth.

use std::collections::HashMap;

use http::StatusCode;
use http::header;
use scim_core::ScimError;
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
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type '{other}' is not supported; use client_credentials"),
            ));
        }
        None => return Err(OAuthError::invalid_request("grant_type is required")),
    }
    let header = credentials(req.headers()).map_err(|_| invalid_client())?;
    let in_form = (form.get("client_id"), form.get("client_secret"));
    let (client_id, secret) = match (header, in_form) {
        (Some(Credentials::Basic(id, secret)), (None, None)) => (id, secret),
        (None, (Some(id), Some(secret))) => (id.clone(), secret.clone()),
        (Some(_), (Some(_), _) | (_, Some(_))) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method: the Authorization header or the form",
            ));
        }
        _ => return Err(invalid_client()),
    };
    if let Err(retry_after) = state.token_issuance.0.blocked(&client_id) {
        return Err(OAuthError {
            retry_after: Some(retry_after),
            ..OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                format!(
                    "this client was issued too many access tokens; keep each until it \
                     expires, or retry after {retry_after} s"
                ),
            )
        });
    }
    // Held to the per-address limit on credential lookups, as every way in is.
    let limit = state.lookup_limit(state.config.trusted_proxies.client_of(req.parts()));
    match state
        .tenants
        .issue_access_token(&client_id, &secret, &limit)
        .await
    {
        Ok(token) => {
            state.token_issuance.0.charge_and_block(&client_id);
            Ok(no_store(Reply::new(StatusCode::OK)).json(&json!({
                "access_token": token.secret,
                "token_type": "Bearer",
                "expires_in": token.expires_in.num_seconds(),
            })))
        }
        Err(ScimError::Unauthorized(_)) => Err(invalid_client()),
        Err(ScimError::RateLimited { retry_after }) => Err(OAuthError {
            retry_after: Some(retry_after),
            ..OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                format!(
                    "too many failed client authentications from this address; retry after \
                     {retry_after} s"
                ),
            )
        }),
        Err(ScimError::Unavailable) => Err(OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the store is unavailable; retry later",
        )),
        Err(_) => Err(OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal server error",
        )),
    }
}

/// The same answer whether the client is unknown or its secret wrong.
fn invalid_client() -> OAuthError {
    OAuthError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    )
}
