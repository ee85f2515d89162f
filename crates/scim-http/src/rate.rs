//! Rate limits, kept by `governor` (GCRA, the token bucket's exact twin): one bucket per
//! key, refilled continuously. Three are used:
//!
//! - per tenant, on every authenticated request (`--rate-limit`, `--rate-burst`): a guard
//!   against a runaway IdP, far above what Entra ID or Okta send;
//! - per client address, on the work an unauthenticated caller can cause
//!   (`--auth-rate-limit`, `--auth-rate-burst`, [`crate::limits`]): every dashboard login
//!   takes a token, and so does every credential the store refused
//!   ([`RateLimiter::charge_and_block`]); an address whose bucket a refusal found empty has
//!   its next lookups refused until the bucket refills ([`RateLimiter::blocked`]), while
//!   credentials that work never count nor are held back (an IdP's egress address is
//!   shared by many tenants);
//! - per OAuth client, on the access tokens issued to it
//!   ([`crate::handlers::oauth::TokenIssuance`]).
//!
//! A request over a limit answers 429 with `Retry-After` (whole seconds until the bucket
//! holds a token again). Buckets live in each replica's memory: with N replicas behind a
//! load balancer, each keeps its share of every limit ([`RateLimit::shared`], `serve
//! --replicas N`), so a key gets the limit across them, not N times it; idle buckets are
//! dropped as the limiter goes.

use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter as Gcra};

/// The sustained rate and the burst a key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimit {
    /// The limit of the flags' values; `None` (no limit) when the rate is 0.
    pub fn of(per_second: u32, burst: u32) -> Option<Self> {
        (per_second > 0).then_some(Self {
            per_second,
            burst: burst.max(1),
        })
    }

    /// One process's share of the limit when `replicas` processes share the traffic
    /// evenly: the rate and the burst divided among them, rounded up (never below 1), so
    /// the key gets the limit across the replicas.
    pub fn shared(self, replicas: u32) -> Self {
        let share = |n: u32| n.div_ceil(replicas.max(1)).max(1);
        Self {
            per_second: share(self.per_second),
            burst: share(self.burst),
        }
    }
}

/// Checks between two sweeps of idle buckets.
const SWEEP_EVERY: u64 = 4096;

/// Blocked keys kept at most (an attacker with more addresses than this is not slowed by
/// the extra ones; the store's own pool bounds what they cost).
const MAX_BLOCKED: usize = 100_000;

type Buckets<K, C> = Gcra<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The buckets of every key seen; no limit lets everything through.
pub struct RateLimiter<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    buckets: Option<Buckets<K, C>>,
    clock: C,
    checks: AtomicU64,
    /// Keys a refusal found without a token, and until when their lookups wait.
    blocked: Mutex<HashMap<K, C::Instant>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self::with_clock(limit, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> RateLimiter<K, C> {
    fn with_clock(limit: Option<RateLimit>, clock: C) -> Self {
        let buckets = limit.and_then(|limit| {
            let rate = NonZeroU32::new(limit.per_second)?;
            let burst = NonZeroU32::new(limit.burst).unwrap_or(rate);
            let quota = Quota::per_second(rate).allow_burst(burst);
            Some(Gcra::new(
                quota,
                DashMapStateStore::default(),
                clock.clone(),
            ))
        });
        Self {
            buckets,
            clock,
            checks: AtomicU64::new(0),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` while a refusal found the key's bucket empty and it has not refilled.
    pub fn blocked(&self, key: &K) -> Result<(), u64> {
        let mut blocked = self.lock_blocked();
        let Some(&until) = blocked.get(key) else {
            return Ok(());
        };
        let now = self.clock.now();
        if until <= now {
            blocked.remove(key);
            return Ok(());
        }
        Err(whole_seconds(until.duration_since(now).into()))
    }

    /// Takes a token for what is counted (a refusal, an issuance); an empty bucket blocks
    /// the key until it holds one again.
    pub fn charge_and_block(&self, key: &K) {
        if let Err(wait) = self.check(key) {
            let until = self.clock.now() + Duration::from_secs(wait).into();
            let mut blocked = self.lock_blocked();
            if blocked.len() >= MAX_BLOCKED {
                let now = self.clock.now();
                blocked.retain(|_, until| *until > now);
            }
            if blocked.len() < MAX_BLOCKED {
                blocked.insert(key.clone(), until);
            }
        }
    }

    fn lock_blocked(&self) -> std::sync::MutexGuard<'_, HashMap<K, C::Instant>> {
        self.blocked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a token of the key's bucket; `Err(seconds)` to wait when there is none.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            buckets.retain_recent();
        }
        buckets
            .check_key(key)
            .map_err(|not_until| whole_seconds(not_until.wait_time_from(self.clock.now())))
    }
}

/// Whole seconds, at least one (Retry-After has no fractions).
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

impl<K: Hash + Eq + Clone, C: Clock> std::fmt::Debug for RateLimiter<K, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limited", &self.buckets.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limiter(
        per_second: u32,
        burst: u32,
    ) -> (
        RateLimiter<&'static str, FakeRelativeClock>,
        FakeRelativeClock,
    ) {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(RateLimit::of(per_second, burst), clock.clone());
        (limiter, clock)
    }

    #[test]
    fn buckets_refill_per_key() {
        let (limiter, clock) = limiter(2, 3);
        for _ in 0..3 {
            assert_eq!(limiter.check(&"acme"), Ok(()));
        }
        assert_eq!(limiter.check(&"acme"), Err(1));
        // Another key has its own bucket.
        assert_eq!(limiter.check(&"globex"), Ok(()));
        // Half a second later one token is back.
        clock.advance(Duration::from_millis(500));
        assert_eq!(limiter.check(&"acme"), Ok(()));
        assert_eq!(limiter.check(&"acme"), Err(1));
        // Never more than the burst, however long the pause.
        clock.advance(Duration::from_secs(3600));
        for _ in 0..3 {
            assert_eq!(limiter.check(&"acme"), Ok(()));
        }
        assert!(limiter.check(&"acme").is_err());
    }

    #[test]
    fn refusals_that_find_the_bucket_empty_block_lookups_until_it_refills() {
        let (limiter, clock) = limiter(1, 2);
        for _ in 0..2 {
            limiter.charge_and_block(&"attacker");
            assert_eq!(limiter.blocked(&"attacker"), Ok(()), "within the burst");
        }
        limiter.charge_and_block(&"attacker");
        assert_eq!(limiter.blocked(&"attacker"), Err(1));
        assert_eq!(limiter.blocked(&"someone-else"), Ok(()));
        clock.advance(Duration::from_millis(1000));
        assert_eq!(limiter.blocked(&"attacker"), Ok(()), "refilled");
    }

    #[test]
    fn an_empty_bucket_waits_for_its_refill_and_no_limit_lets_all_through() {
        let (slow, clock) = limiter(1, 1);
        assert_eq!(slow.check(&"t"), Ok(()));
        assert_eq!(slow.check(&"t"), Err(1));
        clock.advance(Duration::from_millis(999));
        assert!(slow.check(&"t").is_err(), "not a moment early");
        clock.advance(Duration::from_millis(1));
        assert_eq!(slow.check(&"t"), Ok(()));
        let open: RateLimiter<&str> = RateLimiter::new(RateLimit::of(0, 400));
        for _ in 0..10_000 {
            assert_eq!(open.check(&"t"), Ok(()));
        }
    }
}
