//! `GET /healthz`: 200 when the store answers; no credentials needed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

pub(crate) async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match state.tenants.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unavailable");
            HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
                .json(json!({"status": "unavailable"}))
        }
    }
}
