//! A token issuer written for the tests, as Entra ID is to workload identity federation:
//! an actix-web server on a loopback port that publishes a JWKS at `/keys` (and counts
//! the fetches, or answers 503 while "down"), and ES256 signing keys that make assertions
//! for it. Signing uses `ring` directly, not the library the server verifies with.

use std::sync::{Arc, Mutex};

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

use crate::helpers::serve_on_loopback;

#[derive(Default)]
struct State {
    keys: Vec<Value>,
    fetches: usize,
    down: bool,
}

pub(crate) struct Issuer {
    pub(crate) base: String,
    state: Arc<Mutex<State>>,
}

impl Issuer {
    /// An issuer publishing `keys`.
    pub(crate) fn start(keys: &[&SigningKey]) -> Self {
        let state = Arc::new(Mutex::new(State {
            keys: keys.iter().map(|key| key.jwk()).collect(),
            ..State::default()
        }));
        let data = web::Data::from(Arc::clone(&state));
        let addr = serve_on_loopback(1, move |config| {
            config
                .app_data(data.clone())
                .route("/keys", web::get().to(jwks));
        });
        Self {
            base: format!("http://{addr}"),
            state,
        }
    }

    /// The `iss` of its assertions.
    pub(crate) fn issuer(&self) -> String {
        format!("{}/tenant-1/v2.0", self.base)
    }

    pub(crate) fn jwks_url(&self) -> String {
        format!("{}/keys", self.base)
    }

    /// Publishes `keys` instead (a rotation).
    pub(crate) fn publish(&self, keys: &[&SigningKey]) {
        self.state.lock().unwrap().keys = keys.iter().map(|key| key.jwk()).collect();
    }

    /// Answers 503 at `/keys` while `down`.
    pub(crate) fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// How many times `/keys` was asked for.
    pub(crate) fn fetches(&self) -> usize {
        self.state.lock().unwrap().fetches
    }
}

async fn jwks(state: web::Data<Mutex<State>>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    state.fetches += 1;
    if state.down {
        return HttpResponse::ServiceUnavailable().finish();
    }
    HttpResponse::Ok().json(json!({"keys": state.keys}))
}

/// An ES256 key pair of the issuer.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pair: EcdsaKeyPair,
}

impl SigningKey {
    pub(crate) fn generate(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate a key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("read the key");
        Self {
            kid: kid.to_owned(),
            pair,
        }
    }

    /// Its public half as a JWK (the point is 0x04 ‖ x ‖ y).
    pub(crate) fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    /// A compact JWS of `claims`, its header naming `kid`.
    pub(crate) fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), message.as_bytes())
            .expect("sign");
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }
}
