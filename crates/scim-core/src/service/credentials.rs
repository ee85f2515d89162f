//! Credentials judged a moment ago, so that the requests an IdP sends back to back do not
//! each look their credential up in the store, and a client repeating a bad one costs the
//! store nothing.
//!
//! - An accepted credential lives `ttl` (the server's `--credential-cache-seconds`, 5 by
//!   default; 0 keeps none) and never past its token's own expiry. The price is that a
//!   token revoked from another process (the CLI, another replica) keeps working for at
//!   most `ttl` on a process that accepted it just before; revocation is bounded, not
//!   instant.
//! - A refused credential is remembered for [`REFUSAL_TTL`], whatever `ttl` is. That costs
//!   nothing: a refused secret can never become valid, since every secret is 256 random
//!   bits made when its credential is (a new token is another secret), and a refusal is
//!   never an outage (the store failing is not remembered).
//!
//! - An accepted credential is also remembered as *known good* for [`KNOWN_GOOD_TTL`]:
//!   not to accept it (the store is asked again once its `ttl` is over), but so that it is
//!   never held back by a limit on the lookups of its client's address (an IdP's egress
//!   address serves many tenants; one misconfigured tenant must not lock the others out).
//!
//! Keys are the SHA-256 of the credential, never the secret.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use crate::tenant::{Principal, TokenHash};

/// Entries kept at most; a full cache drops its stale entries, or else all of them.
const CAPACITY: usize = 10_000;

/// How long a refusal is remembered.
pub const REFUSAL_TTL: TimeDelta = TimeDelta::seconds(60);

/// How long an accepted credential is known good.
pub const KNOWN_GOOD_TTL: TimeDelta = TimeDelta::hours(24);

#[derive(Debug)]
pub struct CredentialCache {
    ttl: TimeDelta,
    entries: Mutex<HashMap<String, Entry>>,
    /// Credentials accepted within [`KNOWN_GOOD_TTL`], and until when they are known good.
    known_good: Mutex<HashMap<String, DateTime<Utc>>>,
}

/// What was decided of a credential a moment ago.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remembered {
    Accepted(Principal),
    Refused,
}

#[derive(Debug, Clone)]
struct Entry {
    decision: Remembered,
    /// When the entry stops being used.
    until: DateTime<Utc>,
}

impl CredentialCache {
    /// A cache whose accepted entries live `ttl`; zero keeps none (refusals are kept all
    /// the same).
    pub fn new(ttl: TimeDelta) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
            known_good: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the credential of `hash` was accepted within [`KNOWN_GOOD_TTL`] (and not
    /// refused since).
    pub fn known_good(&self, hash: &TokenHash, now: DateTime<Utc>) -> bool {
        self.lock_known()
            .get(&hash.0)
            .is_some_and(|until| now < *until)
    }

    fn lock_known(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        self.known_good
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What was decided of the credential of `hash`, if that is still to be relied on.
    pub fn get(&self, hash: &TokenHash, now: DateTime<Utc>) -> Option<Remembered> {
        let entries = self.lock();
        let entry = entries.get(&hash.0)?;
        (now < entry.until).then(|| entry.decision.clone())
    }

    /// Remembers a credential just accepted, which expires at `expires` if ever.
    pub fn put(
        &self,
        hash: &TokenHash,
        principal: &Principal,
        expires: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) {
        let known_until = expires.map_or(now + KNOWN_GOOD_TTL, |e| e.min(now + KNOWN_GOOD_TTL));
        {
            let mut known = self.lock_known();
            if known.len() >= CAPACITY && !known.contains_key(&hash.0) {
                known.retain(|_, until| now < *until);
                if known.len() >= CAPACITY {
                    known.clear();
                }
            }
            known.insert(hash.0.clone(), known_until);
        }
        if self.ttl <= TimeDelta::zero() {
            return;
        }
        let until = expires.map_or(now + self.ttl, |expires| expires.min(now + self.ttl));
        self.insert(hash, Remembered::Accepted(principal.clone()), until, now);
    }

    /// Remembers a credential just refused (it is no longer known good).
    pub fn refuse(&self, hash: &TokenHash, now: DateTime<Utc>) {
        self.lock_known().remove(&hash.0);
        self.insert(hash, Remembered::Refused, now + REFUSAL_TTL, now);
    }

    fn insert(
        &self,
        hash: &TokenHash,
        decision: Remembered,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY && !entries.contains_key(&hash.0) {
            entries.retain(|_, entry| now < entry.until);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(hash.0.clone(), Entry { decision, until });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for CredentialCache {
    /// Keeps no accepted credential (refusals only).
    fn default() -> Self {
        Self::new(TimeDelta::zero())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::tenant::TenantId;

    fn principal(credential: &str) -> Principal {
        Principal {
            tenant: TenantId("t1".into()),
            tenant_slug: "acme".into(),
            credential_id: credential.into(),
            client_certs: Vec::new(),
            custom_attributes: Vec::new(),
            compatibility: crate::compat::Compatibility::default(),
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn an_entry_lives_its_ttl_and_never_past_its_tokens_expiry() {
        let cache = CredentialCache::new(TimeDelta::seconds(5));
        let (a, b) = (TokenHash::of("scim_a"), TokenHash::of("scim_b"));
        cache.put(&a, &principal("a"), None, at(0));
        cache.put(&b, &principal("b"), Some(at(2)), at(0));
        let accepted = |name: &str| Some(Remembered::Accepted(principal(name)));
        assert_eq!(cache.get(&a, at(4)), accepted("a"));
        assert_eq!(cache.get(&a, at(5)), None, "ttl over");
        assert_eq!(cache.get(&b, at(1)), accepted("b"));
        assert_eq!(cache.get(&b, at(2)), None, "the token expired first");
        assert_eq!(cache.get(&TokenHash::of("scim_c"), at(0)), None);
    }

    #[test]
    fn accepted_credentials_are_known_good_until_refused() {
        let cache = CredentialCache::default();
        let (a, b) = (TokenHash::of("scim_a"), TokenHash::of("scim_b"));
        cache.put(&a, &principal("a"), None, at(0));
        cache.put(&b, &principal("b"), Some(at(10)), at(0));
        assert!(
            cache.known_good(&a, at(3600)),
            "with no acceptance cache, all the same"
        );
        assert!(!cache.known_good(&a, at(24 * 3600)), "for a day");
        assert!(cache.known_good(&b, at(9)));
        assert!(
            !cache.known_good(&b, at(10)),
            "never past the token's expiry"
        );
        cache.refuse(&a, at(1));
        assert!(!cache.known_good(&a, at(2)), "a refusal ends it");
        assert!(!cache.known_good(&TokenHash::of("scim_c"), at(0)));
    }

    #[test]
    fn a_zero_ttl_keeps_no_acceptance_but_refusals_all_the_same() {
        let cache = CredentialCache::default();
        let (a, b) = (TokenHash::of("scim_a"), TokenHash::of("scim_b"));
        cache.put(&a, &principal("a"), None, at(0));
        assert_eq!(cache.get(&a, at(0)), None);
        cache.refuse(&b, at(0));
        assert_eq!(cache.get(&b, at(59)), Some(Remembered::Refused));
        assert_eq!(
            cache.get(&b, at(60)),
            None,
            "refusals are remembered briefly"
        );
    }

    #[test]
    fn a_full_cache_drops_stale_entries_first() {
        let cache = CredentialCache::new(TimeDelta::seconds(5));
        for n in 0..CAPACITY {
            cache.put(
                &TokenHash::of(&format!("old{n}")),
                &principal("old"),
                None,
                at(0),
            );
        }
        let fresh = TokenHash::of("fresh");
        cache.put(&fresh, &principal("fresh"), None, at(10));
        assert_eq!(cache.lock().len(), 1, "the stale ones went");
        assert_eq!(
            cache.get(&fresh, at(11)),
            Some(Remembered::Accepted(principal("fresh")))
        );
    }
}
