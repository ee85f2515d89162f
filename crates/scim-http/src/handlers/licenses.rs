//! `/Licenses`, `/Entitlements` and `/Roles`: the tenant's licenses as read-only
//! resources, for the product's own view (`/Licenses`, schema
//! `urn:scim-license:schemas:core:2.0:License`, `id` = `sku`) and for identity providers
//! that discover what they may assign (Okta Identity Governance, SailPoint,
//! draft-ietf-scim-roles-entitlements; see [`scim_core::schema::catalog`]).

use http::StatusCode;
use scim_core::ScimError;
use scim_core::license::Pool;
use scim_core::schema::LICENSE_SCHEMA;
use scim_core::schema::catalog::{
    Catalog, Dialect, LICENSE_TYPE, MappedRole, OKTA_ENTITLEMENT_SCHEMA, entitlement_json,
    license_description,
};
use scim_core::service::LicenseError;
use serde_json::{Value, json};

use crate::auth::{Authenticated, authenticate};
use crate::error::{ApiError, ApiResult};
use crate::params::QueryParams;
use crate::render::{base_url, list_response, scim_json};
use crate::request::Request;
use crate::response::Response;
use crate::state::AppState;

/// A pool as a License resource (for Okta, also an entitlement of type `License`).
fn license_json(pool: &Pool, dialect: Dialect, base: &str) -> Value {
    let schemas = match dialect {
        Dialect::Ietf => json!([LICENSE_SCHEMA]),
        Dialect::Okta => json!([OKTA_ENTITLEMENT_SCHEMA, LICENSE_SCHEMA]),
    };
    let time = |at: &Option<chrono::DateTime<chrono::Utc>>| {
        at.as_ref().map(scim_core::resource::format_time)
    };
    let mut license = json!({
        "schemas": schemas,
        "id": pool.sku,
        "sku": pool.sku,
        "displayName": pool.display_name,
        "type": LICENSE_TYPE,
        "description": license_description(pool),
        "seats": pool.seats,
        "used": pool.used,
        "available": pool.available(),
        "policy": pool.policy.as_str(),
        "overage": pool.policy.allowance(),
        "overageUsed": pool.overage_used(),
        "pending": pool.pending,
        "meta": {
            "resourceType": Catalog::Licenses.resource_type(),
            "location": format!("{base}/Licenses/{}", pool.sku),
        },
    });
    for (name, at) in [("starts", &pool.term.starts), ("ends", &pool.term.ends)] {
        if let Some(at) = time(at) {
            license[name] = json!(at);
        }
    }
    license
}

fn license_error(error: LicenseError) -> ApiError {
    ApiError(match error {
        LicenseError::Invalid(error) => error,
        LicenseError::Store(error) => error.as_outage(),
        _ => ScimError::Internal,
    })
}

/// What one catalog holds for the caller's tenant, as its items, in id order.
async fn items(
    state: &AppState,
    caller: &Authenticated,
    catalog: Catalog,
    base: &str,
) -> ApiResult<Vec<(String, Value)>> {
    let tenant = &caller.0.tenant;
    let dialect = Dialect::of_profile(caller.0.compatibility.name());
    if catalog == Catalog::Roles {
        let rules = state.licenses.rules(tenant).await.map_err(license_error)?;
        let roles = MappedRole::of(&rules).into_iter();
        return Ok(roles
            .map(|role| (role.value.clone(), role.to_json(dialect, base)))
            .collect());
    }
    let pools = state.licenses.pools(tenant).await.map_err(license_error)?;
    let now = state.clock.now();
    Ok(pools
        .iter()
        .map(|pool| {
            let item = match catalog {
                Catalog::Entitlements => entitlement_json(pool, now, base),
                _ => license_json(pool, dialect, base),
            };
            (pool.sku.clone(), item)
        })
        .collect())
}

/// Every item of the catalog; `startIndex` and `count` page as for users (`count=1`
/// answers one item and the true `totalResults`, as Okta's tests ask). A `filter` is
/// refused: the lists are short, and a filter silently ignored would be a lie.
pub(crate) async fn list(req: &Request, state: &AppState, catalog: Catalog) -> ApiResult<Response> {
    let caller = authenticate(req, state).await?;
    let params = QueryParams::of(req)?;
    if params.get("filter").is_some() {
        return Err(ApiError(ScimError::InvalidFilter(format!(
            "{} lists every item; it takes no filter",
            catalog.endpoint()
        ))));
    }
    let start_index = match params.get("startIndex") {
        None => 1,
        Some(text) => text.parse::<u64>().unwrap_or(1).max(1),
    };
    let count = params
        .get("count")
        .and_then(|text| text.parse::<u64>().ok());
    let base = base_url(req, &state.config);
    let items = items(state, &caller, catalog, &base).await?;
    let total = items.len() as u64;
    let page: Vec<Value> = items
        .into_iter()
        .skip(usize::try_from(start_index - 1).unwrap_or(usize::MAX))
        .take(count.map_or(usize::MAX, |c| usize::try_from(c).unwrap_or(usize::MAX)))
        .map(|(_, item)| item)
        .collect();
    Ok(list_response(total, start_index, &page))
}

/// One item by its id (a sku, or a role value; case-insensitive).
pub(crate) async fn get(
    req: &Request,
    state: &AppState,
    catalog: Catalog,
    id: &str,
) -> ApiResult<Response> {
    let caller = authenticate(req, state).await?;
    let base = base_url(req, &state.config);
    let wanted = scim_core::fold::fold_key(id);
    let found = items(state, &caller, catalog, &base)
        .await?
        .into_iter()
        .find(|(key, _)| scim_core::fold::fold_key(key) == wanted);
    let (_, item) = found.ok_or_else(|| {
        ApiError(ScimError::NotFound(format!(
            "{} {id} not found",
            catalog.resource_type()
        )))
    })?;
    Ok(scim_json(StatusCode::OK, &item))
}
