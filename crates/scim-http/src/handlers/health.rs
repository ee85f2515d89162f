//! `GET /healthz` and `GET /readyz`: 200 when the store answers and its migrations are
//! applied, 503 otherwise; no credentials needed. (Until the operations issue separates
//! them, liveness and readiness ask the same question.)
//!
//! Anyone may ask, so asking must cost the store little: the answer is reused for
//! [`FRESH_FOR`] (probes arriving together share one ping), so a flood of checks costs
//! the store one ping a second, whatever its rate. (No per-address limit: a load
//! balancer's probes come from the address all its traffic comes from.)

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::json;

use crate::response::{Reply, Response};
use crate::state::AppState;

/// How long a store check answers for.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// The last store check, and when it was made.
#[derive(Debug, Default)]
pub struct HealthCheck {
    last: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

impl HealthCheck {
    /// Whether the store answers with its migrations applied: the last answer when it is
    /// fresh, else a new ping (one at a time; those waiting get its answer).
    async fn store_ok(&self, state: &AppState) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, ok)) = *last
            && at.elapsed() < FRESH_FOR
        {
            return ok;
        }
        let ok = match state.tenants.ping().await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "store unavailable or migrations pending");
                false
            }
        };
        *last = Some((Instant::now(), ok));
        ok
    }
}

pub(crate) async fn healthz(state: &AppState) -> Response {
    store_check(state, "ok").await
}

pub(crate) async fn readyz(state: &AppState) -> Response {
    store_check(state, "ready").await
}

/// `{"status": ok}` when the store answers with its migrations applied.
async fn store_check(state: &AppState, ok: &str) -> Response {
    if state.health.store_ok(state).await {
        Reply::new(StatusCode::OK).json(&json!({"status": ok}))
    } else {
        Reply::new(StatusCode::SERVICE_UNAVAILABLE).json(&json!({"status": "unavailable"}))
    }
}
