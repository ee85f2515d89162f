//! `Idempotency-Key` on the Management API's POSTs: the same key with the same request
//! within [`IDEMPOTENCY_WINDOW`] answers the first response again; with another request,
//! it is refused. What a store keeps, and the rule of what a key's record means, are here;
//! [`crate::service::IdempotencyService`] applies it.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a key's response is answered again.
pub const IDEMPOTENCY_WINDOW: TimeDelta = TimeDelta::hours(24);

/// How long a request may hold its key without finishing before the key counts as
/// abandoned (the process died mid-request) and a retry runs anew.
pub const IN_FLIGHT_TIMEOUT: TimeDelta = TimeDelta::minutes(5);

/// Longest `Idempotency-Key`, in bytes.
pub const MAX_KEY_LENGTH: usize = 255;

/// Whether `key` can be an `Idempotency-Key`: 1 to [`MAX_KEY_LENGTH`] visible ASCII
/// characters (a UUID, say).
pub fn is_valid_key(key: &str) -> bool {
    (1..=MAX_KEY_LENGTH).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// What identifies a request for its key: the SHA-256 of its method, its path and query,
/// and its body, so that the same key sent with another request is told apart.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), path_and_query.as_bytes(), body] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A response kept to be answered again.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// Its HTTP status.
    pub status: u16,
    /// The headers that describe it (`Content-Type`, `Location`, `ETag`), by name.
    pub headers: Vec<(String, String)>,
    /// Its body. It may hold a secret the request created (a token): stores keep it
    /// sealed.
    pub body: String,
}

impl fmt::Debug for StoredResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredResponse")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A key as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Whose key it is (the API key's id): keys of different callers never meet.
    pub owner: String,
    /// The `Idempotency-Key`.
    pub key: String,
    /// The [`fingerprint`] of the request that first sent it.
    pub fingerprint: String,
    /// When that request came.
    pub created: DateTime<Utc>,
    /// Its response, once it finished; `None` while it runs.
    pub response: Option<StoredResponse>,
    /// Whether it counts for nothing whatever its time ([`Self::expired`]).
    pub stale: bool,
}

/// What a key's record means for a request that sends it again at `now` with
/// `fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The first request's response: answer it again.
    Replay(StoredResponse),
    /// The key was used with another request.
    Reused,
    /// The first request is still running.
    InFlight,
    /// The record no longer counts (past the window, or abandoned): forget it and run.
    Stale,
}

impl IdempotencyRecord {
    /// The record made to count for nothing: its `created` kept (what forgetting it names),
    /// judged past its window whatever the time. For a record whose response no longer
    /// opens.
    pub fn expired(self) -> Self {
        Self {
            stale: true,
            ..self
        }
    }

    /// What this record means for a request sending its key again (see [`Recorded`]).
    pub fn judge(&self, fingerprint: &str, now: DateTime<Utc>) -> Recorded {
        if self.stale || now - self.created >= IDEMPOTENCY_WINDOW {
            return Recorded::Stale;
        }
        if self.fingerprint != fingerprint {
            return Recorded::Reused;
        }
        match &self.response {
            Some(response) => Recorded::Replay(response.clone()),
            None if now - self.created >= IN_FLIGHT_TIMEOUT => Recorded::Stale,
            None => Recorded::InFlight,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    fn record(response: Option<StoredResponse>) -> IdempotencyRecord {
        IdempotencyRecord {
            owner: "k1".into(),
            key: "abc".into(),
            fingerprint: fingerprint("POST", "/api/v1/tenants", b"{}"),
            created: at(0),
            response,
            stale: false,
        }
    }

    #[test]
    fn a_record_replays_refuses_waits_or_expires() {
        let same = fingerprint("POST", "/api/v1/tenants", b"{}");
        let response = StoredResponse {
            status: 201,
            headers: vec![],
            body: "{}".into(),
        };
        let done = record(Some(response.clone()));
        assert_eq!(done.judge(&same, at(60)), Recorded::Replay(response));
        assert_eq!(
            done.judge(&fingerprint("POST", "/api/v1/tenants", b"{ }"), at(60)),
            Recorded::Reused
        );
        assert_eq!(done.judge(&same, at(24 * 3600)), Recorded::Stale);
        let running = record(None);
        assert_eq!(running.judge(&same, at(60)), Recorded::InFlight);
        assert_eq!(running.judge(&same, at(5 * 60)), Recorded::Stale);
    }

    #[test]
    fn fingerprints_tell_method_path_and_body_apart() {
        let base = fingerprint("POST", "/a", b"b");
        assert_ne!(base, fingerprint("PUT", "/a", b"b"));
        assert_ne!(base, fingerprint("POST", "/ab", b""));
        assert_ne!(base, fingerprint("POST", "/a", b"c"));
        assert_eq!(base, fingerprint("POST", "/a", b"b"));
        assert!(is_valid_key("5f2b1c9e-0c1d-4f7a-9b1e-2f3a4b5c6d7e"));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("with space"));
        assert!(!is_valid_key(&"k".repeat(256)));
    }
}
