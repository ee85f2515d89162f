//! `/Licenses`: the tenant's license pools as read-only resources (schema
//! `urn:scim-license:schemas:core:2.0:License`), `id` = `sku`.

use http::StatusCode;
use scim_core::ScimError;
use scim_core::license::Pool;
use scim_core::schema::LICENSE_SCHEMA;
use scim_core::service::LicenseError;
use serde_json::{Value, json};

use crate::auth::authenticate;
use crate::error::{ApiError, ApiResult};
use crate::params::QueryParams;
use crate::render::{base_url, list_response, scim_json};
use crate::request::Request;
use crate::response::Response;
use crate::state::AppState;

/// A pool as a License resource.
fn license_json(pool: &Pool, base: &str) -> Value {
    json!({
        "schemas": [LICENSE_SCHEMA],
        "id": pool.sku,
        "sku": pool.sku,
        "displayName": pool.display_name,
        "seats": pool.seats,
        "used": pool.used,
        "available": pool.available(),
        "policy": pool.policy.as_str(),
        "overage": pool.policy.allowance(),
        "overageUsed": pool.overage_used(),
        "pending": pool.pending,
        "meta": {
            "resourceType": "License",
            "location": format!("{base}/Licenses/{}", pool.sku),
        },
    })
}

fn license_error(error: LicenseError) -> ApiError {
    ApiError(match error {
        LicenseError::Invalid(error) => error,
        LicenseError::Store(error) => error.as_outage(),
        _ => ScimError::Internal,
    })
}

/// Every pool, by sku; `startIndex` and `count` page as for users. A `filter` is refused:
/// pools are few, and a filter silently ignored would be a lie.
pub(crate) async fn list(req: &Request, state: &AppState) -> ApiResult<Response> {
    let caller = authenticate(req, state).await?;
    let params = QueryParams::of(req)?;
    if params.get("filter").is_some() {
        return Err(ApiError(ScimError::InvalidFilter(
            "/Licenses lists every pool; it takes no filter".into(),
        )));
    }
    let start_index = match params.get("startIndex") {
        None => 1,
        Some(text) => text.parse::<u64>().unwrap_or(1).max(1),
    };
    let count = params
        .get("count")
        .and_then(|text| text.parse::<u64>().ok());
    let base = base_url(req, &state.config);
    let pools = state
        .licenses
        .pools(&caller.0.tenant)
        .await
        .map_err(license_error)?;
    let total = pools.len() as u64;
    let page: Vec<Value> = pools
        .iter()
        .skip(usize::try_from(start_index - 1).unwrap_or(usize::MAX))
        .take(count.map_or(usize::MAX, |c| usize::try_from(c).unwrap_or(usize::MAX)))
        .map(|pool| license_json(pool, &base))
        .collect();
    Ok(list_response(total, start_index, &page))
}

/// One pool by its sku (case-insensitive).
pub(crate) async fn get(req: &Request, state: &AppState, sku: &str) -> ApiResult<Response> {
    let caller = authenticate(req, state).await?;
    let base = base_url(req, &state.config);
    let pool = state
        .licenses
        .pool(&caller.0.tenant, sku)
        .await
        .map_err(license_error)?
        .ok_or_else(|| ApiError(ScimError::NotFound(format!("License {sku} not found"))))?;
    Ok(scim_json(StatusCode::OK, &license_json(&pool, &base)))
}
