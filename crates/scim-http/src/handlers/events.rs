//! Event delivery by polling (RFC 8936): `POST /events/poll` with the tenant's credential,
//! and the keys its SETs are signed with at `/.well-known/jwks.json`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use http::StatusCode;
use http::header::CACHE_CONTROL;
use scim_core::events::{issuer, parse_poll, poll_jti, tenant_audience};
use scim_core::tenant::TenantId;
use scim_core::{ScimError, service::Polled};
use serde_json::{Map, Value, json};

use crate::auth::authenticate;
use crate::body::json_body;
use crate::error::ApiResult;
use crate::request::Request;
use crate::response::{Reply, Response};
use crate::state::AppState;

/// The long polls each tenant holds open, in this process.
#[derive(Debug, Default)]
pub struct PollSlots {
    held: Mutex<HashMap<TenantId, usize>>,
}

/// A tenant's long poll, counted until it is dropped.
pub(crate) struct PollSlot<'a> {
    slots: &'a PollSlots,
    tenant: TenantId,
}

impl PollSlots {
    /// A slot for one more wait of `tenant`, unless it holds `limit` already.
    pub(crate) fn take(&self, tenant: &TenantId, limit: usize) -> Option<PollSlot<'_>> {
        let mut held = self.lock();
        let count = held.entry(tenant.clone()).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(PollSlot {
            slots: self,
            tenant: tenant.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, usize>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for PollSlot<'_> {
    fn drop(&mut self) {
        let mut held = self.slots.lock();
        if let Some(count) = held.get_mut(&self.tenant) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.tenant);
            }
        }
    }
}

pub(crate) async fn poll(req: &Request, state: &AppState) -> ApiResult<Response> {
    let caller = authenticate(req, state).await?;
    let body = json_body(req, state.config.max_body_bytes)?;
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
    // Events removed by retention before this feed acknowledged them are said once, as an
    // error (RFC 8936 §2.4.4: the applicable HTTP status), not skipped in silence; the
    // next poll reads on from what is kept.
    let lost = state.feed.take_lost(&principal.tenant).await?;
    if lost > 0 {
        tracing::warn!(tenant = %principal.tenant_slug, lost, "a poll feed lost events to retention");
        let body = json!({
            "err": "events_removed",
            "description": format!(
                "{lost} events were removed by retention before they were acknowledged; \
                 poll again to read on from what is kept, and re-read the users and groups \
                 to catch up"
            ),
        });
        return Ok(Reply::new(StatusCode::GONE)
            .header(CACHE_CONTROL, "no-store")
            .json(&body));
    }
    // A long poll (RFC 8936 §2.4: the default) waits for an event, up to the configured
    // time; `returnImmediately` answers at once. It waits on the tenant's event count,
    // which the store moves when events are recorded (by any process), instead of reading
    // the feed again and again; a tenant holds at most `polls_per_tenant` waits at once.
    let tenant = &principal.tenant;
    let deadline = Instant::now() + state.config.poll_wait;
    let mut slot = None;
    let polled = loop {
        let seen = state.feed.generation(tenant).await?;
        let polled = state.feed.waiting(tenant, request.max_events).await?;
        let now = Instant::now();
        if !polled.events.is_empty() || request.return_immediately || now >= deadline {
            break polled;
        }
        if slot.is_none() {
            slot = Some(
                state
                    .polls
                    .take(tenant, state.config.polls_per_tenant)
                    .ok_or(ScimError::RateLimited { retry_after: 1 })?,
            );
        }
        state.feed.recorded(tenant, seen, deadline - now).await;
    };
    drop(slot);
    let issuer = issuer(state.config.public_url.as_deref());
    let audience = tenant_audience(&principal.tenant_slug);
    let answer = sets(state, &polled, &issuer, &audience)?;
    tracing::info!(
        sets = polled.events.len(),
        acks = request.ack.len(),
        "poll answered"
    );
    Ok(Reply::new(StatusCode::OK).json(&answer))
}

/// `{"sets": {jti: SET}, "moreAvailable": true}` (RFC 8936 §2.5).
fn sets(state: &AppState, polled: &Polled, issuer: &str, audience: &str) -> ApiResult<Value> {
    let now = state.clock.now();
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

pub(crate) fn jwks(state: &AppState) -> Response {
    Reply::new(StatusCode::OK)
        // Receivers may keep it a while: a new key is published well before it signs.
        .header(CACHE_CONTROL, "public, max-age=300")
        .json_as("application/jwk-set+json", &state.signer.jwks(state.clock.now()))
}
