//! Event delivery by polling (RFC 8936): `POST /events/poll` with the tenant's credential,
//! and the keys its SETs are signed with at `/.well-known/jwks.json`.

use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::events::{issuer, parse_poll, poll_jti, tenant_audience};
use scim_core::{ScimError, service::Polled};
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::body::json_body;
use crate::error::ApiResult;
use crate::state::AppState;

/// How often a long poll looks for new events.
const RECHECK: Duration = Duration::from_millis(200);

pub(crate) async fn poll(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: Result<web::Bytes, actix_web::Error>,
) -> ApiResult<HttpResponse> {
    let body = json_body(&req, body, state.config.max_body_bytes)?;
    let request = parse_poll(&body)?;
    let principal = &caller.0;
    // Logged bounded: the text is the client's.
    for error in request.set_errs.iter().take(LOGGED_SET_ERRORS) {
        tracing::warn!(
            jti = %clip(&error.jti),
            err = %clip(&error.err),
            description = %clip(&error.description),
            reported = request.set_errs.len(),
            "the poll recipient could not process a SET"
        );
    }
    state.feed.acknowledge(&principal.tenant, &request).await?;
    // A long poll (RFC 8936 §2.4: the default) waits for an event, up to the configured
    // time; `returnImmediately` answers at once.
    let deadline = Instant::now() + state.config.poll_wait;
    let polled = loop {
        let polled = state
            .feed
            .waiting(&principal.tenant, request.max_events)
            .await?;
        if !polled.events.is_empty() || request.return_immediately || Instant::now() >= deadline {
            break polled;
        }
        tokio::time::sleep(RECHECK).await;
    };
    let issuer = issuer(state.config.public_url.as_deref());
    let audience = tenant_audience(&principal.tenant_slug);
    let answer = sets(&state, &polled, &issuer, &audience)?;
    tracing::info!(
        sets = polled.events.len(),
        acks = request.ack.len(),
        "poll answered"
    );
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(answer.to_string()))
}

/// `{"sets": {jti: SET}, "moreAvailable": true}` (RFC 8936 §2.5).
fn sets(state: &AppState, polled: &Polled, issuer: &str, audience: &str) -> ApiResult<Value> {
    let now = chrono::Utc::now();
    let mut sets = Map::new();
    for event in &polled.events {
        let jti = poll_jti(event.seq);
        let claims = event.set_claims(issuer, audience, &jti, now);
        let jwt = state.signer.sign(&claims, now).map_err(|error| {
            tracing::error!(%error, "cannot sign a SET");
            ScimError::Internal
        })?;
        sets.insert(jti, Value::String(jwt));
    }
    let mut answer = json!({"sets": sets});
    if polled.more_available {
        answer["moreAvailable"] = json!(true);
    }
    Ok(answer)
}

/// SET errors of one poll request that are logged one by one.
const LOGGED_SET_ERRORS: usize = 10;

/// A client's text, at most 200 characters, for the log.
fn clip(text: &str) -> &str {
    text.char_indices()
        .nth(200)
        .map_or(text, |(at, _)| &text[..at])
}

pub(crate) async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        // Receivers may keep it a while: a new key is published well before it signs.
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(state.signer.jwks(chrono::Utc::now()).to_string())
}
