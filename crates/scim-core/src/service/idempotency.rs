//! Applying `Idempotency-Key`: a request claims its key, runs, and keeps its response; a
//! retry with the same key and request gets that response again (see
//! [`crate::idempotency`]).

#![warn(missing_docs)]

use std::sync::Arc;

use crate::error::StoreError;
use crate::idempotency::{IDEMPOTENCY_WINDOW, IdempotencyRecord, Recorded, StoredResponse};
use crate::ports::{Clock, IdempotencyStore};

/// Why a request's key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdempotencyError {
    /// The key was sent with another request within the window.
    #[error(
        "this Idempotency-Key was used with another request in the last 24 hours: use a new \
         key for a new request"
    )]
    Reused,
    /// The first request with the key has not finished.
    #[error("a request with this Idempotency-Key is still being processed: retry later")]
    InFlight,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A request's hold on its key: what finishing or abandoning it names, so that a request
/// that outlived its claim never touches the record of the retry that took the key over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    created: chrono::DateTime<chrono::Utc>,
}

/// What a request with a key does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// Run it: the key is claimed; [`IdempotencyService::finish`] or
    /// [`IdempotencyService::abandon`] it after.
    Run(Claim),
    /// Answer this, the first request's response, without running anything.
    Replay(StoredResponse),
}

/// Claims, keeps and replays the responses of `Idempotency-Key`s.
#[derive(Clone)]
pub struct IdempotencyService {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
}

impl IdempotencyService {
    /// On the store's records.
    pub fn new(store: Arc<dyn IdempotencyStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Begins a request of `owner` sending `key`, identified by `fingerprint`.
    pub async fn begin(
        &self,
        owner: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Begun, IdempotencyError> {
        // A record that goes stale between the reads is forgotten and claimed again; two
        // rounds settle any race but one with a record made and abandoned in between.
        for _ in 0..3 {
            let now = self.clock.now();
            let record = IdempotencyRecord {
                owner: owner.to_owned(),
                key: key.to_owned(),
                fingerprint: fingerprint.to_owned(),
                created: now,
                response: None,
                stale: false,
            };
            if self.store.insert_idempotency(&record).await? {
                return Ok(Begun::Run(Claim { created: now }));
            }
            let Some(existing) = self.store.idempotency(owner, key).await? else {
                continue;
            };
            match existing.judge(fingerprint, now) {
                Recorded::Replay(response) => return Ok(Begun::Replay(response)),
                Recorded::Reused => return Err(IdempotencyError::Reused),
                Recorded::InFlight => return Err(IdempotencyError::InFlight),
                Recorded::Stale => {
                    self.store
                        .forget_idempotency(owner, key, existing.created)
                        .await?;
                }
            }
        }
        Err(IdempotencyError::InFlight)
    }

    /// Keeps the response of a request that ran under `claim` (nothing when the key is
    /// another request's by now: it ran past the in-flight timeout and a retry took it).
    pub async fn finish(
        &self,
        owner: &str,
        key: &str,
        claim: Claim,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        self.store
            .finish_idempotency(owner, key, claim.created, response)
            .await
    }

    /// Lets the key go: the request failed in a way a retry may not (the server's fault),
    /// so the retry runs.
    pub async fn abandon(&self, owner: &str, key: &str, claim: Claim) -> Result<(), StoreError> {
        self.store
            .forget_idempotency(owner, key, claim.created)
            .await
    }

    /// Forgets the records past the window; how many.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        self.store
            .prune_idempotency(self.clock.now() - IDEMPOTENCY_WINDOW)
            .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::ports::{MockClock, MockIdempotencyStore};

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap()
    }

    fn service(store: MockIdempotencyStore) -> IdempotencyService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        IdempotencyService::new(Arc::new(store), Arc::new(clock))
    }

    fn record(fingerprint: &str, age_minutes: i64, done: bool) -> IdempotencyRecord {
        IdempotencyRecord {
            owner: "k1".into(),
            key: "abc".into(),
            fingerprint: fingerprint.into(),
            created: now() - chrono::TimeDelta::minutes(age_minutes),
            response: done.then(|| StoredResponse {
                status: 201,
                headers: vec![],
                body: "{\"slug\":\"acme\"}".into(),
            }),
            stale: false,
        }
    }

    #[tokio::test]
    async fn a_new_key_runs_and_a_retry_replays() {
        let mut store = MockIdempotencyStore::new();
        store
            .expect_insert_idempotency()
            .times(1)
            .returning(|_| Ok(true));
        assert!(matches!(
            service(store).begin("k1", "abc", "f").await.unwrap(),
            Begun::Run(_)
        ));

        let mut store = MockIdempotencyStore::new();
        store.expect_insert_idempotency().returning(|_| Ok(false));
        store
            .expect_idempotency()
            .returning(|_, _| Ok(Some(record("f", 10, true))));
        match service(store).begin("k1", "abc", "f").await.unwrap() {
            Begun::Replay(response) => assert_eq!(response.status, 201),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn another_request_or_one_in_flight_is_refused() {
        let mut store = MockIdempotencyStore::new();
        store.expect_insert_idempotency().returning(|_| Ok(false));
        store
            .expect_idempotency()
            .returning(|_, _| Ok(Some(record("other", 10, true))));
        assert!(matches!(
            service(store).begin("k1", "abc", "f").await,
            Err(IdempotencyError::Reused)
        ));
        let mut store = MockIdempotencyStore::new();
        store.expect_insert_idempotency().returning(|_| Ok(false));
        store
            .expect_idempotency()
            .returning(|_, _| Ok(Some(record("f", 1, false))));
        assert!(matches!(
            service(store).begin("k1", "abc", "f").await,
            Err(IdempotencyError::InFlight)
        ));
    }

    #[tokio::test]
    async fn a_stale_record_is_forgotten_and_the_request_runs() {
        let mut store = MockIdempotencyStore::new();
        let mut inserts = 0;
        store
            .expect_insert_idempotency()
            .times(2)
            .returning(move |_| {
                inserts += 1;
                Ok(inserts == 2)
            });
        store
            .expect_idempotency()
            .times(1)
            .returning(|_, _| Ok(Some(record("other", 25 * 60, true))));
        store
            .expect_forget_idempotency()
            .withf(|_, _, created| *created == now() - chrono::TimeDelta::minutes(25 * 60))
            .times(1)
            .returning(|_, _, _| Ok(()));
        assert!(matches!(
            service(store).begin("k1", "abc", "f").await.unwrap(),
            Begun::Run(_)
        ));
    }
}
