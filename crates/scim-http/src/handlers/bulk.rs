//! `POST /Bulk` (RFC 7644 §3.7): the operations' outcomes as a BulkResponse, at once or, with
//! `Prefer: respond-async` (RFC 7240), as a job whose resource `GET /BulkJobs/{id}` reads.

use http::StatusCode;
use http::header;
use scim_core::bulk::{BULK_JOB_SCHEMA, BULK_RESPONSE_SCHEMA, BulkJob, BulkOutcome};
use scim_core::resource::format_time;
use serde_json::{Value, json};

use crate::auth::authenticate;
use crate::body::json_body;
use crate::error::ApiResult;
use crate::render::{base_url, scim_json};
use crate::request::Request;
use crate::response::{Reply, Response};
use crate::state::AppState;

pub(crate) async fn bulk(req: &Request, state: &AppState) -> ApiResult<Response> {
    let caller = authenticate(req, state).await?;
    let body = json_body(req, state.config.bulk_max_payload_bytes)?;
    let body = caller.0.compatibility.read_bulk_body(body)?;
    let writer = scim_core::Caller::new(
        caller.0.tenant.clone(),
        caller.0.credential_id.clone(),
        req.cause(),
    )
    .with_schema(state.schemas.of(&caller.0.custom_attributes));
    let base = base_url(req, &state.config);
    if prefers_async(req) {
        let job = state.jobs.submit(&writer, &body).await?;
        state.job_wake.notify_one();
        tracing::info!(job = %job.id, operations = job.total, "bulk job accepted");
        // RFC 9967 §2.5.1.1: no body; the job (and the outcomes) are at `Location`, and
        // `Set-Txn` names the transaction its events will carry.
        return Ok(Reply::new(StatusCode::ACCEPTED)
            .header(header::LOCATION, &job_location(&base, &job.id))
            .header(PREFERENCE_APPLIED, "respond-async")
            .header(SET_TXN, &job.id)
            .finish());
    }
    let outcomes = state.bulk.execute(&writer, &body).await?;
    Ok(bulk_response(&outcomes, &base))
}

/// `GET /BulkJobs/{id}`: the caller's tenant's job; its BulkResponse once completed.
pub(crate) async fn get_job(req: &Request, state: &AppState, id: &str) -> ApiResult<Response> {
    let caller = authenticate(req, state).await?;
    let (job, outcomes) = state.jobs.get(&caller.0.tenant, id).await?;
    let base = base_url(req, &state.config);
    Ok(scim_json(
        StatusCode::OK,
        &job_json(&job, outcomes.as_deref(), &base),
    ))
}

/// Whether the request asks to be answered at once and processed later (RFC 7240 §4.1).
fn prefers_async(req: &Request) -> bool {
    req.headers()
        .get_all(header::HeaderName::from_static("prefer"))
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| {
            let token = preference.split(';').next().unwrap_or_default().trim();
            token.eq_ignore_ascii_case("respond-async")
        })
}

const PREFERENCE_APPLIED: header::HeaderName =
    header::HeaderName::from_static("preference-applied");
const SET_TXN: header::HeaderName = header::HeaderName::from_static("set-txn");

fn job_location(base: &str, id: &str) -> String {
    format!("{base}/BulkJobs/{id}")
}

/// The job resource (schema [`BULK_JOB_SCHEMA`]): its state, and the BulkResponse when
/// completed.
fn job_json(job: &BulkJob, outcomes: Option<&[BulkOutcome]>, base: &str) -> Value {
    let mut out = json!({
        "schemas": [BULK_JOB_SCHEMA],
        "id": job.id,
        "status": job.status.as_str(),
        "done": job.done,
        "total": job.total,
        "meta": {
            "resourceType": "BulkJob",
            "created": format_time(&job.created),
            "lastModified": format_time(&job.updated),
            "location": job_location(base, &job.id),
        },
    });
    if let Some(outcomes) = outcomes {
        out["response"] = bulk_response_json(outcomes, base);
    }
    out
}

/// The BulkResponse of processed operations (also `POST /Users?bulk=true`'s answer).
pub(crate) fn bulk_response(outcomes: &[BulkOutcome], base: &str) -> Response {
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    tracing::info!(
        operations = outcomes.len(),
        failed,
        "bulk request processed"
    );
    scim_json(StatusCode::OK, &bulk_response_json(outcomes, base))
}

fn bulk_response_json(outcomes: &[BulkOutcome], base: &str) -> Value {
    let operations: Vec<Value> = outcomes
        .iter()
        .map(|o| o.response_operation(Some(base)))
        .collect();
    json!({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": operations})
}
