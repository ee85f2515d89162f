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
//!   Each tenant has room for [`KNOWN_GOOD_PER_TENANT`] of them (a tenant minting
//!   credentials pushes out only its own), and once all tenants together hold
//!   [`KNOWN_GOOD_CAPACITY`], newcomers are not remembered rather than anyone forgotten.
//!
//! Keys are the SHA-256 of the credential, never the secret.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use crate::tenant::{Principal, TenantId, TokenHash};

/// Entries kept at most; a full cache drops its stale entries, or else all of them.
const CAPACITY: usize = 10_000;

/// How long a refusal is remembered.
pub const REFUSAL_TTL: TimeDelta = TimeDelta::seconds(60);

/// How long an accepted credential is known good.
pub const KNOWN_GOOD_TTL: TimeDelta = TimeDelta::hours(24);

/// Known-good credentials kept per tenant (the soonest to expire go first).
pub(crate) const KNOWN_GOOD_PER_TENANT: usize = 256;

/// Known-good credentials kept in all.
pub(crate) const KNOWN_GOOD_CAPACITY: usize = 100_000;

/// Bearer tokens judged a moment ago, accepted or refused, so that a busy IdP's requests do
/// not each look their token up (see [`TenantService::with_credential_cache`](super::TenantService::with_credential_cache)).
#[derive(Debug)]
pub struct CredentialCache {
    ttl: TimeDelta,
    entries: Mutex<HashMap<String, Entry>>,
    known_good: Mutex<KnownGood>,
}

/// Credentials accepted within [`KNOWN_GOOD_TTL`]: until when each is known good, by tenant.
#[derive(Debug)]
struct KnownGood {
    /// Each credential's tenant.
    tenants: HashMap<String, TenantId>,
    /// Each tenant's credentials, and until when they are known good.
    by_tenant: HashMap<TenantId, HashMap<String, DateTime<Utc>>>,
    /// Credentials kept at most ([`KNOWN_GOOD_CAPACITY`]).
    capacity: usize,
    /// When expired credentials were last forgotten to make room (at most once a minute).
    swept: Option<DateTime<Utc>>,
}

impl Default for KnownGood {
    fn default() -> Self {
        Self {
            tenants: HashMap::new(),
            by_tenant: HashMap::new(),
            capacity: KNOWN_GOOD_CAPACITY,
            swept: None,
        }
    }
}

/// How often a full memory of known-good credentials looks for expired ones.
const SWEEP_EVERY: TimeDelta = TimeDelta::minutes(1);

impl KnownGood {
    fn until(&self, hash: &str) -> Option<DateTime<Utc>> {
        let tenant = self.tenants.get(hash)?;
        self.by_tenant.get(tenant)?.get(hash).copied()
    }

    fn insert(&mut self, hash: &str, tenant: &TenantId, until: DateTime<Utc>, now: DateTime<Utc>) {
        if !self.tenants.contains_key(hash) {
            self.make_room(tenant, now);
            if self.tenants.len() >= self.capacity {
                if self.swept.is_none_or(|swept| now - swept >= SWEEP_EVERY) {
                    self.swept = Some(now);
                    self.forget_expired(now);
                }
                if self.tenants.len() >= self.capacity {
                    return;
                }
            }
        }
        self.tenants.insert(hash.to_owned(), tenant.clone());
        self.by_tenant
            .entry(tenant.clone())
            .or_default()
            .insert(hash.to_owned(), until);
    }

    /// Keeps a tenant below its share: its expired credentials go, else the one that
    /// expires soonest.
    fn make_room(&mut self, tenant: &TenantId, now: DateTime<Utc>) {
        let Some(known) = self.by_tenant.get_mut(tenant) else {
            return;
        };
        if known.len() < KNOWN_GOOD_PER_TENANT {
            return;
        }
        let mut gone: Vec<String> = known
            .iter()
            .filter(|(_, until)| now >= **until)
            .map(|(hash, _)| hash.clone())
            .collect();
        if gone.is_empty() {
            gone.extend(
                known
                    .iter()
                    .min_by_key(|(_, until)| **until)
                    .map(|(hash, _)| hash.clone()),
            );
        }
        for hash in gone {
            known.remove(&hash);
            self.tenants.remove(&hash);
        }
    }

    fn remove(&mut self, hash: &str) {
        if let Some(tenant) = self.tenants.remove(hash)
            && let Some(known) = self.by_tenant.get_mut(&tenant)
        {
            known.remove(hash);
            if known.is_empty() {
                self.by_tenant.remove(&tenant);
            }
        }
    }

    fn forget_expired(&mut self, now: DateTime<Utc>) {
        for known in self.by_tenant.values_mut() {
            known.retain(|_, until| now < *until);
        }
        self.by_tenant.retain(|_, known| !known.is_empty());
        let by_tenant = &self.by_tenant;
        self.tenants
            .retain(|hash, tenant| by_tenant.get(tenant).is_some_and(|k| k.contains_key(hash)));
    }
}

/// What was decided of a credential a moment ago.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remembered {
    /// Accepted, as this caller.
    Accepted(Principal),
    /// Refused.
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
            known_good: Mutex::default(),
        }
    }

    /// Whether the credential of `hash` was accepted within [`KNOWN_GOOD_TTL`] (and not
    /// refused since).
    pub fn known_good(&self, hash: &TokenHash, now: DateTime<Utc>) -> bool {
        self.lock_known()
            .until(&hash.0)
            .is_some_and(|until| now < until)
    }

    /// Remembers a credential of `tenant` as known good until `until` (at most
    /// [`KNOWN_GOOD_TTL`] from `now`), without accepting it: an access token just issued.
    pub fn known_good_until(
        &self,
        hash: &TokenHash,
        tenant: &TenantId,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        let until = until.min(now + KNOWN_GOOD_TTL);
        self.lock_known().insert(&hash.0, tenant, until, now);
    }

    fn lock_known(&self) -> std::sync::MutexGuard<'_, KnownGood> {
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
        self.known_good_until(
            hash,
            &principal.tenant,
            expires.unwrap_or(now + KNOWN_GOOD_TTL),
            now,
        );
        if self.ttl <= TimeDelta::zero() {
            return;
        }
        let until = expires.map_or(now + self.ttl, |expires| expires.min(now + self.ttl));
        self.insert(hash, Remembered::Accepted(principal.clone()), until, now);
    }

    /// Forgets every credential of `tenant` it accepted (the tenant is being deleted): its
    /// next request is looked up, and refused.
    pub fn forget_tenant(&self, tenant: &TenantId) {
        self.lock().retain(|_, entry| match &entry.decision {
            Remembered::Accepted(principal) => principal.tenant != *tenant,
            Remembered::Refused => true,
        });
        let mut known = self.lock_known();
        let hashes: Vec<String> = known
            .tenants
            .iter()
            .filter(|(_, owner)| *owner == tenant)
            .map(|(hash, _)| hash.clone())
            .collect();
        for hash in hashes {
            known.remove(&hash);
        }
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

    /// A tenant minting credentials pushes out only its own known-good ones (the soonest
    /// to expire first), and a full memory forgets no one to make room for newcomers.
    #[test]
    fn known_good_credentials_are_kept_per_tenant_and_never_pushed_out_by_others() {
        let cache = CredentialCache::default();
        let tenant = |name: &str| TenantId(name.into());
        let victim = TokenHash::of("scim_victim");
        cache.known_good_until(&victim, &tenant("victim"), at(3600), at(0));
        let minted = |n: usize| TokenHash::of(&format!("scim_minted{n}"));
        for n in 0..KNOWN_GOOD_PER_TENANT + 50 {
            let expires = at(3600 + i64::try_from(n).unwrap());
            cache.known_good_until(&minted(n), &tenant("attacker"), expires, at(0));
        }
        assert!(cache.known_good(&victim, at(1)), "another tenant's share");
        assert!(
            !cache.known_good(&minted(0), at(1)),
            "the soonest to expire went"
        );
        assert!(cache.known_good(&minted(KNOWN_GOOD_PER_TENANT + 49), at(1)));
        assert_eq!(cache.lock_known().tenants.len(), KNOWN_GOOD_PER_TENANT + 1);
        // Full: a newcomer is not remembered, and nobody is forgotten for it.
        let capacity = 1_000;
        cache.lock_known().capacity = capacity;
        for n in 0..capacity {
            let hash = TokenHash::of(&format!("scim_tenant{n}"));
            cache.known_good_until(&hash, &tenant(&format!("t{n}")), at(3600), at(0));
        }
        assert_eq!(cache.lock_known().tenants.len(), capacity);
        assert!(cache.known_good(&victim, at(1)));
        // Once entries expire, they make room.
        let late = TokenHash::of("scim_late");
        cache.known_good_until(&late, &tenant("late"), at(7200), at(3600 + 400));
        assert!(cache.known_good(&late, at(3601 + 400)));
        assert!(!cache.known_good(&victim, at(3601 + 400)), "expired");
    }
}
