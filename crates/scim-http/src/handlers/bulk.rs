//! `POST /Bulk` (RFC 7644 §3.7): the operations' outcomes as a BulkResponse.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::bulk::BULK_RESPONSE_SCHEMA;
use scim_core::service::BulkOutcome;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::body::json_body;
use crate::context::cause_of;
use crate::error::{ApiResult, error_body};
use crate::render::{base_url, scim_json};
use crate::state::AppState;

pub(crate) async fn bulk(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: Result<web::Bytes, actix_web::Error>,
) -> ApiResult<HttpResponse> {
    let body = json_body(&req, body, state.config.bulk_max_payload_bytes)?;
    let writer = scim_core::Caller::new(
        caller.0.tenant.clone(),
        format!("token:{}", caller.0.credential_id),
        cause_of(&req),
    );
    let outcomes = state.bulk.execute(&writer, &body).await?;
    Ok(bulk_response(&outcomes, &base_url(&req, &state.config)))
}

/// The BulkResponse of processed operations (also `POST /Users?bulk=true`'s answer).
pub(crate) fn bulk_response(outcomes: &[BulkOutcome], base: &str) -> HttpResponse {
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    tracing::info!(
        operations = outcomes.len(),
        failed,
        "bulk request processed"
    );
    let operations: Vec<Value> = outcomes.iter().map(|o| operation_json(o, base)).collect();
    scim_json(
        StatusCode::OK,
        &json!({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": operations}),
    )
}

/// One element of the response's `Operations`: `status` as a string, as RFC 7644 §3.7.3
/// shows it; `location` and `version` of what was written; the SCIM error as `response`.
fn operation_json(outcome: &BulkOutcome, base: &str) -> Value {
    let mut out = Map::new();
    out.insert("method".into(), json!(outcome.method));
    if let Some(bulk_id) = &outcome.bulk_id {
        out.insert("bulkId".into(), json!(bulk_id));
    }
    if let Some((kind, id)) = &outcome.resource {
        out.insert(
            "location".into(),
            json!(format!("{base}/{}/{id}", kind.endpoint())),
        );
    }
    if let Some(version) = &outcome.version {
        out.insert("version".into(), json!(version));
    }
    out.insert("status".into(), json!(outcome.status.to_string()));
    if let Some(error) = &outcome.error {
        out.insert("response".into(), error_body(error));
    }
    Value::Object(out)
}
