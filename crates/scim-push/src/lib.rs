//! The server's calls out on tenants' behalf: push delivery, and federated clients'
//! issuer keys ([`JwksVerifier`], RFC 7523).
//!
//! Push delivery's HTTP side (RFC 8935): each SET is signed HS256 with its receiver's
//! secret (the secret's UTF-8 bytes as the key) and POSTed as `application/secevent+jwt`.
//! A receiver protected by OAuth 2.0 gets a bearer token obtained by the client
//! credentials grant (the `oauth2` crate), kept until it expires or the receiver rejects
//! it.
//!
//! Redirects are not followed (a receiver's address is what the operator registered), and
//! nothing a receiver says is trusted beyond its status and a clipped error text.

mod jwks;
mod jws;
mod network;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scim_core::events::{Push, PushOutcome, Receiver};
use scim_core::outbound::NetworkPolicy;
use scim_core::ports::SetPusher;
use serde_json::Value;
use tokio::sync::Semaphore;

pub use jwks::{JwksVerifier, KEYS_FRESH, REFETCH_AFTER};
pub use jws::sign_hs256;
use tokens::TokenCache;

/// Bytes of a receiver's answer read at most.
const ANSWER_LIMIT: u64 = 64 * 1024;

/// Characters of a receiver's error text kept.
const ERROR_TEXT: usize = 200;

/// How pushes are made.
#[derive(Debug, Clone, Copy)]
pub struct PushConfig {
    /// The longest one request (token or SET) may take.
    pub timeout: Duration,
    /// SETs in flight at once.
    pub concurrency: usize,
    /// The longest one push may take, waiting for a slot included: shorter than the
    /// claim's lease, so that a push is settled (as a failure, if need be) before another
    /// process may take its delivery over.
    pub deadline: Duration,
    /// Whether pushes may go to loopback, private and link-local addresses.
    pub network: NetworkPolicy,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            concurrency: 16,
            deadline: Duration::from_secs(40),
            network: NetworkPolicy::default(),
        }
    }
}

/// The [`SetPusher`] over HTTP.
pub struct HttpPusher {
    inner: Arc<Inner>,
    slots: Arc<Semaphore>,
    deadline: Duration,
}

struct Inner {
    agent: ureq::Agent,
    tokens: TokenCache,
}

impl HttpPusher {
    pub fn new(config: PushConfig) -> Self {
        let agent = network::agent(config.timeout, config.network);
        Self {
            inner: Arc::new(Inner {
                agent,
                tokens: TokenCache::default(),
            }),
            slots: Arc::new(Semaphore::new(config.concurrency.max(1))),
            deadline: config.deadline,
        }
    }
}

#[async_trait]
impl SetPusher for HttpPusher {
    async fn push(&self, pushes: Vec<Push>) -> Vec<PushOutcome> {
        let mut tasks = Vec::with_capacity(pushes.len());
        for push in pushes {
            let inner = Arc::clone(&self.inner);
            let slots = Arc::clone(&self.slots);
            let deadline = self.deadline;
            tasks.push(tokio::spawn(async move {
                let push = async move {
                    let _slot = slots.acquire_owned().await;
                    tokio::task::spawn_blocking(move || inner.deliver(&push.receiver, &push.claims))
                        .await
                };
                match tokio::time::timeout(deadline, push).await {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(_)) => failed("the push task failed", false),
                    // The request may still finish; the delivery is retried regardless.
                    Err(_) => failed("the push did not finish in time", false),
                }
            }));
        }
        let mut outcomes = Vec::with_capacity(tasks.len());
        for task in tasks {
            outcomes.push(
                task.await
                    .unwrap_or_else(|_| failed("the push task failed", false)),
            );
        }
        outcomes
    }
}

impl Inner {
    fn deliver(&self, receiver: &Receiver, claims: &Value) -> PushOutcome {
        let jwt = sign_hs256(receiver.secret.as_bytes(), claims);
        let mut request = self
            .agent
            .post(&receiver.url)
            .header("Content-Type", "application/secevent+jwt")
            .header("Accept", "application/json");
        let mut bearer = None;
        if let Some(oauth) = &receiver.oauth {
            match self.tokens.token(&self.agent, &receiver.id, oauth) {
                Ok(token) => {
                    request = request.header("Authorization", format!("Bearer {token}"));
                    bearer = Some(token);
                }
                Err(error) => return failed(&error, false),
            }
        }
        let mut answer = match request.send(jwt) {
            Ok(answer) => answer,
            Err(error) => return failed(&format!("cannot reach the receiver: {error}"), false),
        };
        let status = answer.status().as_u16();
        if (200..300).contains(&status) {
            return PushOutcome::Delivered;
        }
        let text = answer
            .body_mut()
            .with_config()
            .limit(ANSWER_LIMIT)
            .read_to_string()
            .unwrap_or_default();
        let err = error_code(&text);
        // RFC 8935 §2.3: the receiver's credentials were refused (401/403, or 400 with
        // `authentication_failed`/`access_denied`): a new token may help.
        let refused = status == 401
            || status == 403
            || (status == 400
                && matches!(
                    err.as_deref(),
                    Some("authentication_failed" | "access_denied")
                ));
        if refused && let Some(token) = &bearer {
            self.tokens.forget(&receiver.id, token);
        }
        // A 400 with any other RFC 8935 error code says this SET will never be accepted;
        // a 400 without one (a proxy's page) may be passing.
        let permanent = status == 400 && err.is_some() && !refused;
        failed(&describe(status, &text), permanent)
    }
}

fn failed(error: &str, permanent: bool) -> PushOutcome {
    // The receiver's words, for a terminal and a log: no control characters.
    let error: String = clip(error)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    PushOutcome::Failed { error, permanent }
}

/// The RFC 8935 `err` of an error answer.
fn error_code(text: &str) -> Option<String> {
    let answer: Value = serde_json::from_str(text).ok()?;
    answer.get("err")?.as_str().map(str::to_owned)
}

/// `HTTP 400 invalid_key: <description>` from an RFC 8935 error answer, else the status.
fn describe(status: u16, text: &str) -> String {
    let answer: Option<Value> = serde_json::from_str(text).ok();
    let field = |name: &str| {
        answer
            .as_ref()
            .and_then(|a| a.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (field("err"), field("description")) {
        (Some(err), Some(description)) => format!("HTTP {status} {err}: {description}"),
        (Some(err), None) => format!("HTTP {status} {err}"),
        _ => format!("HTTP {status}"),
    }
}

fn clip(text: &str) -> &str {
    text.char_indices()
        .nth(ERROR_TEXT)
        .map_or(text, |(at, _)| &text[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_8935_error_answers_are_described() {
        assert_eq!(
            describe(
                400,
                r#"{"err":"invalid_key","description":"Key ID 12 rejected"}"#
            ),
            "HTTP 400 invalid_key: Key ID 12 rejected"
        );
        assert_eq!(
            describe(400, r#"{"err":"invalid_request"}"#),
            "HTTP 400 invalid_request"
        );
        assert_eq!(describe(503, "<html>busy</html>"), "HTTP 503");
        assert_eq!(clip(&"é".repeat(500)).chars().count(), ERROR_TEXT);
        assert_eq!(
            error_code(r#"{"err":"authentication_failed"}"#).as_deref(),
            Some("authentication_failed")
        );
        assert_eq!(error_code("<html>"), None);
        assert_eq!(
            failed("HTTP 400 x: \u{1b}[2Jgone\n", true),
            PushOutcome::Failed {
                error: "HTTP 400 x:  [2Jgone ".into(),
                permanent: true
            }
        );
    }
}
