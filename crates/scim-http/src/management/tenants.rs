//! `/api/v1/tenants`: create, list, read, update and delete tenants.

use http::StatusCode;
use http::header::LOCATION;
use scim_core::compat::{Deactivation, PatchResponse};
use scim_core::service::TenantUpdate;
use serde::Deserialize;

use super::paging::{PageRequest, fetched_page};
use super::routes::BASE;
use super::views::{self, tenant_etag};
use super::{ApiResult, Call, no_content, tagged};
use crate::response::Response;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    slug: String,
    name: Option<String>,
    profile: Option<String>,
}

/// `POST /api/v1/tenants` → 201 with the tenant; 409 when the slug is taken.
pub(super) async fn create(call: &Call<'_>) -> ApiResult<Response> {
    let new: NewTenant = call.body()?;
    let tenant = call
        .state
        .tenants
        .create_tenant_with(&new.slug, new.name.as_deref(), new.profile.as_deref())
        .await?;
    let origin = call.req.origin();
    Ok(tagged(StatusCode::CREATED, &tenant)
        .header(LOCATION, &format!("{origin}{BASE}/tenants/{}", tenant.slug))
        .json(&views::tenant(&tenant, &origin)))
}

/// `GET /api/v1/tenants`: every tenant, by slug, a page at a time; each page one range
/// read of the directory (the cursor holds the last slug shown).
pub(super) async fn list(call: &Call<'_>) -> ApiResult<Response> {
    let request = PageRequest::of(&call.params()?)?;
    let tenants = call
        .state
        .tenants
        .tenants_page(request.after.as_deref(), request.limit + 1)
        .await?;
    let origin = call.req.origin();
    let body = fetched_page(
        &tenants,
        |tenant| tenant.slug.clone(),
        request.limit,
        |tenant| views::tenant(tenant, &origin),
    );
    Ok(super::json(StatusCode::OK, &body))
}

/// `GET /api/v1/tenants/{slug}`.
pub(super) async fn get(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let tenant = call.tenant(slug).await?;
    Ok(tagged(StatusCode::OK, &tenant).json(&views::tenant(&tenant, &call.req.origin())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantChanges {
    name: Option<String>,
    profile: Option<String>,
    #[serde(default, deserialize_with = "super::optional_object")]
    settings: Option<SettingChanges>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SettingChanges {
    patch_response: Option<PatchResponse>,
    on_deactivate: Option<Deactivation>,
}

/// `PATCH /api/v1/tenants/{slug}` (a JSON merge patch of `name`, `profile` and
/// `settings`; `If-Match` honoured) → 200 with the tenant as it now is.
pub(super) async fn update(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let changes: TenantChanges = call.body()?;
    let origin = call.req.origin();
    let settings = changes.settings.unwrap_or(SettingChanges {
        patch_response: None,
        on_deactivate: None,
    });
    let update = TenantUpdate {
        name: changes.name,
        profile: changes.profile,
        patch_response: settings.patch_response,
        on_deactivate: settings.on_deactivate,
    };
    // Bad values are told as such, whatever the version named.
    update.validate()?;
    let current = call.tenant(slug).await?;
    call.check_if_match(&tenant_etag(&current))?;
    let tenant = call.state.tenants.update_tenant(slug, &update).await?;
    Ok(tagged(StatusCode::OK, &tenant).json(&views::tenant(&tenant, &origin)))
}

/// `DELETE /api/v1/tenants/{slug}` → 204 once everything the tenant owns is gone; its
/// credentials stop working at once. `If-Match` honoured.
pub(super) async fn delete(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    // A tenant whose deletion began is found by nothing but its deletion, which this
    // finishes (then there is no version left to match).
    if let Ok(current) = call.tenant(slug).await {
        call.check_if_match(&tenant_etag(&current))?;
    }
    call.state.tenants.delete_tenant(slug).await?;
    Ok(no_content())
}
