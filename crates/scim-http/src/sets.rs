//! Signing Security Event Tokens (RFC 8417) as compact JWS (RFC 7515) with the server's
//! ES256 keys, and publishing those keys as a JWK Set (RFC 7517) at
//! `/.well-known/jwks.json`. The keys live in the store, so every replica signs with the
//! same key and publishes the same set; the oldest key signs.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use scim_core::events::SigningKey;
use scim_core::paging::CursorCodec;
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

/// Signs SETs with the newest stored key.
pub struct SetSigner {
    kid: String,
    key: EcdsaKeyPair,
    rng: SystemRandom,
    jwks: Value,
    /// List cursors (RFC 9865) are sealed under a key derived from the signing key: every
    /// replica has it, and nobody else.
    cursors: CursorCodec,
}

impl std::fmt::Debug for SetSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SetSigner {
    /// A new ES256 key, for the store.
    pub fn generate_key(now: DateTime<Utc>) -> Result<SigningKey, SignerError> {
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
        })
    }

    /// The signer of the stored keys (newest first): the oldest signs, all are published.
    /// Replicas that start together on an empty store may each add a key; they all sign
    /// with the one stored first.
    pub fn new(keys: &[SigningKey]) -> Result<Self, SignerError> {
        let signing = keys
            .iter()
            .rev()
            .find(|key| key.algorithm == ALGORITHM)
            .ok_or_else(|| SignerError("no ES256 signing key is stored".into()))?;
        let pkcs8 = STANDARD
            .decode(&signing.private_key)
            .map_err(|_| SignerError(format!("signing key {} is not base64", signing.kid)))?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
            .map_err(|e| SignerError(format!("signing key {} rejected: {e}", signing.kid)))?;
        let jwks =
            json!({"keys": keys.iter().map(|key| key.public_jwk.clone()).collect::<Vec<_>>()});
        Ok(Self {
            kid: signing.kid.clone(),
            key,
            rng,
            jwks,
            cursors: CursorCodec::new(&pkcs8),
        })
    }

    /// The codec of list cursors.
    pub fn cursors(&self) -> &CursorCodec {
        &self.cursors
    }

    /// The SET as a compact JWS: header `{"alg": "ES256", "typ": "secevent+jwt", "kid"}`.
    pub fn sign(&self, claims: &Value) -> Result<String, SignerError> {
        let header = json!({"alg": ALGORITHM, "typ": "secevent+jwt", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| SignerError("signing failed".into()))?;
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    /// The JWK Set of every stored key.
    pub fn jwks(&self) -> &Value {
        &self.jwks
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
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    use super::*;

    #[test]
    fn sets_verify_with_the_published_key() {
        let key = SetSigner::generate_key(Utc::now()).unwrap();
        assert!(!format!("{key:?}").contains(&key.private_key));
        let signer = SetSigner::new(std::slice::from_ref(&key)).unwrap();
        let jwt = signer.sign(&json!({"jti": "evt-1"})).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            json!({"alg": "ES256", "typ": "secevent+jwt", "kid": key.kid})
        );
        let jwk = &signer.jwks()["keys"][0];
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
            .expect("the signature verifies with the JWKS key");
        let tampered = format!(
            "{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode("{\"jti\":\"evt-2\"}")
        );
        assert!(
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                .verify(tampered.as_bytes(), &signature)
                .is_err()
        );
    }

    #[test]
    fn the_oldest_key_signs_and_every_key_is_published() {
        let old = SetSigner::generate_key(Utc::now()).unwrap();
        let new = SetSigner::generate_key(Utc::now()).unwrap();
        let signer = SetSigner::new(&[new.clone(), old.clone()]).unwrap();
        let kids: Vec<&str> = signer.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|k| k["kid"].as_str())
            .collect();
        assert_eq!(kids, [new.kid.as_str(), old.kid.as_str()]);
        assert_eq!(signer.kid, old.kid);
        assert!(SetSigner::new(&[]).is_err());
    }
}
