//! A push receiver (RFC 8935) and OAuth 2.0 token endpoint written for the tests: an
//! actix-web server on a loopback port, in a thread of its own, that records every SET
//! POSTed to it and answers as its test tells it to.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::hmac;
use serde_json::{Value, json};

use crate::helpers::serve_on_loopback;

/// How the receiver answers a SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 202.
    Accept,
    /// 500 for the next `n` SETs, then 202.
    FailFirst(usize),
    /// 500, always.
    Fail,
    /// 400 `invalid_key` (RFC 8935 §2.3): rejected for good.
    Reject,
    /// 202 only with a bearer token this receiver's `/token` issued; else 401.
    RequireToken,
    /// 202 after this many milliseconds.
    Slow(u64),
}

/// One POST to `/events`.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub(crate) jwt: String,
    pub(crate) content_type: Option<String>,
    pub(crate) authorization: Option<String>,
    /// What the receiver answered.
    pub(crate) status: u16,
}

#[derive(Default)]
struct State {
    answer: Option<Answer>,
    failures_left: usize,
    arrivals: Vec<Arrival>,
    /// `Authorization` header and form body of each token request.
    token_requests: Vec<(Option<String>, String)>,
    issued: HashSet<String>,
    /// The next SET with a valid token gets 400 `authentication_failed`, and the token
    /// is revoked.
    revoke_next: bool,
}

pub(crate) struct Receiver {
    pub(crate) base: String,
    state: Arc<Mutex<State>>,
}

/// The client id and secret `/token` accepts.
pub(crate) const CLIENT_ID: &str = "scim-push";
pub(crate) const CLIENT_SECRET: &str = "push-client-secret-0123456789";

impl Receiver {
    pub(crate) fn start(answer: Answer) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::from(Arc::clone(&state));
        let addr = serve_on_loopback(2, move |config| {
            config
                .app_data(data.clone())
                .route("/events", web::post().to(events))
                .route("/token", web::post().to(token));
        });
        let receiver = Self {
            base: format!("http://{addr}"),
            state,
        };
        receiver.answer(answer);
        receiver
    }

    pub(crate) fn url(&self) -> String {
        format!("{}/events", self.base)
    }

    /// Answers from now on as `answer`.
    pub(crate) fn answer(&self, answer: Answer) {
        let mut state = self.state.lock().unwrap();
        state.answer = Some(answer);
        state.failures_left = match answer {
            Answer::FailFirst(n) => n,
            _ => 0,
        };
    }

    /// Revokes the token the next SET presents (answering 400 `authentication_failed`).
    pub(crate) fn revoke_token_once(&self) {
        self.state.lock().unwrap().revoke_next = true;
    }

    pub(crate) fn arrivals(&self) -> Vec<Arrival> {
        self.state.lock().unwrap().arrivals.clone()
    }

    pub(crate) fn token_requests(&self) -> Vec<(Option<String>, String)> {
        self.state.lock().unwrap().token_requests.clone()
    }

    /// The SETs accepted (202), in arrival order.
    pub(crate) fn accepted(&self) -> Vec<String> {
        self.arrivals()
            .into_iter()
            .filter(|a| a.status == 202)
            .map(|a| a.jwt)
            .collect()
    }

    /// Waits until `done` holds for the accepted SETs' claims (verified with `secret`).
    pub(crate) fn wait_for(
        &self,
        secret: &str,
        timeout: Duration,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let claims: Vec<Value> = self
                .accepted()
                .iter()
                .map(|jwt| verify(jwt, secret))
                .collect();
            if done(&claims) {
                return claims;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {} SETs accepted of {} arrivals",
                claims.len(),
                self.arrivals().len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

async fn events(req: HttpRequest, body: String, state: web::Data<Mutex<State>>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let slow = state.lock().unwrap().answer;
    if let Some(Answer::Slow(millis)) = slow {
        actix_web::rt::time::sleep(Duration::from_millis(millis)).await;
    }
    let mut state = state.lock().unwrap();
    let mut auth_failed = false;
    let status = match state.answer.unwrap_or(Answer::Accept) {
        Answer::Accept | Answer::Slow(_) => 202,
        Answer::Fail => 500,
        Answer::Reject => 400,
        Answer::FailFirst(_) if state.failures_left > 0 => {
            state.failures_left -= 1;
            500
        }
        Answer::FailFirst(_) => 202,
        Answer::RequireToken => {
            let token = authorization
                .as_deref()
                .and_then(|a| a.strip_prefix("Bearer "))
                .unwrap_or_default()
                .to_owned();
            if !state.issued.contains(&token) {
                401
            } else if state.revoke_next {
                state.revoke_next = false;
                state.issued.remove(&token);
                auth_failed = true;
                400
            } else {
                202
            }
        }
    };
    state.arrivals.push(Arrival {
        jwt: body,
        content_type: header("content-type"),
        authorization,
        status,
    });
    match status {
        202 => HttpResponse::Accepted().finish(),
        // RFC 8935 §2.3: the SET's credentials were refused.
        400 if auth_failed => HttpResponse::BadRequest()
            .json(json!({"err": "authentication_failed", "description": "token revoked"})),
        400 => HttpResponse::BadRequest()
            .json(json!({"err": "invalid_key", "description": "Key ID 12 has been revoked"})),
        401 => HttpResponse::Unauthorized().finish(),
        _ => HttpResponse::InternalServerError().body("busy"),
    }
}

async fn token(req: HttpRequest, body: String, state: web::Data<Mutex<State>>) -> HttpResponse {
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut state = state.lock().unwrap();
    state
        .token_requests
        .push((authorization.clone(), body.clone()));
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let form: BTreeMap<String, String> = serde_urlencoded_pairs(&body);
    if authorization.as_deref() != Some(expected.as_str())
        || form.get("grant_type").map(String::as_str) != Some("client_credentials")
    {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    // Numbered by request: a revoked token's name is never issued again.
    let issued = format!("tok-{}", state.token_requests.len());
    state.issued.insert(issued.clone());
    HttpResponse::Ok().json(json!({
        "access_token": issued,
        "token_type": "Bearer",
        "expires_in": 3600
    }))
}

fn serde_urlencoded_pairs(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace('+', " ").replace("%20", " ")))
        .collect()
}

/// The claims of an HS256 SET, after checking its header and signature with `secret`.
pub(crate) fn verify(jwt: &str, secret: &str) -> Value {
    let (input, signature) = jwt.rsplit_once('.').expect("a compact JWS");
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .expect("base64url signature");
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
        input.as_bytes(),
        &signature,
    )
    .expect("the SET verifies with the receiver's secret");
    let (header, claims) = input.split_once('.').expect("header.claims");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).unwrap();
    assert_eq!(header, json!({"alg": "HS256", "typ": "secevent+jwt"}));
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).expect("base64url")).unwrap()
}

/// The seq of a SET's `jti` (`evt-<seq>`).
pub(crate) fn seq(claims: &Value) -> i64 {
    claims["jti"]
        .as_str()
        .and_then(|jti| jti.strip_prefix("evt-"))
        .and_then(|seq| seq.parse().ok())
        .expect("jti evt-<seq>")
}

/// The subject (`sub_id.uri`) of a SET.
pub(crate) fn subject(claims: &Value) -> String {
    claims["sub_id"]["uri"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
