//! Signing Security Event Tokens (RFC 8417) as compact JWS (RFC 7515) with the server's
//! ES256 keys, and publishing those keys as a JWK Set (RFC 7517) at
//! `/.well-known/jwks.json`. The keys live in the store, so every replica signs with the
//! same key and publishes the same set; which key signs when, and which are published, is
//! the core's [`key_schedule`] (keys rotate with `scim-server signing-key rotate`). Each
//! process reloads the keys every minute ([`SetSigner::reload`]).

use std::sync::{PoisonError, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use scim_core::events::{SigningKey, key_schedule};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const ALGORITHM: &str = "ES256";

/// Why the stored keys cannot sign.
#[derive(Debug)]
pub struct SignerError(String);

impl std::fmt::Display for SignerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SignerError {}

/// A stored key, ready to sign.
struct Loaded {
    stored: SigningKey,
    pair: EcdsaKeyPair,
}

/// Signs SETs with the key the schedule names, publishes the keys it names.
pub struct SetSigner {
    keys: RwLock<Vec<Loaded>>,
    rng: SystemRandom,
}

impl std::fmt::Debug for SetSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self
            .read()
            .iter()
            .map(|key| key.stored.kid.clone())
            .collect();
        f.debug_struct("SetSigner")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl SetSigner {
    /// A new ES256 key, for the store, signing from `activates`.
    pub fn generate_key(
        now: DateTime<Utc>,
        activates: DateTime<Utc>,
    ) -> Result<SigningKey, SignerError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| SignerError("cannot generate an ES256 key".into()))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|e| SignerError(format!("generated key rejected: {e}")))?;
        let jwk = public_jwk(key.public_key().as_ref())?;
        Ok(SigningKey {
            kid: jwk["kid"].as_str().unwrap_or_default().to_owned(),
            algorithm: ALGORITHM.into(),
            private_key: STANDARD.encode(pkcs8.as_ref()),
            public_jwk: jwk,
            created: now,
            activates,
        })
    }

    /// The signer of the stored keys.
    pub fn new(keys: &[SigningKey]) -> Result<Self, SignerError> {
        let signer = Self {
            keys: RwLock::new(Vec::new()),
            rng: SystemRandom::new(),
        };
        signer.reload(keys)?;
        Ok(signer)
    }

    /// Takes the stored keys as they are now (ES256 keys only; another algorithm's are
    /// neither used nor published).
    pub fn reload(&self, keys: &[SigningKey]) -> Result<(), SignerError> {
        let loaded = keys
            .iter()
            .filter(|key| key.algorithm == ALGORITHM)
            .map(|key| {
                let pkcs8 = STANDARD
                    .decode(&key.private_key)
                    .map_err(|_| SignerError(format!("signing key {} is not base64", key.kid)))?;
                let pair = EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &pkcs8,
                    &self.rng,
                )
                .map_err(|e| SignerError(format!("signing key {} rejected: {e}", key.kid)))?;
                Ok(Loaded {
                    stored: key.clone(),
                    pair,
                })
            })
            .collect::<Result<Vec<_>, SignerError>>()?;
        if loaded.is_empty() {
            return Err(SignerError("no ES256 signing key is stored".into()));
        }
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = loaded;
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Loaded>> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The SET as a compact JWS signed at `now` with the key that signs then: header
    /// `{"alg": "ES256", "typ": "secevent+jwt", "kid"}`.
    pub fn sign(&self, claims: &Value, now: DateTime<Utc>) -> Result<String, SignerError> {
        let keys = self.read();
        let stored: Vec<SigningKey> = keys.iter().map(|key| key.stored.clone()).collect();
        let kid = key_schedule(&stored, now)
            .signing
            .map(|key| key.kid.clone())
            .ok_or_else(|| SignerError("no stored signing key has activated yet".into()))?;
        let key = keys
            .iter()
            .find(|key| key.stored.kid == kid)
            .ok_or_else(|| SignerError("the signing key is not loaded".into()))?;
        let header = json!({"alg": ALGORITHM, "typ": "secevent+jwt", "kid": kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = key
            .pair
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| SignerError("signing failed".into()))?;
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    /// The JWK Set at `now`: the keys the schedule publishes.
    pub fn jwks(&self, now: DateTime<Utc>) -> Value {
        let stored: Vec<SigningKey> = self.read().iter().map(|key| key.stored.clone()).collect();
        let published: Vec<Value> = key_schedule(&stored, now)
            .published
            .iter()
            .map(|key| key.public_jwk.clone())
            .collect();
        json!({ "keys": published })
    }
}

/// The public key (an uncompressed P-256 point) as a JWK, its `kid` the RFC 7638
/// thumbprint.
fn public_jwk(point: &[u8]) -> Result<Value, SignerError> {
    let (x, y) = match point {
        [0x04, rest @ ..] if rest.len() == 64 => rest.split_at(32),
        _ => return Err(SignerError("unexpected public key encoding".into())),
    };
    let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
    // RFC 7638 §3: the required members in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    Ok(
        json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": ALGORITHM}),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    use super::*;

    fn verify(signer: &SetSigner, jwt: &str, now: DateTime<Utc>) -> Result<String, String> {
        let parts: Vec<&str> = jwt.split('.').collect();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let kid = header["kid"].as_str().unwrap().to_owned();
        let jwks = signer.jwks(now);
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .ok_or_else(|| format!("{kid} is not published"))?;
        let mut point = vec![0x04];
        for coordinate in ["x", "y"] {
            point.extend(
                URL_SAFE_NO_PAD
                    .decode(jwk[coordinate].as_str().unwrap())
                    .unwrap(),
            );
        }
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(input.as_bytes(), &signature)
            .map_err(|_| "bad signature".to_owned())?;
        Ok(kid)
    }

    #[test]
    fn sets_verify_with_the_published_key() {
        let now = Utc::now();
        let key = SetSigner::generate_key(now, DateTime::UNIX_EPOCH).unwrap();
        assert!(!format!("{key:?}").contains(&key.private_key));
        let signer = SetSigner::new(std::slice::from_ref(&key)).unwrap();
        let jwt = signer.sign(&json!({"jti": "evt-1"}), now).unwrap();
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            header,
            json!({"alg": "ES256", "typ": "secevent+jwt", "kid": key.kid})
        );
        assert_eq!(verify(&signer, &jwt, now), Ok(key.kid.clone()));
        let parts: Vec<&str> = jwt.split('.').collect();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode("{\"jti\":\"evt-2\"}"),
            parts[2]
        );
        assert!(verify(&signer, &tampered, now).is_err());
        assert!(SetSigner::new(&[]).is_err());
    }

    /// A rotation: the new key is published before it signs, signs from its activation
    /// (on every replica that reloaded), and the old key stays published for the SETs it
    /// signed until a day after.
    #[test]
    fn a_rotated_key_is_published_before_it_signs_and_the_old_one_after() {
        let start = Utc::now();
        let old = SetSigner::generate_key(start, DateTime::UNIX_EPOCH).unwrap();
        let signer = SetSigner::new(std::slice::from_ref(&old)).unwrap();
        let before = signer.sign(&json!({"jti": "evt-1"}), start).unwrap();
        let activates = start + TimeDelta::hours(1);
        let new = SetSigner::generate_key(start, activates).unwrap();
        signer.reload(&[new.clone(), old.clone()]).unwrap();
        let kids = |now| -> Vec<String> {
            signer.jwks(now)["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            kids(start),
            [old.kid.clone(), new.kid.clone()],
            "published ahead"
        );
        let still_old = signer.sign(&json!({"jti": "evt-2"}), start).unwrap();
        assert_eq!(verify(&signer, &still_old, start), Ok(old.kid.clone()));
        let after = activates + TimeDelta::minutes(1);
        let rotated = signer.sign(&json!({"jti": "evt-3"}), after).unwrap();
        assert_eq!(verify(&signer, &rotated, after), Ok(new.kid.clone()));
        assert_eq!(
            verify(&signer, &before, after),
            Ok(old.kid.clone()),
            "in flight"
        );
        let next_day = activates + TimeDelta::hours(25);
        assert_eq!(kids(next_day), std::slice::from_ref(&new.kid));
        assert!(verify(&signer, &before, next_day).is_err());
    }
}
