//! Verifying federated clients' assertions (RFC 7523) with their issuer's published keys:
//! the [`AssertionVerifier`] over HTTP, with the `jsonwebtoken` crate.
//!
//! Each JWKS URL's keys are kept for [`KEYS_FRESH`]; an assertion whose `kid` is not among
//! them fetches the set again (issuers rotate keys at any time), but one URL is fetched
//! at most once per [`REFETCH_AFTER`] (or as configured), so assertions naming made-up
//! keys cannot make the server hammer an issuer. When the issuer cannot be reached, the keys kept still verify
//! what they can. Only asymmetric algorithms are accepted, each with a key of its family
//! (a symmetric `oct` key in a public JWKS would let anyone sign), and a key's own `alg`,
//! when it has one, must be the assertion's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use scim_core::outbound::NetworkPolicy;
use scim_core::ports::{AssertionError, AssertionVerifier};
use serde_json::{Map, Value};

use crate::network;

/// How long fetched keys are used without asking the issuer again.
pub const KEYS_FRESH: Duration = Duration::from_secs(3600);

/// The shortest time between two fetches of one JWKS URL, unless told otherwise.
pub const REFETCH_AFTER: Duration = Duration::from_secs(30);

/// The largest JWKS read, in bytes.
const JWKS_LIMIT: u64 = 512 * 1024;

/// The algorithms an assertion may be signed with: the asymmetric ones.
const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// One JWKS URL's keys, and when they were last fetched or tried.
#[derive(Default)]
struct KeySet {
    keys: Vec<Jwk>,
    fetched: Option<Instant>,
    tried: Option<Instant>,
    /// Why the last try failed, until one succeeds.
    failure: Option<String>,
}

/// One JWKS URL: its keys, read without waiting, and the right to fetch them, taken by
/// one request at a time (the others wait for its answer without holding a thread).
#[derive(Default)]
struct Slot {
    keys: RwLock<KeySet>,
    fetching: tokio::sync::Mutex<()>,
}

/// The [`AssertionVerifier`] over HTTP.
#[derive(Clone)]
pub struct JwksVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    agent: ureq::Agent,
    sets: Mutex<HashMap<String, Arc<Slot>>>,
    refetch_after: Duration,
}

impl JwksVerifier {
    /// Fetches keys where `network` allows, each request within `timeout`, one URL at
    /// most once per `refetch_after` ([`REFETCH_AFTER`] is a good choice).
    pub fn new(timeout: Duration, network: NetworkPolicy, refetch_after: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                agent: network::agent(timeout, network),
                sets: Mutex::default(),
                refetch_after,
            }),
        }
    }
}

#[async_trait]
impl AssertionVerifier for JwksVerifier {
    async fn verify(
        &self,
        jwks_url: &str,
        assertion: &str,
    ) -> Result<Map<String, Value>, AssertionError> {
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| {
            AssertionError::Refused("the assertion's header is not a JWS header".into())
        })?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(AssertionError::Refused(format!(
                "the assertion is signed with {:?}: only the issuer's private key (RS*, PS*, \
                 ES256, ES384, EdDSA) may sign one",
                header.alg
            )));
        }
        let jwk = self
            .key(jwks_url, header.kid.as_deref(), header.alg)
            .await?;
        verify_with(&jwk, header.alg, assertion)
    }
}

impl JwksVerifier {
    /// The issuer's key for an assertion of `kid` and `alg`, fetching the set when it is
    /// stale or lacks the key (at most once per `refetch_after`). Keys held are read
    /// without waiting for a fetch under way.
    async fn key(
        &self,
        url: &str,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Jwk, AssertionError> {
        let slot = {
            let mut sets = self
                .inner
                .sets
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(sets.entry(url.to_owned()).or_default())
        };
        if let Some(key) = slot.fresh_key(kid, alg) {
            return Ok(key);
        }
        let _fetching = slot.fetching.lock().await;
        // Another request may have fetched meanwhile.
        if let Some(key) = slot.fresh_key(kid, alg) {
            return Ok(key);
        }
        let due = slot
            .read()
            .tried
            .is_none_or(|at| at.elapsed() >= self.inner.refetch_after);
        if due {
            let inner = Arc::clone(&self.inner);
            let target = url.to_owned();
            let fetched = tokio::task::spawn_blocking(move || inner.fetch(&target))
                .await
                .unwrap_or_else(|_| Err("the fetch of the issuer's keys failed".into()));
            let mut set = slot.keys.write().unwrap_or_else(PoisonError::into_inner);
            set.tried = Some(Instant::now());
            match fetched {
                Ok(keys) => {
                    set.keys = keys;
                    set.fetched = set.tried;
                    set.failure = None;
                }
                Err(error) => {
                    tracing::warn!(jwks_url = url, %error, "a federated issuer's keys could not be fetched");
                    set.failure = Some(error);
                }
            }
        }
        let set = slot.read();
        // Until the issuer answers again, a key it may have added is not known missing.
        match (pick(&set.keys, kid, alg), &set.failure) {
            (Some(key), _) => Ok(key),
            (None, Some(_)) => Err(AssertionError::Unreachable {
                reason: "the issuer's signing keys could not be fetched; retry later".into(),
                retry_after: self.inner.refetch_after.as_secs().max(1),
            }),
            (None, None) => Err(unknown_key(kid)),
        }
    }
}

impl Slot {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key, when the set holds it and was fetched within [`KEYS_FRESH`].
    fn fresh_key(&self, kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
        let set = self.read();
        let fresh = set.fetched.is_some_and(|at| at.elapsed() < KEYS_FRESH);
        fresh.then(|| pick(&set.keys, kid, alg)).flatten()
    }
}

/// The claims of `assertion` when `jwk` verifies its signature by `alg`; nothing else is
/// judged here (the core judges the claims).
fn verify_with(
    jwk: &Jwk,
    alg: Algorithm,
    assertion: &str,
) -> Result<Map<String, Value>, AssertionError> {
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| AssertionError::Refused("the issuer's key cannot be used".into()))?;
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Map<String, Value>>(assertion, &key, &validation)
        .map(|data| data.claims)
        .map_err(|_| {
            AssertionError::Refused(
                "the assertion's signature does not verify with the issuer's key".into(),
            )
        })
}

impl Inner {
    /// The signing keys published at `url`; keys of unknown types, for encryption, or
    /// symmetric ones are left out. The error is for the operator's log.
    fn fetch(&self, url: &str) -> Result<Vec<Jwk>, String> {
        let mut answer = self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| format!("cannot reach the JWKS URL ({e})"))?;
        let status = answer.status().as_u16();
        if status != 200 {
            return Err(format!("the JWKS URL answered HTTP {status}"));
        }
        let text = answer
            .body_mut()
            .with_config()
            .limit(JWKS_LIMIT)
            .read_to_string()
            .map_err(|e| format!("the JWKS could not be read ({e})"))?;
        let set: Value = serde_json::from_str(&text)
            .map_err(|_| "the JWKS URL did not answer a JSON Web Key Set".to_owned())?;
        let Some(keys) = set.get("keys").and_then(Value::as_array) else {
            return Err("the JWKS URL answered JSON without keys".into());
        };
        Ok(keys
            .iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
            .filter(|key| {
                !matches!(key.algorithm, AlgorithmParameters::OctetKey(_))
                    && !matches!(key.common.public_key_use, Some(PublicKeyUse::Encryption))
            })
            .collect())
    }
}

/// The key of `kid` that may verify `alg`; without a `kid`, the only such key.
fn pick(keys: &[Jwk], kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
    let usable = |key: &&Jwk| {
        let family = match &key.algorithm {
            AlgorithmParameters::RSA(_) => matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ),
            AlgorithmParameters::EllipticCurve(_) => {
                matches!(alg, Algorithm::ES256 | Algorithm::ES384)
            }
            AlgorithmParameters::OctetKeyPair(_) => alg == Algorithm::EdDSA,
            AlgorithmParameters::OctetKey(_) => false,
        };
        let own_alg = key
            .common
            .key_algorithm
            .is_none_or(|own| own.to_string().parse::<Algorithm>() == Ok(alg));
        family && own_alg
    };
    let mut candidates = keys.iter().filter(usable);
    match kid {
        Some(kid) => candidates
            .find(|key| key.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None => {
            let only = candidates.next()?;
            candidates.next().is_none().then(|| only.clone())
        }
    }
}

/// The refusal of an assertion whose key the issuer does not publish (the `kid`, which
/// the caller chose, is not repeated back).
fn unknown_key(kid: Option<&str>) -> AssertionError {
    AssertionError::Refused(match kid {
        Some(_) => "the issuer publishes no signing key of the assertion's kid".into(),
        None => "the assertion names no key (kid) and the issuer publishes no single key for \
                 its algorithm"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> Vec<Jwk> {
        [
            json!({"kty": "EC", "crv": "P-256", "kid": "ec", "alg": "ES256",
                   "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                   "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}),
            json!({"kty": "RSA", "kid": "rsa", "use": "sig", "e": "AQAB",
                   "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}),
        ]
        .into_iter()
        .map(|key| serde_json::from_value(key).expect("a JWK"))
        .collect()
    }

    #[test]
    fn a_key_is_picked_by_kid_and_family() {
        let keys = keys();
        let kid = |key: Option<Jwk>| key.and_then(|key| key.common.key_id);
        assert_eq!(
            kid(pick(&keys, Some("ec"), Algorithm::ES256)).as_deref(),
            Some("ec")
        );
        assert_eq!(
            kid(pick(&keys, Some("rsa"), Algorithm::RS256)).as_deref(),
            Some("rsa")
        );
        assert_eq!(
            kid(pick(&keys, Some("rsa"), Algorithm::PS256)).as_deref(),
            Some("rsa")
        );
        // A key of another family, or whose own alg differs, verifies nothing.
        assert!(pick(&keys, Some("rsa"), Algorithm::ES256).is_none());
        assert!(pick(&keys, Some("ec"), Algorithm::ES384).is_none());
        assert!(pick(&keys, Some("other"), Algorithm::ES256).is_none());
        // Without a kid, the one key of the family, and none when there are several.
        assert_eq!(
            kid(pick(&keys, None, Algorithm::ES256)).as_deref(),
            Some("ec")
        );
        let mut twice = keys.clone();
        twice.push(keys[0].clone());
        assert!(pick(&twice, None, Algorithm::ES256).is_none());
    }

    /// A compact JWS of `header` and `claims` with `signature` (base64url) as is.
    fn jws(header: &Value, claims: &Value, signature: &str) -> String {
        use base64::Engine;
        let encode = |value: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
        };
        format!("{}.{}.{signature}", encode(header), encode(claims))
    }

    #[tokio::test]
    async fn symmetric_and_unsigned_assertions_are_refused_before_any_key_is_sought() {
        // The URL is never fetched: nothing listens there.
        let verifier = JwksVerifier::new(
            Duration::from_millis(100),
            NetworkPolicy::default(),
            REFETCH_AFTER,
        );
        let claims = json!({"iss": "i", "sub": "s", "aud": "a", "exp": 4_000_000_000_i64});
        // Symmetric and unsigned: refused before any key is sought.
        for header in [json!({"alg": "HS256", "kid": "k"}), json!({"alg": "none"})] {
            let assertion = jws(&header, &claims, "c2ln");
            let refused = verifier
                .verify("https://keys.invalid/jwks", &assertion)
                .await;
            assert!(
                matches!(refused, Err(AssertionError::Refused(_))),
                "{header}: {refused:?}"
            );
        }
        // A key in the header is not used: the issuer's JWKS is asked (and cannot be
        // reached here), and the caller's kid is not echoed.
        let header =
            json!({"alg": "RS256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}, "kid": "k\nforged"});
        let assertion = jws(&header, &claims, "c2ln");
        match verifier
            .verify("https://keys.invalid/jwks", &assertion)
            .await
        {
            Err(AssertionError::Unreachable { reason, .. }) => {
                assert!(
                    !reason.contains("forged") && !reason.contains('\n'),
                    "{reason}"
                );
            }
            other => panic!("the header's key was used or judged: {other:?}"),
        }
    }

    #[test]
    fn a_signature_must_verify_with_the_key() {
        let ec = keys().remove(0);
        let claims = json!({"sub": "s"});
        let forged = jws(&json!({"alg": "ES256", "kid": "ec"}), &claims, "AAAA");
        assert!(matches!(
            verify_with(&ec, Algorithm::ES256, &forged),
            Err(AssertionError::Refused(_))
        ));
    }

    #[test]
    fn a_symmetric_key_verifies_nothing() {
        let oct: Jwk = serde_json::from_value(json!({"kty": "oct", "kid": "k", "k": "c2VjcmV0"}))
            .expect("a JWK");
        for alg in ACCEPTED {
            assert!(pick(std::slice::from_ref(&oct), Some("k"), alg).is_none());
        }
        assert!(!ACCEPTED.contains(&Algorithm::HS256));
    }
}
