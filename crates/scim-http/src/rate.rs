//! Per-tenant rate limiting: a token bucket per tenant, refilled continuously. A request
//! over the limit answers 429 with `Retry-After` (the seconds until the bucket holds a
//! token again). Buckets live in each replica's memory, so with N replicas a tenant gets up
//! to N times the limit; the limit guards against runaway clients, not for billing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use scim_core::tenant::TenantId;

/// The sustained rate and the burst a tenant may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The buckets of every tenant seen; `None` limit lets everything through.
#[derive(Debug, Default)]
pub struct RateLimiter {
    limit: Option<RateLimit>,
    buckets: Mutex<HashMap<TenantId, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit: limit.filter(|l| l.per_second > 0.0 && l.burst >= 1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token of the tenant's bucket; `Err(seconds)` to wait when there is none.
    pub fn check(&self, tenant: &TenantId) -> Result<(), u64> {
        self.check_at(tenant, Instant::now())
    }

    fn check_at(&self, tenant: &TenantId, now: Instant) -> Result<(), u64> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        // A poisoned lock only means another request panicked mid-update; the counts are
        // still numbers, so keep going.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(tenant.clone()).or_insert(Bucket {
            tokens: limit.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(limit.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / limit.per_second;
            // Whole seconds, at least one (Retry-After has no fractions).
            Err((wait.ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn buckets_refill_per_tenant() {
        let limiter = RateLimiter::new(Some(RateLimit {
            per_second: 2.0,
            burst: 3.0,
        }));
        let (acme, globex) = (TenantId("acme".into()), TenantId("globex".into()));
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check_at(&acme, start), Ok(()));
        }
        assert_eq!(limiter.check_at(&acme, start), Err(1));
        // Another tenant has its own bucket.
        assert_eq!(limiter.check_at(&globex, start), Ok(()));
        // Half a second later one token is back.
        let later = start + Duration::from_millis(500);
        assert_eq!(limiter.check_at(&acme, later), Ok(()));
        assert_eq!(limiter.check_at(&acme, later), Err(1));
        // Never more than the burst, however long the pause.
        let much_later = later + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(limiter.check_at(&acme, much_later), Ok(()));
        }
        assert!(limiter.check_at(&acme, much_later).is_err());
    }

    #[test]
    fn slow_refill_asks_for_a_longer_wait_and_no_limit_lets_all_through() {
        let slow = RateLimiter::new(Some(RateLimit {
            per_second: 0.25,
            burst: 1.0,
        }));
        let tenant = TenantId("t".into());
        let now = Instant::now();
        assert_eq!(slow.check_at(&tenant, now), Ok(()));
        assert_eq!(slow.check_at(&tenant, now), Err(4));
        let open = RateLimiter::new(None);
        for _ in 0..10_000 {
            assert_eq!(open.check_at(&tenant, now), Ok(()));
        }
    }
}
