//! `GET /healthz` and `GET /readyz`: 200 when the store answers and its migrations are
//! applied, 503 otherwise; no credentials needed. (Until the operations issue separates
//! them, liveness and readiness ask the same question.)

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

pub(crate) async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    store_check(&state, "ok").await
}

pub(crate) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    store_check(&state, "ready").await
}

/// `{"status": ok}` when the store answers with its migrations applied.
async fn store_check(state: &AppState, ok: &str) -> HttpResponse {
    match state.tenants.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": ok})),
        Err(e) => {
            tracing::warn!(error = %e, "store unavailable or migrations pending");
            HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
                .json(json!({"status": "unavailable"}))
        }
    }
}
