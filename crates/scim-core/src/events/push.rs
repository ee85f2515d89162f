//! Push delivery (RFC 8935): the receivers a tenant registered, what a delivery attempt
//! can end in, and when a failed one is tried again.
//!
//! Every event recorded for a tenant becomes one delivery per receiver the tenant had
//! then, in the same transaction. A delivery is pending until the receiver accepts it
//! (then it is gone), or until it failed [`RetryPolicy::max_attempts`] times or the
//! receiver rejected it for good (then it is a dead letter, kept until re-driven or the
//! receiver is removed). Per receiver, the deliveries of one subject go one at a time in
//! `seq` order, so a receiver sees each resource's changes in the order they were made.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::events::StoredEvent;
use crate::tenant::TenantId;

/// A receiver's OAuth 2.0 client credentials: the server asks `token_url` for a bearer
/// token (client credentials grant) and sends it with every SET.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The authorization server's token endpoint.
    pub token_url: String,
    /// The server's client id at that authorization server.
    pub client_id: String,
    /// A secret: never shown or logged.
    pub client_secret: String,
    /// The scopes asked for, space-separated; `None` asks for none.
    pub scope: Option<String>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .finish()
    }
}

/// Where a tenant's SETs are pushed.
#[derive(Clone, PartialEq, Eq)]
pub struct Receiver {
    /// Its id, unique across tenants.
    pub id: String,
    /// The tenant whose events it gets.
    pub tenant: TenantId,
    /// The endpoint SETs are POSTed to.
    pub url: String,
    /// The HS256 key (its UTF-8 bytes): a secret, never shown or logged after `add`.
    pub secret: String,
    /// The credentials of the bearer token sent with every SET, when the receiver wants one.
    pub oauth: Option<OAuthClient>,
    /// When it was added.
    pub created: DateTime<Utc>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("oauth", &self.oauth)
            .field("created", &self.created)
            .finish()
    }
}

/// A receiver and how its deliveries are going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverStatus {
    /// The receiver the figures are of.
    pub receiver: Receiver,
    /// SETs the receiver accepted.
    pub delivered: i64,
    /// Failed attempts that were scheduled again.
    pub retried: i64,
    /// Deliveries given up on.
    pub dead_lettered: i64,
    /// Deliveries waiting (including any in flight).
    pub pending: i64,
    /// When the oldest waiting event was recorded: the receiver's lag is now minus this.
    pub oldest_pending: Option<DateTime<Utc>>,
}

impl ReceiverStatus {
    /// The receiver and its figures as the CLI's `--json` and the Management API show
    /// them (never its secrets); `lagSeconds` is how long its oldest waiting event has
    /// waited at `now`.
    pub fn to_json(&self, now: DateTime<Utc>) -> Value {
        let lag = self
            .oldest_pending
            .map_or(0, |oldest| (now - oldest).num_seconds().max(0));
        serde_json::json!({
            "id": self.receiver.id,
            "url": self.receiver.url,
            "oauth": self.receiver.oauth.is_some(),
            "created": crate::resource::format_time(&self.receiver.created),
            "delivered": self.delivered,
            "retried": self.retried,
            "deadLettered": self.dead_lettered,
            "pending": self.pending,
            "lagSeconds": lag,
        })
    }
}

/// A delivery taken for one attempt: the store has pushed its due time past the attempt
/// (a lease), so no other process takes it meanwhile, and a process that dies leaves it
/// to be taken again when that time comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// Where the SET goes.
    pub receiver: Receiver,
    /// The tenant's slug, for the SET's audience.
    pub tenant_slug: String,
    /// The event the SET tells.
    pub event: StoredEvent,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// A delivery given up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The receiver it was for.
    pub receiver_id: String,
    /// Its event's place in the outbox ([`StoredEvent::seq`]).
    pub seq: i64,
    /// Its event's subject (`/Users/<id>`, …).
    pub subject: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's failure.
    pub error: String,
    /// When its event was recorded.
    pub at: DateTime<Utc>,
}

impl DeadLetter {
    /// The dead letter as the CLI's `--json` and the Management API show it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "receiver": self.receiver_id,
            "seq": self.seq,
            "subject": self.subject,
            "attempts": self.attempts,
            "error": self.error,
            "at": crate::resource::format_time(&self.at),
        })
    }
}

/// What the receiver made of one SET.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushOutcome {
    /// Accepted (RFC 8935 §2.2: 202).
    Delivered,
    /// Not accepted; `permanent` when sending it again cannot help (RFC 8935 §2.3: the
    /// receiver answered 400 with an error code).
    Failed {
        /// What failed: `HTTP 400 invalid_key: …`, an unreachable receiver, a token refused.
        error: String,
        /// Whether sending it again cannot help.
        permanent: bool,
    },
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Accepted: the delivery is gone.
    Delivered,
    /// Tried again at `due`; the later deliveries of its subject to the receiver wait too.
    Retry {
        /// When the next attempt is due.
        due: DateTime<Utc>,
        /// This attempt's failure.
        error: String,
    },
    /// Given up: a dead letter, kept until re-driven or the receiver is removed.
    Dead {
        /// The last attempt's failure.
        error: String,
    },
}

/// The end of one attempt, for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The receiver the delivery is for.
    pub receiver_id: String,
    /// Its event's place in the outbox ([`StoredEvent::seq`]).
    pub seq: i64,
    /// The attempt settled ([`ClaimedDelivery::attempts`]): a retry or dead letter of an
    /// attempt another process has since taken over (its lease ran out) changes nothing.
    pub attempts: u32,
    /// What becomes of the delivery.
    pub settlement: Settlement,
}

/// One SET to push: its receiver and its claims (the pusher signs them with the
/// receiver's secret).
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// Where it goes, and the key it is signed with.
    pub receiver: Receiver,
    /// The SET's claims, unsigned ([`StoredEvent::set_claims`]).
    pub claims: Value,
}

/// When failed deliveries are tried again, and when they are given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure, before jitter; it doubles with every failure.
    pub first_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
    /// Attempts before a delivery becomes a dead letter.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// First retry within 2 s, then 4, 8 … capped at 5 minutes; 20 attempts, so at most
    /// 63.5 minutes of waits (about 48 with the jitter) before a dead letter.
    fn default() -> Self {
        Self {
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            max_attempts: 20,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempts` (1 for the first): the doubled
    /// backoff, capped, less a jitter of up to half of it. The jitter is drawn from the
    /// delivery itself (`key`), so retries of many deliveries spread out without a random
    /// source in the core, and the same attempt of the same delivery waits the same.
    pub fn backoff(&self, attempts: u32, key: &str) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let full = self
            .first_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff);
        let digest = Sha256::digest(format!("{key}#{attempts}").as_bytes());
        let fraction = f64::from(u16::from_be_bytes([digest[0], digest[1]])) / f64::from(u16::MAX);
        full.mul_f64(1.0 - fraction / 2.0)
    }

    /// What becomes of `delivery` after `outcome`, at `now`.
    pub fn settle(
        &self,
        delivery: &ClaimedDelivery,
        outcome: PushOutcome,
        now: DateTime<Utc>,
    ) -> Settlement {
        match outcome {
            PushOutcome::Delivered => Settlement::Delivered,
            PushOutcome::Failed { error, permanent }
                if permanent || delivery.attempts >= self.max_attempts =>
            {
                Settlement::Dead { error }
            }
            PushOutcome::Failed { error, .. } => {
                let key = format!("{}/{}", delivery.receiver.id, delivery.event.seq);
                let wait = self.backoff(delivery.attempts, &key);
                let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                Settlement::Retry {
                    due: now + wait,
                    error,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::events::ResourceEvent;
    use crate::resource::ResourceKind;

    fn claimed(attempts: u32) -> ClaimedDelivery {
        ClaimedDelivery {
            receiver: Receiver {
                id: "r1".into(),
                tenant: TenantId("t1".into()),
                url: "https://example.com/events".into(),
                secret: "s3cret-value".into(),
                oauth: Some(OAuthClient {
                    token_url: "https://example.com/token".into(),
                    client_id: "c".into(),
                    client_secret: "oauth-s3cret".into(),
                    scope: None,
                }),
                created: Utc.timestamp_opt(0, 0).unwrap(),
            },
            tenant_slug: "acme".into(),
            event: StoredEvent {
                seq: 7,
                at: Utc.timestamp_opt(0, 0).unwrap(),
                event: ResourceEvent::deleted(ResourceKind::User, "u1", None),
            },
            attempts,
        }
    }

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_the_cap_with_at_most_half_jitter() {
        let policy = RetryPolicy::default();
        for attempts in 1..=12 {
            let full = Duration::from_secs((2u64 << (attempts - 1)).min(300));
            for key in ["a", "b", "c", "r1/7"] {
                let wait = policy.backoff(attempts, key);
                assert!(
                    wait <= full && wait >= full / 2,
                    "{attempts} {key}: {wait:?}"
                );
            }
        }
        assert!(policy.backoff(1, "x") <= Duration::from_secs(5));
        assert!(policy.backoff(u32::MAX, "x") <= policy.max_backoff);
        let spread: std::collections::BTreeSet<Duration> = (0..50)
            .map(|i| policy.backoff(3, &format!("r/{i}")))
            .collect();
        assert!(spread.len() > 40, "jitter spreads retries: {spread:?}");
    }

    #[test]
    fn failures_are_retried_until_the_bound_and_permanent_ones_at_once() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let now = Utc.timestamp_opt(1_000, 0).unwrap();
        let failed = |permanent| PushOutcome::Failed {
            error: "HTTP 500".into(),
            permanent,
        };
        assert_eq!(
            policy.settle(&claimed(1), PushOutcome::Delivered, now),
            Settlement::Delivered
        );
        let Settlement::Retry { due, error } = policy.settle(&claimed(2), failed(false), now)
        else {
            panic!("a second failure is retried");
        };
        assert_eq!(error, "HTTP 500");
        assert!(
            due > now + chrono::Duration::seconds(1) && due <= now + chrono::Duration::seconds(4)
        );
        assert_eq!(
            policy.settle(&claimed(3), failed(false), now),
            Settlement::Dead {
                error: "HTTP 500".into()
            }
        );
        assert!(matches!(
            policy.settle(&claimed(1), failed(true), now),
            Settlement::Dead { .. }
        ));
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let text = format!("{:?}", claimed(1));
        assert!(!text.contains("s3cret-value") && !text.contains("oauth-s3cret"));
        assert!(text.contains("<redacted>"));
    }
}
