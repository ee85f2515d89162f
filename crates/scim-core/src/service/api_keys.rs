//! The vendor's API keys: made and revoked by the operator (`scim-server api-key …`),
//! checked on every Management API request.

#![warn(missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

use crate::api_key::{API_KEY_PREFIX, ApiKey, Scope, is_api_key_shaped};
use crate::error::{ScimError, StoreError};
use crate::ports::{ApiKeys, Clock, IdGenerator, SecretGenerator};
use crate::service::LookupLimit;
use crate::tenant::{TOKEN_PREFIX, TokenHash};

/// How long an accepted key is answered from memory: a revocation in another process (the
/// CLI, a replica) takes effect within this bound; one in this process at once.
pub const API_KEY_CACHE: TimeDelta = TimeDelta::seconds(10);

/// How often a key's last use is written: at most once this often per process.
const LAST_USED_EVERY: TimeDelta = TimeDelta::seconds(60);

/// Keys remembered at most (the cache is dropped whole beyond it).
const MAX_REMEMBERED: usize = 4096;

/// Longest name of a key.
const MAX_NAME: usize = 100;

/// Why an API key operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The name is empty, too long or holds control characters.
    #[error("an API key's name is 1 to {MAX_NAME} printable characters")]
    InvalidName,
    /// A scope name is unknown.
    #[error("'{0}' is not a scope: use {scopes}", scopes = scope_names())]
    UnknownScope(String),
    /// An expiry of zero days or more than ten years.
    #[error("an API key expires after 1 to 3650 days, or never")]
    InvalidLifetime,
    /// No key has this id.
    #[error("no API key '{0}'")]
    UnknownKey(String),
    /// The request carries no key, or one that does not work (unknown, revoked, expired):
    /// the caller is told no more than that.
    #[error("a valid API key is required: send 'Authorization: Bearer <api key>'")]
    Unauthorized,
    /// The key works but lacks the scope the operation needs.
    #[error("this API key lacks the scope '{0}'")]
    Forbidden(Scope),
    /// The caller's address presented too many keys that do not work: retry after this
    /// many seconds.
    #[error(
        "too many requests with API keys that do not work came from this address; retry after \
         {0} s"
    )]
    RateLimited(u64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn scope_names() -> String {
    Scope::ALL.map(Scope::as_str).join(", ")
}

/// A key accepted recently, and when this process last recorded its use.
struct Remembered {
    key: ApiKey,
    read: DateTime<Utc>,
    touched: DateTime<Utc>,
}

/// Makes, lists, revokes and checks API keys.
#[derive(Clone)]
pub struct ApiKeyService {
    store: Arc<dyn ApiKeys>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    secrets: Arc<dyn SecretGenerator>,
    remembered: Arc<Mutex<HashMap<TokenHash, Remembered>>>,
}

impl ApiKeyService {
    /// On the store's keys.
    pub fn new(
        store: Arc<dyn ApiKeys>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        secrets: Arc<dyn SecretGenerator>,
    ) -> Self {
        Self {
            store,
            clock,
            ids,
            secrets,
            remembered: Arc::default(),
        }
    }

    /// Makes a key named `name` with `scopes` (by name; none: `admin`), expiring after
    /// `expires_in_days` (none: never). Returns it and its secret, shown once: only its
    /// hash is kept.
    pub async fn create(
        &self,
        name: &str,
        scopes: &[String],
        expires_in_days: Option<u32>,
    ) -> Result<(ApiKey, String), ApiKeyError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(ApiKeyError::InvalidName);
        }
        let mut parsed = scopes
            .iter()
            .map(|scope| {
                Scope::parse(scope).ok_or_else(|| ApiKeyError::UnknownScope(scope.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if parsed.is_empty() {
            parsed.push(Scope::Admin);
        }
        parsed.sort();
        parsed.dedup();
        let now = self.clock.now();
        let expires = match expires_in_days {
            None => None,
            Some(days @ 1..=3650) => Some(now + TimeDelta::days(i64::from(days))),
            Some(_) => return Err(ApiKeyError::InvalidLifetime),
        };
        let generated = self.secrets.new_secret();
        let secret = format!(
            "{API_KEY_PREFIX}{}",
            generated.strip_prefix(TOKEN_PREFIX).unwrap_or(&generated)
        );
        let key = ApiKey {
            id: self.ids.new_id(),
            name: name.to_owned(),
            scopes: parsed,
            hash: TokenHash::of(&secret),
            hint: secret.chars().take(API_KEY_PREFIX.len() + 4).collect(),
            created: now,
            expires,
            last_used: None,
        };
        self.store.insert_api_key(&key).await?;
        Ok((key, secret))
    }

    /// Every key, oldest first (never their secrets).
    pub async fn list(&self) -> Result<Vec<ApiKey>, ApiKeyError> {
        Ok(self.store.api_keys().await?)
    }

    /// Revokes a key: it stops working at once in this process, within [`API_KEY_CACHE`]
    /// in the others.
    pub async fn revoke(&self, id: &str) -> Result<(), ApiKeyError> {
        match self.store.revoke_api_key(id).await {
            Err(StoreError::NotFound) => return Err(ApiKeyError::UnknownKey(id.to_owned())),
            other => other?,
        }
        self.remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, remembered| remembered.key.id != id);
        Ok(())
    }

    /// The key `secret` is, when it works and allows what `needed` guards. Text that is
    /// not key-shaped never reaches the store; a key accepted within [`API_KEY_CACHE`] is
    /// answered from memory; any other lookup is held to `limit` (the caller's address,
    /// as SCIM credentials are) and tells it whether the store refused the key; the hash
    /// the store returns is compared in constant time.
    pub async fn authenticate(
        &self,
        secret: &str,
        needed: Scope,
        limit: &dyn LookupLimit,
    ) -> Result<ApiKey, ApiKeyError> {
        if !is_api_key_shaped(secret) {
            return Err(ApiKeyError::Unauthorized);
        }
        let hash = TokenHash::of(secret);
        let now = self.clock.now();
        let key = match self.remembered(&hash, now) {
            Some(key) => key,
            None => {
                let mut permit = limit.begin_lookup().map_err(|error| match error {
                    ScimError::RateLimited { retry_after } => ApiKeyError::RateLimited(retry_after),
                    _ => ApiKeyError::Unauthorized,
                })?;
                let found = self.store.find_api_key(&hash).await.inspect_err(|_| {
                    // A store that failed refused nothing.
                    permit.answered(false);
                })?;
                let key = found.filter(|key| key.hash.matches(&hash));
                // An expired key is refused as an unknown one is.
                permit.answered(key.as_ref().is_none_or(|key| !key.is_valid_at(now)));
                let key = key.ok_or(ApiKeyError::Unauthorized)?;
                self.remember(&hash, &key, now);
                key
            }
        };
        if !key.is_valid_at(now) {
            return Err(ApiKeyError::Unauthorized);
        }
        if !key.allows(needed) {
            return Err(ApiKeyError::Forbidden(needed));
        }
        // Last use is best effort: the key works whether or not it could be written (a
        // store that fails to write fails the request's own work, which says so).
        self.record_use(&hash, &key, now).await.ok();
        Ok(key)
    }

    fn remembered(&self, hash: &TokenHash, now: DateTime<Utc>) -> Option<ApiKey> {
        let remembered = self
            .remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        remembered
            .get(hash)
            .filter(|remembered| now - remembered.read < API_KEY_CACHE)
            .map(|remembered| remembered.key.clone())
    }

    fn remember(&self, hash: &TokenHash, key: &ApiKey, now: DateTime<Utc>) {
        let mut remembered = self
            .remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if remembered.len() >= MAX_REMEMBERED {
            remembered.clear();
        }
        let touched = remembered
            .get(hash)
            .map_or(DateTime::<Utc>::MIN_UTC, |previous| previous.touched);
        remembered.insert(
            hash.clone(),
            Remembered {
                key: key.clone(),
                read: now,
                touched,
            },
        );
    }

    /// Writes the key's last use when this process has not for [`LAST_USED_EVERY`].
    async fn record_use(
        &self,
        hash: &TokenHash,
        key: &ApiKey,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let due = {
            let mut remembered = self
                .remembered
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match remembered.get_mut(hash) {
                Some(entry) if now - entry.touched >= LAST_USED_EVERY => {
                    entry.touched = now;
                    true
                }
                Some(_) => false,
                None => true,
            }
        };
        if due {
            self.store.touch_api_key(&key.id, now).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::ports::{MockApiKeys, MockClock, MockIdGenerator, MockSecretGenerator};
    use crate::service::{LookupPermit, Unlimited};

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    fn service(store: MockApiKeys, now: DateTime<Utc>) -> ApiKeyService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(move || now);
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().returning(|| "k1".to_owned());
        let mut secrets = MockSecretGenerator::new();
        secrets
            .expect_new_secret()
            .returning(|| format!("{TOKEN_PREFIX}{}", "x".repeat(43)));
        ApiKeyService::new(
            Arc::new(store),
            Arc::new(clock),
            Arc::new(ids),
            Arc::new(secrets),
        )
    }

    fn stored(scopes: Vec<Scope>, expires: Option<DateTime<Utc>>) -> ApiKey {
        ApiKey {
            id: "k1".into(),
            name: "billing".into(),
            scopes,
            hash: TokenHash::of(&secret()),
            hint: "scimkey_xxxx".into(),
            created: at(0),
            expires,
            last_used: None,
        }
    }

    fn secret() -> String {
        format!("{API_KEY_PREFIX}{}", "x".repeat(43))
    }

    #[tokio::test]
    async fn a_new_key_is_stored_hashed_with_its_scopes() {
        let mut store = MockApiKeys::new();
        store
            .expect_insert_api_key()
            .withf(|key| {
                key.hash == TokenHash::of(&secret())
                    && key.scopes == [Scope::TenantsRead, Scope::LicensesWrite]
                    && key.expires == Some(at(0) + TimeDelta::days(30))
                    && key.hint == "scimkey_xxxx"
            })
            .times(1)
            .returning(|_| Ok(()));
        let (key, shown) = service(store, at(0))
            .create(
                " billing ",
                &[
                    "licenses:write".into(),
                    "tenants:read".into(),
                    "tenants:read".into(),
                ],
                Some(30),
            )
            .await
            .unwrap();
        assert_eq!(shown, secret());
        assert_eq!(key.name, "billing");
    }

    #[tokio::test]
    async fn bad_names_scopes_and_lifetimes_are_refused_before_the_store() {
        let keys = service(MockApiKeys::new(), at(0));
        assert!(matches!(
            keys.create("", &[], None).await,
            Err(ApiKeyError::InvalidName)
        ));
        assert!(matches!(
            keys.create("a\u{7}b", &[], None).await,
            Err(ApiKeyError::InvalidName)
        ));
        assert!(matches!(
            keys.create("ok", &["tenants".into()], None).await,
            Err(ApiKeyError::UnknownScope(scope)) if scope == "tenants"
        ));
        assert!(matches!(
            keys.create("ok", &[], Some(0)).await,
            Err(ApiKeyError::InvalidLifetime)
        ));
    }

    #[tokio::test]
    async fn a_key_opens_what_its_scopes_allow_and_nothing_else() {
        let mut store = MockApiKeys::new();
        store
            .expect_find_api_key()
            .times(1)
            .returning(|_| Ok(Some(stored(vec![Scope::LicensesRead], None))));
        store
            .expect_touch_api_key()
            .times(1)
            .returning(|_, _| Ok(()));
        let keys = service(store, at(5));
        assert_eq!(
            keys.authenticate(&secret(), Scope::LicensesRead, &Unlimited)
                .await
                .unwrap()
                .id,
            "k1"
        );
        // Answered from memory: neither read nor touched again.
        assert!(matches!(
            keys.authenticate(&secret(), Scope::TenantsWrite, &Unlimited)
                .await,
            Err(ApiKeyError::Forbidden(Scope::TenantsWrite))
        ));
        assert!(
            keys.authenticate(&secret(), Scope::LicensesRead, &Unlimited)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn unknown_expired_and_malformed_keys_are_unauthorized() {
        let mut store = MockApiKeys::new();
        store
            .expect_find_api_key()
            .times(1)
            .returning(|_| Ok(Some(stored(vec![Scope::Admin], Some(at(1))))));
        let keys = service(store, at(1));
        assert!(matches!(
            keys.authenticate(&secret(), Scope::TenantsRead, &Unlimited)
                .await,
            Err(ApiKeyError::Unauthorized)
        ));
        // Not key-shaped (a SCIM token): the store is not asked (a second find would fail
        // the mock's `times(1)`).
        let scim_token = format!("{TOKEN_PREFIX}{}", "x".repeat(43));
        assert!(matches!(
            keys.authenticate(&scim_token, Scope::TenantsRead, &Unlimited)
                .await,
            Err(ApiKeyError::Unauthorized)
        ));
    }

    #[tokio::test]
    async fn a_revoked_key_stops_working_at_once_in_this_process() {
        let mut store = MockApiKeys::new();
        let mut found = 0;
        store.expect_find_api_key().times(2).returning(move |_| {
            found += 1;
            Ok((found == 1).then(|| stored(vec![Scope::Admin], None)))
        });
        store.expect_touch_api_key().returning(|_, _| Ok(()));
        store.expect_revoke_api_key().times(1).returning(|_| Ok(()));
        let keys = service(store, at(0));
        assert!(
            keys.authenticate(&secret(), Scope::Admin, &Unlimited)
                .await
                .is_ok()
        );
        keys.revoke("k1").await.unwrap();
        assert!(matches!(
            keys.authenticate(&secret(), Scope::Admin, &Unlimited).await,
            Err(ApiKeyError::Unauthorized)
        ));
    }

    /// A limit that refuses once `allowed` lookups began, and counts refusals.
    struct Counting {
        allowed: usize,
        begun: Mutex<usize>,
        refused: Arc<Mutex<usize>>,
    }

    impl LookupLimit for Counting {
        fn begin_lookup(&self) -> crate::error::ScimResult<LookupPermit<'_>> {
            let mut begun = self.begun.lock().unwrap();
            if *begun >= self.allowed {
                return Err(ScimError::RateLimited { retry_after: 7 });
            }
            *begun += 1;
            let refused = Arc::clone(&self.refused);
            Ok(LookupPermit::new(move |was_refused| {
                if was_refused {
                    *refused.lock().unwrap() += 1;
                }
            }))
        }
    }

    #[tokio::test]
    async fn lookups_of_unknown_keys_are_held_to_the_callers_limit() {
        let mut store = MockApiKeys::new();
        // Two lookups reach the store: the unknown key, then the good one.
        store.expect_find_api_key().times(2).returning(|hash| {
            Ok((*hash == TokenHash::of(&secret())).then(|| stored(vec![Scope::Admin], None)))
        });
        store.expect_touch_api_key().returning(|_, _| Ok(()));
        let keys = service(store, at(0));
        let limit = Counting {
            allowed: 2,
            begun: Mutex::new(0),
            refused: Arc::default(),
        };
        let unknown = format!("{API_KEY_PREFIX}{}", "u".repeat(43));
        assert!(matches!(
            keys.authenticate(&unknown, Scope::Admin, &limit).await,
            Err(ApiKeyError::Unauthorized)
        ));
        assert_eq!(*limit.refused.lock().unwrap(), 1, "the refusal was counted");
        assert!(
            keys.authenticate(&secret(), Scope::Admin, &limit)
                .await
                .is_ok()
        );
        assert_eq!(
            *limit.refused.lock().unwrap(),
            1,
            "an accepted key is no refusal"
        );
        // The limit is spent: a new lookup is refused before the store, a remembered key
        // still works.
        assert!(matches!(
            keys.authenticate(&unknown, Scope::Admin, &limit).await,
            Err(ApiKeyError::RateLimited(7))
        ));
        assert!(
            keys.authenticate(&secret(), Scope::Admin, &limit)
                .await
                .is_ok()
        );
    }
}
