//! Bearer tokens for OAuth-protected receivers: the client credentials grant (RFC 6749
//! §4.4) through the `oauth2` crate, one token per receiver kept until shortly before it
//! expires (or until the receiver rejects it). One request fetches it while the other
//! pushes to that receiver wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use scim_core::events::OAuthClient;

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(30);

/// The longest a token is kept, whatever `expires_in` says.
const LONGEST_KEPT: Duration = Duration::from_secs(24 * 3600);

/// How long a failed token request is remembered: pushes waiting for it fail at once
/// instead of each asking the token endpoint again.
const FAILURE_KEPT: Duration = Duration::from_secs(5);

enum Cached {
    Token { token: String, renew_at: Instant },
    Failed { error: String, until: Instant },
}

type Slot = Arc<Mutex<Option<Cached>>>;

#[derive(Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl TokenCache {
    fn slot(&self, receiver: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(receiver.to_owned()).or_default())
    }

    /// The receiver's token: the kept one while it is fresh, else a new one.
    pub(crate) fn token(
        &self,
        agent: &ureq::Agent,
        receiver: &str,
        oauth: &OAuthClient,
    ) -> Result<String, String> {
        let slot = self.slot(receiver);
        let mut cached = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        match cached.as_ref() {
            Some(Cached::Token { token, renew_at }) if now < *renew_at => {
                return Ok(token.clone());
            }
            Some(Cached::Failed { error, until }) if now < *until => return Err(error.clone()),
            _ => {}
        }
        match fetch(agent, oauth) {
            Ok((token, lifetime)) => {
                // Without `expires_in`, kept until the receiver refuses it (or a day).
                let kept = lifetime
                    .map_or(LONGEST_KEPT, |lifetime| {
                        lifetime.saturating_sub(RENEW_BEFORE)
                    })
                    .min(LONGEST_KEPT);
                *cached = Some(Cached::Token {
                    token: token.clone(),
                    renew_at: now + kept,
                });
                Ok(token)
            }
            Err(error) => {
                *cached = Some(Cached::Failed {
                    error: error.clone(),
                    until: Instant::now() + FAILURE_KEPT,
                });
                Err(error)
            }
        }
    }

    /// Drops the receiver's token (it was rejected): the next push fetches a new one.
    /// Only `refused` is dropped: pushes that were in flight with it and are refused
    /// after a new token was fetched leave the new one alone.
    pub(crate) fn forget(&self, receiver: &str, refused: &str) {
        let slot = self.slot(receiver);
        let mut cached = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(cached.as_ref(), Some(Cached::Token { token, .. }) if token == refused) {
            *cached = None;
        }
    }
}

/// A token and its lifetime from the token endpoint.
fn fetch(agent: &ureq::Agent, oauth: &OAuthClient) -> Result<(String, Option<Duration>), String> {
    let token_url = TokenUrl::new(oauth.token_url.clone())
        .map_err(|_| "the receiver's token URL is not a URL".to_owned())?;
    let client = BasicClient::new(ClientId::new(oauth.client_id.clone()))
        .set_client_secret(ClientSecret::new(oauth.client_secret.clone()))
        .set_token_uri(token_url);
    let mut request = client.exchange_client_credentials();
    for scope in oauth.scope.iter().flat_map(|s| s.split_whitespace()) {
        request = request.add_scope(Scope::new(scope.to_owned()));
    }
    let http = |request: oauth2::HttpRequest| -> Result<oauth2::HttpResponse, ureq::Error> {
        let (parts, mut body) = agent.run(request)?.into_parts();
        Ok(oauth2::HttpResponse::from_parts(parts, body.read_to_vec()?))
    };
    match request.request(&http) {
        Ok(token) => Ok((token.access_token().secret().clone(), token.expires_in())),
        Err(RequestTokenError::ServerResponse(answer)) => Err(format!(
            "the token endpoint refused the client credentials: {}",
            answer.error()
        )),
        Err(RequestTokenError::Request(error)) => {
            Err(format!("cannot reach the token endpoint: {error}"))
        }
        Err(RequestTokenError::Parse(..)) => {
            Err("the token endpoint answered no token response".to_owned())
        }
        Err(RequestTokenError::Other(other)) => Err(format!("token request failed: {other}")),
    }
}
